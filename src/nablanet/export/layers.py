"""ONNX forms of the feed-forward layers and of every activation function.

Each converter mirrors the layer's `call` at inference (`training=False`), op for op where the
rounding could differ, so the exported model agrees with `predict` to float32 rounding.
Images are channels last in Keras and channels first in ONNX's Conv and pooling ops: a
convolution is wrapped in two Transposes, which runtimes fold away between neighbours.
"""

import math

import numpy as np

from nablanet import activations, layers
from nablanet.autodiff.ops.nn import same_padding
from nablanet.export.graph import CONVERTERS, ExportError, Masked, Value, converter
from nablanet.layers import conv as conv_module

# -- activation functions ------------------------------------------------------------------------


def _swish(g, x):
    return g.op("Mul", [x, g.op("Sigmoid", [x])])


def _gelu(g, x, approximate=False):
    if approximate:  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715)])])
        tanh = g.op("Tanh", [g.op("Mul", [inner, g.const(math.sqrt(2 / math.pi))])])
        return g.op("Mul", [g.op("Mul", [x, g.const(0.5)]), g.op("Add", [tanh, g.const(1.0)])])
    erf = g.op("Erf", [g.op("Mul", [x, g.const(1 / math.sqrt(2))])])
    return g.op("Mul", [g.op("Mul", [x, g.const(0.5)]), g.op("Add", [erf, g.const(1.0)])])


def _hard_sigmoid(g, x):
    return g.op("HardSigmoid", [x], alpha=1 / 6, beta=0.5)


ACTIVATIONS = {  # activation function -> its ONNX form, fn(g, x)
    activations.linear: lambda g, x: x,
    activations.relu: lambda g, x: g.op("Relu", [x]),
    activations.relu6: lambda g, x: g.op("Clip", [x, g.const(0.0), g.const(6.0)]),
    activations.leaky_relu: lambda g, x: g.op("LeakyRelu", [x], alpha=0.2),
    activations.elu: lambda g, x: g.op("Elu", [x], alpha=1.0),
    activations.selu: lambda g, x: g.op("Selu", [x], alpha=activations.SELU_ALPHA, gamma=activations.SELU_SCALE),
    activations.softplus: lambda g, x: g.op("Softplus", [x]),
    activations.softsign: lambda g, x: g.op("Softsign", [x]),
    activations.silu: _swish,
    activations.gelu: _gelu,
    activations.tanh: lambda g, x: g.op("Tanh", [x]),
    activations.sigmoid: lambda g, x: g.op("Sigmoid", [x]),
    activations.hard_sigmoid: _hard_sigmoid,
    activations.hard_silu: lambda g, x: g.op("Mul", [x, _hard_sigmoid(g, x)]),
    activations.exponential: lambda g, x: g.op("Exp", [x]),
    activations.mish: lambda g, x: g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])]),
    activations.log_sigmoid: lambda g, x: g.op("Neg", [g.op("Softplus", [g.op("Neg", [x])])]),
    activations.softmax: lambda g, x: g.op("Softmax", [x], axis=-1),
    activations.log_softmax: lambda g, x: g.op("LogSoftmax", [x], axis=-1),
}


def activation(g, fn, x, layer):
    """`fn(x)` in ONNX, or an error naming the layer when `fn` has no ONNX form here."""
    form = ACTIVATIONS.get(fn)
    if form is None:
        name = getattr(fn, "__name__", repr(fn))
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r} uses the activation {name!r}, which has "
                          f"no ONNX form; the supported ones are {sorted(f.__name__ for f in ACTIVATIONS)}")
    return form(g, x)


# -- core ----------------------------------------------------------------------------------------


@converter(layers.InputLayer, layers.Dropout, layers.SpatialDropout1D, layers.SpatialDropout2D,
           layers.GaussianNoise, layers.GaussianDropout, layers.AlphaDropout, layers.RandomFlip,
           layers.RandomRotation, layers.RandomTranslation, layers.RandomZoom, layers.RandomContrast)
def _identity(g, layer, x):
    return Masked(x.name, x.mask)  # active only in training; the mask rides along as on the same Tensor


@converter(layers.Dense)
def _dense(g, layer, x):
    y = g.op("MatMul", [x.name, g.const(layer.kernel.numpy(), "kernel")])
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(layer.bias.numpy(), "bias")])
    return activation(g, layer.activation, y, layer)


@converter(layers.Activation)
def _activation(g, layer, x):
    return activation(g, layer.activation, x.name, layer)


@converter(layers.ReLU)
def _relu(g, layer, x):
    if layer.negative_slope == 0 and layer.max_value is None and layer.threshold == 0:
        return g.op("Relu", [x.name])
    if layer.threshold != 0:
        positive = g.op("Where", [g.op("Greater", [x.name, g.const(layer.threshold)]), x.name, g.const(0.0)])
        negative = g.op("Relu", [g.op("Sub", [g.const(layer.threshold), x.name])])
    else:
        positive, negative = g.op("Relu", [x.name]), g.op("Relu", [g.op("Neg", [x.name])])
    if layer.max_value is not None:
        positive = g.op("Clip", [positive, g.const(0.0), g.const(layer.max_value)])
    if not layer.negative_slope:
        return positive
    return g.op("Sub", [positive, g.op("Mul", [negative, g.const(layer.negative_slope)])])


@converter(layers.LeakyReLU)
def _leaky_relu(g, layer, x):
    return g.op("LeakyRelu", [x.name], alpha=float(layer.negative_slope))


@converter(layers.ELU)
def _elu(g, layer, x):
    return g.op("Elu", [x.name], alpha=float(layer.alpha))


@converter(layers.PReLU)
def _prelu(g, layer, x):
    negative = g.op("Relu", [g.op("Neg", [x.name])])
    return g.op("Sub", [g.op("Relu", [x.name]), g.op("Mul", [g.const(layer.alpha.numpy(), "alpha"), negative])])


@converter(layers.Softmax)
def _softmax(g, layer, x):
    logits = x.name
    if x.mask is not None:  # masked positions get -1e9, as the layer does
        logits = g.op("Where", [x.mask, logits, g.op("Sub", [g.op("Mul", [logits, g.const(0.0)]), g.const(1e9)])])
    return g.op("Softmax", [logits], axis=int(layer.axis))


@converter(layers.Rescaling)
def _rescaling(g, layer, x):
    return g.op("Add", [g.op("Mul", [x.name, g.const(np.asarray(layer.scale))]), g.const(np.asarray(layer.offset))])


# -- reshaping -----------------------------------------------------------------------------------


@converter(layers.Flatten)
def _flatten(g, layer, x):
    y = x.name
    if layer.data_format == "channels_first" and x.ndim > 2:
        y = g.transpose(y, (0,) + tuple(range(2, x.ndim)) + (1,))
    return g.op("Flatten", [y], axis=1)


@converter(layers.Reshape)
def _reshape(g, layer, x):
    return g.reshape(x.name, (0,) + layer.target_shape)  # 0 keeps the (dynamic) batch


@converter(layers.Permute)
def _permute(g, layer, x):
    return g.transpose(x.name, (0,) + layer.dims)


@converter(layers.RepeatVector)
def _repeat_vector(g, layer, x):
    return g.op("Expand", [g.unsqueeze(x.name, [1]), g.const(np.array([1, layer.n, 1], np.int64), "shape")])


def _channels_last_spatial(g, layer, x, rank, fn):
    """`fn` on the channels-last form of `x` (rank spatial axes), put back in the layer's format."""
    y = x.name
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        y = g.transpose(y, (0,) + tuple(range(2, rank + 2)) + (1,))
    y = fn(y)
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        y = g.transpose(y, (0, rank + 1) + tuple(range(1, rank + 1)))
    return y


@converter(layers.ZeroPadding1D, layers.ZeroPadding2D)
def _zero_padding(g, layer, x):
    rank = 1 if isinstance(layer, layers.ZeroPadding1D) else 2
    pairs = layer.padding if rank == 2 else (layer.padding,) if isinstance(layer.padding[0], int) else layer.padding
    pairs = [tuple(p) for p in np.reshape(np.asarray(pairs), (rank, 2))]
    pads = [0] + [p[0] for p in pairs] + [0] + [0] + [p[1] for p in pairs] + [0]
    return _channels_last_spatial(g, layer, x, rank, lambda y: g.op("Pad", [y, g.const(np.array(pads, np.int64))]))


@converter(layers.Cropping1D, layers.Cropping2D)
def _cropping(g, layer, x):
    rank = 1 if isinstance(layer, layers.Cropping1D) else 2
    pairs = [tuple(p) for p in np.reshape(np.asarray(layer.cropping), (rank, 2))]
    ends = [(-after if after else np.iinfo(np.int64).max) for _, after in pairs]
    return _channels_last_spatial(g, layer, x, rank, lambda y: g.slice(
        y, [before for before, _ in pairs], ends, list(range(1, rank + 1))))


@converter(layers.UpSampling1D, layers.UpSampling2D)
def _upsampling(g, layer, x):
    rank = 1 if isinstance(layer, layers.UpSampling1D) else 2
    sizes = (layer.size,) if rank == 1 and isinstance(layer.size, int) else tuple(layer.size)
    if getattr(layer, "interpolation", "nearest") != "nearest":
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r} with interpolation="
                          f"{layer.interpolation!r} has no ONNX form here; use 'nearest'")

    def repeat(y):  # each position `size` times: insert an axis after it, expand, merge
        shape = x.shape if getattr(layer, "data_format", "channels_last") != "channels_first" else (
            (x.shape[0],) + tuple(x.shape[2:]) + (x.shape[1],))
        for axis, size in zip(range(1, rank + 1), sizes):
            expand = [1] * (rank + 3)
            expand[axis + 1] = size
            y = g.op("Expand", [g.unsqueeze(y, [axis + 1]), g.const(np.array(expand, np.int64), "shape")])
            merged = [0] * (rank + 3)
            del merged[axis + 1]
            merged[axis] = -1
            for later in range(axis + 1, rank + 2):
                merged[later] = shape[later] if shape[later] is not None else 0
            y = g.reshape(y, merged)
        return y

    return _channels_last_spatial(g, layer, x, rank, repeat)


# -- convolution ---------------------------------------------------------------------------------


def _pads(layer, spatial, kernel, strides, dilation):
    """ONNX pads [begins..., ends...] for the layer's padding, or None when 'same' meets an unknown
    length (then ONNX's SAME_UPPER, the same rule)."""
    if layer.padding == "valid":
        return [0] * (2 * len(kernel))
    if layer.padding == "causal":
        return [dilation[0] * (kernel[0] - 1), 0]
    if any(n is None for n in spatial):
        return None
    pairs = [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation)]
    return [p[0] for p in pairs] + [p[1] for p in pairs]


def _spatial(layer, x, rank):
    return x.shape[2:] if layer.data_format == "channels_first" else x.shape[1:1 + rank]


def _same_pad(g, y, kernel, strides, dilation):
    """`y` (channels first) zero-padded by TensorFlow's 'same' rule for lengths known only when the
    model runs (ONNX's SAME_UPPER refuses dilation in onnxruntime)."""
    begins, ends = [], []
    for axis, (k, s, d) in enumerate(zip(kernel, strides, dilation), start=2):
        n = g.dims(y, axis, axis + 1)
        out = g.op("Div", [g.op("Add", [n, g.const(np.array([s - 1]))]), g.const(np.array([s]))])
        span = g.op("Add", [g.op("Mul", [g.op("Sub", [out, g.const(np.array([1]))]), g.const(np.array([s]))]),
                            g.const(np.array([d * (k - 1) + 1]))])
        total = g.op("Max", [g.op("Sub", [span, n]), g.const(np.array([0]))])
        begin = g.op("Div", [total, g.const(np.array([2]))])
        begins.append(begin)
        ends.append(g.op("Sub", [total, begin]))
    zeros = g.const(np.zeros(2, np.int64))
    return g.op("Pad", [y, g.op("Concat", [zeros, *begins, zeros, *ends], axis=0)])


def _conv(g, y, weight, bias, pads, strides, dilation, groups, op="Conv", output_padding=None):
    if pads is None:
        y, pads = _same_pad(g, y, weight.shape[2:], strides, dilation), [0] * (2 * len(strides))
    attributes = {"strides": list(strides), "dilations": list(dilation), "group": int(groups),
                  "pads": list(pads)}
    if output_padding is not None:
        attributes["output_padding"] = list(output_padding)
    inputs = [y, g.const(weight, "kernel")] + ([g.const(bias, "bias")] if bias is not None else [])
    return g.op(op, inputs, **attributes)


def _to_channels_first(g, layer, y, rank):
    return y if layer.data_format == "channels_first" else g.transpose(y, (0, rank + 1) + tuple(range(1, rank + 1)))


def _from_channels_first(g, layer, y, rank):
    return y if layer.data_format == "channels_first" else g.transpose(y, (0,) + tuple(range(2, rank + 2)) + (1,))


@converter(layers.Conv1D, layers.Conv2D)
def _convolution(g, layer, x):
    rank = layer.rank
    kernel = layer.kernel.numpy()  # (k..., in / groups, filters) -> (filters, in / groups, k...)
    weight = np.transpose(kernel, (rank + 1, rank) + tuple(range(rank)))
    pads = _pads(layer, _spatial(layer, x, rank), layer.kernel_size, layer.strides, layer.dilation_rate)
    y = _to_channels_first(g, layer, x.name, rank)
    y = _conv(g, y, weight, None if layer.bias is None else layer.bias.numpy(), pads, layer.strides,
              layer.dilation_rate, layer.groups)
    y = _from_channels_first(g, layer, y, rank)
    if layer.data_format == "channels_first" and layer.activation in (activations.softmax, activations.log_softmax):
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r}: a softmax activation with "
                          "channels_first has no ONNX form here")
    return activation(g, layer.activation, y, layer)


@converter(layers.Conv1DTranspose, layers.Conv2DTranspose)
def _convolution_transpose(g, layer, x):
    rank = layer.rank
    kernel = layer.kernel.numpy()  # (k..., filters, in) -> (in, filters, k...)
    weight = np.transpose(kernel, (rank + 1, rank) + tuple(range(rank)))
    begins, ends, extras = [], [], []
    for i, (k, s, d) in enumerate(zip(layer.kernel_size, layer.strides, layer.dilation_rate)):
        before, after = conv_module._transpose_padding(
            k, s, d, layer.padding, None if layer.output_padding is None else layer.output_padding[i])
        effective = d * (k - 1) + 1
        extra = max(after - (effective - 1), 0)  # ONNX's pads crop; output_padding grows the end
        begins.append(effective - 1 - before)
        ends.append(effective - 1 - after + extra)
        extras.append(extra)
    y = _to_channels_first(g, layer, x.name, rank)
    y = _conv(g, y, weight, None if layer.bias is None else layer.bias.numpy(), begins + ends, layer.strides,
              layer.dilation_rate, 1, op="ConvTranspose", output_padding=extras)
    return activation(g, layer.activation, _from_channels_first(g, layer, y, rank), layer)


@converter(layers.DepthwiseConv2D)
def _depthwise(g, layer, x):
    kernel = layer.kernel.numpy()  # (kh, kw, channels, multiplier) -> (channels * multiplier, 1, kh, kw)
    kh, kw, channels, multiplier = kernel.shape
    weight = np.transpose(kernel.reshape(kh, kw, 1, channels * multiplier), (3, 2, 0, 1))
    pads = _pads(layer, _spatial(layer, x, 2), layer.kernel_size, layer.strides, layer.dilation_rate)
    y = _to_channels_first(g, layer, x.name, 2)
    y = _conv(g, y, weight, None if layer.bias is None else layer.bias.numpy(), pads, layer.strides,
              layer.dilation_rate, channels)
    return activation(g, layer.activation, _from_channels_first(g, layer, y, 2), layer)


@converter(layers.SeparableConv2D)
def _separable(g, layer, x):
    shape = x.shape if layer.data_format != "channels_first" else (x.shape[0],) + x.shape[2:] + (x.shape[1],)
    y = x.name if layer.data_format != "channels_first" else g.transpose(x.name, (0, 2, 3, 1))
    y = _depthwise(g, layer.depthwise, Value(y, shape))
    y = _convolution(g, layer.pointwise, Value(y, layer.depthwise.compute_output_shape(shape)))
    return y if layer.data_format != "channels_first" else g.transpose(y, (0, 3, 1, 2))


# -- pooling -------------------------------------------------------------------------------------


@converter(layers.MaxPooling1D, layers.MaxPooling2D, layers.AveragePooling1D, layers.AveragePooling2D)
def _pooling(g, layer, x):
    rank = layer.rank
    pads = _pads(layer, _spatial(layer, x, rank), layer.pool_size, layer.strides, (1,) * rank)
    attributes = {"kernel_shape": list(layer.pool_size), "strides": list(layer.strides)}
    attributes.update({"pads": pads} if pads is not None else {"auto_pad": "SAME_UPPER"})
    op = "MaxPool" if isinstance(layer, layers.MaxPooling2D) else "AveragePool"
    if op == "AveragePool":
        attributes["count_include_pad"] = 0  # Keras averages the real inputs only
    y = g.op(op, [_to_channels_first(g, layer, x.name, rank)], **attributes)
    return _from_channels_first(g, layer, y, rank)


@converter(layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D, layers.GlobalMaxPooling1D)
def _global_pooling(g, layer, x):
    op = "ReduceMean" if isinstance(layer, layers.GlobalAveragePooling2D) else "ReduceMax"
    return g.reduce(op, x.name, layer._axes(), keepdims=layer.keepdims)


@converter(layers.GlobalAveragePooling1D)
def _global_average_1d(g, layer, x):
    if x.mask is None:
        return Masked(g.reduce("ReduceMean", x.name, layer._axes(), keepdims=layer.keepdims), None)
    steps = layer._axes()[0]  # the mean over the unmasked steps
    weights = g.unsqueeze(g.op("Cast", [x.mask], to=1), [1 if steps == 2 else -1])
    total = g.reduce("ReduceSum", g.op("Mul", [x.name, weights]), [steps], keepdims=layer.keepdims)
    count = g.reduce("ReduceSum", weights, [steps], keepdims=layer.keepdims)
    return Masked(g.op("Div", [total, g.op("Max", [count, g.const(1.0)])]), None)


# -- normalization -------------------------------------------------------------------------------


def _broadcast(param, ndim, axes):
    shape = [1] * ndim
    for a, size in zip(axes, param.shape):
        shape[a] = size
    return param.reshape(shape)


def _affine(g, layer, y, ndim, axes):
    if layer.gamma is not None:
        y = g.op("Mul", [y, g.const(_broadcast(layer.gamma.numpy(), ndim, axes), "gamma")])
    if layer.beta is not None:
        y = g.op("Add", [y, g.const(_broadcast(layer.beta.numpy(), ndim, axes), "beta")])
    return y


@converter(layers.BatchNormalization)
def _batch_norm(g, layer, x):
    axes = layer._axes(x.ndim)  # the moving statistics, exactly as the layer's inference branch
    mean = _broadcast(layer.moving_mean.numpy(), x.ndim, axes)
    std = np.sqrt(_broadcast(layer.moving_variance.numpy(), x.ndim, axes) + np.float32(layer.epsilon))
    y = g.op("Div", [g.op("Sub", [x.name, g.const(mean, "moving_mean")]), g.const(std, "moving_std")])
    return _affine(g, layer, y, x.ndim, axes)


def _normalize(g, y, axes, epsilon, center=True):
    if center:
        y = g.op("Sub", [y, g.reduce("ReduceMean", y, axes)])
    variance = g.reduce("ReduceMean", g.op("Mul", [y, y]), axes)
    return g.op("Div", [y, g.op("Sqrt", [g.op("Add", [variance, g.const(float(epsilon))])])])


@converter(layers.LayerNormalization)
def _layer_norm(g, layer, x):
    axes = layer._axes(x.ndim)
    if layer.rms_scaling:
        y = _normalize(g, x.name, axes, layer.epsilon, center=False)
        if layer.gamma is not None:
            y = g.op("Mul", [y, g.const(_broadcast(layer.gamma.numpy(), x.ndim, axes), "gamma")])
        return y
    return _affine(g, layer, _normalize(g, x.name, axes, layer.epsilon), x.ndim, axes)


@converter(layers.GroupNormalization)
def _group_norm(g, layer, x):
    axis = layer._axes(x.ndim)[0]
    swap = list(range(x.ndim))
    swap[axis], swap[-1] = swap[-1], swap[axis]
    y = g.transpose(x.name, swap)
    shape = [x.shape[i] for i in swap]
    channels = shape[-1]
    grouped = g.reshape(y, [0] + [d if d is not None else 0 for d in shape[1:-1]]
                        + [layer.groups, channels // layer.groups])
    reduce = list(range(1, x.ndim - 1)) + [x.ndim]
    y = g.reshape(_normalize(g, grouped, reduce, layer.epsilon), [0] + [d if d is not None else 0 for d in shape[1:]])
    return g.transpose(_affine(g, layer, y, x.ndim, [x.ndim - 1]), swap)


# -- merging -------------------------------------------------------------------------------------

_ELEMENTWISE = {layers.Add: "Add", layers.Subtract: "Sub", layers.Multiply: "Mul", layers.Maximum: "Max",
                layers.Minimum: "Min"}


@converter(*_ELEMENTWISE)
def _elementwise(g, layer, xs):
    op = _ELEMENTWISE[type(layer)]
    out = xs[0].name
    for x in xs[1:]:
        out = g.op(op, [out, x.name])
    return out


@converter(layers.Average)
def _average(g, layer, xs):
    total = xs[0].name
    for x in xs[1:]:
        total = g.op("Add", [total, x.name])
    return g.op("Div", [total, g.const(float(len(xs)))])


@converter(layers.Dot)
def _dot(g, layer, xs):
    a, b = xs
    axis_a, axis_b = layer._axes(a.ndim, b.ndim)
    left, right = a.name, b.name
    if layer.normalize:
        left, right = _unit(g, left, axis_a), _unit(g, right, axis_b)
    left = g.transpose(left, _swap(a.ndim, axis_a, a.ndim - 1))  # contract a's last axis with b's second-to-last
    right = g.transpose(right, _swap(b.ndim, axis_b, 1)) if b.ndim > 2 else g.unsqueeze(right, [-1])
    out = g.op("MatMul", [left if a.ndim > 2 else g.unsqueeze(left, [1]), right])
    shape = layer._out_shape(a.shape, b.shape)
    if sum(d is None for d in shape[1:]) > 1:
        raise ExportError(f"export: Dot {layer.name!r}: more than one unknown dimension in its output {shape}")
    return g.reshape(out, [0] + [-1 if d is None else d for d in shape[1:]])


def _swap(ndim, i, j):
    perm = list(range(ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return perm


def _unit(g, x, axis):
    norm = g.reduce("ReduceSum", g.op("Mul", [x, x]), [axis])
    return g.op("Div", [x, g.op("Sqrt", [g.op("Max", [norm, g.const(1e-12)])])])


@converter(layers.Concatenate)
def _concatenate(g, layer, xs):
    return g.op("Concat", [x.name for x in xs], axis=int(layer.axis))


# -- embedding and masking -----------------------------------------------------------------------


@converter(layers.Embedding)
def _embedding(g, layer, x):
    ids = x.name if x.dtype.kind in "iu" else g.op("Cast", [x.name], to=g.onnx.TensorProto.INT64)
    id_dtype = x.dtype if x.dtype.kind in "iu" else np.int64
    y = g.op("Gather", [g.const(layer.embeddings.numpy(), "embeddings"), ids], axis=0)
    mask = g.op("Not", [g.op("Equal", [ids, g.const(np.array(0), dtype=id_dtype)])]) if layer.mask_zero else None
    return Masked(y, mask)


@converter(layers.Masking)
def _masking(g, layer, x):
    differs = g.op("Cast", [g.op("Not", [g.op("Equal", [x.name, g.const(np.float32(layer.mask_value))])])], to=1)
    keep = g.reduce("ReduceMax", differs, [-1], keepdims=True)  # any feature differs
    y = g.op("Mul", [x.name, keep])
    return Masked(y, g.op("Cast", [g.squeeze(keep, [-1])], to=g.onnx.TensorProto.BOOL))


@converter(layers.TimeDistributed)
def _time_distributed(g, layer, x):
    inner = layer.layer
    flat = g.reshape(x.name, [-1] + [d if d is not None else 0 for d in x.shape[2:]])  # (batch * steps, ...)
    fn = CONVERTERS.get(type(inner))
    if fn is None:
        raise ExportError(f"export: TimeDistributed {layer.name!r} wraps {type(inner).__name__} {inner.name!r}, "
                          "which has no ONNX converter")
    y = fn(g, inner, Value(flat, (None,) + tuple(x.shape[2:]), x.dtype))
    y = y.outputs if isinstance(y, Masked) else y
    out_shape = inner.compute_output_shape((None,) + tuple(x.shape[2:]))
    tail = g.const(np.array([d if d is not None else -1 for d in out_shape[1:]], np.int64), "shape")
    shape = g.op("Concat", [g.dims(x.name, 0, 2), tail], axis=0)
    return Masked(g.op("Reshape", [y, shape]), x.mask)  # a (batch, steps) mask stays as it is
