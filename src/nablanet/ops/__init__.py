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
import inspect
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

    Nothing is checked before the call, so the eager path pays only for one frame: a KerasTensor
    fails inside any op that needs its values, and the failure turns into a node. The frame has
    `fn`'s own parameters where it is a plain function, which costs less than `*args, **kwargs`.
    """
    params, call, positional, keywords = _forwarding(fn)
    source = (f"def op({params}):\n"
              f"    try:\n"
              f"        return _dispatch_fn_({call})\n"
              f"    except Exception:\n"
              f"        return _dispatch_failed_(_dispatch_name_, _dispatch_fn_, ({positional}), {{{keywords}}})\n")
    namespace = {"_dispatch_fn_": fn, "_dispatch_name_": name, "_dispatch_failed_": _failed}
    code = _COMPILED.get(source)
    if code is None:  # many ops share a parameter list: compile each list once, at import
        code = _COMPILED[source] = compile(source, _DISPATCH_FILE, "exec")
    exec(code, namespace)  # noqa: S102 -- our own parameter names only
    op = namespace["op"]
    if inspect.isfunction(fn):
        op.__defaults__, op.__kwdefaults__ = fn.__defaults__, fn.__kwdefaults__
    op.__name__, op.__qualname__, op.__doc__ = name, name, fn.__doc__
    op.__module__ = getattr(fn, "__module__", __name__)
    op.__wrapped__ = fn
    return op


def _forwarding(fn):
    """The parameter list of the wrapper, the call to `fn`, and its arguments as a tuple and a dict."""
    try:
        parameters = list(inspect.signature(fn).parameters.values()) if inspect.isfunction(fn) else None
    except (TypeError, ValueError):
        parameters = None
    if parameters is None:
        return "*args, **kwargs", "*args, **kwargs", "*args,", "**kwargs"
    params, call, positional, keywords = [], [], [], []
    starred = False
    for k, p in enumerate(parameters):
        if p.kind is p.VAR_POSITIONAL:
            starred = True
            params.append(f"*{p.name}")
            call.append(f"*{p.name}")
            positional.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            params.append(f"**{p.name}")
            call.append(f"**{p.name}")
            keywords.append(f"**{p.name}")
        elif p.kind is p.KEYWORD_ONLY:
            if not starred:
                params.append("*")
                starred = True
            params.append(p.name)
            call.append(f"{p.name}={p.name}")
            keywords.append(f"{p.name!r}: {p.name}")
        else:
            params.append(p.name)
            call.append(p.name)
            positional.append(p.name)
            last = k + 1 == len(parameters) or parameters[k + 1].kind is not p.POSITIONAL_ONLY
            if p.kind is p.POSITIONAL_ONLY and last:
                params.append("/")
    return ", ".join(params), ", ".join(call), "".join(f"{a}, " for a in positional), ", ".join(keywords)


def _failed(name, fn, args, kwargs):
    """In an op's `except` clause: the node for symbolic arguments, else the error again."""
    if not (symbolic.holds_symbolic(args) or symbolic.holds_symbolic(kwargs)) or _inside_op():
        raise  # noqa: PLE0704 -- a real error, or an op inside an op (the outermost records the node)
    return symbolic.record_op(name, fn, args, kwargs)


def _inside_op():
    frame = sys._getframe(3)  # above _inside_op, _failed and the op that failed
    while frame is not None:
        if frame.f_code.co_filename == _DISPATCH_FILE:
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
            if getattr(getattr(fn, "__code__", None), "co_filename", None) == _DISPATCH_FILE:
                continue
            if id(fn) not in wrapped:
                wrapped[id(fn)] = _symbolic_dispatch(name, fn)
            setattr(module, name, wrapped[id(fn)])
            symbolic.OPS.setdefault(name, wrapped[id(fn)])


_DISPATCH_FILE = "<nablanet.ops symbolic dispatch>"
_COMPILED = {}  # wrapper source -> its code object
_QUERIES = {"shape", "ndim", "dtype", "is_tensor", "standardize_dtype"}  # answered from the KerasTensor itself
_install_dispatch()
