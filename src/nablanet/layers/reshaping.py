"""Spatial reshaping layers: UpSampling, ZeroPadding and Cropping in 1, 2 and 3 dimensions."""

import numpy as np

from nablanet import ops
from nablanet.layers.base import Layer
from nablanet.layers.conv import from_channels_last, to_channels_last, tuple_of
from nablanet.layers.pooling import check_rank


def _pairs(value, n, name, layer):
    """`n` (before, after) pairs from an int, `n` ints, or `n` entries each an int or a pair (Keras's forms)."""
    entries = (value,) * n if isinstance(value, (int, np.integer)) else value
    try:
        pairs = tuple((v, v) if isinstance(v, (int, np.integer)) else tuple(v) for v in entries)
    except TypeError:
        pairs = ()
    if len(pairs) == n and all(len(p) == 2 and all(isinstance(a, (int, np.integer)) and a >= 0 for a in p)
                               for p in pairs):
        return tuple((int(a), int(b)) for a, b in pairs)
    raise ValueError(f"{layer}: {name} must be an int, {n} ints or {n} (before, after) pairs of ints >= 0, "
                     f"got {value!r}")


def resize_matrix(n_in, n_out, dtype):
    """Bilinear interpolation weights (half-pixel centers), as `(n_out, n_in)`."""
    scale = n_in / n_out
    source = np.clip((np.arange(n_out) + 0.5) * scale - 0.5, 0, n_in - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    frac = source - low
    matrix = np.zeros((n_out, n_in))
    np.add.at(matrix, (np.arange(n_out), low), 1 - frac)
    np.add.at(matrix, (np.arange(n_out), high), frac)
    return matrix.astype(dtype)


def resize_bilinear(x, height, width):
    """Bilinear resizing of NHWC `x` as two matrix products (differentiable)."""
    n, h, w, c = x.shape
    rows, cols = resize_matrix(h, height, x.dtype), resize_matrix(w, width, x.dtype)
    x = ops.matmul(rows, ops.reshape(ops.transpose(x, (1, 0, 2, 3)), (h, -1)))
    x = ops.transpose(ops.reshape(x, (height, n, w, c)), (1, 0, 2, 3))
    x = ops.matmul(cols, ops.reshape(ops.transpose(x, (2, 0, 1, 3)), (w, -1)))
    return ops.transpose(ops.reshape(x, (width, n, height, c)), (1, 2, 0, 3))


def repeat_nearest(x, size):
    """Channels-last `x` with each spatial axis `a` repeated `size[a]` times (nearest neighbour)."""
    n, *spatial, c = x.shape
    spread = [d for length in spatial for d in (length, 1)]
    target = [d for length, times in zip(spatial, size) for d in (length, times)]
    x = ops.broadcast_to(ops.reshape(x, (n, *spread, c)), (n, *target, c))
    return ops.reshape(x, (n, *(length * times for length, times in zip(spatial, size)), c))


def _spatial_axes(data_format, rank):
    return tuple(range(2, rank + 2)) if data_format == "channels_first" else tuple(range(1, rank + 1))


class UpSampling2D(Layer):
    """Repeat rows and columns `size` times ("nearest") or interpolate ("bilinear")."""

    fixed_last_axis = False

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = tuple_of(size, 2, "size", "UpSampling2D")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        self.data_format, self.interpolation = data_format or "channels_last", interpolation

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format, 2)
        if self.interpolation == "bilinear":
            x = resize_bilinear(x, x.shape[1] * self.size[0], x.shape[2] * self.size[1])
        else:
            x = repeat_nearest(x, self.size)
        return from_channels_last(x, self.data_format, 2)

    def compute_output_shape(self, input_shape):
        times = lambda d, s: None if d is None else d * s  # noqa: E731
        if self.data_format == "channels_first":
            return input_shape[:2] + (times(input_shape[2], self.size[0]), times(input_shape[3], self.size[1]))
        return (input_shape[0], times(input_shape[1], self.size[0]), times(input_shape[2], self.size[1]),
                input_shape[3])

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class UpSampling1D(Layer):
    """Repeat each step `size` times."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        n, t, c = inputs.shape
        x = ops.broadcast_to(ops.reshape(inputs, (n, t, 1, c)), (n, t, self.size, c))
        return ops.reshape(x, (n, t * self.size, c))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None if input_shape[1] is None else input_shape[1] * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class _ZeroPadding(Layer):
    rank = 2
    fixed_last_axis = False

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, self.rank, "padding", type(self).__name__)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        check_rank(self, inputs)
        widths = [(0, 0)] * inputs.ndim
        for axis, pair in zip(_spatial_axes(self.data_format, self.rank), self.padding):
            widths[axis] = pair
        return ops.pad(inputs, tuple(widths))

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (a, b) in zip(_spatial_axes(self.data_format, self.rank), self.padding):
            shape[axis] = None if shape[axis] is None else shape[axis] + a + b
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


class ZeroPadding2D(_ZeroPadding):
    """Pad rows and columns with zeros: `padding` an int, two ints, or two (before, after) pairs."""


class ZeroPadding3D(_ZeroPadding):
    """Pad depth, rows and columns with zeros: `padding` an int, three ints, or three (before, after) pairs."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format=data_format, **kwargs)


class ZeroPadding1D(Layer):
    """Pad steps with zeros: `padding` an int or a (before, after) pair."""

    fixed_last_axis = False

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs((padding,) if isinstance(padding, (int, np.integer)) else (tuple(padding),), 1,
                              "padding", "ZeroPadding1D")[0]
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"ZeroPadding1D: data_format must be 'channels_last' or 'channels_first', "
                             f"got {data_format!r}")

    def _steps_axis(self):
        return 2 if self.data_format == "channels_first" else 1

    def call(self, inputs):
        pads = [(0, 0)] * 3
        pads[self._steps_axis()] = self.padding
        return ops.pad(inputs, tuple(pads))

    def compute_output_shape(self, input_shape):
        shape, axis = list(input_shape), self._steps_axis()
        shape[axis] = None if shape[axis] is None else shape[axis] + sum(self.padding)
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding), "data_format": self.data_format}


class _Cropping(Layer):
    rank = 2
    fixed_last_axis = False

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, self.rank, "cropping", type(self).__name__)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        check_rank(self, inputs)
        self.compute_output_shape(inputs.shape)  # a clear error when nothing would be left
        index = [slice(None)] * inputs.ndim
        for axis, (a, b) in zip(_spatial_axes(self.data_format, self.rank), self.cropping):
            index[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (a, b) in zip(_spatial_axes(self.data_format, self.rank), self.cropping):
            if shape[axis] is not None and shape[axis] - a - b < 1:
                raise ValueError(f"{type(self).__name__} {self.name!r}: cropping {self.cropping} removes all of "
                                 f"{tuple(input_shape)}")
            shape[axis] = None if shape[axis] is None else shape[axis] - a - b
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping], "data_format": self.data_format}


class Cropping2D(_Cropping):
    """Remove rows and columns from the borders: `cropping` as for ZeroPadding2D."""


class Cropping3D(_Cropping):
    """Remove depth slices, rows and columns from the borders: `cropping` as for ZeroPadding3D."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format=data_format, **kwargs)


class Cropping1D(Layer):
    """Remove steps from the start and the end."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs((cropping,) if isinstance(cropping, (int, np.integer)) else (tuple(cropping),), 1,
                               "cropping", "Cropping1D")[0]

    def call(self, inputs):
        return inputs[:, self.cropping[0]:inputs.shape[1] - self.cropping[1], :]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None if input_shape[1] is None else input_shape[1] - sum(self.cropping), input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class UpSampling3D(Layer):
    """Repeat depth slices, rows and columns `size` times (nearest neighbour).

    Example:
        >>> UpSampling3D((1, 2, 3))(np.ones((1, 2, 2, 2, 1))).shape
        (1, 2, 4, 6, 1)
    """

    rank = 3
    fixed_last_axis = False

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = tuple_of(size, 3, "size", "UpSampling3D")
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        check_rank(self, inputs)
        x = repeat_nearest(to_channels_last(inputs, self.data_format, 3), self.size)
        return from_channels_last(x, self.data_format, 3)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, times in zip(_spatial_axes(self.data_format, 3), self.size):
            shape[axis] = None if shape[axis] is None else shape[axis] * times
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format}
