"""Shape and indexing: reshape, transpose, broadcast_to, concatenate, getitem and its adjoint
scatter_add, pad and cast are primitives; the rest is composed from them.

Every VJP here is again a shape op, so these rules are differentiable to any order.
"""

import math

import numpy as np

from nablanet.autodiff.primitive import primitive
from nablanet.autodiff.tensor import Tensor, as_array


def _is_basic(index):
    """Basic indexing (ints, slices, None, ...) never selects an element twice."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in items)


def _leading_rows(index, shape):
    """The integer array when `index` picks whole rows of axis 0 (`take(x, ids, axis=0)`, an
    Embedding's lookup), else None."""
    rows = index[0] if isinstance(index, tuple) and len(index) == 1 else index
    if len(shape) < 2 or not isinstance(rows, np.ndarray) or not np.issubdtype(rows.dtype, np.integer):
        return None
    rows = rows.astype(np.intp, copy=False)  # row * width must not wrap in a narrow dtype (uint16 ids)
    return np.where(rows < 0, rows + shape[0], rows)


def _scatter_add(g, *, shape, index):
    out = np.zeros(shape, dtype=np.result_type(g))
    rows = _leading_rows(index, shape)
    if _is_basic(index):
        out[index] = g
    elif rows is not None:  # as flat element indices, np.add.at takes NumPy's fast 1-D path
        width = math.prod(shape[1:])
        flat = (rows.reshape(-1, 1) * width + np.arange(width)).reshape(-1)
        np.add.at(out.reshape(-1), flat, np.broadcast_to(g, rows.shape + shape[1:]).reshape(-1))
    else:
        np.add.at(out, index, g)  # repeated indices accumulate
    return out


def _concatenate_vjp(g, out, *xs, axis):
    cotangents, start = [], 0
    for x in xs:
        n = np.shape(x)[axis]
        cotangents.append(_getitem(g, index=(slice(None),) * axis + (slice(start, start + n),)))
        start += n
    return tuple(cotangents)


def _pad_vjp(g, out, x, *, pad_width, constant_values):
    index = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, np.shape(x)))
    return (_getitem(g, index=index),)


def _cast_vjp(g, out, x, *, dtype):
    source = np.result_type(x)
    return (_cast(g, dtype=source) if np.issubdtype(source, np.floating) else None,)


# fmt: off
_reshape     = primitive("reshape",      lambda x, *, shape: np.reshape(x, shape),
                         lambda g, out, x, *, shape: (_reshape(g, shape=np.shape(x)),))
_transpose   = primitive("transpose",    lambda x, *, axes: np.transpose(x, axes),
                         lambda g, out, x, *, axes: (_transpose(g, axes=tuple(np.argsort(axes))),))
_broadcast   = primitive("broadcast_to", lambda x, *, shape: np.broadcast_to(x, shape),
                         lambda g, out, x, *, shape: (g,))  # the engine sums g back to x's shape
_concatenate = primitive("concatenate",  lambda *xs, axis: np.concatenate(xs, axis=axis),
                         _concatenate_vjp)
_getitem     = primitive("getitem",      lambda x, *, index: x[index],
                         lambda g, out, x, *, index: (scatter_add(g, shape=np.shape(x), index=index),))
scatter_add  = primitive("scatter_add",  _scatter_add,
                         lambda g, out, x, *, shape, index: (_getitem(g, index=index),))
_pad         = primitive("pad",          lambda x, *, pad_width, constant_values:
                         np.pad(x, pad_width, constant_values=constant_values), _pad_vjp)
_cast        = primitive("cast",         lambda x, *, dtype: np.asarray(x).astype(dtype, copy=False),
                         _cast_vjp)
# fmt: on


def _axis(axis, ndim, name):
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{name}: axis {axis!r} is out of range for {ndim} dimensions")
    return int(axis) % ndim


def reshape(x, newshape):
    """Give `x` a new shape with the same number of elements (one entry may be -1).

    >>> reshape(np.arange(6), (2, 3)).shape
    (2, 3)
    """
    shape = (newshape,) if isinstance(newshape, (int, np.integer)) else tuple(newshape)
    return _reshape(x, shape=tuple(int(n) for n in shape))


def transpose(x, axes=None):
    """Permute the axes (reverse them when `axes` is None)."""
    ndim = np.ndim(as_array(x))
    axes = tuple(range(ndim))[::-1] if axes is None else tuple(_axis(a, ndim, "transpose") for a in axes)
    if sorted(axes) != list(range(ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {ndim} axes")
    return _transpose(x, axes=axes)


def swapaxes(x, axis1, axis2):
    """Swap two axes."""
    ndim = np.ndim(as_array(x))
    axes = list(range(ndim))
    a, b = _axis(axis1, ndim, "swapaxes"), _axis(axis2, ndim, "swapaxes")
    axes[a], axes[b] = axes[b], axes[a]
    return _transpose(x, axes=tuple(axes))


def broadcast_to(x, shape):
    """Broadcast `x` to `shape` as NumPy does."""
    return _broadcast(x, shape=tuple(shape))


def expand_dims(x, axis):
    """Insert axes of length 1 at the positions `axis` (an int or a tuple) of the result."""
    shape = np.shape(as_array(x))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    ndim = len(shape) + len(axes)
    positions = {_axis(a, ndim, "expand_dims") for a in axes}
    if len(positions) != len(axes):
        raise ValueError(f"expand_dims: axis {axis!r} names the same position twice for {ndim} dimensions")
    axes = positions
    rest = iter(shape)
    return _reshape(x, shape=tuple(1 if i in axes else next(rest) for i in range(ndim)))


def squeeze(x, axis=None):
    """Remove axes of length 1 (all of them when `axis` is None)."""
    shape = np.shape(as_array(x))
    if axis is None:
        axes = {i for i, n in enumerate(shape) if n == 1}
    else:
        axes = {_axis(a, len(shape), "squeeze") for a in np.atleast_1d(axis).tolist()}
        for a in axes:
            if shape[a] != 1:
                raise ValueError(f"squeeze: cannot remove axis {a} of length {shape[a]} from {shape}")
    return _reshape(x, shape=tuple(n for i, n in enumerate(shape) if i not in axes))


def concatenate(xs, axis=0):
    """Join a sequence of arrays along an existing axis."""
    xs = [x if isinstance(x, Tensor) else np.asarray(x) for x in xs]
    if not xs:
        raise ValueError("concatenate: expected at least one array, got none")
    return _concatenate(*xs, axis=_axis(axis, max(np.ndim(as_array(xs[0])), 1), "concatenate"))


def stack(xs, axis=0):
    """Join a sequence of same-shaped arrays along a new axis."""
    xs = list(xs)
    if not xs:
        raise ValueError("stack: expected at least one array, got none")
    axis = _axis(axis, np.ndim(as_array(xs[0])) + 1, "stack")
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Split into a list of pieces along `axis`, as `numpy.split` does."""
    shape = np.shape(as_array(x))
    axis = _axis(axis, len(shape), "split")
    n = shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(
                f"split: axis {axis} of length {n} cannot be split into {indices_or_sections} "
                "equal sections; pass split indices instead"
            )
        bounds = list(range(0, n, n // indices_or_sections)) + [n]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    head = (slice(None),) * axis
    return [_getitem(x, index=head + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def _normalize_index(index):
    items = index if isinstance(index, tuple) else (index,)
    normalized = []
    for i in items:
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype == bool:
            normalized.extend(np.nonzero(i))  # a mask is the tuple of its true positions
        else:
            normalized.append(i)
    return tuple(normalized) if isinstance(index, tuple) or len(normalized) > 1 else normalized[0]


def getitem(x, index):
    """`x[index]` with NumPy's basic and advanced (integer-array, boolean) indexing."""
    return _getitem(x, index=_normalize_index(index))


def take(x, indices, axis=None):
    """Take elements along `axis` (from the flattened array when None), as `numpy.take`."""
    indices = np.asarray(as_array(indices))
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"take: indices must be integers, got dtype {indices.dtype}")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    shape = np.shape(as_array(x))
    axis = _axis(axis, len(shape), "take")
    if indices.size and not (-shape[axis] <= indices.min() and indices.max() < shape[axis]):
        bad = indices.max() if indices.max() >= shape[axis] else indices.min()
        raise IndexError(f"take: index {bad} is out of range for axis {axis} of length {shape[axis]}")
    return _getitem(x, index=(slice(None),) * axis + (indices,))


def gather(x, indices, axis=0):
    """TensorFlow's name for `take` along an axis (axis 0 by default)."""
    return take(x, indices, axis=axis)


def take_along_axis(x, indices, axis):
    """Pick one element per position along `axis`, as `numpy.take_along_axis`."""
    indices = np.asarray(as_array(indices))
    shape = np.shape(as_array(x))
    axis = _axis(axis, len(shape), "take_along_axis")
    if indices.ndim != len(shape):
        raise ValueError(
            f"take_along_axis: indices must have the input's {len(shape)} dimensions, "
            f"got {indices.ndim}"
        )
    index = tuple(
        indices if d == axis else np.arange(n).reshape([-1 if k == d else 1 for k in range(len(shape))])
        for d, n in enumerate(shape)
    )
    return _getitem(x, index=index)


def pad(x, pad_width, mode="constant", constant_values=0):
    """Pad with a constant, as `numpy.pad(mode="constant")`."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    ndim = np.ndim(as_array(x))
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (ndim, 2))
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    widths = tuple((int(a), int(b)) for a, b in widths)
    return _pad(x, pad_width=widths, constant_values=constant_values)


def cast(x, dtype):
    """Convert to `dtype`; the gradient flows back between floating types. A cast to an integer
    or boolean type carries no gradient (rounding has none), so its result does not require one."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        out = np.asarray(as_array(x)).astype(dtype)
        return Tensor._wrap(out) if isinstance(x, Tensor) else out
    return _cast(x, dtype=dtype)


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    """One-hot encode integer labels along a new `axis`; carries no gradient.

    >>> one_hot(np.array([0, 2]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(as_array(x))
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"one_hot: expected integer labels, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: labels must lie in [0, {num_classes}), got values from {labels.min()} "
            f"to {labels.max()}"
        )
    out = (labels[..., None] == np.arange(num_classes)).astype(dtype)
    out = np.moveaxis(out, -1, _axis(axis, out.ndim, "one_hot"))
    return Tensor._wrap(out) if isinstance(x, Tensor) else out


def zeros_like(x):
    """Zeros with the shape and dtype of `x`; carries no gradient."""
    out = np.zeros_like(as_array(x))
    return Tensor._wrap(out) if isinstance(x, Tensor) else out


def ones_like(x):
    """Ones with the shape and dtype of `x`; carries no gradient."""
    out = np.ones_like(as_array(x))
    return Tensor._wrap(out) if isinstance(x, Tensor) else out
