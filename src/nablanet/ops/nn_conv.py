"""`keras.ops.nn`'s convolutions and pooling in 1, 2 and 3 spatial dimensions, on the 2-D kernels.

Every convolution goes through the fused `conv2d` kernel (first order, like it): a 1-D input is a
2-D one with a unit height; a 3-D input has its depth unrolled into channels (one strided slice per
depth tap, concatenated), so one 2-D convolution computes it. A transposed convolution is the
convolution of the stride-dilated, padded input with the flipped kernel, as JAX and Keras define it.
Max and average pooling are separable, so a 3-D window is a 2-D pool then a 1-D pool along depth.
"""

import numpy as np

from nablanet.autodiff import ops as _ops
from nablanet.autodiff.ops import nn as _kernels
from nablanet.autodiff.ops.shape import scatter_add
from nablanet.autodiff.tensor import as_array
from nablanet.ops import array_inputs


def _shape(x):
    return np.shape(as_array(x))


def _channels_last(x, data_format):
    """Move the channel axis last (a no-op for channels_last)."""
    if data_format == "channels_last":
        return x
    ndim = len(_shape(x))
    return _ops.transpose(x, (0,) + tuple(range(2, ndim)) + (1,))


def _restore_format(x, data_format):
    if data_format == "channels_last":
        return x
    ndim = len(_shape(x))
    return _ops.transpose(x, (0, ndim - 1) + tuple(range(1, ndim - 1)))


def _spatial_rank(x, name, kernel=None):
    ndim = len(_shape(x))
    if ndim not in (3, 4, 5):
        raise ValueError(f"{name}: expected a 3-D, 4-D or 5-D input (batch, spatial..., channels), got shape "
                         f"{_shape(x)}")
    if kernel is not None and len(_shape(kernel)) != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D kernel for a {ndim}-D input, got kernel shape {_shape(kernel)}")
    return ndim - 2


def _paddings(sizes, kernel, strides, dilation, padding, name):
    if padding == "valid":
        return tuple((0, 0) for _ in sizes)
    if padding == "same":
        return tuple(_kernels.same_padding(n, k, s, d) for n, k, s, d in zip(sizes, kernel, strides, dilation))
    raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")


def _depth_taps(x, k, stride, dilation, out):
    """Stack the `k` strided slices a depth window sees along a new axis 4: (N, OD, H, W, k, C)."""
    taps = [_ops.getitem(x, (slice(None), slice(i * dilation, i * dilation + (out - 1) * stride + 1, stride)))
            for i in range(k)]
    return _ops.stack(taps, axis=4)


def _conv_nd(x, kernel, strides, padding, dilation, groups, name):
    """A channels-last convolution of rank 1, 2 or 3 with explicit ((lo, hi), ...) padding."""
    rank = len(_shape(x)) - 2
    if rank == 2:
        return _kernels.conv2d(x, kernel, strides, padding, dilation, groups)
    if rank == 1:
        out = _kernels.conv2d(_ops.expand_dims(x, 1), _ops.expand_dims(kernel, 0), (1,) + strides,
                              ((0, 0),) + padding, (1,) + dilation, groups)
        return _ops.squeeze(out, axis=1)
    # 3-D: depth taps become channels, ordered (group, tap, channel) so each group stays contiguous.
    if any(padding[0]):
        x = _ops.pad(x, ((0, 0), padding[0], (0, 0), (0, 0), (0, 0)))
    n, d, h, w, c = _shape(x)
    kd, kh, kw, cg, o = _shape(kernel)
    out_d = (d - dilation[0] * (kd - 1) - 1) // strides[0] + 1
    if out_d < 1:
        raise ValueError(f"{name}: the kernel depth {kd} (dilation {dilation[0]}) is larger than the padded input "
                         f"depth {d}; use padding='same' or a smaller kernel")
    taps = _depth_taps(x, kd, strides[0], dilation[0], out_d)  # (N, OD, H, W, kd, C)
    taps = _ops.reshape(taps, (n * out_d, h, w, kd, groups, c // groups))
    taps = _ops.reshape(_ops.transpose(taps, (0, 1, 2, 4, 3, 5)), (n * out_d, h, w, kd * c))
    kernel2d = _ops.reshape(_ops.transpose(kernel, (1, 2, 0, 3, 4)), (kh, kw, kd * cg, o))
    out = _kernels.conv2d(taps, kernel2d, strides[1:], padding[1:], dilation[1:], groups)
    return _ops.reshape(out, (n, out_d) + _shape(out)[1:])


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (N = 1, 2, 3) of `inputs` with a `(spatial..., in_channels / groups, out_channels)` kernel.

    The group count is `in_channels // kernel.shape[-2]`, as in Keras.

    >>> conv(np.ones((1, 5, 2)), np.ones((3, 2, 4)), padding="same").shape
    (1, 5, 4)
    """
    rank = _spatial_rank(inputs, "conv", kernel)
    data_format = array_inputs.data_format(data_format, "conv")
    x = _channels_last(array_inputs.as_floating(inputs), data_format)
    kernel = array_inputs.as_floating(kernel)
    strides = array_inputs.int_tuple(strides, rank, "conv", "strides")
    dilation = array_inputs.int_tuple(dilation_rate, rank, "conv", "dilation_rate")
    c, kc = _shape(x)[-1], _shape(kernel)[-2]
    if kc == 0 or c % kc or _shape(kernel)[-1] % (c // kc or 1):
        raise ValueError(f"conv: the input has {c} channels, which the kernel's {kc} input channels and "
                         f"{_shape(kernel)[-1]} filters cannot split into equal groups")
    padding = _paddings(_shape(x)[1:-1], _shape(kernel)[:-2], strides, dilation, padding, "conv")
    return _restore_format(_conv_nd(x, kernel, strides, padding, dilation, c // kc, "conv"), data_format)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Depthwise convolution: each input channel with its own `multiplier` filters, kernel `(spatial..., C, M)`.

    Output channel `c * M + m` is channel `c` convolved with filter `m`.
    """
    rank = _spatial_rank(inputs, "depthwise_conv", kernel)
    data_format = array_inputs.data_format(data_format, "depthwise_conv")
    x = _channels_last(array_inputs.as_floating(inputs), data_format)
    kernel = array_inputs.as_floating(kernel)
    c, (kc, m) = _shape(x)[-1], _shape(kernel)[-2:]
    if kc != c:
        raise ValueError(f"depthwise_conv: the input has {c} channels, the kernel expects {kc}")
    strides = array_inputs.int_tuple(strides, rank, "depthwise_conv", "strides")
    dilation = array_inputs.int_tuple(dilation_rate, rank, "depthwise_conv", "dilation_rate")
    padding = _paddings(_shape(x)[1:-1], _shape(kernel)[:-2], strides, dilation, padding, "depthwise_conv")
    grouped = _ops.reshape(kernel, _shape(kernel)[:-2] + (1, c * m))
    return _restore_format(_conv_nd(x, grouped, strides, padding, dilation, c, "depthwise_conv"), data_format)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution mixing the channels."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def _dilate(x, axis, stride):
    """Insert `stride - 1` zeros between neighbours along `axis`: length n becomes (n - 1) * stride + 1."""
    if stride == 1:
        return x
    shape = _shape(x)
    spread = _ops.expand_dims(x, axis + 1)
    widths = [(0, 0)] * len(shape) + [(0, 0)]
    widths[axis + 1] = (0, stride - 1)
    spread = _ops.reshape(_ops.pad(spread, tuple(widths)), shape[:axis] + (shape[axis] * stride,) + shape[axis + 1:])
    index = (slice(None),) * axis + (slice(0, (shape[axis] - 1) * stride + 1),)
    return _ops.getitem(spread, index)


def _transpose_padding(k, stride, dilation, padding, output_padding):
    """(left, right) padding of the dilated input, Keras's rule for its `padding` and `output_padding`."""
    k = (k - 1) * dilation + 1
    if padding == "valid":
        output_padding = max(k, stride) - k if output_padding is None else output_padding
        return k - 1, k - 1 + output_padding
    total = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, k - 1)
    return left, total - left


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None, data_format=None,
                   dilation_rate=1):
    """Transposed convolution (N = 1, 2, 3) with a `(spatial..., out_channels, in_channels)` kernel.

    >>> conv_transpose(np.ones((1, 3, 2)), np.ones((3, 4, 2)), strides=2).shape
    (1, 7, 4)
    """
    rank = _spatial_rank(inputs, "conv_transpose", kernel)
    data_format = array_inputs.data_format(data_format, "conv_transpose")
    if padding not in ("valid", "same"):
        raise ValueError(f"conv_transpose: padding must be 'valid' or 'same', got {padding!r}")
    x = _channels_last(array_inputs.as_floating(inputs), data_format)
    kernel = array_inputs.as_floating(kernel)
    if _shape(kernel)[-1] != _shape(x)[-1]:
        raise ValueError(f"conv_transpose: the input has {_shape(x)[-1]} channels, the kernel (spatial..., out, in) "
                         f"expects {_shape(kernel)[-1]}")
    strides = array_inputs.int_tuple(strides, rank, "conv_transpose", "strides")
    dilation = array_inputs.int_tuple(dilation_rate, rank, "conv_transpose", "dilation_rate")
    extra = [None] * rank if output_padding is None else array_inputs.int_tuple(output_padding, rank, "conv_transpose",
                                                                 "output_padding")
    widths = [(0, 0)]
    for a in range(rank):
        x = _dilate(x, a + 1, strides[a])
        widths.append(_transpose_padding(_shape(kernel)[a], strides[a], dilation[a], padding, extra[a]))
    x = _ops.pad(x, tuple(widths) + ((0, 0),))
    flipped = _ops.getitem(kernel, (slice(None, None, -1),) * rank)
    flipped = _ops.swapaxes(flipped, -1, -2)
    out = _conv_nd(x, flipped, (1,) * rank, ((0, 0),) * rank, dilation, 1, "conv_transpose")
    return _restore_format(out, data_format)


# -- pooling ---------------------------------------------------------------------------------------


def _pool(inputs, pool_size, strides, padding, data_format, name, kernel):
    rank = _spatial_rank(inputs, name)
    data_format = array_inputs.data_format(data_format, name)
    x = _channels_last(array_inputs.as_numeric(inputs), data_format)
    pool = array_inputs.int_tuple(pool_size, rank, name, "pool_size")
    strides = pool if strides is None else array_inputs.int_tuple(strides, rank, name, "strides")
    if padding not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
    sizes = _shape(x)[1:-1]
    if padding == "valid" and any(n < p for n, p in zip(sizes, pool)):
        raise ValueError(f"{name}: the pool {pool} is larger than the input's spatial shape {sizes}")
    if rank == 1:
        out = _ops.squeeze(kernel(_ops.expand_dims(x, 1), (1,) + pool, (1,) + strides, padding), axis=1)
    elif rank == 2:
        out = kernel(x, pool, strides, padding)
    else:  # separable: (H, W) windows on every depth slice, then depth windows
        n, d, h, w, c = _shape(x)
        planes = kernel(_ops.reshape(x, (n * d, h, w, c)), pool[1:], strides[1:], padding)
        oh, ow = _shape(planes)[1:3]
        columns = _ops.reshape(planes, (n, d, oh * ow, c))
        out = _ops.reshape(kernel(columns, (pool[0], 1), (strides[0], 1), padding), (n, -1, oh, ow, c))
    return _restore_format(out, data_format)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling (N = 1, 2, 3); the gradient goes to each window's first maximum.

    >>> max_pool(np.arange(6.0).reshape(1, 6, 1), 2)[0, :, 0]
    array([1., 3., 5.])
    """
    return _pool(inputs, pool_size, strides, padding, data_format, "max_pool", _kernels.max_pool)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling (N = 1, 2, 3); padded positions are left out of the averages (TensorFlow's and JAX's rule).

    Keras on torch agrees when "same" pads every axis equally on both sides; otherwise it repeats the
    edge values into the padding and counts them.
    """
    x = array_inputs.as_floating(inputs)
    return _pool(x, pool_size, strides, padding, data_format, "average_pool", _kernels.average_pool)


def _adaptive(inputs, output_size, data_format, name, reduce):
    rank = _spatial_rank(inputs, name)
    data_format = array_inputs.data_format(data_format, name)
    x = _channels_last(array_inputs.as_numeric(inputs), data_format)
    sizes = array_inputs.int_tuple(output_size, rank, name, "output_size")
    for a, out in enumerate(sizes):  # separable: one axis at a time, PyTorch's window bounds
        n = _shape(x)[a + 1]
        if out < 1:
            raise ValueError(f"{name}: expected positive output sizes, got {sizes}")
        head = (slice(None),) * (a + 1)
        pieces = [reduce(_ops.getitem(x, head + (slice(i * n // out, -(-(i + 1) * n // out)),)), axis=a + 1,
                         keepdims=True) for i in range(out)]
        x = _ops.concatenate(pieces, axis=a + 1)
    return _restore_format(x, data_format)


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed `output_size`; window i spans `[floor(i n / out), ceil((i + 1) n / out))`."""
    return _adaptive(array_inputs.as_floating(inputs), output_size, data_format, "adaptive_average_pool", _ops.mean)


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed `output_size`; window i spans `[floor(i n / out), ceil((i + 1) n / out))`."""
    return _adaptive(inputs, output_size, data_format, "adaptive_max_pool", _ops.max)


# -- rearrangements --------------------------------------------------------------------------------


def _blocks(x, block_size, data_format, name):
    x = array_inputs.as_numeric(x)
    if len(_shape(x)) != 4:
        raise ValueError(f"{name}: expected a 4-D input, got shape {_shape(x)}")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return x, int(block_size)


def depth_to_space(x, block_size, data_format="channels_last"):
    """Move blocks of channels into `block_size x block_size` spatial blocks (TensorFlow's order)."""
    x, b = _blocks(x, block_size, data_format, "depth_to_space")
    if data_format == "channels_last":
        n, h, w, c = _shape(x)
        if c % (b * b):
            raise ValueError(f"depth_to_space: expected channels divisible by {b * b}, got {c}")
        x = _ops.transpose(_ops.reshape(x, (n, h, w, b, b, c // (b * b))), (0, 1, 3, 2, 4, 5))
        return _ops.reshape(x, (n, h * b, w * b, c // (b * b)))
    n, c, h, w = _shape(x)
    if c % (b * b):
        raise ValueError(f"depth_to_space: expected channels divisible by {b * b}, got {c}")
    x = _ops.transpose(_ops.reshape(x, (n, c // (b * b), b, b, h, w)), (0, 1, 4, 2, 5, 3))
    return _ops.reshape(x, (n, c // (b * b), h * b, w * b))


def space_to_depth(x, block_size, data_format="channels_last"):
    """Move `block_size x block_size` spatial blocks into channels: the inverse of `depth_to_space`."""
    x, b = _blocks(x, block_size, data_format, "space_to_depth")
    if data_format == "channels_last":
        n, h, w, c = _shape(x)
        if h % b or w % b:
            raise ValueError(f"space_to_depth: expected height and width divisible by {b}, got {(h, w)}")
        x = _ops.transpose(_ops.reshape(x, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
        return _ops.reshape(x, (n, h // b, w // b, c * b * b))
    n, c, h, w = _shape(x)
    if h % b or w % b:
        raise ValueError(f"space_to_depth: expected height and width divisible by {b}, got {(h, w)}")
    x = _ops.transpose(_ops.reshape(x, (n, c, h // b, b, w // b, b)), (0, 1, 3, 5, 2, 4))
    return _ops.reshape(x, (n, c * b * b, h // b, w // b))


def _fold_geometry(size, kernel_size, dilation, padding, stride, name):
    k = array_inputs.int_tuple(kernel_size, 2, name, "kernel_size")
    d = array_inputs.int_tuple(dilation, 2, name, "dilation")
    p = array_inputs.int_tuple(padding, 2, name, "padding")
    s = array_inputs.int_tuple(stride, 2, name, "stride")
    blocks = tuple((size[a] + 2 * p[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2))
    if min(blocks) < 1:
        raise ValueError(f"{name}: the kernel {k} (dilation {d}) does not fit the padded size "
                         f"{tuple(size[a] + 2 * p[a] for a in range(2))}")
    return k, d, p, s, blocks


def _positions(k, d, s, blocks):
    """For each kernel position, the strided slices of the padded image it sees across the blocks."""
    for i in range(k[0]):
        for j in range(k[1]):
            yield (slice(None), slice(None), slice(i * d[0], i * d[0] + (blocks[0] - 1) * s[0] + 1, s[0]),
                   slice(j * d[1], j * d[1] + (blocks[1] - 1) * s[1] + 1, s[1]))


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding blocks from an NCHW image: `(N, C, H, W)` to `(N, C * kh * kw, L)`, as `torch.nn.Unfold`."""
    x = array_inputs.as_numeric(x)
    if len(_shape(x)) != 4:
        raise ValueError(f"unfold: expected a 4-D (N, C, H, W) input, got shape {_shape(x)}")
    n, c, h, w = _shape(x)
    k, d, p, s, blocks = _fold_geometry((h, w), kernel_size, dilation, padding, stride, "unfold")
    if any(p):
        x = _ops.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    taps = _ops.stack([_ops.getitem(x, index) for index in _positions(k, d, s, blocks)], axis=2)
    return _ops.reshape(taps, (n, c * k[0] * k[1], blocks[0] * blocks[1]))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks back into an NCHW image: `(N, C * kh * kw, L)` to `(N, C, H, W)`, as `torch.nn.Fold`."""
    x = array_inputs.as_numeric(x)
    if len(_shape(x)) != 3:
        raise ValueError(f"fold: expected a 3-D (N, C * kh * kw, L) input, got shape {_shape(x)}")
    size = array_inputs.int_tuple(output_size, 2, "fold", "output_size")
    k, d, p, s, blocks = _fold_geometry(size, kernel_size, dilation, padding, stride, "fold")
    n, ck, length = _shape(x)
    if ck % (k[0] * k[1]) or length != blocks[0] * blocks[1]:
        raise ValueError(f"fold: expected (N, C * {k[0] * k[1]}, {blocks[0] * blocks[1]}) for output size {size}, "
                         f"got shape {_shape(x)}")
    c = ck // (k[0] * k[1])
    taps = _ops.reshape(x, (n, c, k[0] * k[1]) + blocks)
    padded = (n, c, size[0] + 2 * p[0], size[1] + 2 * p[1])
    total = None
    for t, index in enumerate(_positions(k, d, s, blocks)):  # one strided add per kernel position
        part = scatter_add(_ops.getitem(taps, (slice(None), slice(None), t)), shape=padded, index=index)
        total = part if total is None else total + part
    return _ops.getitem(total, (slice(None), slice(None), slice(p[0], p[0] + size[0]), slice(p[1], p[1] + size[1])))
