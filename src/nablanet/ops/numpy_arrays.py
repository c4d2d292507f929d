"""Keras's NumPy ops over whole arrays, gathered from their families: reductions and their NaN-ignoring
forms (`numpy_reductions`), reshaping, joining, indexing and diagonals (`numpy_shapes`), sorting,
searching, counting and quantiles (`numpy_sorting`), and products (`numpy_products`).

Differentiable ops are composed from the primitives (`getitem` does flips, rolls, repeats and
diagonals; `einsum` does the products; sorting is `take_along_axis` of `argsort`). Sorting,
searching and counting return integers and carry no gradient. Dtypes follow `keras.ops`: Python
numbers read as int32/float32, ints average to float32, booleans and small ints sum to int32, and
an int meets a float as that float. A float64 input stays float64 throughout.

>>> from nablanet.ops import numpy as knp
>>> knp.cumsum(np.array([1, 2, 3]))
array([1, 3, 6], dtype=int32)
"""

from nablanet.autodiff.ops import broadcast_to, expand_dims, reshape, split, squeeze, swapaxes, take, transpose
from nablanet.ops.numpy_products import (
    corrcoef, correlate, cross, dot, einsum, inner, kron, matmul, outer, tensordot, vdot,
)
from nablanet.ops.numpy_reductions import (
    all, amax, amin, any, average, count_nonzero, cumprod, cumsum, max, mean, min, nanargmax, nanargmin, nancumprod,
    nancumsum, nanmax, nanmean, nanmin, nanprod, nanstd, nansum, nanvar, prod, ptp, std, sum, var,
)
from nablanet.ops.numpy_shapes import (
    append, array_split, concatenate, diag, diagflat, diagonal, diff, dsplit, dstack, flip, fliplr, flipud, get_item,
    hsplit, hstack, meshgrid, moveaxis, pad, ravel, repeat, roll, rot90, select, stack, take_along_axis, tile, trace,
    trapezoid, tril, triu, vander, vectorize, vsplit, vstack,
)
from nablanet.ops.numpy_sorting import (
    argmax, argmin, argpartition, argsort, bincount, digitize, histogram, median, nanmedian, nanpercentile,
    nanquantile, ndim, nonzero, percentile, quantile, searchsorted, size, sort, unique, unravel_index,
)

__all__ = [
    "all", "amax", "amin", "any", "append", "argmax", "argmin", "argpartition", "argsort", "array_split",
    "average", "bincount", "broadcast_to", "concatenate", "corrcoef", "correlate", "count_nonzero", "cross",
    "cumprod", "cumsum", "diag", "diagflat", "diagonal", "diff", "digitize", "dot", "dsplit", "dstack", "einsum",
    "expand_dims", "flip", "fliplr", "flipud", "get_item", "histogram", "hsplit", "hstack", "inner", "kron",
    "matmul", "max", "mean", "median", "meshgrid", "min", "moveaxis", "nanargmax", "nanargmin", "nancumprod",
    "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile",
    "nanstd", "nansum", "nanvar", "ndim", "nonzero", "outer", "pad", "percentile", "prod", "ptp", "quantile",
    "ravel", "repeat", "reshape", "roll", "rot90", "searchsorted", "select", "size", "sort", "split", "squeeze",
    "stack", "std", "sum", "swapaxes", "take", "take_along_axis", "tensordot", "tile", "trace", "transpose",
    "trapezoid", "tril", "triu", "unique", "unravel_index", "vander", "var", "vdot", "vectorize", "vsplit",
    "vstack",
]
