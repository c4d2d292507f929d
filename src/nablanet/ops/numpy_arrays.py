"""Keras's NumPy ops over whole arrays: reductions, reshaping and joining, indexing, sorting and
searching, products (`matmul`, `einsum`, ...) and statistics.

Differentiable ops are composed from the primitives (`getitem` does flips, rolls, repeats and
diagonals; `einsum` does the products; sorting is `take_along_axis` of `argsort`). Sorting,
searching and counting return integers and carry no gradient. Dtypes follow `keras.ops`: Python
numbers read as int32/float32, ints average to float32, booleans and small ints sum to int32, and
an int meets a float as that float. A float64 input stays float64 throughout.

>>> from nablanet.ops import numpy as knp
>>> knp.cumsum(np.array([1, 2, 3]))
array([1, 3, 6], dtype=int32)
"""

import builtins
import math as _math

import numpy as np

from nablanet import backend
from nablanet.autodiff.ops import (
    broadcast_to, expand_dims, getitem, maximum, minimum, split, squeeze, swapaxes, transpose, where,
)
from nablanet.autodiff.ops import cast as _cast, concatenate as _concatenate, matmul as _matmul
from nablanet.autodiff.ops import max as _max, mean as _mean, min as _min, pad as _pad_constant
from nablanet.autodiff.ops import prod as _prod, reshape, std as _std, sum as _sum, take
from nablanet.autodiff.ops import take_along_axis as _take_along_axis, var as _var
from nablanet.autodiff.ops.einsum import einsum as _einsum
from nablanet.autodiff.ops.reduce import cumprod as _cumprod, cumsum as _cumsum
from nablanet.autodiff.tensor import Tensor, as_array

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


# -- inputs, outputs and dtypes ------------------------------------------------------------------


def _in(x):
    """A Tensor or an array; Python numbers and lists read as Keras reads them (int32, floatx)."""
    if isinstance(x, (Tensor, np.ndarray)):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    a = np.asarray(x)
    if a.dtype == np.int64:
        return a.astype(np.int32)
    if a.dtype == np.float64:
        return a.astype(backend.floatx())
    return a


def _out(result, *inputs):
    """A result that carries no gradient: a Tensor when any input was one."""
    if builtins.any(isinstance(x, Tensor) for x in inputs):
        if isinstance(result, tuple):
            return tuple(Tensor._wrap(np.asarray(r)) for r in result)
        return Tensor._wrap(np.asarray(result))
    return result


def _result_type(*dtypes):
    """Keras's promotion where NumPy's differs: an integer meets a float as that float."""
    dtypes = [np.dtype(d) for d in dtypes]
    floats = [d for d in dtypes if d.kind in "fc"]
    return np.result_type(*floats) if floats else np.result_type(*dtypes)


def _as(x, dtype):
    return x if x.dtype == dtype else _cast(x, dtype)


def _floating(x):
    """Integers and booleans as floatx, as Keras computes means and statistics."""
    return _cast(x, backend.floatx()) if x.dtype.kind in "biu" else x


def _promoted(*xs):
    xs = [_in(x) for x in xs]
    dtype = _result_type(*[x.dtype for x in xs])
    return [_as(x, dtype) for x in xs]


def _axis(axis, ndim, name):
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < builtins.max(ndim, 1):
        raise ValueError(f"{name}: axis {axis!r} is out of range for an input with {ndim} dimensions")
    return int(axis) % builtins.max(ndim, 1)


def _axes(axis, ndim, name):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(_axis(a, ndim, name) for a in axes)


def _along(axis, ndim, index):
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _numpy(name, function, x, **params):
    try:
        return function(as_array(x), **params)
    except (ValueError, TypeError, IndexError) as error:
        raise type(error)(f"{name}: {error} (input of shape {np.shape(as_array(x))})") from error


# -- reductions ------------------------------------------------------------------------------------


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over `axis` (all axes when None); booleans and small ints sum to int32.

    >>> sum(np.array([[1, 2], [3, 4]]), axis=0)
    array([4, 6])
    """
    x = _in(x)
    if x.dtype.kind in "fc":
        return _sum(x, axis=axis, keepdims=keepdims)
    dtype = np.int32 if x.dtype.kind == "b" or x.dtype.itemsize < 4 else x.dtype
    return _cast(_sum(x, axis=axis, keepdims=keepdims), dtype)  # NumPy widens int32 sums to int64


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`; integers average to float32."""
    return _mean(_floating(_in(x)), axis=axis, keepdims=keepdims)


def _extremum(op, name, x, axis, keepdims, initial):
    x = _in(x)
    if initial is None:
        if as_array(x).size == 0:
            raise ValueError(f"{name}: cannot reduce an empty array of shape {x.shape} without `initial`")
        return op(x, axis=axis, keepdims=keepdims)
    if as_array(x).size == 0:
        function = np.max if name == "max" else np.min
        return _out(function(as_array(x), axis=axis, keepdims=keepdims, initial=initial), x)
    combine = maximum if name == "max" else minimum
    return combine(op(x, axis=axis, keepdims=keepdims), np.asarray(initial, dtype=x.dtype))


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Maximum over `axis`, at least `initial` when given; ties share the gradient."""
    return _extremum(_max, "max", x, axis, keepdims, initial)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    """Minimum over `axis`, at most `initial` when given; ties share the gradient."""
    return _extremum(_min, "min", x, axis, keepdims, initial)


def amax(x, axis=None, keepdims=False):
    """Maximum over `axis` (NumPy's other name for `max`)."""
    return max(x, axis=axis, keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    """Minimum over `axis` (NumPy's other name for `min`)."""
    return min(x, axis=axis, keepdims=keepdims)


def _integer_result(x, dtype):
    if dtype is not None:
        return _as(x, np.dtype(dtype))
    return _cast(x, np.int32) if x.dtype.kind in "biu" else x


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over `axis`; integers and booleans multiply as int32 unless `dtype` says otherwise."""
    x = _integer_result(_in(x), dtype)
    return _as(_prod(x, axis=axis, keepdims=keepdims), x.dtype)


def var(x, axis=None, keepdims=False):
    """Population variance over `axis`; integers give float32."""
    return _var(_floating(_in(x)), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over `axis`; integers give float32."""
    return _std(_floating(_in(x)), axis=axis, keepdims=keepdims)


def ptp(x, axis=None, keepdims=False):
    """Range (`max - min`) over `axis`."""
    x = _in(x)
    return max(x, axis=axis, keepdims=keepdims) - min(x, axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):  # noqa: A001
    """Whether every element over `axis` is true (non-zero)."""
    return _out(_numpy("all", np.all, x, axis=axis, keepdims=keepdims), x)


def any(x, axis=None, keepdims=False):  # noqa: A001
    """Whether some element over `axis` is true (non-zero)."""
    return _out(_numpy("any", np.any, x, axis=axis, keepdims=keepdims), x)


def count_nonzero(x, axis=None):
    """How many elements over `axis` are non-zero, as int32."""
    return _out(np.asarray(_numpy("count_nonzero", np.count_nonzero, x, axis=axis), dtype=np.int32), x)


def average(x, axis=None, weights=None):
    """Mean over `axis` weighted by `weights` (one weight per element, or per position along
    `axis`); differentiable in both."""
    if weights is None:
        return mean(x, axis=axis)
    x, weights = _promoted(_floating(_in(x)), _floating(_in(weights)))
    if weights.ndim == 1 and x.ndim > 1 and axis is not None:
        a = _axis(axis, x.ndim, "average")
        if weights.shape[0] != x.shape[a]:
            raise ValueError(f"average: weights of shape {weights.shape} do not match axis {axis} of {x.shape}")
        weights = reshape(weights, tuple(-1 if d == a else 1 for d in range(x.ndim)))
        weights = broadcast_to(weights, x.shape)
    elif weights.shape != x.shape:
        raise ValueError(f"average: weights of shape {weights.shape} do not match the input's {x.shape}")
    return _sum(x * weights, axis=axis) / _sum(weights, axis=axis)


def cumsum(x, axis=None, dtype=None):
    """Running sum along `axis` (over the flattened input when None)."""
    x = _running_dtype(_in(x), dtype)
    return _as(_cumsum(x, axis=axis), x.dtype)


def cumprod(x, axis=None, dtype=None):
    """Running product along `axis` (over the flattened input when None); exact gradients with zeros."""
    x = _running_dtype(_in(x), dtype)
    return _as(_cumprod(x, axis=axis), x.dtype)


def _running_dtype(x, dtype):
    if dtype is not None:
        return _as(x, np.dtype(dtype))
    return _cast(x, np.int32) if x.dtype.kind == "b" or x.dtype == np.int64 else x


# -- NaN-ignoring reductions -----------------------------------------------------------------------


def _fill_nan(x, value):
    x = _in(x)
    if x.dtype.kind not in "fc":
        return x
    return where(np.isnan(as_array(x)), np.asarray(value, dtype=x.dtype), x)


def nansum(x, axis=None, keepdims=False):
    """Sum over `axis` with NaNs counted as zero."""
    return sum(_fill_nan(x, 0), axis=axis, keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """Product over `axis` with NaNs counted as one."""
    return prod(_fill_nan(x, 1), axis=axis, keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None):
    """Running sum with NaNs counted as zero."""
    return cumsum(_fill_nan(x, 0), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """Running product with NaNs counted as one."""
    return cumprod(_fill_nan(x, 1), axis=axis, dtype=dtype)


def _nan_extremum(name, x, axis, keepdims):
    x = _in(x)
    if x.dtype.kind not in "fc":
        return (max if name == "nanmax" else min)(x, axis=axis, keepdims=keepdims)
    nan = np.isnan(as_array(x))
    fill = -np.inf if name == "nanmax" else np.inf
    out = (max if name == "nanmax" else min)(_fill_nan(x, fill), axis=axis, keepdims=keepdims)
    empty = np.all(nan, axis=axis, keepdims=keepdims)  # an all-NaN slice stays NaN, as in NumPy
    return where(empty, np.asarray(np.nan, dtype=x.dtype), out) if np.any(empty) else out


def nanmax(x, axis=None, keepdims=False):
    """Maximum over `axis` ignoring NaNs (NaN where a slice is all NaN)."""
    return _nan_extremum("nanmax", x, axis, keepdims)


def nanmin(x, axis=None, keepdims=False):
    """Minimum over `axis` ignoring NaNs (NaN where a slice is all NaN)."""
    return _nan_extremum("nanmin", x, axis, keepdims)


def _nan_mean(x, nan, axis, keepdims):
    """Mean of the non-NaN elements (`nan` marks the NaNs); NaN where a slice has none."""
    count = np.sum(~nan, axis=axis, keepdims=keepdims)
    total = _sum(where(nan, np.zeros((), dtype=x.dtype), x), axis=axis, keepdims=keepdims)
    out = total / np.maximum(count, 1).astype(x.dtype)
    return where(count == 0, np.asarray(np.nan, dtype=x.dtype), out) if np.any(count == 0) else out


def nanmean(x, axis=None, keepdims=False):
    """Mean over `axis` of the elements that are not NaN."""
    x = _floating(_in(x))
    return _nan_mean(x, np.isnan(as_array(x)), axis, keepdims)


def nanvar(x, axis=None, keepdims=False):
    """Population variance over `axis` of the elements that are not NaN."""
    x = _floating(_in(x))
    nan = np.isnan(as_array(x))
    filled = where(nan, np.zeros((), dtype=x.dtype), x)  # no NaN reaches the gradient's products
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, as in NumPy
        centered = filled - _nan_mean(x, nan, axis, True)
        return _nan_mean(centered * centered, nan, axis, keepdims)


def nanstd(x, axis=None, keepdims=False):
    """Population standard deviation over `axis` of the elements that are not NaN."""
    return nanvar(x, axis=axis, keepdims=keepdims) ** 0.5


def _nan_arg(name, x, axis, keepdims):
    a = np.asarray(as_array(_in(x)))
    if a.dtype.kind in "fc":
        nan = np.isnan(a)
        a = np.where(nan, -np.inf if name == "nanargmax" else np.inf, a)
    function = np.argmax if name == "nanargmax" else np.argmin
    return _out(np.asarray(_numpy(name, function, a, axis=axis, keepdims=keepdims), dtype=np.int32), x)


def nanargmax(x, axis=None, keepdims=False):
    """Index of the largest element that is not NaN, as int32."""
    return _nan_arg("nanargmax", x, axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """Index of the smallest element that is not NaN, as int32."""
    return _nan_arg("nanargmin", x, axis, keepdims)


# -- quantiles ---------------------------------------------------------------------------------------

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(name, x, q, axis, method, keepdims, ignore_nan):
    """Quantiles from the sorted values: NaNs sort last, so each slice's count of non-NaN values
    says where its quantile lies; the result is differentiable in `x` (through the gather)."""
    if method not in _METHODS:
        raise ValueError(f"{name}: method must be one of {_METHODS}, got {method!r}")
    x = _floating(_in(x))
    q_values = np.asarray(as_array(q), dtype=np.float64)
    if np.any(q_values < 0) or np.any(q_values > 1) or np.any(np.isnan(q_values)):
        raise ValueError(f"{name}: quantiles must lie in [0, 1] (percentiles in [0, 100]), got {q_values}")
    ndim = x.ndim
    axes = _axes(axis, ndim, name)
    kept = tuple(d for d in range(ndim) if d not in axes)
    moved = reshape(transpose(x, kept + axes), tuple(x.shape[d] for d in kept) + (-1,))
    ordered = sort(moved, axis=-1)
    values = as_array(ordered)
    n = values.shape[-1]
    if n == 0:
        raise ValueError(f"{name}: cannot take a quantile over an empty axis (input of shape {x.shape})")
    nan = np.isnan(values)
    count = (n - np.sum(nan, axis=-1, keepdims=True)) if ignore_nan else np.full(values.shape[:-1] + (1,), n)
    count = np.maximum(count, 1)
    position = q_values.reshape(q_values.shape + (1,) * len(kept) + (1,)) * (count - 1)
    lower, upper = np.floor(position).astype(np.intp), np.ceil(position).astype(np.intp)
    if method == "lower":
        upper = lower
    elif method == "higher":
        lower = upper
    elif method == "nearest":
        lower = upper = np.around(position).astype(np.intp)  # halves to even, as NumPy does
    fraction = np.full(position.shape, 0.5) if method == "midpoint" else position - lower
    fraction = fraction.astype(x.dtype)
    stacked = broadcast_to(ordered, position.shape[:-1] + (n,))
    below = _take_along_axis(stacked, lower, axis=-1)
    above = _take_along_axis(stacked, upper, axis=-1)
    out = below + (above - below) * fraction if method != "lower" else below
    out = squeeze(out, -1)
    if not ignore_nan and np.any(nan):  # a NaN anywhere in a slice makes its quantile NaN
        out = where(np.any(nan, axis=-1), np.asarray(np.nan, dtype=x.dtype), out)
    elif ignore_nan and np.any(np.all(nan, axis=-1)):
        out = where(np.all(nan, axis=-1), np.asarray(np.nan, dtype=x.dtype), out)
    if keepdims:
        shape = tuple(1 if d in axes else x.shape[d] for d in range(ndim))
        out = reshape(out, q_values.shape + shape)
    return out


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th quantiles (0 <= q <= 1) over `axis`; the quantiles' axes come first."""
    return _quantile("quantile", x, q, axis, method, keepdims, ignore_nan=False)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The `q`-th percentiles (0 <= q <= 100) over `axis`."""
    return _quantile("percentile", x, np.asarray(as_array(q), dtype=np.float64) / 100, axis, method, keepdims,
                     ignore_nan=False)


def median(x, axis=None, keepdims=False):
    """The median over `axis` (the mean of the two middle values for an even count)."""
    return _quantile("median", x, 0.5, axis, "linear", keepdims, ignore_nan=False)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """`quantile` of the elements that are not NaN."""
    return _quantile("nanquantile", x, q, axis, method, keepdims, ignore_nan=True)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """`percentile` of the elements that are not NaN."""
    return _quantile("nanpercentile", x, np.asarray(as_array(q), dtype=np.float64) / 100, axis, method, keepdims,
                     ignore_nan=True)


def nanmedian(x, axis=None, keepdims=False):
    """`median` of the elements that are not NaN."""
    return _quantile("nanmedian", x, 0.5, axis, "linear", keepdims, ignore_nan=True)


# -- sorting, searching and counting -------------------------------------------------------------------


def argsort(x, axis=-1):
    """Indices that sort `x` along `axis` (the flattened input when None), stable for ties, as int32."""
    a = as_array(_in(x))
    if axis is None:
        a, axis = a.reshape(-1), 0
    axis = _axis(axis, a.ndim, "argsort")
    return _out(np.argsort(a, axis=axis, kind="stable").astype(np.int32), x)


def sort(x, axis=-1):
    """`x` sorted along `axis` (NaNs last); differentiable, each value's gradient going back to it."""
    x = _in(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _axis(axis, x.ndim, "sort")
    if x.ndim == 0:
        return x
    order = np.argsort(as_array(x), axis=axis, kind="stable")
    return _take_along_axis(x, order, axis=axis)


def argpartition(x, kth, axis=-1):
    """Indices that put the `kth` smallest element in place, smaller ones before it, as int32."""
    a = as_array(_in(x))
    axis = _axis(axis, a.ndim, "argpartition")
    n = a.shape[axis]
    if not -n <= kth < n:
        raise ValueError(f"argpartition: kth {kth} is out of range for axis {axis} of length {n}")
    return _out(np.argpartition(a, kth, axis=axis).astype(np.int32), x)


def _arg_extremum(name, function, x, axis, keepdims):
    a = as_array(_in(x))
    if a.size == 0:
        raise ValueError(f"{name}: cannot find an index in an empty array of shape {a.shape}")
    if axis is not None:
        axis = _axis(axis, a.ndim, name)
    return _out(np.asarray(function(a, axis=axis, keepdims=keepdims), dtype=np.int32), x)


def argmax(x, axis=None, keepdims=False):
    """Index of the largest element over `axis` (the first one for ties; NaN counts as largest), int32."""
    return _arg_extremum("argmax", np.argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest element over `axis` (the first one for ties), int32."""
    return _arg_extremum("argmin", np.argmin, x, axis, keepdims)


def searchsorted(sorted_sequence, values, side="left"):
    """Where `values` would be inserted into the 1-D `sorted_sequence` to keep it sorted, int32."""
    seq = as_array(_in(sorted_sequence))
    if seq.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D, got shape {seq.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    out = np.searchsorted(seq, as_array(_in(values)), side=side).astype(np.int32)
    return _out(out, sorted_sequence, values)


def digitize(x, bins):
    """Index of the bin each element of `x` falls into (`bins[i-1] <= x < bins[i]`), int32."""
    edges = as_array(_in(bins))
    if edges.ndim != 1:
        raise ValueError(f"digitize: bins must be 1-D, got shape {edges.shape}")
    return _out(_numpy("digitize", lambda a: np.digitize(a, edges), x).astype(np.int32), x, bins)


def bincount(x, weights=None, minlength=0, sparse=False):
    """Count each non-negative int in `x` (per row for 2-D `x`), or sum their `weights`; the weighted
    count is differentiable in the weights."""
    if sparse:
        raise ValueError("bincount: sparse=True is not supported; nablanet's tensors are dense")
    a = as_array(_in(x))
    if a.dtype.kind not in "biu" or a.ndim not in (1, 2):
        raise ValueError(f"bincount: expected 1-D or 2-D non-negative ints, got shape {a.shape} dtype {a.dtype}")
    if a.size and a.min() < 0:
        raise ValueError(f"bincount: values must be non-negative, got {a.min()}")
    length = builtins.max(int(a.max()) + 1 if a.size else 0, int(minlength))
    if weights is None:
        rows = [np.bincount(r, minlength=length) for r in a.reshape(-1, a.shape[-1])]
        out = np.stack(rows).reshape(a.shape[:-1] + (length,)).astype(np.int32)
        return _out(out, x)
    weights = _in(weights)
    if weights.shape != a.shape:
        raise ValueError(f"bincount: weights of shape {weights.shape} do not match x's {a.shape}")
    if weights.dtype.kind in "biu":
        weights = _cast(weights, np.int32)
    one_hot = np.arange(length) == a[..., None]  # (..., n, length)
    out = _sum(expand_dims(weights, -1) * one_hot.astype(weights.dtype), axis=a.ndim - 1)
    return _out(out, x) if not isinstance(out, Tensor) else out


def histogram(x, bins=10, range=None):  # noqa: A002
    """Counts of `x` in `bins` equal-width bins over `range` (the data's extent when None), with the edges."""
    a = as_array(_in(x))
    if a.ndim != 1:
        raise ValueError(f"histogram: expected a 1-D input, got shape {a.shape}")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"histogram: bins must be a positive int, got {bins!r}")
    counts, edges = np.histogram(a, bins=bins, range=range)
    dtype = a.dtype if a.dtype.kind == "f" else backend.floatx()  # Keras counts in the input's float type
    return _out((counts.astype(dtype), edges.astype(dtype)), x)


def nonzero(x):
    """The indices of the non-zero elements, one int32 array per axis."""
    return _out(tuple(i.astype(np.int32) for i in np.nonzero(as_array(_in(x)))), x)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,  # noqa: A002
           axis=None, size=None, fill_value=None):
    """The distinct values of `x`, with the index, inverse and counts NumPy gives when asked; `size`
    pads (with `fill_value`, else the smallest value) or truncates to a fixed length. The values are
    always sorted (`sorted=False` allows any order, and sorted is one)."""
    a = as_array(_in(x))
    found = np.unique(a, return_index=return_index, return_inverse=return_inverse, return_counts=return_counts,
                      axis=axis)
    parts = list(found) if isinstance(found, tuple) else [found]
    if size is not None:
        values = parts[0]
        fill = values.min() if fill_value is None and values.size else (fill_value or 0)
        axis_ = 0 if axis is None else axis
        n = values.shape[axis_]
        if n >= size:
            parts[0] = np.take(values, np.arange(size), axis=axis_)
        else:
            widths = [(0, 0)] * values.ndim
            widths[axis_] = (0, size - n)
            parts[0] = np.pad(values, widths, constant_values=fill)
        extras = {"index": return_index, "inverse": return_inverse, "counts": return_counts}
        k = 1
        for kind in ("index", "inverse", "counts"):
            if extras[kind]:
                if kind != "inverse":
                    parts[k] = np.pad(parts[k][:size], (0, builtins.max(0, size - n)))
                k += 1
    result = tuple(parts) if len(parts) > 1 else parts[0]
    return _out(result, x)


def unravel_index(indices, shape):
    """Turn flat indices into a tuple of per-axis indices for `shape`."""
    flat = as_array(_in(indices))
    if flat.dtype.kind not in "iu":
        raise TypeError(f"unravel_index: indices must be integers, got dtype {flat.dtype}")
    total = _math.prod(shape)
    if flat.size and (flat.min() < 0 or flat.max() >= total):
        raise ValueError(f"unravel_index: indices must lie in [0, {total}) for shape {tuple(shape)}")
    return _out(tuple(i.astype(flat.dtype) for i in np.unravel_index(flat, shape)), indices)


def ndim(x):
    """The number of axes of `x`."""
    return _out(np.asarray(np.ndim(as_array(x)), dtype=np.int64), x)


def size(x):
    """The number of elements of `x`."""
    return _out(np.asarray(np.size(as_array(x)), dtype=np.int64), x)


# -- reshaping, joining and splitting ------------------------------------------------------------------


def ravel(x):
    """`x` flattened to one axis."""
    return reshape(_in(x), (-1,))


def moveaxis(x, source, destination):
    """Move the axes `source` to the positions `destination`, keeping the others' order."""
    x = _in(x)
    src = _axes(source, x.ndim, "moveaxis")
    dst = _axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} differ in length")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def concatenate(xs, axis=0):
    """Join arrays along an existing `axis` (flattened first when None), promoting their dtypes."""
    xs = [_in(x) for x in xs]
    if not xs:
        raise ValueError("concatenate: expected at least one array, got none")
    if axis is None:
        xs, axis = [reshape(x, (-1,)) for x in xs], 0
    if len({x.dtype for x in xs}) > 1:
        xs = _promoted(*xs)
    return _concatenate(xs, axis=axis)


def stack(x, axis=0):
    """Join same-shaped arrays along a new `axis`."""
    xs = [_in(t) for t in x]
    if not xs:
        raise ValueError("stack: expected at least one array, got none")
    shapes = {t.shape for t in xs}
    if len(shapes) > 1:
        raise ValueError(f"stack: every array must have the same shape, got {sorted(shapes)}")
    axis = _axis(axis, xs[0].ndim + 1, "stack")
    return concatenate([expand_dims(t, axis) for t in xs], axis=axis)


def append(x1, x2, axis=None):
    """`x2` appended to `x1` along `axis` (both flattened when None)."""
    return concatenate([x1, x2], axis=axis)


def _at_least(x, ndim):
    x = _in(x)
    if x.ndim >= ndim:
        return x
    if ndim == 3:  # NumPy's atleast_3d: a vector becomes (1, n, 1), a matrix (m, n, 1)
        return reshape(x, {0: (1, 1, 1), 1: (1, -1, 1), 2: x.shape + (1,)}[x.ndim])
    return reshape(x, (1,) * (ndim - x.ndim) + x.shape)


def hstack(xs):
    """Join along the second axis (the first for 1-D arrays)."""
    xs = [_at_least(x, 1) for x in xs]
    return concatenate(xs, axis=0 if xs and xs[0].ndim == 1 else 1)


def vstack(xs):
    """Join along the first axis, 1-D arrays as rows."""
    return concatenate([_at_least(x, 2) for x in xs], axis=0)


def dstack(xs):
    """Join along the third axis, after making every array at least 3-D."""
    return concatenate([_at_least(x, 3) for x in xs], axis=2)


def array_split(x, indices_or_sections, axis=0):
    """Split into pieces along `axis`; `n` sections may be unequal (the first ones one longer)."""
    x = _in(x)
    axis = _axis(axis, x.ndim, "array_split")
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"array_split: the number of sections must be positive, got {sections}")
        each, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [each + 1] * extra + [each] * (sections - extra)).tolist()
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    return [getitem(x, _along(axis, x.ndim, slice(a, b))) for a, b in zip(bounds[:-1], bounds[1:])]


def _split_along(name, x, indices_or_sections, axis, min_ndim):
    x = _in(x)
    if x.ndim < min_ndim:
        raise ValueError(f"{name}: expected at least {min_ndim} dimensions, got shape {x.shape}")
    return split(x, indices_or_sections, axis=axis)


def hsplit(x, indices_or_sections):
    """Split along the second axis (the first for 1-D arrays)."""
    x = _in(x)
    return _split_along("hsplit", x, indices_or_sections, 0 if x.ndim == 1 else 1, 1)


def vsplit(x, indices_or_sections):
    """Split along the first axis."""
    return _split_along("vsplit", x, indices_or_sections, 0, 2)


def dsplit(x, indices_or_sections):
    """Split along the third axis."""
    return _split_along("dsplit", x, indices_or_sections, 2, 3)


def take_along_axis(x, indices, axis=None):
    """Pick one element per position along `axis` (over the flattened input when None)."""
    x = _in(x)
    if axis is None:
        x, axis, indices = reshape(x, (-1,)), 0, np.reshape(as_array(indices), (-1,))
    return _take_along_axis(x, as_array(indices), axis=axis)


def get_item(x, key):
    """`x[key]` with NumPy's basic and advanced indexing."""
    return getitem(_in(x), key)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pad `x`: with `constant_values` (0 when None), or by `edge`, `reflect`, `symmetric` or `wrap`."""
    x = _in(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    if mode == "constant":
        return _pad_constant(x, widths, constant_values=0 if constant_values is None else constant_values)
    if mode not in ("edge", "reflect", "symmetric", "wrap"):
        raise ValueError(f"pad: mode must be constant, edge, reflect, symmetric or wrap, got {mode!r}")
    if constant_values is not None:
        raise ValueError(f"pad: constant_values is only for mode='constant', got mode={mode!r}")
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    for d, (before, after) in enumerate(widths):
        if before or after:  # the padded positions as indices into the axis: a gather, so it differentiates
            x = take(x, np.pad(np.arange(x.shape[d]), (before, after), mode=mode), axis=d)
    return x


def flip(x, axis=None):
    """Reverse the order of the elements along `axis` (all axes when None)."""
    x = _in(x)
    axes = _axes(axis, x.ndim, "flip")
    return getitem(x, tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(x.ndim)))


def fliplr(x):
    """Reverse the second axis."""
    x = _in(x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: expected at least 2 dimensions, got shape {x.shape}")
    return flip(x, 1)


def flipud(x):
    """Reverse the first axis."""
    x = _in(x)
    if x.ndim < 1:
        raise ValueError("flipud: expected at least 1 dimension, got a scalar")
    return flip(x, 0)


def rot90(array, k=1, axes=(0, 1)):
    """Rotate by 90 degrees `k` times in the plane of `axes`, from the first axis toward the second."""
    x = _in(array)
    if x.ndim < 2:
        raise ValueError(f"rot90: expected at least 2 dimensions, got shape {x.shape}")
    a, b = _axes(axes, x.ndim, "rot90")
    if a == b:
        raise ValueError(f"rot90: axes must differ, got {axes!r}")
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a), b)
    return swapaxes(flip(x, b), a, b) if k == 1 else flip(swapaxes(x, a, b), b)


def roll(x, shift, axis=None):
    """Shift elements along `axis` (the flattened array when None), wrapping around the end."""
    x = _in(x)
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), x.shape)
    axes = _axes(axis, x.ndim, "roll")
    shifts = np.broadcast_to(np.asarray(shift, dtype=int), (len(axes),))
    for d, s in zip(axes, shifts):
        n = x.shape[d]
        if n:
            x = take(x, (np.arange(n) - int(s)) % n, axis=d)
    return x


def repeat(x, repeats, axis=None):
    """Repeat each element `repeats` times along `axis` (the flattened array when None)."""
    x = _in(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _axis(axis, x.ndim, "repeat")
    counts = np.asarray(as_array(repeats))
    if counts.dtype.kind not in "iu" or np.any(counts < 0):
        raise ValueError(f"repeat: repeats must be non-negative ints, got {repeats!r}")
    return take(x, np.repeat(np.arange(x.shape[axis]), counts), axis=axis)


def tile(x, repeats):
    """Repeat the whole array `repeats` times along each axis."""
    x = _in(x)
    reps = (int(repeats),) if isinstance(repeats, (int, np.integer)) else tuple(int(r) for r in repeats)
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: repeats must be non-negative, got {repeats!r}")
    ndim = builtins.max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    x = reshape(x, (1,) * (ndim - x.ndim) + x.shape)
    for d, r in enumerate(reps):
        if r != 1:
            x = take(x, np.tile(np.arange(x.shape[d]), r), axis=d)
    return x


def meshgrid(*x, indexing="xy"):
    """Coordinate arrays from 1-D coordinate vectors: `ij` indexing, or `xy` with the first two swapped."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [ravel(v) for v in x]
    shape = [v.shape[0] for v in xs]
    if indexing == "xy" and len(xs) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for i, v in enumerate(xs):
        position = (1 - i if i < 2 else i) if indexing == "xy" and len(xs) > 1 else i
        grids.append(broadcast_to(reshape(v, tuple(-1 if d == position else 1 for d in range(len(xs)))),
                                  tuple(shape)))
    return grids


# -- diagonals and triangles -------------------------------------------------------------------------------


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal of the planes `axis1` x `axis2`, offset above (>0) or below (<0); it becomes the last axis."""
    x = _in(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: expected at least 2 dimensions, got shape {x.shape}")
    a, b = _axis(axis1, x.ndim, "diagonal"), _axis(axis2, x.ndim, "diagonal")
    if a == b:
        raise ValueError(f"diagonal: axis1 and axis2 must differ, got {axis1} and {axis2}")
    moved = moveaxis(x, (a, b), (-2, -1))
    rows, cols = moved.shape[-2:]
    start_row, start_col = builtins.max(-offset, 0), builtins.max(offset, 0)
    n = builtins.max(0, builtins.min(rows - start_row, cols - start_col))
    i = np.arange(n)
    return getitem(moved, (Ellipsis, i + start_row, i + start_col))


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along the diagonal of the planes `axis1` x `axis2`."""
    return sum(diagonal(x, offset=offset, axis1=axis1, axis2=axis2), axis=-1)


def diag(x, k=0):
    """A 1-D `x` as the `k`-th diagonal of a square matrix; a 2-D `x`'s `k`-th diagonal."""
    x = _in(x)
    if x.ndim == 2:
        return diagonal(x, offset=k)
    if x.ndim != 1:
        raise ValueError(f"diag: expected a 1-D or 2-D input, got shape {x.shape}")
    n = x.shape[0] + abs(int(k))
    i = np.arange(x.shape[0])
    rows, cols = i + builtins.max(-k, 0), i + builtins.max(k, 0)
    picks = np.zeros((n, n), dtype=np.intp)
    picks[rows, cols] = i
    on = np.zeros((n, n), dtype=bool)
    on[rows, cols] = True
    return where(on, reshape(take(x, picks.reshape(-1), axis=0), (n, n)), np.zeros((), dtype=x.dtype))


def diagflat(x, k=0):
    """The flattened `x` as the `k`-th diagonal of a square matrix."""
    return diag(ravel(x), k=k)


def _triangle(name, x, k, lower):
    x = _in(x)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected at least 2 dimensions, got shape {x.shape}")
    rows, cols = x.shape[-2:]
    keep = np.tri(rows, cols, k=k, dtype=bool) if lower else ~np.tri(rows, cols, k=k - 1, dtype=bool)
    return where(keep, x, np.zeros((), dtype=x.dtype))


def tril(x, k=0):
    """`x` with the elements above the `k`-th diagonal zeroed (on the last two axes)."""
    return _triangle("tril", x, k, lower=True)


def triu(x, k=0):
    """`x` with the elements below the `k`-th diagonal zeroed (on the last two axes)."""
    return _triangle("triu", x, k, lower=False)


def diff(a, n=1, axis=-1):
    """The `n`-th discrete difference along `axis` (for booleans, whether neighbours differ)."""
    x = _in(a)
    axis = _axis(axis, x.ndim, "diff")
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    for _ in range(n):
        later = getitem(x, _along(axis, x.ndim, slice(1, None)))
        earlier = getitem(x, _along(axis, x.ndim, slice(None, -1)))
        x = _out(as_array(later) != as_array(earlier), x) if x.dtype == bool else later - earlier
    return x


def vander(x, N=None, increasing=False):  # noqa: N803
    """The Vandermonde matrix of the 1-D `x`: columns are powers of `x` (decreasing unless `increasing`)."""
    x = _in(x)
    if x.ndim != 1:
        raise ValueError(f"vander: expected a 1-D input, got shape {x.shape}")
    n = x.shape[0] if N is None else int(N)
    if x.dtype.kind == "b":
        x = _cast(x, np.int32)
    columns, power = [], None
    for i in range(n):  # repeated products, so the gradient at x = 0 is finite
        power = np.ones(x.shape, dtype=x.dtype) if i == 0 else (x if i == 1 else power * x)
        columns.append(_in(power))
    if not columns:
        return _out(np.zeros((x.shape[0], 0), dtype=x.dtype), x)
    columns = columns if increasing else columns[::-1]
    return stack(columns, axis=1)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of `y` along `axis` by the trapezoidal rule, at sample points `x` or spacing `dx`."""
    y = _floating(_in(y))
    axis = _axis(axis, y.ndim, "trapezoid")
    later = getitem(y, _along(axis, y.ndim, slice(1, None)))
    earlier = getitem(y, _along(axis, y.ndim, slice(None, -1)))
    if x is None:
        widths = np.asarray(dx, dtype=y.dtype)
    else:
        x = _floating(_in(x))
        widths = diff(x, axis=-1 if x.ndim == 1 else axis)
        if x.ndim == 1:
            widths = reshape(widths, tuple(-1 if d == axis else 1 for d in range(y.ndim)))
    return sum((later + earlier) * widths, axis=axis) / 2


# -- products ---------------------------------------------------------------------------------------------


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over the letters of `subscripts`, differentiable in every operand.

    >>> einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 2)))
    array([[3., 3.],
           [3., 3.]])
    """
    unknown = set(kwargs) - {"optimize", "dtype"}
    if unknown:
        raise TypeError(f"einsum: unexpected keyword arguments {sorted(unknown)}")
    operands = _promoted(*operands)
    if kwargs.get("dtype") is not None:
        operands = [_as(x, np.dtype(kwargs["dtype"])) for x in operands]
    return _einsum(subscripts, *operands)


def matmul(x1, x2):
    """Matrix product with NumPy's broadcasting of leading axes; integers multiply as int32."""
    if type(x1) is Tensor and type(x2) is Tensor and x1.dtype == x2.dtype and x1.dtype.kind == "f":
        return _matmul(x1, x2)  # the layers' case, without the dtype checks
    x1, x2 = _promoted(x1, x2)
    if x1.dtype.kind in "biu":
        x1, x2 = _cast(x1, np.int32), _cast(x2, np.int32)
    return _matmul(x1, x2)


def _letters(n, start=0):
    return "abcdefghijklmnopqrstuvwxyz"[start:start + n]


def tensordot(x1, x2, axes=2):
    """Sum products over `axes` (the last n of `x1` with the first n of `x2`, or two lists of axes)."""
    x1, x2 = _promoted(x1, x2)
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= builtins.min(x1.ndim, x2.ndim):
            raise ValueError(f"tensordot: cannot contract {axes} axes of shapes {x1.shape} and {x2.shape}")
        a_axes, b_axes = list(range(x1.ndim - axes, x1.ndim)), list(range(axes))
    else:
        a_axes, b_axes = ([a] if isinstance(a, (int, np.integer)) else list(a) for a in axes)
        a_axes = [_axis(a, x1.ndim, "tensordot") for a in a_axes]
        b_axes = [_axis(b, x2.ndim, "tensordot") for b in b_axes]
        if len(a_axes) != len(b_axes):
            raise ValueError(f"tensordot: axes {axes!r} name different numbers of axes")
    for a, b in zip(a_axes, b_axes):
        if x1.shape[a] != x2.shape[b]:
            raise ValueError(f"tensordot: axis {a} of {x1.shape} does not match axis {b} of {x2.shape}")
    left = list(_letters(x1.ndim))
    right = list(_letters(x2.ndim, x1.ndim))
    for a, b in zip(a_axes, b_axes):
        right[b] = left[a]
    out = [c for i, c in enumerate(left) if i not in a_axes] + [c for i, c in enumerate(right) if i not in b_axes]
    return _einsum(f"{''.join(left)},{''.join(right)}->{''.join(out)}", x1, x2)


def dot(x1, x2):
    """NumPy's `dot`: a product for scalars, `matmul` up to 2-D, the last axis of `x1` with the
    second-to-last of `x2` beyond."""
    x1, x2 = _promoted(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    if x2.ndim <= 2 and x1.ndim <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([-1], [builtins.max(x2.ndim - 2, 0)]))


def inner(x1, x2):
    """Sum of products over the last axes (a product for scalars)."""
    x1, x2 = _promoted(x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        return x1 * x2
    return tensordot(x1, x2, axes=([-1], [-1]))


def vdot(x1, x2):
    """Sum of products of the flattened arrays."""
    x1, x2 = _promoted(x1, x2)
    if x1.size != x2.size:
        raise ValueError(f"vdot: inputs of {x1.size} and {x2.size} elements cannot be paired")
    return tensordot(ravel(x1), ravel(x2), axes=1)


def outer(x1, x2):
    """Products of every element of the flattened `x1` with every element of the flattened `x2`."""
    x1, x2 = _promoted(x1, x2)
    return _einsum("i,j->ij", ravel(x1), ravel(x2))


def kron(x1, x2):
    """Kronecker product: blocks of `x2` scaled by each element of `x1`."""
    x1, x2 = _promoted(x1, x2)
    ndim = builtins.max(x1.ndim, x2.ndim)
    x1 = reshape(x1, (1,) * (ndim - x1.ndim) + x1.shape)
    x2 = reshape(x2, (1,) * (ndim - x2.ndim) + x2.shape)
    a, b = _letters(ndim), _letters(ndim, ndim)
    product = _einsum(f"{a},{b}->{''.join(p + q for p, q in zip(a, b))}", x1, x2)
    return reshape(product, tuple(m * n for m, n in zip(x1.shape, x2.shape)))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors, whose product is the scalar z component)."""
    x1, x2 = _promoted(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(x1, _axis(axisa, x1.ndim, "cross"), -1)
    b = moveaxis(x2, _axis(axisb, x2.ndim, "cross"), -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError(f"cross: vectors must have 2 or 3 components, got shapes {x1.shape} and {x2.shape}")
    ax, ay = getitem(a, (Ellipsis, 0)), getitem(a, (Ellipsis, 1))
    bx, by = getitem(b, (Ellipsis, 0)), getitem(b, (Ellipsis, 1))
    z = ax * by - ay * bx
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return z
    az = getitem(a, (Ellipsis, 2)) if a.shape[-1] == 3 else 0
    bz = getitem(b, (Ellipsis, 2)) if b.shape[-1] == 3 else 0
    out = stack([_in(ay * bz - az * by), _in(az * bx - ax * bz), _in(z)], axis=-1)
    return moveaxis(out, -1, _axis(axisc, out.ndim, "cross"))


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D arrays: `c[k] = sum_n x1[n + k] x2[n]`, in `valid`, `same` or `full` mode."""
    x1, x2 = _promoted(x1, x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"correlate: expected two 1-D arrays, got shapes {x1.shape} and {x2.shape}")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', got {mode!r}")
    if x1.dtype.kind in "biu":
        x1, x2 = _cast(x1, backend.floatx()), _cast(x2, backend.floatx())
    swapped = x1.shape[0] < x2.shape[0]
    long, short = (x2, x1) if swapped else (x1, x2)
    n, m = long.shape[0], short.shape[0]
    before = {"valid": 0, "same": m // 2, "full": m - 1}[mode]
    after = {"valid": 0, "same": m - 1 - m // 2, "full": m - 1}[mode]
    padded = _pad_constant(long, ((before, after),), constant_values=0)
    count = n + before + after - m + 1
    windows = getitem(padded, np.arange(count)[:, None] + np.arange(m)[None, :])
    out = matmul(windows, short)
    return flip(out, 0) if swapped else out


def corrcoef(x):
    """Pearson correlation coefficients between the rows of `x` (each row a variable)."""
    x = _floating(_in(x))
    if x.ndim > 2:
        raise ValueError(f"corrcoef: expected a 1-D or 2-D input, got shape {x.shape}")
    rows = reshape(x, (-1, x.shape[-1])) if x.ndim else reshape(x, (1, 1))
    centered = rows - _mean(rows, axis=1, keepdims=True)
    covariance = matmul(centered, transpose(centered)) / builtins.max(rows.shape[1] - 1, 1)
    scale = diagonal(covariance) ** 0.5
    out = covariance / (expand_dims(scale, 1) * expand_dims(scale, 0))
    out = minimum(maximum(out, np.asarray(-1, dtype=x.dtype)), np.asarray(1, dtype=x.dtype))
    return reshape(out, ()) if x.ndim < 2 else out


def select(condlist, choicelist, default=0):
    """Per element, the choice of the first true condition (`default` where none holds)."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: {len(condlist)} conditions for {len(choicelist)} choices")
    if not condlist:
        raise ValueError("select: expected at least one condition")
    choices = _promoted(*choicelist, default)
    out = choices[-1]
    for condition, choice in zip(condlist[::-1], choices[-2::-1]):
        mask = np.asarray(as_array(condition))
        if mask.dtype != bool:
            raise TypeError(f"select: conditions must be booleans, got dtype {mask.dtype}")
        out = where(mask, choice, out)
    shape = np.broadcast_shapes(*[np.shape(as_array(c)) for c in condlist], *[c.shape for c in choices])
    return broadcast_to(out, shape) if out.shape != shape else out


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` mapped over arrays' elements (or over core dimensions given by `signature`);
    it runs on NumPy values and carries no gradient."""
    mapped = np.vectorize(pyfunc, excluded=excluded, signature=signature)

    def vectorized(*args, **kwargs):
        out = mapped(*[as_array(a) if isinstance(a, Tensor) else a for a in args], **kwargs)
        return _out(out, *args, *kwargs.values())

    return vectorized
