"""Pooling layers: max and average in 1, 2 and 3 dimensions on `nablanet.ops`'s pooling (2-D windows
on the fused kernels), and global pooling. Adaptive pooling is in pooling_adaptive.py."""

import numpy as np

from nablanet import ops
from nablanet.layers.base import Layer
from nablanet.layers.conv import conv_output_length, tuple_of


_AXES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


def check_rank(layer, inputs):
    """Refuse an input whose rank is not the layer's `rank + 2`, naming the layer and both shapes."""
    if inputs.ndim != layer.rank + 2:
        axes = f"{_AXES[layer.rank]}, channels"
        if getattr(layer, "data_format", "channels_last") == "channels_first":
            axes = f"channels, {_AXES[layer.rank]}"
        raise ValueError(f"{type(layer).__name__} {layer.name!r}: expected a {layer.rank + 2}-D input (batch, {axes}), "
                         f"got shape {tuple(inputs.shape)}")


class _Pooling(Layer):
    rank = 2

    fixed_last_axis = False

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        name = type(self).__name__
        self.pool_size = tuple_of(pool_size, self.rank, "pool_size", name)
        self.strides = self.pool_size if strides is None else tuple_of(strides, self.rank, "strides", name)
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        check_rank(self, inputs)
        self.compute_output_shape(inputs.shape)  # a clear error when a window does not fit
        return self._pool(inputs, self.pool_size, strides=self.strides, padding=self.padding,
                          data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        lengths = tuple(conv_output_length(n, k, self.padding, s, 1)
                        for n, k, s in zip(spatial, self.pool_size, self.strides))
        if any(n is not None and n < 1 for n in lengths):
            raise ValueError(f"{type(self).__name__} {self.name!r}: the pool {self.pool_size} does not fit the input "
                             f"{tuple(spatial)} with padding='valid'; use padding='same' or a smaller pool_size")
        if self.data_format == "channels_first":
            return (input_shape[0], input_shape[1]) + lengths
        return (input_shape[0],) + lengths + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling):
    """The maximum over each `pool_size` window (stride `pool_size` by default)."""

    _pool = staticmethod(ops.max_pool)


class AveragePooling2D(_Pooling):
    """The mean over each window (padded positions excluded, as in Keras)."""

    _pool = staticmethod(ops.average_pool)


class MaxPooling1D(MaxPooling2D):
    """Max pooling over steps of `(batch, steps, channels)`."""

    rank = 1


class AveragePooling1D(AveragePooling2D):
    """Average pooling over steps."""

    rank = 1


class _GlobalPooling(Layer):
    rank = 2

    fixed_last_axis = False

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format, self.keepdims = data_format or "channels_last", keepdims

    def _axes(self):
        if self.data_format == "channels_first":
            return tuple(range(2, self.rank + 2))
        return tuple(range(1, self.rank + 1))

    def call(self, inputs):
        check_rank(self, inputs)
        return self._reduce(inputs, axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width."""

    _reduce = staticmethod(ops.mean)


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over height and width."""

    _reduce = staticmethod(ops.max)


class GlobalAveragePooling1D(GlobalAveragePooling2D):
    """The mean over steps; with a mask (from `Embedding(mask_zero=True)` or `Masking`), over the
    unmasked steps only, as Keras does."""

    rank = 1

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        steps = 2 if self.data_format == "channels_first" else 1
        weights = np.expand_dims(np.asarray(mask, inputs.dtype), 1 if steps == 2 else -1)
        total = ops.sum(inputs * weights, axis=steps, keepdims=self.keepdims)
        count = np.sum(weights, axis=steps, keepdims=self.keepdims)
        return total / np.maximum(count, 1)

    def compute_mask(self, inputs, previous_mask):
        return None  # the steps are gone


class GlobalMaxPooling1D(GlobalMaxPooling2D):
    """The maximum over steps."""

    rank = 1


class MaxPooling3D(MaxPooling2D):
    """Max pooling over the depth, height and width of volumes.

    Example:
        >>> MaxPooling3D()(np.ones((1, 4, 4, 6, 2))).shape
        (1, 2, 2, 3, 2)
    """

    rank = 3


class AveragePooling3D(AveragePooling2D):
    """Average pooling over the depth, height and width of volumes."""

    rank = 3

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None, **kwargs):
        super().__init__(pool_size, strides=strides, padding=padding, data_format=data_format, name=name, **kwargs)


class GlobalAveragePooling3D(GlobalAveragePooling2D):
    """The mean over depth, height and width."""

    rank = 3


class GlobalMaxPooling3D(GlobalMaxPooling2D):
    """The maximum over depth, height and width."""

    rank = 3
