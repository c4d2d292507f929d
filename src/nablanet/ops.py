"""`nablanet.ops`: every op, callable on Tensors and on plain NumPy arrays.

NumPy's and `keras.ops`'s names and signatures (`sum(x, axis=None, keepdims=False)`). On Tensors
an op returns a Tensor and records itself when a gradient is needed; on arrays it is NumPy.

>>> from nablanet import ops
>>> ops.sum(ops.exp(np.zeros((2, 3))), axis=1)
array([3., 3.])
"""

from nablanet.autodiff.ops import *  # noqa: F401,F403
from nablanet.autodiff.ops import __all__, __getattr__  # noqa: F401
