"""Image preprocessing and augmentation layers (channels last, or channels first by `data_format`).

Rescaling and Resizing always apply. The Random* layers are the identity when `training` is
False (in `predict` and `evaluate`) and transform otherwise, a direct call included, as Keras 3's
do. Images come as `(batch, height, width, channels)` or as one `(height, width, channels)`
image. Geometric transforms sample the input bilinearly (or at the nearest pixel) through
gathers, so gradients flow through them like through any other op.
"""

import functools
import math

import numpy as np

from nablanet import ops, serialization
from nablanet.layers.base import Layer
from nablanet.layers.seeded import SeededLayer
from nablanet.layers.reshaping import resize_bilinear

FILL_MODES = ("reflect", "wrap", "constant", "nearest")


def _one_or_batch(call):
    """Let `call` (written for channels-last batches) take one image as well as a batch, in the
    layer's `data_format`, and refuse other ranks."""
    @functools.wraps(call)  # keeps the signature, so the layer still sees whether `training` is taken
    def wrapped(self, inputs, *args, **kwargs):
        first = getattr(self, "data_format", "channels_last") == "channels_first"
        if inputs.ndim not in (3, 4):
            layout = "channels, height, width" if first else "height, width, channels"
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected images of shape (batch, {layout}) "
                             f"or ({layout}), got shape {tuple(inputs.shape)}")
        x = inputs[None] if inputs.ndim == 3 else inputs
        x = ops.transpose(x, (0, 2, 3, 1)) if first else x
        out = call(self, x, *args, **kwargs)
        out = ops.transpose(out, (0, 3, 1, 2)) if first else out
        return out[0] if inputs.ndim == 3 else out
    return wrapped


def _data_format(value, name):
    value = value or "channels_last"
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', got {value!r}")
    return value


def _image_shape(layer, input_shape, height, width):
    """`input_shape` with its spatial size replaced, in the layer's data format."""
    if layer.data_format == "channels_first":
        return tuple(input_shape[:-2]) + (height, width)
    return tuple(input_shape[:-3]) + (height, width, input_shape[-1])


def aspect_crop(h, w, height, width):
    """The largest centered window of the aspect ratio `width / height`: (top, left, rows, cols),
    sizes truncated to integers as Keras does."""
    rows, cols = min(h, max(1, int(w * height / width))), min(w, max(1, int(h * width / height)))
    return (h - rows) // 2, (w - cols) // 2, rows, cols


class Rescaling(Layer):
    """`inputs * scale + offset`, e.g. `Rescaling(1 / 255)`."""

    keeps_shape = True
    fixed_last_axis = False

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Also a per-channel `scale`/`offset` that Keras stored as a serialized array."""
        config = dict(config)
        for key in ("scale", "offset"):
            if isinstance(config.get(key), dict):
                config[key] = serialization.deserialize(config[key], custom_objects)
        return cls(**config)


class Resizing(Layer):
    """Resize images to `(height, width)` ("bilinear" with half-pixel centers, or "nearest");
    `crop_to_aspect_ratio` first crops the largest centered window of the target aspect ratio."""

    fixed_last_axis = False

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resizing: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing: crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be True")
        if fill_mode != "constant":
            raise ValueError(f"Resizing: fill_mode must be 'constant' (the only mode Keras pads with), "
                             f"got {fill_mode!r}")
        if antialias:  # an error, not a warning: downsampled images would differ from Keras's
            raise NotImplementedError("Resizing: antialias=True is not available in nablanet; use antialias=False")
        self.height, self.width, self.interpolation = int(height), int(width), interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio
        self.fill_mode, self.fill_value, self.antialias = fill_mode, fill_value, antialias
        self.data_format = _data_format(data_format, "Resizing")

    @_one_or_batch
    def call(self, inputs):
        x = inputs
        if self.crop_to_aspect_ratio:
            top, left, rows, cols = aspect_crop(*x.shape[1:3], self.height, self.width)
            x = x[:, top:top + rows, left:left + cols, :]
        if self.pad_to_aspect_ratio:
            x = _pad_to_aspect(x, self.height, self.width, self.fill_value)
        if self.interpolation == "nearest":
            h, w = x.shape[1:3]
            rows = np.minimum(((np.arange(self.height) + 0.5) * h / self.height).astype(int), h - 1)
            cols = np.minimum(((np.arange(self.width) + 0.5) * w / self.width).astype(int), w - 1)
            return x[:, rows][:, :, cols]
        return resize_bilinear(x, self.height, self.width)

    def compute_output_shape(self, input_shape):
        return _image_shape(self, input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias, "data_format": self.data_format}


def aspect_pad(h, w, height, width):
    """The smallest canvas of the aspect ratio `width / height` around an `h` x `w` image, centered:
    (top, left, rows, cols), sizes truncated to integers as Keras does."""
    rows, cols = max(h, int(w * height / width)), max(w, int(h * width / height))
    return (rows - h) // 2, (cols - w) // 2, rows, cols


def _pad_to_aspect(x, height, width, value):
    """Pad NHWC `x` evenly with `value` to the aspect ratio `width / height`."""
    h, w = x.shape[1:3]
    top, left, rows, cols = aspect_pad(h, w, height, width)
    if rows == h and cols == w:
        return x
    return ops.pad(x, ((0, 0), (top, rows - h - top), (left, cols - w - left), (0, 0)), constant_values=value)


class _Random(SeededLayer):
    keeps_shape = True
    fixed_last_axis = False


class RandomFlip(_Random):
    """Flip each image left-right and/or up-down with probability 1/2, in training."""

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.data_format = _data_format(data_format, "RandomFlip")
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip: mode must be horizontal, vertical or horizontal_and_vertical, got {mode!r}")
        self.mode = mode

    @_one_or_batch
    def call(self, inputs, training=True):
        if training is False:
            return inputs
        x, n = inputs, inputs.shape[0]
        for axis, name in ((2, "horizontal"), (1, "vertical")):
            if name in self.mode:
                flip = (self._rng().random(n) < 0.5).reshape((n,) + (1,) * (inputs.ndim - 1))
                index = (slice(None),) * axis + (slice(None, None, -1),)
                x = ops.where(flip, x[index], x)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "data_format": self.data_format}


def _fill_index(coordinate, size, mode):
    """Map sample coordinates outside [0, size) back inside, by `mode`; also say which are in."""
    inside = (coordinate >= 0) & (coordinate <= size - 1)
    if mode == "reflect":  # d c b a | a b c d | d c b a
        period = 2 * size
        c = np.mod(coordinate, period)
        c = np.where(c >= size, period - 1 - c, c)
    elif mode == "wrap":
        c = np.mod(coordinate, size)
    else:  # nearest, and constant (whose outside samples are masked anyway)
        c = np.clip(coordinate, 0, size - 1)
    return c, inside


def affine_sample(x, matrices, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
    """Sample each image at `matrices[i] @ [col, row, 1]` (output to input coordinates)."""
    n, h, w, c = x.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    points = np.stack([cols.ravel(), rows.ravel(), np.ones(h * w)])  # (3, H*W)
    source = np.einsum("nij,jp->nip", matrices, points)  # (N, 2, H*W): x then y
    sx, sy = source[:, 0], source[:, 1]
    flat = ops.reshape(x, (n * h * w, c))
    base = (np.arange(n) * h * w)[:, None]
    if interpolation == "nearest":
        ix, in_x = _fill_index(np.round(sx), w, fill_mode)
        iy, in_y = _fill_index(np.round(sy), h, fill_mode)
        out = flat[(base + iy.astype(int) * w + ix.astype(int)).ravel()]
        weights = [((in_x & in_y) if fill_mode == "constant" else np.ones_like(in_x)).astype(x.dtype)]
        out = out * weights[0].reshape(-1, 1)
    else:
        x0, y0 = np.floor(sx), np.floor(sy)
        out = None
        valid_total = np.zeros_like(sx)
        for dy in (0, 1):
            for dx in (0, 1):
                weight = (1 - np.abs(sx - (x0 + dx))) * (1 - np.abs(sy - (y0 + dy)))
                ix, in_x = _fill_index(x0 + dx, w, fill_mode)
                iy, in_y = _fill_index(y0 + dy, h, fill_mode)
                if fill_mode == "constant":
                    weight = weight * (in_x & in_y)
                valid_total += weight
                index = (base + iy.astype(int) * w + ix.astype(int)).ravel()
                term = flat[index] * weight.reshape(-1, 1).astype(x.dtype)
                out = term if out is None else out + term
        weights = [valid_total]
    if fill_mode == "constant" and fill_value:
        out = out + (fill_value * (1 - weights[0])).reshape(-1, 1).astype(x.dtype)
    return ops.reshape(out, (n, h, w, c))


def _centered(matrix, h, w):
    """Apply `matrix` about the image center instead of the origin."""
    shift = np.array([[1, 0, (w - 1) / 2], [0, 1, (h - 1) / 2], [0, 0, 1]])
    back = np.array([[1, 0, -(w - 1) / 2], [0, 1, -(h - 1) / 2], [0, 0, 1]])
    return shift @ matrix @ back


def _range(factor, name, bound=None):
    """(-|f|, |f|) for a number f, or the (low, high) pair; within [-bound, bound] when given."""
    low, high = (-abs(factor), abs(factor)) if isinstance(factor, (int, float)) else tuple(factor)
    if low > high:
        raise ValueError(f"{name}: factor {factor!r} has its lower bound above its upper bound")
    if bound is not None and (abs(low) > bound or abs(high) > bound):
        raise ValueError(f"{name}: factors must lie within [-{bound}, {bound}], got {factor!r}")
    return float(low), float(high)


class _Affine(_Random):
    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.data_format = _data_format(data_format, type(self).__name__)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{type(self).__name__}: fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{type(self).__name__}: interpolation must be bilinear or nearest, got {interpolation!r}")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    @_one_or_batch
    def call(self, inputs, training=True):
        if training is False:
            return inputs
        n, h, w, _ = inputs.shape
        matrices = np.stack([_centered(self._matrix(h, w), h, w)[:2] for _ in range(n)])
        return affine_sample(inputs, matrices, self.fill_mode, self.interpolation, self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value, "data_format": self.data_format}


class RandomRotation(_Affine):
    """Rotate by a random angle in `factor * [-2 pi, 2 pi]` (or `[low, high] * 2 pi`)."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor
        self._low, self._high = _range(factor, "RandomRotation")

    def _matrix(self, h, w):
        angle = self._rng().uniform(self._low, self._high) * 2 * math.pi
        cos, sin = math.cos(angle), math.sin(angle)
        return np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomTranslation(_Affine):
    """Shift by random fractions of the height and width."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h, self._w = _range(height_factor, "RandomTranslation", 1), _range(width_factor, "RandomTranslation", 1)

    def _matrix(self, h, w):
        dy, dx = self._rng().uniform(*self._h) * h, self._rng().uniform(*self._w) * w
        return np.array([[1, 0, -dx], [0, 1, -dy], [0, 0, 1]])

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomZoom(_Affine):
    """Zoom by random factors: a positive `height_factor` zooms out, a negative one in (Keras)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _range(height_factor, "RandomZoom", 1)
        self._w = None if width_factor is None else _range(width_factor, "RandomZoom", 1)

    def _matrix(self, h, w):
        zy = 1 + self._rng().uniform(*self._h)
        zx = zy if self._w is None else 1 + self._rng().uniform(*self._w)
        return np.array([[zx, 0, 0], [0, zy, 0], [0, 0, 1]])

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomContrast(_Random):
    """Scale each image's deviation from its per-channel mean by a random factor in
    `[1 - lower, 1 + upper]`, clipped to `value_range`."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        lower, upper = (factor, factor) if isinstance(factor, (int, float)) else tuple(factor)
        if not 0 <= lower <= 1 or upper < 0:
            raise ValueError(f"RandomContrast: factor must be in [0, 1], got {factor!r}")
        self.factor, self.value_range = factor, tuple(value_range)
        self._low, self._high = 1 - lower, 1 + upper

    @_one_or_batch
    def call(self, inputs, training=True):
        if training is False:
            return inputs
        n = inputs.shape[0]
        f = self._rng().uniform(self._low, self._high, n).astype(inputs.dtype).reshape((n,) + (1,) * (inputs.ndim - 1))
        mean = ops.mean(inputs, axis=(1, 2), keepdims=True)
        return ops.clip((inputs - mean) * f + mean, *self.value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": list(self.value_range)}


class RandomCrop(_Random):
    """A random `(height, width)` window of each image in training; the center one otherwise."""

    def __init__(self, height, width, seed=None, data_format=None, name=None, **kwargs):
        super().__init__(seed=seed, name=name, **kwargs)
        self.height, self.width = int(height), int(width)
        self.data_format = _data_format(data_format, "RandomCrop")

    @_one_or_batch
    def call(self, inputs, training=True):
        n, h, w, _ = inputs.shape
        if h < self.height or w < self.width:
            raise ValueError(f"RandomCrop {self.name!r}: cannot crop {self.height}x{self.width} from {h}x{w} images")
        if training is False:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return inputs[:, top:top + self.height, left:left + self.width, :]
        tops = self._rng().integers(0, h - self.height + 1, n)
        lefts = self._rng().integers(0, w - self.width + 1, n)
        rows = (tops[:, None] + np.arange(self.height))[:, :, None]
        cols = (lefts[:, None] + np.arange(self.width))[:, None, :]
        return inputs[np.arange(n)[:, None, None], rows, cols]

    def compute_output_shape(self, input_shape):
        return _image_shape(self, input_shape, self.height, self.width)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width, "data_format": self.data_format}
