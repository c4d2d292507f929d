"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot, and
their functional forms (`add([a, b])`, `concatenate([a, b])`, ...)."""

import numpy as np

from nablanet import ops
from nablanet.layers.base import Layer


class _Merge(Layer):
    """Combines a list of same-shaped (or broadcastable) inputs elementwise."""

    fixed_last_axis = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self._min_inputs:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected a list of at least "
                f"{self._min_inputs} inputs, got {type(inputs).__name__}"
            )

    _min_inputs = 2

    def build(self, input_shape):
        self._check(input_shape)

    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return out

    def compute_mask(self, inputs, previous_mask):
        """Keras's rule for elementwise merges: a step is kept where any input keeps it, and no mask
        when an input has none (so a residual `Add` keeps an `Embedding(mask_zero=True)` mask)."""
        if not isinstance(previous_mask, (list, tuple)) or any(m is None for m in previous_mask):
            return None
        kept = previous_mask[0]
        for mask in previous_mask[1:]:
            kept = ops.logical_or(kept, mask)
        return kept

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        try:
            batch = [s[0] for s in input_shape]
            rest = np.broadcast_shapes(*[tuple(1 if d is None else d for d in s[1:]) for s in input_shape])
        except ValueError:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: input shapes {input_shape} do not broadcast") from None
        return (batch[0],) + tuple(rest)


class Add(_Merge):
    """The sum of the inputs."""

    _merge = staticmethod(ops.add)


class Subtract(_Merge):
    """The difference of exactly two inputs: `inputs[0] - inputs[1]`."""

    _merge = staticmethod(ops.subtract)

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Subtract {self.name!r}: expected a list of exactly 2 inputs")


class Multiply(_Merge):
    """The elementwise product of the inputs."""

    _merge = staticmethod(ops.multiply)


class Maximum(_Merge):
    """The elementwise maximum of the inputs."""

    _merge = staticmethod(ops.maximum)


class Minimum(_Merge):
    """The elementwise minimum of the inputs."""

    _merge = staticmethod(ops.minimum)


class Average(_Merge):
    """The elementwise mean of the inputs."""

    def call(self, inputs):
        self._check(inputs)
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total / len(inputs)


class Concatenate(_Merge):
    """Joins the inputs along `axis` (the last by default)."""

    compute_mask = Layer.compute_mask  # the elementwise merges' rule does not apply along an axis

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        self._check(inputs)
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        rank = len(input_shape[0])
        axis = self.axis % rank
        for s in input_shape:
            if len(s) != rank or any(a != b and None not in (a, b) for i, (a, b) in
                                     enumerate(zip(s, input_shape[0])) if i not in (0, axis)):
                raise ValueError(
                    f"Concatenate {self.name!r}: inputs must match except along axis {self.axis}, "
                    f"got shapes {input_shape}"
                )
        sizes = [s[axis] for s in input_shape]
        out = list(input_shape[0])
        out[axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """The dot product of two inputs along `axes` (per sample); `normalize` makes it a cosine."""

    compute_mask = Layer.compute_mask  # Keras's Dot gives no mask

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes, self.normalize = axes, normalize

    def _axes(self, rank_a, rank_b):
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        return axes[0] % rank_a, axes[1] % rank_b

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"Dot {self.name!r}: expected exactly 2 inputs")
        a, b = inputs
        if self.normalize:
            a = a / ops.sqrt(ops.maximum(ops.sum(a * a, axis=self._axes(a.ndim, b.ndim)[0], keepdims=True), 1e-12))
            b = b / ops.sqrt(ops.maximum(ops.sum(b * b, axis=self._axes(a.ndim, b.ndim)[1], keepdims=True), 1e-12))
        axis_a, axis_b = self._axes(a.ndim, b.ndim)
        a = ops.swapaxes(a, axis_a, -1)  # contract a's last axis with b's second-to-last
        b = ops.swapaxes(b, axis_b, 1) if b.ndim > 2 else ops.expand_dims(b, -1)
        out = ops.matmul(a if a.ndim > 2 else ops.expand_dims(a, 1), b)
        return ops.reshape(out, self._out_shape(inputs[0].shape, inputs[1].shape))

    def _out_shape(self, shape_a, shape_b):
        axis_a, axis_b = self._axes(len(shape_a), len(shape_b))
        rest_a = [d for i, d in enumerate(shape_a) if i not in (0, axis_a)]
        rest_b = [d for i, d in enumerate(shape_b) if i not in (0, axis_b)]
        return (shape_a[0],) + tuple(rest_a + rest_b) if rest_a or rest_b else (shape_a[0], 1)

    def compute_output_shape(self, input_shape):
        return self._out_shape(*input_shape)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of `Add`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of `Dot`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
