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
