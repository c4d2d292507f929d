"""Adaptive pooling: average or max pooling to a fixed output size, in 1, 2 and 3 dimensions.

Window `i` of an axis of length `n` pooled to `out` spans `[floor(i n / out), ceil((i + 1) n / out))`,
PyTorch's bins, which Keras's torch backend uses (`ops.adaptive_average_pool`, `ops.adaptive_max_pool`).
"""

import numpy as np

from nablanet import ops
from nablanet.layers.base import Layer
from nablanet.layers.pooling import check_rank


class _AdaptivePooling(Layer):
    rank = 1
    fixed_last_axis = False

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        sizes = (output_size,) * self.rank if isinstance(output_size, (int, np.integer)) else output_size
        if not isinstance(sizes, (tuple, list)) or len(sizes) != self.rank or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0 for n in sizes):
            raise ValueError(f"{name}: output_size must be a positive int or {self.rank} positive ints, "
                             f"got {output_size!r}")
        self.output_size = tuple(int(n) for n in sizes)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")

    def call(self, inputs):
        check_rank(self, inputs)
        return self._pool(inputs, self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_first":
            return (input_shape[0], input_shape[1]) + self.output_size
        return (input_shape[0],) + self.output_size + (input_shape[-1],)

    def get_config(self):
        return {**super().get_config(), "output_size": list(self.output_size), "data_format": self.data_format}


class _AdaptiveAverage(_AdaptivePooling):
    _pool = staticmethod(ops.adaptive_average_pool)


class _AdaptiveMax(_AdaptivePooling):
    _pool = staticmethod(ops.adaptive_max_pool)


class AdaptiveAveragePooling1D(_AdaptiveAverage):
    """The mean over `output_size` bins of the steps.

    Example:
        >>> AdaptiveAveragePooling1D(2)(np.arange(5.0).reshape(1, 5, 1)).numpy()[0, :, 0]
        array([1., 3.], dtype=float32)
    """


class AdaptiveAveragePooling2D(_AdaptiveAverage):
    """The mean over an `output_size` grid of bins of height and width."""

    rank = 2


class AdaptiveAveragePooling3D(_AdaptiveAverage):
    """The mean over an `output_size` grid of bins of depth, height and width."""

    rank = 3


class AdaptiveMaxPooling1D(_AdaptiveMax):
    """The maximum over `output_size` bins of the steps."""


class AdaptiveMaxPooling2D(_AdaptiveMax):
    """The maximum over an `output_size` grid of bins of height and width."""

    rank = 2


class AdaptiveMaxPooling3D(_AdaptiveMax):
    """The maximum over an `output_size` grid of bins of depth, height and width."""

    rank = 3
