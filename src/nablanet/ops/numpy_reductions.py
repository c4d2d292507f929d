"""Keras's NumPy reductions: sums, means, extrema, products, spreads, running sums and products, and
their NaN-ignoring forms. Booleans and small ints sum to int32, ints average to float32."""

import numpy as np

from nablanet.autodiff.ops import broadcast_to, maximum, minimum, reshape, where
from nablanet.autodiff.ops import (
    cast as _cast, max as _max, mean as _mean, min as _min, prod as _prod, std as _std, sum as _sum, var as _var,
)
from nablanet.autodiff.ops.reduce import cumprod as _cumprod, cumsum as _cumsum
from nablanet.autodiff.tensor import as_array
from nablanet.ops.array_inputs import (
    as_floating as _floating, as_input as _in, cast_to as _as, check_axis as _axis, numpy_call as _numpy,
    promoted as _promoted, untracked as _out,
)


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
