"""`keras.ops.numpy`: NumPy's functions as Keras offers them, on Tensors and arrays.

Two halves, each its own module: elementwise math, logic and creation (`numpy_elementwise`), and
reductions, shapes, sorting, searching and statistics (`numpy_arrays`).
"""

from nablanet.ops import numpy_arrays, numpy_elementwise
from nablanet.ops.numpy_arrays import *  # noqa: F401,F403
from nablanet.ops.numpy_elementwise import *  # noqa: F401,F403
from nablanet.ops.linalg import slogdet  # noqa: F401 -- Keras has it in ops.numpy, not ops.linalg

__all__ = numpy_arrays.__all__ + numpy_elementwise.__all__ + ["slogdet"]
