"""ONNX forms of the convolution and pooling layers.

Images are channels last in Keras and channels first in ONNX's Conv and pooling ops: each such
layer is wrapped in two Transposes, which runtimes fold away between neighbours. 'same' padding
is TensorFlow's rule (the extra pad at the end), written out as explicit pads when the lengths
are known and computed when the model runs otherwise.
"""

from types import SimpleNamespace

import numpy as np

from nablanet import activations, layers
from nablanet.autodiff.ops.nn import same_padding
from nablanet.export.activations import activation
from nablanet.export.graph import Masked, Value, converter
from nablanet.layers import conv as conv_module

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


def _finish(g, layer, y, rank):
    """The activation on the channels-last form of the convolution's output `y`, as the layer
    applies it (softmax is over the channels), then the layer's format."""
    y = activation(g, layer.activation, g.transpose(y, (0,) + tuple(range(2, rank + 2)) + (1,)), layer)
    return y if layer.data_format != "channels_first" else g.transpose(y, (0, rank + 1) + tuple(range(1, rank + 1)))


@converter(layers.Conv1D, layers.Conv2D)
def _convolution(g, layer, x):
    rank = layer.rank
    kernel = layer.kernel.numpy()  # (k..., in / groups, filters) -> (filters, in / groups, k...)
    weight = np.transpose(kernel, (rank + 1, rank) + tuple(range(rank)))
    pads = _pads(layer, _spatial(layer, x, rank), layer.kernel_size, layer.strides, layer.dilation_rate)
    y = _to_channels_first(g, layer, x.name, rank)
    y = _conv(g, y, weight, None if layer.bias is None else layer.bias.numpy(), pads, layer.strides,
              layer.dilation_rate, layer.groups)
    return _finish(g, layer, y, rank)


@converter(layers.Conv1DTranspose, layers.Conv2DTranspose)
def _convolution_transpose(g, layer, x):
    rank = layer.rank
    kernel = layer.kernel.numpy()  # (k..., filters, in) -> (in, filters, k...)
    weight = np.transpose(kernel, (rank + 1, rank) + tuple(range(rank)))
    begins, ends, extras = [], [], []
    for i, (k, s, d) in enumerate(zip(layer.kernel_size, layer.strides, layer.dilation_rate)):
        before, after = conv_module.transpose_padding(
            k, s, d, layer.padding, None if layer.output_padding is None else layer.output_padding[i])
        effective = d * (k - 1) + 1
        extra = max(after - (effective - 1), 0)  # ONNX's pads crop; output_padding grows the end
        begins.append(effective - 1 - before)
        ends.append(effective - 1 - after + extra)
        extras.append(extra)
    y = _to_channels_first(g, layer, x.name, rank)
    y = _conv(g, y, weight, None if layer.bias is None else layer.bias.numpy(), begins + ends, layer.strides,
              layer.dilation_rate, 1, op="ConvTranspose", output_padding=extras)
    return _finish(g, layer, y, rank)


@converter(layers.DepthwiseConv2D)
def _depthwise(g, layer, x):
    kernel = layer.kernel.numpy()  # (kh, kw, channels, multiplier) -> (channels * multiplier, 1, kh, kw)
    kh, kw, channels, multiplier = kernel.shape
    weight = np.transpose(kernel.reshape(kh, kw, 1, channels * multiplier), (3, 2, 0, 1))
    pads = _pads(layer, _spatial(layer, x, 2), layer.kernel_size, layer.strides, layer.dilation_rate)
    y = _to_channels_first(g, layer, x.name, 2)
    y = _conv(g, y, weight, None if layer.bias is None else layer.bias.numpy(), pads, layer.strides,
              layer.dilation_rate, channels)
    return _finish(g, layer, y, 2)


@converter(layers.SeparableConv2D)
def _separable(g, layer, x):
    shape = x.shape if layer.data_format != "channels_first" else (x.shape[0],) + x.shape[2:] + (x.shape[1],)
    y = x.name if layer.data_format != "channels_first" else g.transpose(x.name, (0, 2, 3, 1))
    common = {"data_format": "channels_last", "padding": layer.padding, "rank": 2, "groups": 1, "name": layer.name}
    depthwise = SimpleNamespace(kernel=layer.depthwise_kernel, bias=None, kernel_size=layer.kernel_size,
                                strides=layer.strides, dilation_rate=layer.dilation_rate,
                                activation=activations.linear, **common)
    pointwise = SimpleNamespace(kernel=layer.pointwise_kernel, bias=layer.bias, kernel_size=(1, 1), strides=(1, 1),
                                dilation_rate=(1, 1), activation=layer.activation, **common)
    y = _depthwise(g, depthwise, Value(y, shape))
    y = _convolution(g, pointwise, Value(y, (None,) * 4))
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
