"""`nablanet.ops` is `keras.ops`: every op, callable on Tensors and on plain NumPy arrays.

Keras's names, argument names and defaults (`sum(x, axis=None, keepdims=False)`). On Tensors an
op returns a Tensor and records itself when a gradient is needed; on arrays it is NumPy. The
submodules follow Keras's split: `ops.numpy`, `ops.nn`, `ops.linalg`, `ops.image`, and the core
and math ops (`cond`, `scan`, `top_k`, `fft`, ...) at the top level only, as Keras has them.

>>> from nablanet import ops
>>> ops.sum(ops.exp(np.zeros((2, 3))), axis=1)
array([3., 3.])
"""

import difflib
import sys
import types

from nablanet import symbolic

from nablanet.ops import core, image, linalg, math, nn, numpy
from nablanet.ops.core import *  # noqa: F401,F403
from nablanet.ops.linalg import *  # noqa: F401,F403
from nablanet.ops.math import *  # noqa: F401,F403
from nablanet.ops.nn import *  # noqa: F401,F403
from nablanet.ops.numpy import *  # noqa: F401,F403

# Names nablanet's own layers use that Keras does not have (fused kernels, an indexing helper).
from nablanet.autodiff.ops import conv2d, dense, gather, getitem, mean_squared_error  # noqa: F401,E402

__all__ = [
    "conv2d", "dense", "gather", "getitem", "mean_squared_error", "image", "linalg", "nn", "numpy",
] + core.__all__ + linalg.__all__ + math.__all__ + nn.__all__ + numpy.__all__


def __getattr__(name):
    close = difflib.get_close_matches(name, __all__, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise AttributeError(f"nablanet.ops: there is no op named {name!r}.{hint} See nablanet.ops.__all__.")


# -- symbolic dispatch: every op called on a KerasTensor records a node of the functional graph ----------------------

def _symbolic_dispatch(name, fn):
    """`fn` as it is for data; for KerasTensor arguments, a node of the functional graph.

    Nothing is checked before the call, so the eager path pays only for this frame: a
    KerasTensor fails inside any op that needs its values, and the failure turns into a node.
    """

    def op(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            if not (symbolic.holds_symbolic(args) or symbolic.holds_symbolic(kwargs)) or _inside_op():
                raise  # a real error, or an op inside an op: the outermost records the node
            return symbolic.record_op(name, fn, args, kwargs)

    op.__name__, op.__qualname__, op.__doc__ = name, name, fn.__doc__
    op.__module__ = getattr(fn, "__module__", __name__)
    op.__wrapped__ = fn
    return op


def _inside_op():
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code is _OP_CODE:
            return True
        frame = frame.f_back
    return False


def _install_dispatch():
    """Wrap the public ops of this package and of every submodule loaded, each op once."""
    wrapped = {}
    modules = [module for key, module in sorted(sys.modules.items())
               if key == __name__ or key.startswith(__name__ + ".")]
    for module in modules:
        for name in getattr(module, "__all__", []):
            fn = getattr(module, name, None)
            if not callable(fn) or isinstance(fn, (type, types.ModuleType)) or name in _QUERIES:
                continue
            if getattr(fn, "__code__", None) is _OP_CODE:
                continue
            if id(fn) not in wrapped:
                wrapped[id(fn)] = _symbolic_dispatch(name, fn)
            setattr(module, name, wrapped[id(fn)])
            symbolic.OPS.setdefault(name, wrapped[id(fn)])


_OP_CODE = _symbolic_dispatch("", None).__code__
_QUERIES = {"shape", "ndim", "dtype", "is_tensor", "standardize_dtype"}  # answered from the KerasTensor itself
_install_dispatch()
