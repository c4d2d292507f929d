"""ONNX forms of every activation function and of the activation layers.

`ACTIVATIONS` maps each function of `nablanet.activations` to its ONNX form; a test checks that
none is missing (but `threshold`, which needs arguments an activation is never given).
"""

import math

import numpy as np

from nablanet import activations, layers
from nablanet.export.graph import ExportError, converter

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


def _glu(g, x):
    halves = g.op("Split", [x], outputs=2, axis=-1, **({"num_outputs": 2} if g.opset >= 18 else {}))
    return g.op("Mul", [halves[0], g.op("Sigmoid", [halves[1]])])


def _sparse_plus(g, x):  # ((clip(x, -1, 1) + 1) ** 2) / 4 + relu(x - 1)
    shifted = g.op("Add", [g.op("Clip", [x, g.const(-1.0), g.const(1.0)]), g.const(1.0)])
    return g.op("Add", [g.op("Mul", [g.op("Mul", [shifted, shifted]), g.const(0.25)]),
                        g.op("Relu", [g.op("Sub", [x, g.const(1.0)])])])


def _sparsemax(g, x):  # Keras's threshold: (the sum of the running sums over the support - 1) / its size
    ranked = g.op("TopK", [x, g.dims(x, -1, None)], outputs=2, axis=-1, largest=1, sorted=1)[0]
    last = g.const(np.array(-1, np.int64), "axis")
    running = g.op("CumSum", [ranked, last])
    rank = g.op("CumSum", [g.op("Add", [g.op("Mul", [ranked, g.const(0.0)]), g.const(1.0)]), last])
    gap = g.op("Sub", [ranked, g.op("Div", [g.op("Sub", [running, g.const(1.0)]), rank])])
    support = g.op("Cast", [g.op("Greater", [gap, g.const(0.0)])], to=g.onnx.TensorProto.FLOAT)
    size = g.reduce("ReduceSum", support, [-1])
    total = g.reduce("ReduceSum", g.op("Mul", [running, support]), [-1])
    return g.op("Relu", [g.op("Sub", [x, g.op("Div", [g.op("Sub", [total, g.const(1.0)]), size])])])


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
    activations.celu: lambda g, x: g.op("Celu", [x], alpha=1.0),
    activations.glu: _glu,
    activations.hard_shrink: lambda g, x: g.op("Shrink", [x], lambd=0.5, bias=0.0),
    activations.soft_shrink: lambda g, x: g.op("Shrink", [x], lambd=0.5, bias=0.5),
    activations.hard_tanh: lambda g, x: g.op("Clip", [x, g.const(-1.0), g.const(1.0)]),
    activations.sparse_plus: _sparse_plus,
    activations.sparse_sigmoid: lambda g, x: g.op("Mul", [g.op("Add", [g.op("Clip", [x, g.const(-1.0), g.const(
        1.0)]), g.const(1.0)]), g.const(0.5)]),
    activations.sparsemax: _sparsemax,
    activations.squareplus: lambda g, x: g.op("Mul", [g.op("Add", [x, g.op("Sqrt", [g.op("Add", [
        g.op("Mul", [x, x]), g.const(4.0)])])]), g.const(0.5)]),
    activations.tanh_shrink: lambda g, x: g.op("Sub", [x, g.op("Tanh", [x])]),
}


def activation(g, fn, x, layer):
    """`fn(x)` in ONNX, or an error naming the layer when `fn` has no ONNX form here."""
    form = ACTIVATIONS.get(fn)
    if form is None:
        name = getattr(fn, "__name__", repr(fn))
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r} uses the activation {name!r}, which has "
                          f"no ONNX form; the supported ones are {sorted(f.__name__ for f in ACTIVATIONS)}")
    return form(g, x)


# -- activation layers ---------------------------------------------------------------------------


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
