"""Keras's NumPy products: `einsum` (a primitive whose rule is another einsum), `matmul`, and
`tensordot`, `dot`, `inner`, `vdot`, `outer`, `kron` spelled as einsums; `cross`, `correlate`, `corrcoef`."""

import builtins

import numpy as np

from nablanet import backend
from nablanet.autodiff.ops import expand_dims, getitem, maximum, minimum, reshape, transpose
from nablanet.autodiff.ops import cast as _cast, matmul as _matmul, mean as _mean, pad as _pad_constant
from nablanet.autodiff.ops.einsum import einsum as _einsum
from nablanet.autodiff.tensor import Tensor
from nablanet.ops.array_inputs import (
    as_floating as _floating, as_input as _in, cast_to as _as, check_axis as _axis, promoted as _promoted,
)
from nablanet.ops.numpy_shapes import diagonal, flip, moveaxis, ravel, stack


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
    if isinstance(x1, Tensor) and isinstance(x2, Tensor):
        dtype = x1.data.dtype
        if dtype == x2.data.dtype and dtype.kind == "f":
            return _matmul(x1, x2)  # the layers' case, without the promotion
    x1, x2 = _in(x1), _in(x2)
    result = np.dtype(backend.result_type(x1.dtype.name, x2.dtype.name))
    if result.kind == "f":  # a float64 operand keeps float64 (Keras narrows it): float64 gradient checks
        x1, x2 = _promoted(x1, x2)
        return _matmul(x1, x2)
    if x1.dtype == np.int8 and x2.dtype == np.int8:
        result = np.dtype(np.int32)
    out = _matmul(_as(x1, np.int32), _as(x2, np.int32))  # integers and booleans multiply as int32, as Keras
    return out if out.dtype == result else _cast(out, result)


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
