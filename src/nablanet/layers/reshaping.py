"""Spatial reshaping layers: UpSampling1D/2D, ZeroPadding1D/2D, Cropping1D/2D."""

import numpy as np

from nablanet import ops
from nablanet.layers.base import Layer
from nablanet.layers.conv import from_channels_last, to_channels_last, tuple_of


def _pairs(value, n, name, layer):
    if isinstance(value, (int, np.integer)):
        return ((int(value), int(value)),) * n
    value = tuple(value)
    if all(isinstance(v, (int, np.integer)) for v in value) and len(value) == n:
        return tuple((int(v), int(v)) for v in value)
    if len(value) == n and all(len(v) == 2 for v in value):
        return tuple((int(a), int(b)) for a, b in value)
    raise ValueError(f"{layer}: {name} must be an int, {n} ints or {n} pairs, got {value!r}")


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
        n, h, w, c = x.shape
        sh, sw = self.size
        if self.interpolation == "bilinear":
            x = resize_bilinear(x, h * sh, w * sw)
        else:
            x = ops.broadcast_to(ops.reshape(x, (n, h, 1, w, 1, c)), (n, h, sh, w, sw, c))
            x = ops.reshape(x, (n, h * sh, w * sw, c))
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


class ZeroPadding2D(Layer):
    """Pad rows and columns with zeros: `padding` an int, two ints, or two (before, after) pairs."""

    fixed_last_axis = False

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, 2, "padding", "ZeroPadding2D")
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        widths = ((0, 0),) + self.padding + ((0, 0),)
        if self.data_format == "channels_first":
            widths = ((0, 0), (0, 0)) + self.padding
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        axes = (2, 3) if self.data_format == "channels_first" else (1, 2)
        shape = list(input_shape)
        for axis, (a, b) in zip(axes, self.padding):
            shape[axis] = None if shape[axis] is None else shape[axis] + a + b
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


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


class Cropping2D(Layer):
    """Remove rows and columns from the borders: `cropping` as for ZeroPadding2D."""

    fixed_last_axis = False

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, 2, "cropping", "Cropping2D")
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        (top, bottom), (left, right) = self.cropping
        rows = slice(top, inputs.shape[-3 if self.data_format == "channels_last" else -2] - bottom)
        cols = slice(left, inputs.shape[-2 if self.data_format == "channels_last" else -1] - right)
        if self.data_format == "channels_first":
            return inputs[:, :, rows, cols]
        return inputs[:, rows, cols, :]

    def compute_output_shape(self, input_shape):
        axes = (2, 3) if self.data_format == "channels_first" else (1, 2)
        shape = list(input_shape)
        for axis, (a, b) in zip(axes, self.cropping):
            if shape[axis] is not None and shape[axis] - a - b < 1:
                raise ValueError(f"Cropping2D {self.name!r}: cropping {self.cropping} removes all of {input_shape}")
            shape[axis] = None if shape[axis] is None else shape[axis] - a - b
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping], "data_format": self.data_format}


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
