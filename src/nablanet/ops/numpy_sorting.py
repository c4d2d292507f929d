"""Keras's NumPy sorting, searching and counting (integer results, no gradient), `sort` (differentiable
through the gather it is), and quantiles taken from the sorted values."""

import builtins
import math as _math

import numpy as np

from nablanet import backend
from nablanet.autodiff.ops import broadcast_to, expand_dims, reshape, squeeze, transpose, where
from nablanet.autodiff.ops import cast as _cast, sum as _sum, take_along_axis as _take_along_axis
from nablanet.autodiff.tensor import as_array, Tensor
from nablanet.ops.array_inputs import (
    as_floating as _floating, as_input as _in, check_axes as _axes, check_axis as _axis, numpy_call as _numpy,
    untracked as _out,
)

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
