"""Reductions: sum, max, min, prod, logsumexp, softmax and the running sums and products
(cumsum, cumprod) as primitives; mean and var composed.

Each takes `axis` (None, an int or a tuple) and `keepdims` as NumPy does. The public functions
normalize `axis` to a tuple of non-negative ints, so the rules can put reduced axes back.
"""

import numpy as np

from nablanet.autodiff.ops.shape import broadcast_to, cast, expand_dims, getitem, reshape, transpose
from nablanet.autodiff.ops.math import exp, mask, sqrt, where
from nablanet.autodiff.primitive import primitive, save_for_backward
from nablanet.autodiff.tensor import as_array


def _normalize_axis(axis, ndim, name):
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(
                f"{name}: axis {axis!r} is out of range for an input with {ndim} dimensions"
            )
        normalized.append(int(a) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{name}: axis {axis!r} repeats an axis")
    return tuple(normalized)


def _restore(g, axis, keepdims):
    """Put the reduced axes back into `g` so it broadcasts against the input."""
    return g if keepdims or axis is None else expand_dims(g, axis)


def _sum_vjp(g, out, x, *, axis, keepdims):
    return (broadcast_to(_restore(g, axis, keepdims), np.shape(x)),)


def _extremum_vjp(g, out, x, *, axis, keepdims):
    g, out = _restore(g, axis, keepdims), _restore(out, axis, keepdims)
    hit = x == out
    count = _sum(cast(hit, g.dtype), axis=axis, keepdims=True)  # ties share, as torch.amax does
    return (mask(g / count, hit),)


def _prod_vjp(g, out, x, *, axis, keepdims):
    g, out = _restore(g, axis, keepdims), _restore(out, axis, keepdims)
    if not np.any(as_array(x) == 0):
        return (g * out / x,)  # d prod / d x_i = prod / x_i
    return (g * _product_of_others(x, axis),)


def _product_of_others(x, axis):
    """`prod_{j != i} x_j` along `axis` for every i, exact with zeros and to any order.

    The reduced axes are moved last and flattened to length n; row i of an (n, n) copy has
    x_i replaced by 1, so this costs n times the input's memory. Used only when x has zeros.
    """
    shape = np.shape(as_array(x))
    axes = tuple(range(len(shape))) if axis is None else axis
    kept = tuple(a for a in range(len(shape)) if a not in axes)
    moved = transpose(x, kept + axes)
    n = int(np.prod([shape[a] for a in axes]))
    flat = reshape(moved, tuple(shape[a] for a in kept) + (1, n))
    others = _prod(where(np.eye(n, dtype=bool), 1, flat), axis=(len(kept) + 1,), keepdims=False)
    others = reshape(others, tuple(shape[a] for a in kept) + tuple(shape[a] for a in axes))
    return transpose(others, tuple(np.argsort(kept + axes)))


def _logsumexp(x, *, axis, keepdims):
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)  # all -inf (or inf) rows stay finite here
    out = np.log(np.sum(np.exp(x - shift), axis=axis, keepdims=True)) + shift
    return out if keepdims else np.squeeze(out, axis=axis)


def _logsumexp_vjp(g, out, x, *, axis, keepdims):
    g, out = _restore(g, axis, keepdims), _restore(out, axis, keepdims)
    return (g * exp(x - out),)  # the softmax of x along axis


def _softmax(x, *, axis):
    x = np.asarray(x)
    x = x if np.issubdtype(x.dtype, np.inexact) else x.astype(np.float64)
    shift = np.max(x, axis=axis, keepdims=True)
    shift = np.where(np.isfinite(shift), shift, 0)
    p = np.subtract(x, shift)  # four passes and one new array, where exp(x - logsumexp(x)) takes
    np.exp(p, out=p)  # seven passes and four arrays
    total = np.sum(p, axis=axis, keepdims=True)
    p /= total
    save_for_backward(p, np.log(total) + shift)  # logsumexp(x), for the fused cross-entropy
    return p


def _softmax_vjp(g, out, x, *, axis):
    return (out * (g - _sum(g * out, axis=axis, keepdims=True)),)


def _reversed(x, axis):
    return getitem(x, (slice(None),) * axis + (slice(None, None, -1),))


def _cumsum_vjp(g, out, x, *, axis):
    return (_reversed(_cumsum(_reversed(g, axis), axis=axis), axis),)  # sums over later positions


def _cumprod_vjp(g, out, x, *, axis):
    if not np.any(as_array(x) == 0):
        return (_reversed(_cumsum(_reversed(g * out, axis), axis=axis), axis) / x,)
    # out_i = prod_j L_ij with L_ij = x_j for j <= i and 1 above: exact with zeros, at n times the memory
    ndim = np.ndim(as_array(x))
    order = tuple(a for a in range(ndim) if a != axis) + (axis,)
    n = np.shape(as_array(x))[axis]
    lower = np.tril(np.ones((n, n), dtype=bool))
    rows = where(lower, expand_dims(transpose(x, order), -2), 1.0)
    others = _product_of_others(rows, (ndim,))  # d out_i / d x_j for j <= i
    moved_g = expand_dims(transpose(g, order), -1)
    cotangent = _sum(moved_g * where(lower, others, 0.0), axis=(ndim - 1,), keepdims=False)
    return (transpose(cotangent, tuple(np.argsort(order))),)


def _reduction(numpy_function):
    return lambda x, *, axis, keepdims: numpy_function(x, axis=axis, keepdims=keepdims)


# fmt: off
_sum       = primitive("sum",       _reduction(np.sum),  _sum_vjp)
_max       = primitive("max",       _reduction(np.max),  _extremum_vjp)
_min       = primitive("min",       _reduction(np.min),  _extremum_vjp)
_prod      = primitive("prod",      _reduction(np.prod), _prod_vjp)
_lse       = primitive("logsumexp", _logsumexp,          _logsumexp_vjp)
_softmax_op = primitive("softmax",  _softmax,            _softmax_vjp)
_cumsum    = primitive("cumsum",    lambda x, *, axis: np.cumsum(x, axis=axis),  _cumsum_vjp)
_cumprod   = primitive("cumprod",   lambda x, *, axis: np.cumprod(x, axis=axis), _cumprod_vjp)
# fmt: on


def _public(op, doc):
    def reduce(x, axis=None, keepdims=False):
        return op(x, axis=_normalize_axis(axis, np.ndim(as_array(x)), op.name), keepdims=keepdims)

    reduce.__name__ = reduce.__qualname__ = op.name
    reduce.__doc__ = doc
    return reduce


sum = _public(_sum, "Sum of elements over `axis` (all axes when None).\n\n"  # noqa: A001
              ">>> sum(np.array([[1, 2], [3, 4]]), axis=0)\narray([4, 6])\n")
max = _public(_max, "Maximum over `axis`; ties share the gradient equally.")  # noqa: A001
min = _public(_min, "Minimum over `axis`; ties share the gradient equally.")  # noqa: A001
prod = _public(_prod, "Product over `axis`; the gradient is exact with zeros present.")
logsumexp = _public(_lse, "`log(sum(exp(x)))` over `axis`, computed without overflow.\n\n"
                    ">>> float(logsumexp(np.array([1000.0, 1000.0])))\n1000.6931471805599\n")


def softmax(x, axis=-1):
    """`exp(x - logsumexp(x))` along `axis` (an int or a tuple), stable for large inputs; its
    derivative rule `p (g - sum(g p))` is itself differentiable, to any order.

    >>> softmax(np.array([0.0, np.log(3.0)])).round(6)
    array([0.25, 0.75])
    """
    return _softmax_op(x, axis=_normalize_axis(axis, np.ndim(as_array(x)), "softmax"))


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`.

    >>> float(mean(np.array([1.0, 2.0, 6.0])))
    3.0
    """
    axes = _normalize_axis(axis, np.ndim(as_array(x)), "mean")
    shape = np.shape(as_array(x))
    count = int(np.prod([shape[a] for a in axes])) if axes is not None else int(np.prod(shape))
    return _sum(x, axis=axes, keepdims=keepdims) / count


def var(x, axis=None, keepdims=False):
    """Population variance (NumPy's `ddof=0`) over `axis`."""
    centered = x - mean(x, axis=axis, keepdims=True)
    return mean(centered * centered, axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over `axis`."""
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def _running(op, x, axis):
    if axis is None:
        return op(reshape(x, (-1,)), axis=0)
    return op(x, axis=_normalize_axis(axis, np.ndim(as_array(x)), op.name)[0])


def cumsum(x, axis=None):
    """Running sum along `axis` (over the flattened input when None).

    >>> cumsum(np.array([[1, 2], [3, 4]]), axis=1)
    array([[1, 3],
           [3, 7]])
    """
    return _running(_cumsum, x, axis)


def cumprod(x, axis=None):
    """Running product along `axis` (over the flattened input when None); the gradient is
    exact with zeros present."""
    return _running(_cumprod, x, axis)
