"""`keras.ops`' math ops (Keras's `ops.math`, exposed at the top level): `logsumexp`, `erf`, `top_k`,
segment reductions, FFTs and spectrograms.

FFTs take and return `(real, imag)` pairs, as Keras's do, and are differentiable in both parts.

>>> from nablanet import ops
>>> real, imag = ops.fft((np.array([1.0, 0.0, 0.0, 0.0]), np.zeros(4)))
>>> real, imag
(array([1., 1., 1., 1.]), array([0., 0., 0., 0.]))
>>> ops.segment_sum(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]))
array([3., 3.])
"""

import math
import re

import numpy as np

from nablanet.autodiff.ops import (
    cast, getitem, logsumexp, pad, reshape, sqrt, stack, sum, take_along_axis, transpose,
)
from nablanet.autodiff.ops import max as reduce_max, min as reduce_min, prod as reduce_prod
from nablanet.autodiff.ops.fft import fft as _fft
from nablanet.autodiff.ops.shape import scatter_add
from nablanet.autodiff.ops import erf as _erf
from nablanet.autodiff.ops.special import erfc as _erfc, erfinv as _erfinv, logdet as _logdet
from nablanet.autodiff.tensor import Tensor, as_array

__all__ = [
    "cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "istft",
    "logdet", "logsumexp", "rearrange", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod",
    "segment_sum", "stft", "top_k", "view_as_complex", "view_as_real",
]


def _to_float(x):
    """`x` with integer and boolean values as float32, as Keras's float-valued ops give them."""
    kind = np.dtype(as_array(x).dtype).kind
    if kind == "f":
        return x
    return cast(x if isinstance(x, Tensor) else np.asarray(x), "float32")


def rsqrt(x):
    """`1 / sqrt(x)`.

    >>> rsqrt(np.array([4.0, 0.25]))
    array([0.5, 2. ])
    """
    with np.errstate(divide="ignore"):  # rsqrt(0) is inf, as in Keras, without a warning
        return 1.0 / sqrt(_to_float(x))


def erf(x):
    """The error function, `2 / sqrt(pi)` times the integral of `exp(-t**2)` from 0 to `x`."""
    return _erf(_to_float(x))


def erfc(x):
    """`1 - erf(x)`, accurate where erf(x) is close to 1.

    >>> print(f"{float(erfc(np.array(6.0))):.4e}")
    2.1520e-17
    """
    return _erfc(_to_float(x))


def erfinv(x):
    """The inverse of `erf` on [-1, 1] (±inf at ±1, nan outside)."""
    return _erfinv(_to_float(x))


def logdet(x):
    """The log-determinant of square matrices (the last two axes); nan where the determinant is
    negative. First-order differentiable."""
    shape = np.shape(as_array(x))
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"logdet: expected square matrices in the last two axes, got shape {shape}")
    return _logdet(_to_float(x))


def cdist(x, y):
    """Euclidean distances between the rows of `x` (..., n, d) and `y` (..., m, d): shape (..., n, m)."""
    sx, sy = np.shape(as_array(x)), np.shape(as_array(y))
    if len(sx) < 2 or len(sy) < 2:
        raise ValueError(f"cdist: inputs must have rank >= 2, got shapes {sx} and {sy}")
    if sx[-1] != sy[-1]:
        raise ValueError(f"cdist: the last axes must match, got shapes {sx} and {sy}")
    diff = reshape(x, sx[:-1] + (1, sx[-1])) - reshape(y, sy[:-2] + (1,) + sy[-2:])
    return sqrt(sum(diff * diff, axis=-1))


def top_k(x, k, sorted=True):  # noqa: A002 -- Keras's name
    """The `k` largest values along the last axis and their int64 indices (ties: lower index
    first). Always sorted largest first; `sorted=False` permits any order, this one included."""
    data = as_array(x)
    if data.ndim < 1 or not 0 <= k <= data.shape[-1]:
        raise ValueError(f"top_k: k={k} must be between 0 and the last axis' length, got shape {data.shape}")
    n = data.shape[-1]
    # a stable ascending sort of the reversed row, reversed back: descending, ties in index order
    order = n - 1 - np.flip(np.argsort(np.flip(data, -1), axis=-1, kind="stable"), -1)
    indices = order[..., :k].astype(np.int64)
    values = take_along_axis(x, indices, axis=-1)
    return values, Tensor._wrap(indices) if isinstance(x, Tensor) else indices


def in_top_k(targets, predictions, k):
    """Whether each row's target class is among the `k` highest predictions (ties count as in)."""
    scores = np.asarray(as_array(predictions))
    labels = np.asarray(as_array(targets)).astype(np.int64)
    if scores.ndim != 2 or labels.shape != scores.shape[:1]:
        raise ValueError(
            f"in_top_k: expected targets (batch,) and predictions (batch, classes), got {labels.shape} "
            f"and {scores.shape}"
        )
    if k <= 0:
        out = np.zeros(labels.shape, bool)
    else:
        last = int(np.minimum(k, scores.shape[1])) - 1  # the k-th largest score of each row
        kth = np.sort(scores, axis=-1)[:, ::-1][:, last]
        out = np.take_along_axis(scores, labels[:, None], axis=-1)[:, 0] >= kth
    return Tensor._wrap(out) if isinstance(predictions, Tensor) else out


# -- segment reductions ------------------------------------------------------------------------


def _segments(data, segment_ids, num_segments, where):
    ids = np.asarray(as_array(segment_ids))
    shape = np.shape(as_array(data))
    if not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1 or not shape or ids.shape[0] != shape[0]:
        raise ValueError(
            f"{where}: segment_ids must be 1-D integers, one per row of data; got {ids.dtype} {ids.shape} "
            f"for data of shape {shape}"
        )
    n = int(num_segments) if num_segments is not None else int(ids.max()) + 1 if ids.size else 0
    return ids, n, shape


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 -- Keras's name
    """Sums of the rows of `data` that share a segment id (ids outside `[0, num_segments)` are
    dropped); `num_segments` defaults to the largest id + 1."""
    ids, n, shape = _segments(data, segment_ids, num_segments, "segment_sum")
    keep = np.flatnonzero((ids >= 0) & (ids < n))
    return scatter_add(getitem(data, keep), shape=(n,) + shape[1:], index=ids[keep])


def _segment_reduce(reduce, empty, where):
    def segment_op(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002 -- Keras's name
        ids, n, shape = _segments(data, segment_ids, num_segments, where)
        dtype = as_array(data).dtype
        fill = np.full(shape[1:], empty(dtype), dtype)
        rows = [
            reduce(getitem(data, np.flatnonzero(ids == s)), axis=0) if (ids == s).any() else fill for s in range(n)
        ]
        if not rows:
            out = np.zeros((0,) + shape[1:], dtype)
            return Tensor._wrap(out) if isinstance(data, Tensor) else out
        return stack(rows)

    segment_op.__name__ = segment_op.__qualname__ = where
    return segment_op


def _lowest(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min if dtype.kind in "iu" else False


def _highest(dtype):
    return np.inf if dtype.kind == "f" else np.iinfo(dtype).max if dtype.kind in "iu" else True


segment_max = _segment_reduce(reduce_max, _lowest, "segment_max")
segment_max.__doc__ = "Maxima of the rows of `data` per segment id; -inf for an empty segment."
segment_min = _segment_reduce(reduce_min, _highest, "segment_min")
segment_min.__doc__ = "Minima of the rows of `data` per segment id; inf for an empty segment."
segment_prod = _segment_reduce(reduce_prod, lambda dtype: 1, "segment_prod")
segment_prod.__doc__ = "Products of the rows of `data` per segment id; 1 for an empty segment."


# -- sequences and Fourier transforms ------------------------------------------------------------


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis:
    shape (..., frames, sequence_length)."""
    n = np.shape(as_array(x))[-1]
    if sequence_length <= 0 or sequence_stride <= 0 or sequence_length > n:
        raise ValueError(
            f"extract_sequences: need 0 < sequence_length <= {n} and sequence_stride > 0, got "
            f"sequence_length={sequence_length}, sequence_stride={sequence_stride}"
        )
    starts = np.arange(0, n - sequence_length + 1, sequence_stride)
    return getitem(x, (Ellipsis, starts[:, None] + np.arange(sequence_length)))


def _pair(x, where):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{where}: expected a (real, imag) pair, got {type(x).__name__}")
    real, imag = (_to_float(v) for v in x)
    if np.shape(as_array(real)) != np.shape(as_array(imag)):
        raise ValueError(
            f"{where}: real and imag must have the same shape, got {np.shape(as_array(real))} and "
            f"{np.shape(as_array(imag))}"
        )
    return real, imag


def _transform(x, axes, inverse, where):
    real, imag = _pair(x, where)
    if np.ndim(as_array(real)) < len(axes):
        raise ValueError(f"{where}: expected at least {len(axes)} dimensions, got shape {np.shape(as_array(real))}")
    out = _fft(real, imag, axes=axes, inverse=inverse)
    return getitem(out, 0), getitem(out, 1)


def fft(x):
    """The discrete Fourier transform along the last axis of a `(real, imag)` pair."""
    return _transform(x, (-1,), False, "fft")


def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes of a `(real, imag)` pair."""
    return _transform(x, (-2, -1), False, "fft2")


def ifft2(x):
    """The inverse of `fft2`."""
    return _transform(x, (-2, -1), True, "ifft2")


def _fit_last(x, n):
    """`x` cut or zero-padded to `n` samples along its last axis."""
    size = np.shape(as_array(x))[-1]
    if size >= n:
        return getitem(x, (Ellipsis, slice(0, n)))
    return pad(x, [(0, 0)] * (np.ndim(as_array(x)) - 1) + [(0, n - size)])


def rfft(x, fft_length=None):
    """The Fourier transform of real `x` along its last axis, the `fft_length // 2 + 1`
    non-negative frequencies only, as a `(real, imag)` pair (`x` cut or zero-padded to
    `fft_length` first)."""
    x = _to_float(x)
    n = int(fft_length) if fft_length is not None else np.shape(as_array(x))[-1]
    x = _fit_last(x, n)
    real, imag = _transform((x, x * 0), (-1,), False, "rfft")
    keep = (Ellipsis, slice(0, n // 2 + 1))
    return getitem(real, keep), getitem(imag, keep)


def irfft(x, fft_length=None):
    """The inverse of `rfft`: `fft_length` real samples (default `2 * (bins - 1)`) from the
    non-negative frequencies of a Hermitian spectrum."""
    real, imag = _pair(x, "irfft")
    bins = np.shape(as_array(real))[-1]
    n = int(fft_length) if fft_length is not None else 2 * (bins - 1)
    real, imag = _fit_last(real, n // 2 + 1), _fit_last(imag, n // 2 + 1)
    mirror = np.arange(n) if n else np.zeros(0, int)
    mirror = np.where(mirror <= n // 2, mirror, n - mirror)  # X[n - k] = conj(X[k])
    sign = np.where(np.arange(n) <= n // 2, 1.0, -1.0).astype(as_array(real).dtype)
    full_real, full_imag = getitem(real, (Ellipsis, mirror)), getitem(imag, (Ellipsis, mirror)) * sign
    return _transform((full_real, full_imag), (-1,), True, "irfft")[0]


def _window(window, sequence_length, dtype, where):
    if window is None:
        return np.ones(sequence_length, dtype)
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"{where}: window must be 'hann', 'hamming', an array or None, got {window!r}")
        a = 0.5 if window == "hann" else 0.54
        k = np.arange(sequence_length)
        return (a - (1 - a) * np.cos(2 * np.pi * k / sequence_length)).astype(dtype)  # periodic, as torch's
    win = np.asarray(as_array(window), dtype)
    if win.shape != (sequence_length,):
        raise ValueError(f"{where}: window must have shape ({sequence_length},), got {win.shape}")
    return win


def _reflect(x, width):
    """`x` padded by `width` mirrored samples at both ends of its last axis (no edge repeat)."""
    n = np.shape(as_array(x))[-1]
    if width >= n:
        raise ValueError(f"stft: center=True needs more than {width} samples to reflect, got {n}")
    index = np.concatenate([np.arange(width, 0, -1), np.arange(n), np.arange(n - 2, n - 2 - width, -1)])
    return getitem(x, (Ellipsis, index))


def _padded_window(window, sequence_length, fft_length, dtype, where):
    win = _window(window, sequence_length, dtype, where)
    left = (fft_length - sequence_length) // 2
    return np.pad(win, (left, fft_length - sequence_length - left))


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform of real `x` along its last axis, as a `(real, imag)` pair
    of shape (..., frames, fft_length // 2 + 1), framed as torch's `stft` frames it: with
    `center`, `fft_length // 2` reflected samples at each end; the window is centred in each
    `fft_length` frame."""
    if np.dtype(as_array(x).dtype).name not in ("float32", "float64"):
        raise TypeError(f"stft: expected float32 or float64 input, got {as_array(x).dtype}")
    if fft_length < sequence_length:
        raise ValueError(f"stft: fft_length ({fft_length}) must be at least sequence_length ({sequence_length})")
    win = _padded_window(window, sequence_length, fft_length, as_array(x).dtype, "stft")
    if center:
        x = _reflect(x, fft_length // 2)
    frames = extract_sequences(x, fft_length, sequence_stride) * win
    return rfft(frames)


def _overlap_add(frames, stride):
    """Sum frames (..., count, length) placed `stride` apart into one signal along the last axis."""
    shape = np.shape(as_array(frames))
    count, length = shape[-2:]
    total = length + stride * (count - 1)
    placed = [
        pad(getitem(frames, (Ellipsis, i, slice(None))), [(0, 0)] * (len(shape) - 2)
            + [(i * stride, total - length - i * stride)])
        for i in range(count)
    ]
    return sum(stack(placed, axis=-1), axis=-1)


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann", center=True):
    """The inverse of `stft`: overlap-add of the windowed inverse transforms, divided by the
    window's overlapped energy."""
    real, imag = _pair(x, "istft")
    dtype = as_array(real).dtype
    frames = irfft((real, imag), fft_length)
    count = np.shape(as_array(frames))[-2]
    if window is None:
        win = None
    else:
        win = _padded_window(window, sequence_length, fft_length, dtype, "istft")
    if sequence_length == fft_length and center and win is not None:
        # torch.istft's rule: divide by the window energy actually overlapped at each sample
        signal = _overlap_add(frames * win, sequence_stride)
        energy = as_array(_overlap_add(np.broadcast_to(win * win, (count, fft_length)), sequence_stride))
        start = fft_length // 2
        end = start + length if length is not None else energy.shape[-1] - fft_length // 2
        signal = getitem(signal, (Ellipsis, slice(start, end)))
        energy = energy[start:end]
        out = signal / np.where(energy > 1e-11, energy, 1.0).astype(dtype)
        return _fit_last(out, length) if length is not None else out
    if win is not None:
        # Keras's rule elsewhere: the window divided by its energy folded onto one stride
        overlaps = -(-fft_length // sequence_stride)
        energy = np.pad(win * win, (0, overlaps * sequence_stride - fft_length))
        folded = np.tile(energy.reshape(overlaps, sequence_stride).sum(0), overlaps)[:fft_length]
        frames = frames * (win / folded).astype(dtype)
    signal = _overlap_add(frames, sequence_stride)
    total = np.shape(as_array(signal))[-1]
    start = fft_length // 2 if center else 0
    end = start + length if length is not None else total - fft_length // 2 if center else total
    return getitem(signal, (Ellipsis, slice(start, end)))


def view_as_real(x):
    """A complex array as real numbers: its real and imaginary parts on a new last axis."""
    data = np.asarray(as_array(x))
    if data.dtype.kind != "c":
        raise TypeError(f"view_as_real: expected a complex array, got dtype {data.dtype}")
    out = np.stack([data.real, data.imag], axis=-1)
    return Tensor._wrap(out) if isinstance(x, Tensor) else out


def view_as_complex(x):
    """Real numbers with a last axis of 2 (real, imaginary) as a complex array."""
    data = np.asarray(as_array(x))
    if data.dtype.kind != "f" or data.ndim < 1 or data.shape[-1] != 2:
        raise ValueError(f"view_as_complex: expected floats with a last axis of 2, got {data.dtype} {data.shape}")
    out = data[..., 0] + 1j * data[..., 1]
    out = out.astype(np.complex64 if data.dtype.itemsize <= 4 else np.complex128)
    return Tensor._wrap(out) if isinstance(x, Tensor) else out


# -- einops' rearrange ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\(|\)|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")


def _parse(side, where):
    groups, group = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            if group is not None:
                raise ValueError(f"{where}: nested parentheses in {side!r}")
            group = []
        elif token == ")":
            if group is None:
                raise ValueError(f"{where}: unbalanced parentheses in {side!r}")
            groups.append(group)
            group = None
        elif token == "..." or token.isidentifier() or token == "1":
            (group if group is not None else groups).append(token if group is not None else [token])
        else:
            raise ValueError(f"{where}: cannot read {token!r} in {side!r}")
    if group is not None:
        raise ValueError(f"{where}: unbalanced parentheses in {side!r}")
    return [[name for name in g if name != "1"] for g in groups]


def rearrange(tensor, pattern, **axes_lengths):
    """Reorder, merge and split axes as einops' `rearrange` pattern says (`"b h w c -> b (h w) c"`).

    >>> rearrange(np.arange(6).reshape(2, 3), "a b -> b a").shape
    (3, 2)
    """
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern must have one '->', got {pattern!r}")
    left, right = (_parse(side, "rearrange") for side in pattern.split("->"))
    shape = np.shape(as_array(tensor))
    ellipsis_dims = len(shape) - len(left) + 1 if any("..." in g for g in left) else 0
    if len(left) - (1 if ellipsis_dims else 0) + ellipsis_dims != len(shape):
        raise ValueError(f"rearrange: {pattern!r} names {len(left)} axes, the input has shape {shape}")
    sizes, order, dims = dict(axes_lengths), [], iter(shape)
    for group in left:
        if group == ["..."]:
            names = [f"...{i}" for i in range(ellipsis_dims)]
            sizes.update((name, next(dims)) for name in names)
            order.extend(names)
            continue
        size = next(dims)
        unknown = [name for name in group if name not in sizes]
        known = math.prod(sizes[name] for name in group if name in sizes)
        if len(unknown) > 1 or (not unknown and known != size) or (unknown and size % max(known, 1)):
            raise ValueError(f"rearrange: cannot split an axis of length {size} into {group} with {axes_lengths}")
        if unknown:
            sizes[unknown[0]] = size // known
        order.extend(group)
    flat_right = []
    for group in right:
        flat_right.extend([f"...{i}" for i in range(ellipsis_dims)] if group == ["..."] else group)
    if sorted(flat_right) != sorted(order):
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same axes")
    x = reshape(tensor, tuple(sizes[name] for name in order))
    x = transpose(x, tuple(order.index(name) for name in flat_right))
    out_shape = []
    for group in right:
        names = [f"...{i}" for i in range(ellipsis_dims)] if group == ["..."] else group
        if group == ["..."]:
            out_shape.extend(sizes[name] for name in names)
        else:
            out_shape.append(math.prod(sizes[name] for name in names))
    return reshape(x, tuple(out_shape))
