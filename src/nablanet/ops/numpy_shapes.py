"""Keras's NumPy ops that reshape, join, split, index, flip, roll, repeat and tile arrays, and take
diagonals and triangles; each is a gather or a reshape of the primitives, so each differentiates."""

import builtins

import numpy as np

from nablanet.autodiff.ops import broadcast_to, expand_dims, getitem, reshape, split, swapaxes, take, transpose, where
from nablanet.autodiff.ops import (
    cast as _cast, concatenate as _concatenate, pad as _pad_constant, take_along_axis as _take_along_axis,
)
from nablanet.autodiff.tensor import as_array, Tensor
from nablanet.ops.array_inputs import (
    along as _along, as_floating as _floating, as_input as _in, check_axes as _axes, check_axis as _axis,
    promoted as _promoted, untracked as _out,
)
from nablanet.ops.numpy_reductions import sum


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
    if axis is not None and builtins.all(x.dtype == xs[0].dtype for x in xs):
        return _concatenate(xs, axis=axis)  # the layers' case
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
