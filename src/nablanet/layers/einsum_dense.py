"""EinsumDense: a dense layer whose product is any einsum of the input with one kernel.

The equation reads `input,kernel->output`, with an optional `...` at the left of the input and
output (`...b,bc->...c`) or at their right (`ab...,bc->ac...`). `output_shape` gives the output's
axes after the batch axis and outside the ellipsis (None where the input fixes them). Weights are
Keras's: `kernel` (each kernel letter takes its size from the output, else from the input) and an
optional `bias` over `bias_axes`, broadcast against the output's trailing axes.
"""

import math
import re

import numpy as np

from nablanet import activations, constraints, initializers, ops, regularizers
from nablanet.layers.base import Layer
from nablanet.layers.core import refuse_unavailable


class EinsumDense(Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)`.

    Args:
        equation: `"ab,bc->ac"`, `"...b,bc->...c"` or `"ab...,bc->ac..."` (letters of your choice).
        output_shape: The output's shape without the batch axis and the ellipsis' axes (an int
            for one axis); None for an axis the input gives.
        activation: Activation name or callable; None applies none.
        bias_axes: Output letters the bias spans (None: no bias).
        kernel_initializer, bias_initializer: Initializers of the weights; a variance-scaling
            kernel initializer counts its fans over the kernel's input and output letters, as Keras.
        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint: Penalties on, and
            projections of, the weights.
        lora_rank, lora_alpha, gptq_unpacked_column_size, quantization_config: Keras's LoRA and
            quantization; refused (they would change results).

    Example:
        >>> EinsumDense("abc,cde->abde", output_shape=(None, 2, 4), bias_axes="de")(np.ones((1, 3, 5))).shape
        (1, 3, 2, 4)
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None, gptq_unpacked_column_size=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        refuse_unavailable("EinsumDense", lora_rank=lora_rank, quantization_config=quantization_config,
                           gptq_unpacked_column_size=gptq_unpacked_column_size)
        _parse(equation)  # a clear error now rather than at build
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._plan = None

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = analyze(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape, f"EinsumDense {self.name!r}")
        if None in kernel_shape:
            raise ValueError(f"EinsumDense {self.name!r}: the kernel's shape {tuple(kernel_shape)} for equation "
                             f"{self.equation!r} and input shape {tuple(input_shape)} has unknown axes; give them "
                             "in output_shape or the input's shape")
        initializer = self.kernel_initializer
        if isinstance(initializer, initializers.VarianceScaling):
            initializer = _fans_over_axes(initializer, input_axes, output_axes)
        self.kernel = self.add_weight(shape=kernel_shape, initializer=initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(shape=bias_shape, initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")
        self._plan = _matmul_plan(self.equation, len(input_shape), len(kernel_shape))

    def call(self, inputs):
        if self._plan is not None:  # a reshaped matmul: one BLAS call, no einsum planning
            free, contracted = self._plan
            shape, outputs = inputs.shape, tuple(self.kernel.shape[contracted:])
            if self.bias is None or tuple(self.bias.shape) == outputs:  # the bias and activation inside the product
                relu, sigmoid = self.activation is activations.relu, self.activation is activations.sigmoid
                x = ops.dense(inputs, self.kernel, self.bias, relu=relu, sigmoid=sigmoid, axes=contracted)
                return x if relu or sigmoid else self.activation(x)
            rows = ops.reshape(inputs, (-1, math.prod(shape[free:])))
            kernel = ops.reshape(self.kernel, (rows.shape[1], -1))
            x = ops.reshape(ops.matmul(rows, kernel), shape[:free] + outputs)
        else:
            x = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape,
                             f"EinsumDense {self.name!r}")[2])

    def get_config(self):
        return {**super().get_config(), "output_shape": self.partial_output_shape, "equation": self.equation,
                "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "quantization_config": None}


_FORMS = (  # (pattern, where the ellipsis is)
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), None),
    (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."), "right"),
)


def _parse(equation):
    """`(input, kernel, output, ellipsis side)` of an EinsumDense equation."""
    for pattern, side in _FORMS:
        found = pattern.fullmatch(equation.replace(" ", "")) if isinstance(equation, str) else None
        if found:
            return (*found.groups(), side)
    raise ValueError(f"EinsumDense: expected an equation of the form 'X,Y->Z', '...X,Y->...Z' or 'X...,Y->Z...' "
                     f"(X, Y, Z letters), got {equation!r}")


def analyze(equation, bias_axes, input_shape, output_shape, where="EinsumDense"):
    """`(kernel_shape, bias_shape, full_output_shape, input_axes, output_axes)` for an input shape.

    `input_axes` and `output_axes` are the kernel's axes whose letters come from the input and the
    output (the fans of a variance-scaling initializer).
    """
    source, weight, target, side = _parse(equation)
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(source)
    if elided < 0 or (side is None and elided):
        raise ValueError(f"{where}: the equation {equation!r} expects inputs of rank {len(source)}"
                         f"{' or more' if side else ''}, got shape {input_shape}")
    output = [input_shape[0], *output_shape]
    if side == "left":
        output[1:1] = input_shape[1:elided]
    elif side == "right" and elided:
        output += input_shape[-elided:]
    if len(output) != len(target) + (elided if side else 0):
        raise ValueError(f"{where}: output_shape {tuple(output_shape)} gives {len(output) - 1} axes after the batch "
                         f"axis; the equation {equation!r} on input shape {input_shape} needs "
                         f"{len(target) + (elided if side else 0) - 1}")
    offset = elided if side == "left" else 0
    in_dim = {c: input_shape[i + offset] for i, c in enumerate(source)}
    out_dim = {c: output[i + offset] for i, c in enumerate(target)}
    for c in source:
        if c in out_dim and out_dim[c] is not None and in_dim[c] is not None and out_dim[c] != in_dim[c]:
            raise ValueError(f"{where}: axis {c!r} of {equation!r} has size {in_dim[c]} in the input {input_shape} "
                             f"but {out_dim[c]} in output_shape {tuple(output_shape)}")
    for c in target:
        if c not in source and c not in weight:
            raise ValueError(f"{where}: output axis {c!r} of {equation!r} is in neither the input nor the kernel")
    kernel, input_axes, output_axes = [], [], []
    for i, c in enumerate(weight):
        if c in out_dim:
            kernel.append(out_dim[c])
            output_axes.append(i)
        elif c in in_dim:
            kernel.append(in_dim[c])
            input_axes.append(i)
        else:
            raise ValueError(f"{where}: kernel axis {c!r} of {equation!r} is in neither the input nor the output")
    bias = None
    if bias_axes is not None:
        unknown = [c for c in bias_axes if c not in target]
        if unknown:
            raise ValueError(f"{where}: bias_axes {bias_axes!r} name {unknown}, which are not output axes of "
                             f"{equation!r}")
        first = min(target.index(c) for c in bias_axes)
        bias = [out_dim[c] if c in bias_axes else 1 for c in target[first:]]
        if side == "right":
            bias += [1] * elided
    return kernel, bias, output, input_axes, output_axes


def _fans_over_axes(initializer, input_axes, output_axes):
    """A kernel initializer that draws `(fan_in, fan_out)` values and lays them on the kernel's axes:
    the same distribution as Keras's fans counted over the input and output letters."""
    def draw(shape, dtype=None):
        order = list(input_axes) + list(output_axes)
        fan_in = math.prod(shape[a] for a in input_axes)
        values = initializer((fan_in, math.prod(shape) // max(fan_in, 1)), dtype=dtype)
        return np.transpose(np.reshape(values, [shape[a] for a in order]), np.argsort(order))

    return draw


def _matmul_plan(equation, input_rank, kernel_rank):
    """`(free, contracted)` when the equation is `FC,CO->FO` (the input's trailing letters contracted
    with the kernel's leading ones, every letter once per term): then it is a reshaped matmul."""
    source, weight, target, side = _parse(equation)
    k = len(set(source) & set(weight))
    distinct = all(len(set(term)) == len(term) for term in (source, weight, target))
    if side is not None or not distinct or not k or (len(source), len(weight)) != (input_rank, kernel_rank):
        return None
    if source[len(source) - k:] != weight[:k] or target != source[:len(source) - k] + weight[k:]:
        return None
    return len(source) - k, k
