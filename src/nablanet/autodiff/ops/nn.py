"""Fused neural kernels with hand-written NumPy VJPs (first order only): 2-D convolution and
pooling, channels last (NHWC), kernels HWIO as Keras stores them.

A convolution unrolls its (padded) input into patches with a strided view and multiplies them
by the kernel in one matmul. The backward pass is two matmuls: patches^T @ g for the kernel, and
g @ kernel^T folded back into the input by one strided slice-add per kernel position (9 for a
3x3 kernel), never a scatter. The patches are kept from the forward pass for the kernel gradient.
Pooling takes one elementwise maximum (or sum) per window position over strided views, and
its backward routes the gradient the same way, to each window's first maximum.

This NumPy code is the reference. With the accelerator on, float32 convolutions and max pooling
that the C kernels of `accel_conv` fit (few input channels, 3x3 stride-1 layers, tiled windows) run
there, and other passes on the numba kernels of `accel_nn` (`accel.py`).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nablanet.autodiff import accel
from nablanet.autodiff.primitive import is_grad_enabled, primitive
from nablanet.autodiff.primitive import save_for_backward as _save
from nablanet.autodiff.primitive import saved_for_backward as _load
from nablanet.autodiff.tensor import Tensor, as_array


def _patches(xp, kh, kw, strides, dilation, out_hw):
    """A (N, OH, OW, KH, KW, C) view of the padded input: no copy."""
    n, _, _, c = xp.shape
    s_n, s_h, s_w, s_c = xp.strides
    (sh, sw), (dh, dw), (oh, ow) = strides, dilation, out_hw
    return as_strided(xp, (n, oh, ow, kh, kw, c), (s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
                      writeable=False)


def _compiled(*arrays):
    """The accelerator's kernels when it is on and the arrays share one float dtype it compiles for
    (for a small first array, only once numba is loaded: `accel.kernels`)."""
    dtype = arrays[0].dtype
    if dtype not in (np.float32, np.float64) or any(a.dtype != dtype for a in arrays[1:]):
        return None
    return accel.kernels("nn", size=arrays[0].size)


def _native(groups, *arrays):
    """The accelerator's C kernels (`accel_conv`) when it is on, the convolution is not grouped (1
    for pooling) and every array is float32; its functions still decline shapes they do not fit."""
    if groups != 1 or any(a is not None and a.dtype != np.float32 for a in arrays):
        return None
    return accel.kernels("conv")


def _out_size(size, k, stride, dilation, pad):
    return (size + pad[0] + pad[1] - dilation * (k - 1) - 1) // stride + 1


def _pad(x, padding, value=0):
    (top, bottom), (left, right) = padding
    if not (top or bottom or left or right):
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _unroll(x, kernel_shape, strides, padding, dilation, groups, ones=False):
    """The patch matrix: (N*OH*OW, KH*KW*C), with a last column of ones when `ones` (the bias
    then rides in the matmul), or (G, N*OH*OW, KH*KW*C/G) for grouped kernels."""
    n, h, wd, c = x.shape
    kh, kw, cg, _ = kernel_shape
    oh = _out_size(h, kh, strides[0], dilation[0], padding[0])
    ow = _out_size(wd, kw, strides[1], dilation[1], padding[1])
    k = kh * kw * c
    xp = _pad(x, padding)
    if groups == 1:
        cols = np.empty((n, oh, ow, k + ones), dtype=x.dtype)
        if ones:
            cols[..., k] = 1
        body = cols[..., :k] if ones else cols
        if c < 16:  # few channels: copy each kernel position's slice as a block
            blocks = body.reshape(n, oh, ow, kh * kw, c)
            for i, (si, sj) in enumerate((i, j) for i in range(kh) for j in range(kw)):
                rows = slice(si * dilation[0], si * dilation[0] + (oh - 1) * strides[0] + 1, strides[0])
                columns = slice(sj * dilation[1], sj * dilation[1] + (ow - 1) * strides[1] + 1, strides[1])
                blocks[:, :, :, i] = xp[:, rows, columns]
        else:  # the one unrolling copy, from a strided view
            np.copyto(body.reshape(n, oh, ow, kh, kw, c), _patches(xp, kh, kw, strides, dilation, (oh, ow)))
        return cols.reshape(n * oh * ow, k + ones), (oh, ow)
    cols = _patches(xp, kh, kw, strides, dilation, (oh, ow))
    cols = cols.reshape(n * oh * ow, kh * kw, groups, cg).transpose(2, 0, 1, 3)
    return cols.reshape(groups, n * oh * ow, kh * kw * cg), (oh, ow)


def _conv2d(x, w, b=None, *, strides, padding, dilation, groups, relu=False):
    n = x.shape[0]
    kh, kw, cg, o = w.shape
    native = _native(groups, x, w, b)
    if native is not None:
        out_hw = tuple(_out_size(x.shape[1 + a], w.shape[a], strides[a], dilation[a], padding[a]) for a in (0, 1))
        done = native.conv2d(x, w, b, out_hw, strides, padding, dilation, relu, keep=is_grad_enabled())
        if done is not None:
            out, kept = done
            if kept is not None:  # a Winograd forward: its backward runs in the same domain
                _save(out, kept)
            return out
    fold_bias = b is not None and groups == 1
    cols, (oh, ow) = _unroll(x, w.shape, strides, padding, dilation, groups, ones=fold_bias)
    if groups == 1:
        kernel = w.reshape(kh * kw * cg, o)
        if fold_bias:
            kernel = np.concatenate([kernel, np.asarray(b, kernel.dtype)[None]])
        out = (cols @ kernel).reshape(n, oh, ow, o)
    else:
        kernel = w.reshape(kh * kw * cg, groups, o // groups).transpose(1, 0, 2)
        out = np.matmul(cols, kernel).transpose(1, 0, 2).reshape(n, oh, ow, o)
        if b is not None:
            out += b  # in place: no second output-sized array
    if relu:
        np.maximum(out, 0, out=out)
    _save(out, cols)
    return out


def _conv2d_vjp(g, out, x, w, b=None, *, strides, padding, dilation, groups, relu=False):
    n, h, wd, c = x.shape
    kh, kw, cg, o = w.shape
    oh, ow = g.shape[1:3]
    kept = _load(out)
    if hasattr(kept, "gradients"):  # the C kernels' Winograd forward (accel_conv.Winograd)
        return _winograd_vjp(kept, g, out if relu else None, b is not None)
    fast = _compiled(x, g)
    native = _native(groups, x, g, out)
    products = {}

    def relu_masked():  # g times the fused relu's derivative (0 at 0, as the relu primitive), as (pixels, O)
        if "g2" not in products:
            masked = g
            if relu and fast is not None and out.flags.c_contiguous and out.dtype == g.dtype:
                masked = fast.relu_gradient(np.ascontiguousarray(g).reshape(-1), out.reshape(-1))
            elif relu:
                masked = g * (out > 0)
            products["g2"] = masked.reshape(n * oh * ow, o)
        return products["g2"]

    def direct():  # the C kernel's (kernel, bias) gradients in one pass over g, relu's derivative fused
        if "direct" not in products:
            products["direct"] = None if native is None else native.conv2d_kernel_gradient(
                x, g, out if relu else None, w.shape, strides, padding, dilation, b is not None)
        return products["direct"]

    def patches_times_g():  # cols^T @ g: the kernel gradient, with the bias's as its last row
        g2 = relu_masked()
        if "value" not in products:
            cols = kept
            if cols is None:  # the forward's patches are gone: unroll again
                cols, _ = _unroll(x, w.shape, strides, padding, dilation, groups, ones=b is not None and groups == 1)
            if groups == 1:
                products["value"] = cols.T @ g2
            else:
                gg = g2.reshape(-1, groups, o // groups).transpose(1, 0, 2)
                products["value"] = np.matmul(cols.transpose(0, 2, 1), gg)  # (G, KH*KW*C/G, O/G)
        return products["value"]

    def kernel_gradient():
        if direct() is not None:
            return direct()[0]
        if groups == 1:
            return patches_times_g()[:kh * kw * cg].reshape(w.shape)
        gw = patches_times_g()
        return gw.reshape(groups, kh * kw, cg, o // groups).transpose(1, 2, 0, 3).reshape(w.shape)

    def bias_gradient():
        if direct() is not None:
            return direct()[1]
        return patches_times_g()[-1].copy() if groups == 1 else relu_masked().sum(axis=0)

    def input_gradient():
        g2 = relu_masked()
        if groups == 1:
            dcols = (g2 @ w.reshape(kh * kw * c, o).T).reshape(n, oh, ow, kh, kw, c)
        else:
            gg = g2.reshape(-1, groups, o // groups).transpose(1, 0, 2)
            kernel = w.reshape(kh * kw * cg, groups, o // groups).transpose(1, 2, 0)  # (G, O/G, K*C/G)
            dcols = np.matmul(gg, kernel).reshape(groups, n, oh, ow, kh, kw, cg)
            dcols = dcols.transpose(1, 2, 3, 4, 5, 0, 6).reshape(n, oh, ow, kh, kw, c)
        (top, bottom), (left, right) = padding
        if fast is not None and dcols.dtype == g.dtype:
            dx = np.empty((n, h, wd, c), dtype=g.dtype)
            fast.fold(np.ascontiguousarray(dcols).reshape(n, oh, ow, kh * kw * c), dx, kh, kw, *strides, *dilation,
                      top, left)
            return dx
        dx = np.zeros((n, h + top + bottom, wd + left + right, c), dtype=g.dtype)
        (sh, sw), (dh, dw) = strides, dilation
        for i in range(kh):  # fold the patches back: one strided add per kernel position
            for j in range(kw):
                rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
                cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
                dx[:, rows, cols] += dcols[:, :, :, i, j]
        return dx[:, top:top + h, left:left + wd]

    if b is None:
        return input_gradient, kernel_gradient
    return input_gradient, kernel_gradient, bias_gradient


def _winograd_vjp(kept, g, relu_out, bias):
    """The input, kernel and (when `bias`) bias gradients of a Winograd forward, all three from one
    pass over the transformed output gradient (relu's derivative at `relu_out` fused when given)."""
    products = []

    def gradient(i):
        if not products:
            products.extend(kept.gradients(g, relu_out))
        return products[i]

    return tuple((lambda i=i: gradient(i)) for i in range(2 + bool(bias)))


def _window_slices(xp, pool, strides, out_hw):
    """For each position (i, j) inside the window, the strided view of the input it sees."""
    (oh, ow), (sh, sw) = out_hw, strides
    for i in range(pool[0]):
        for j in range(pool[1]):
            yield (slice(None), slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw))


def _pool_geometry(x, pool, strides, padding):
    n, h, wd, c = x.shape
    return (_out_size(h, pool[0], strides[0], 1, padding[0]), _out_size(wd, pool[1], strides[1], 1, padding[1]))


def _max_pool(x, *, pool, strides, padding):
    native = _native(1, x)
    out = None if native is None else native.max_pool(x, pool, strides, padding)
    if out is not None:
        return out
    fast = _compiled(x)
    if fast is not None:
        out = np.empty((x.shape[0],) + _pool_geometry(x, pool, strides, padding) + (x.shape[3],), dtype=x.dtype)
        fast.max_pool(np.ascontiguousarray(x), out, *pool, *strides, padding[0][0], padding[1][0])
        return out
    # One elementwise maximum per window position over strided views: no unrolling, no argmax.
    fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    xp = _pad(x, padding, fill)
    slices = _window_slices(xp, pool, strides, _pool_geometry(x, pool, strides, padding))
    out = xp[next(slices)].copy()
    for index in slices:
        np.maximum(out, xp[index], out=out)
    return out


def _max_pool_vjp(g, out, x, *, pool, strides, padding):
    native = _native(1, x)
    dx = None if native is None else native.max_pool_gradient(g, out, x, pool, strides, padding)
    if dx is not None:
        return (dx,)
    fast = _compiled(x, out, g)
    if fast is not None and tuple(pool) == tuple(strides) and padding == ((0, 0), (0, 0)):
        dx = np.empty(x.shape, dtype=x.dtype)
        fast.max_pool_gradient_tiles(np.ascontiguousarray(x), np.ascontiguousarray(out), np.ascontiguousarray(g), dx,
                                     *pool)
        return (dx,)
    if fast is not None:
        dx = np.empty(x.shape, dtype=x.dtype)
        fast.max_pool_gradient(np.ascontiguousarray(x), np.ascontiguousarray(out), np.ascontiguousarray(g), dx,
                               *pool, *strides, padding[0][0], padding[1][0])
        return (dx,)
    fill = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    xp = _pad(x, padding, fill)
    tiles = tuple(pool) == tuple(strides) and padding == ((0, 0), (0, 0))
    dx = (np.empty if tiles else np.zeros)(xp.shape, dtype=g.dtype)  # tiled windows cover x once
    if tiles and (x.shape[1] % pool[0] or x.shape[2] % pool[1]):
        dx[...] = 0  # rows or columns outside every window get no gradient
    untaken = np.ones(out.shape, dtype=bool)  # the gradient goes to each window's first maximum
    hit = np.empty(out.shape, dtype=bool)
    for index in _window_slices(xp, pool, strides, g.shape[1:3]):
        np.equal(xp[index], out, out=hit)
        hit &= untaken
        np.logical_xor(untaken, hit, out=untaken)  # hit lies within untaken: this removes it
        if tiles:
            np.multiply(g, hit, out=dx[index])
        else:
            dx[index] += g * hit
    (top, _), (left, _) = padding
    return (dx[:, top:top + x.shape[1], left:left + x.shape[2]],)


def _window_sum(x, pool, strides, padding):
    xp = _pad(x, padding, 0)
    slices = _window_slices(xp, pool, strides, _pool_geometry(x, pool, strides, padding))
    total = xp[next(slices)].copy()
    for index in slices:
        total += xp[index]
    return total


def _counts(shape, pool, strides, padding, dtype):
    """How many real (not padded) inputs each window holds: Keras does not average the padding."""
    if padding == ((0, 0), (0, 0)):
        return np.asarray(pool[0] * pool[1], dtype)
    return _window_sum(np.ones((1,) + tuple(shape[1:3]) + (1,), dtype=dtype), pool, strides, padding)


def _avg_pool(x, *, pool, strides, padding):
    return _window_sum(x, pool, strides, padding) / _counts(x.shape, pool, strides, padding, x.dtype)


def _avg_pool_vjp(g, out, x, *, pool, strides, padding):
    share = g / _counts(x.shape, pool, strides, padding, g.dtype)
    (top, bottom), (left, right) = padding
    n, h, wd, c = x.shape
    dx = np.zeros((n, h + top + bottom, wd + left + right, c), dtype=g.dtype)
    for index in _window_slices(dx, pool, strides, g.shape[1:3]):
        dx[index] += share
    return (dx[:, top:top + h, left:left + wd],)


# fmt: off
conv2d_op   = primitive("conv2d",   _conv2d,   _conv2d_vjp,   order=1)
max_pool_op = primitive("max_pool", _max_pool, _max_pool_vjp, order=1)
avg_pool_op = primitive("avg_pool", _avg_pool, _avg_pool_vjp, order=1)
# fmt: on


def same_padding(size, k, stride, dilation):
    """TensorFlow's 'same' padding: output ceil(size / stride), the extra pad at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (k - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d(x, kernel, strides=1, padding="valid", dilation_rate=1, groups=1, bias=None, relu=False):
    """2-D convolution of NHWC `x` with an HWIO `kernel` (Keras's layouts), plus `bias`.

    Args:
        padding: "valid", "same" (TensorFlow's rule) or explicit ((top, bottom), (left, right)).
        bias: Optional per-filter bias, added inside the kernel (one pass fewer).
        relu: Apply relu in place inside the kernel (one pass and one array fewer).
    """
    shape, kshape = np.shape(as_array(x)), np.shape(as_array(kernel))
    if len(shape) != 4 or len(kshape) != 4:
        raise ValueError(f"conv2d: expected a 4-D input (batch, height, width, channels) and a 4-D kernel, "
                         f"got shapes {shape} and {kshape}")
    strides, dilation = _pair(strides), _pair(dilation_rate)
    if shape[3] != kshape[2] * groups:
        raise ValueError(f"conv2d: the input has {shape[3]} channels, the kernel expects {kshape[2] * groups} "
                         f"({kshape[2]} per group x {groups} groups)")
    if isinstance(padding, str):
        if padding == "same":
            padding = tuple(same_padding(shape[1 + a], kshape[a], strides[a], dilation[a]) for a in range(2))
        elif padding == "valid":
            padding = ((0, 0), (0, 0))
        else:
            raise ValueError(f"conv2d: padding must be 'valid' or 'same', got {padding!r}")
    padding = tuple(tuple(int(p) for p in pair) for pair in padding)
    for a, name in ((0, "height"), (1, "width")):
        if _out_size(shape[1 + a], kshape[a], strides[a], dilation[a], padding[a]) < 1:
            raise ValueError(
                f"conv2d: the kernel ({kshape[0]}x{kshape[1]}, dilation {dilation}) is larger than the "
                f"padded input {name} {shape[1 + a] + sum(padding[a])}; use padding='same' or a smaller kernel"
            )
    inputs = (x, kernel) if bias is None else (x, kernel, bias)
    return conv2d_op(*inputs, strides=strides, padding=padding, dilation=dilation, groups=groups, relu=relu)


def _pair(value):
    return (int(value), int(value)) if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


def _pool_args(x, pool_size, strides, padding, name):
    shape = np.shape(as_array(x))
    if len(shape) != 4:
        raise ValueError(f"{name}: expected a 4-D input (batch, height, width, channels), got shape {shape}")
    pool = _pair(pool_size)
    strides = pool if strides is None else _pair(strides)
    if padding == "same":
        padding = tuple(same_padding(shape[1 + a], pool[a], strides[a], 1) for a in range(2))
    elif padding == "valid":
        padding = ((0, 0), (0, 0))
        if shape[1] < pool[0] or shape[2] < pool[1]:
            raise ValueError(f"{name}: the pool {pool} is larger than the input {shape[1:3]}")
    else:
        raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
    return pool, strides, padding


def max_pool(x, pool_size, strides=None, padding="valid"):
    """2-D max pooling of NHWC `x`; the gradient goes to each window's first maximum."""
    pool, strides, padding = _pool_args(x, pool_size, strides, padding, "max_pool")
    return max_pool_op(x, pool=pool, strides=strides, padding=padding)


def average_pool(x, pool_size, strides=None, padding="valid"):
    """2-D average pooling of NHWC `x` (padding excluded from the averages)."""
    pool, strides, padding = _pool_args(x, pool_size, strides, padding, "average_pool")
    return avg_pool_op(x, pool=pool, strides=strides, padding=padding)


def _contracted(x_shape, w_shape, axes):
    """`(rows, columns)`: the sizes `x`'s last `axes` axes and the kernel's first ones flatten to."""
    size = int(np.prod(w_shape[:axes]))
    return (int(np.prod(x_shape)) // size if size else 0), size


def _dense(x, w, b=None, *, relu=False, sigmoid=False, axes=1):
    rows, size = _contracted(x.shape, w.shape, axes)
    out = x.reshape(rows, size) @ w.reshape(size, -1)  # views: one 2-D product whatever the ranks
    if b is not None:
        out += b.reshape(-1) if b.ndim > 1 else b  # in place: no second output-sized array
    if relu:
        np.maximum(out, 0, out=out)
    elif sigmoid:  # 1 / (1 + exp(-z)) in place, exact in both tails (exp may overflow to inf -> 0)
        np.negative(out, out=out)
        with np.errstate(over="ignore"):
            np.exp(out, out=out)
        out += 1
        np.reciprocal(out, out=out)
    return out.reshape(x.shape[:x.ndim - axes] + w.shape[axes:])


def _dense_vjp(g, out, x, w, b=None, *, relu=False, sigmoid=False, axes=1):
    # Written with ops, so a recorded sweep (create_graph, hessian) differentiates it again; on
    # the raw arrays of a first-order sweep each op is plain NumPy.
    from nablanet.autodiff.ops.linalg import matmul
    from nablanet.autodiff.ops.math import mask
    from nablanet.autodiff.ops.reduce import sum as reduce_sum
    from nablanet.autodiff.ops.shape import reshape, swapaxes

    x_shape, w_shape = np.shape(as_array(x)), np.shape(as_array(w))
    rows, size = _contracted(x_shape, w_shape, axes)
    if not isinstance(g, Tensor):  # first-order sweep: NumPy straight, no op dispatch
        if relu:
            fast = _compiled(g, out)
            if fast is not None and out.flags.c_contiguous:
                g = fast.relu_gradient(np.ascontiguousarray(g).reshape(-1), out.reshape(-1)).reshape(out.shape)
            else:
                g = g * (out > 0)
        elif sigmoid:  # sigmoid' = s (1 - s), from the output it kept
            slope = np.subtract(1, out)
            slope *= out
            slope *= g
            g = slope
        g2, x2, w2 = g.reshape(rows, -1), x.reshape(rows, size), w.reshape(size, -1)
        # deferred: the data's gradient is never asked for
        grads = (lambda: (g2 @ w2.T).reshape(x_shape), lambda: (x2.T @ g2).reshape(w_shape))
        if b is None:
            return grads
        # the bias's gradient, the column sums, as a matrix-vector product: faster than NumPy's sum over rows
        return grads + (lambda: _shaped_like(np.ones(rows, g2.dtype) @ g2, b),)
    if relu:
        g = mask(g, out > 0)  # relu's derivative from the output it kept: 0 at 0, as the relu primitive
    elif sigmoid:
        g = g * (out - out * out)
    g2, x2, w2 = reshape(g, (rows, -1)), reshape(x, (rows, size)), reshape(w, (size, -1))
    grads = (lambda: reshape(matmul(g2, swapaxes(w2, 0, 1)), x_shape),
             lambda: reshape(matmul(swapaxes(x2, 0, 1), g2), w_shape))
    return grads if b is None else grads + (lambda: _shaped_like(reduce_sum(g2, axis=0), b),)


def _shaped_like(column_sums, b):
    """The bias's gradient in the bias's shape when it spans several axes; else the engine unbroadcasts it."""
    from nablanet.autodiff.ops.shape import reshape

    shape = np.shape(as_array(b))
    if len(shape) < 2:
        return column_sums
    return reshape(column_sums, shape) if isinstance(column_sums, Tensor) else column_sums.reshape(shape)


dense_op = primitive("dense", _dense, _dense_vjp)


def dense(x, kernel, bias=None, relu=False, sigmoid=False, axes=1):
    """`x @ kernel + bias`, then relu or sigmoid when asked, as one op: the bias is added and the
    activation applied in place on the matmul's output (one array and two passes fewer than the
    composed ops). `x` may have any rank >= 1; the kernel's first `axes` axes contract with `x`'s last
    `axes` ones (EinsumDense's `abcd,cde->abe` is `axes=2`), and the bias has the kernel's other axes."""
    inputs = (x, kernel) if bias is None else (x, kernel, bias)
    return dense_op(*inputs, relu=relu, sigmoid=sigmoid, axes=axes)


def _mean_squared_error(y_pred, y_true):
    difference = np.subtract(y_pred, y_true)
    np.multiply(difference, difference, out=difference)
    return difference.mean(axis=-1)


def _mean_squared_error_vjp(g, out, y_pred, y_true):
    from nablanet.autodiff.ops.shape import expand_dims

    n = np.broadcast_shapes(np.shape(as_array(y_pred)), np.shape(as_array(y_true)))[-1]  # the axis averaged

    def gradient():  # d/dy_pred mean((y_pred - y_true)^2) = 2 (y_pred - y_true) / n, times g
        if isinstance(g, Tensor):  # a recorded sweep: differentiable ops
            return expand_dims(g, -1) * ((2 / n) * (y_pred - y_true))
        difference = np.subtract(y_pred, y_true)
        difference *= np.multiply(g, 2 / n)[..., None]
        return difference

    return gradient, lambda: -gradient()


mean_squared_error_op = primitive("mean_squared_error", _mean_squared_error, _mean_squared_error_vjp)


def mean_squared_error(y_true, y_pred):
    """`mean((y_pred - y_true) ** 2)` over the last axis as one op: five passes over the data
    instead of a dozen."""
    from nablanet.autodiff.ops.composite import square
    from nablanet.autodiff.ops.reduce import mean
    if np.ndim(as_array(y_pred)) == 0:
        return mean(square(y_pred - y_true), axis=-1)
    return mean_squared_error_op(y_pred, y_true)


def _normalize_rows(x2, epsilon):
    """`(x_hat, 1 / std)` of the rows of the 2-D `x2`: the means are matrix-vector products, which run
    several times faster than NumPy's reductions along short rows."""
    average = np.full(x2.shape[1], 1 / x2.shape[1], x2.dtype)
    centered = x2 - (x2 @ average)[:, None]
    inv_std = np.square(centered) @ average
    inv_std += epsilon
    np.sqrt(inv_std, out=inv_std)
    np.reciprocal(inv_std, out=inv_std)
    centered *= inv_std[:, None]
    return centered, inv_std


def _compiled_norm(x, gamma, beta):
    """The accelerator's layer-norm kernels when it is on and the arrays share one float dtype."""
    if x.dtype not in (np.float32, np.float64) or any(p is not None and p.dtype != x.dtype for p in (gamma, beta)):
        return None
    return accel.kernels("norm", size=x.size)


def _affine_or_identity(gamma, beta, n, dtype):
    return (np.ones(n, dtype) if gamma is None else gamma), (np.zeros(n, dtype) if beta is None else beta)


def _normalize_last(x, gamma=None, beta=None, *, epsilon):
    x = x.astype(np.result_type(x, 1.0), copy=False)  # integers normalize in float64, as the composite
    fast = _compiled_norm(x, gamma, beta)
    if fast is not None:
        x2 = np.ascontiguousarray(x.reshape(-1, x.shape[-1]))
        out, x_hat, inv_std = np.empty(x.shape, x.dtype), np.empty_like(x2), np.empty(len(x2), x.dtype)
        fast.layer_norm(x2, *_affine_or_identity(gamma, beta, x2.shape[1], x.dtype), epsilon,
                        out.reshape(x2.shape), x_hat, inv_std)
        _save(out, (x_hat, inv_std))
        return out
    x_hat, inv_std = _normalize_rows(x.reshape(-1, x.shape[-1]), epsilon)
    if gamma is None and beta is None:
        out = x_hat.reshape(x.shape)
    else:
        out = x_hat * gamma if gamma is not None else x_hat.copy()
        if beta is not None:
            out += beta  # in place: no second output-sized array
        out = out.reshape(x.shape)
    _save(out, (x_hat, inv_std))
    return out


def _normalize_last_vjp(g, out, x, gamma=None, beta=None, *, epsilon):
    # With x_hat = (x - mean) / std and dy/dx_hat = g gamma, over the last axis of n:
    # dx = (g gamma - mean(g gamma) - x_hat mean(g gamma x_hat)) / std, dgamma = sum(g x_hat), dbeta = sum(g).
    n = x.shape[-1]
    saved = _load(out)
    x_hat, inv_std = saved if saved is not None else _normalize_rows(x.reshape(-1, n), epsilon)
    fast = _compiled_norm(x_hat, gamma, beta)
    if fast is not None and g.dtype == x_hat.dtype:
        g2 = np.ascontiguousarray(g.reshape(-1, n))
        dx, dgamma, dbeta = np.empty_like(g2), np.empty(n, g.dtype), np.empty(n, g.dtype)
        fast.layer_norm_gradient(g2, x_hat, inv_std, _affine_or_identity(gamma, beta, n, g.dtype)[0], dx, dgamma,
                                 dbeta)
        return dx.reshape(x.shape), None if gamma is None else dgamma, None if beta is None else dbeta
    g2 = g.reshape(-1, n)
    g_x_hat = g2 * x_hat
    gamma_mean = np.full(n, 1 / n, x_hat.dtype) if gamma is None else gamma / n
    dx = g2 - (g2 @ gamma_mean)[:, None] if gamma is None else g2 * gamma - (g2 @ gamma_mean)[:, None]
    dx -= x_hat * (g_x_hat @ gamma_mean)[:, None]
    dx *= inv_std[:, None]
    rows = np.ones(len(g2), g2.dtype)
    grads = (dx.reshape(x.shape), None if gamma is None else (lambda: rows @ g_x_hat))
    return grads + (None if beta is None else (lambda: rows @ g2),)


normalize_last_op = primitive("normalize_last", _normalize_last, _normalize_last_vjp, order=1)


def normalize_last(x, epsilon, gamma=None, beta=None):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta` over the last axis as one first-order fused
    kernel, layer normalization with its scale and shift (either may be None); the composite of
    differentiable ops is what transforms use."""
    return normalize_last_op(x, gamma, beta, epsilon=epsilon)
