"""Keras 3's histogram-based image layers: `Equalization`, `AutoContrast` and
`ContrastLimitedAdaptiveHistogramEqualization` (CLAHE).

They draw nothing. Histograms are computed on 8-bit bins of the values mapped from `value_range`
to [0, 255], in float32 as Keras does, so the lookups land on the same bins; these steps are
not differentiable (AutoContrast, a rescaling, is).
"""

import numpy as np

from nablanet import ops
from nablanet.autodiff import as_array
from nablanet.layers.preprocessing_image import BaseImagePreprocessingLayer, rescale, value_range_of


class Equalization(BaseImagePreprocessingLayer):
    """Histogram equalization of each channel, the histogram taken over the whole batch (as
    Keras's layer does); channels with a single occupied bin are left as they are.

    >>> Equalization()(np.array([[[[0.0], [0.0], [100.0], [200.0]]]]))[0, 0, :, 0].numpy()
    array([  0.,   0., 128., 255.], dtype=float32)
    """

    seeded = False

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.bins = bins
        self.value_range = value_range_of(value_range, "Equalization")

    def _equalize(self, channel):
        low, high = np.float32(self.value_range[0]), np.float32(self.value_range[1])
        channel = (channel - low) * np.float32(255 / (high - low))
        scaled = (channel * np.float32(self.bins - 1) / np.float32(255)).astype(np.int32)
        hist = np.bincount(np.clip(scaled, 0, self.bins - 1).ravel(), minlength=self.bins)
        if np.count_nonzero(hist) > 1:
            cdf = np.cumsum(hist)
            cdf_min = cdf[np.nonzero(cdf)[0][0]]
            denominator = np.float32(cdf[-1] - cdf_min or 1)
            table = np.clip(np.round((cdf - cdf_min).astype(np.float32) * np.float32(255) / denominator), 0, 255)
            index = np.clip(channel / np.float32(255) * np.float32(self.bins - 1), 0, self.bins - 1).astype(np.int32)
            channel = table[index].astype(np.float32)
        return channel * np.float32((high - low) / 255) + low

    def transform_images(self, images, transformation, training=True):
        if not training:
            return images
        x = as_array(images).astype(np.float32)
        axis = -3 if self.data_format == "channels_first" else -1
        channels = [self._equalize(np.take(x, i, axis=axis)) for i in range(x.shape[axis])]
        return ops.convert_to_tensor(np.stack(channels, axis=axis).astype(as_array(images).dtype))

    def get_config(self):
        return {**super().get_config(), "bins": self.bins, "value_range": self.value_range}


class AutoContrast(BaseImagePreprocessingLayer):
    """Stretch each channel of each image to span `value_range` (constant channels are kept).

    >>> AutoContrast()(np.array([[[[50.0], [100.0]]]]))[0, 0, :, 0].numpy()
    array([  0., 255.], dtype=float32)
    """

    seeded = False

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = value_range_of(value_range, "AutoContrast")

    def transform_images(self, images, transformation=None, training=True):
        x = rescale(images, self.value_range, (0, 255))
        axes = (-2, -1) if self.data_format == "channels_first" else (-3, -2)
        low, high = ops.min(x, axis=axes, keepdims=True), ops.max(x, axis=axes, keepdims=True)
        span = as_array(high - low)
        span_or_one = ops.where(span > 0, high - low, np.float32(1.0))  # Keras divides by zero there, keeps the input
        scale = np.float32(1.0) / span_or_one * np.float32(255.0)  # a reciprocal first, as torch divides
        out = ops.clip(x * scale - low * scale, 0.0, 255.0)
        return ops.where(span > 0, rescale(out, (0, 255), self.value_range), images)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


def _clahe(x, clip_limit, grid):
    """CLAHE of NHWC float32 `x` in [0, 255] on a `grid` of tiles: per-tile clipped histograms,
    their normalized CDFs, interpolated bilinearly between tile centres."""
    n, h, w, c = x.shape
    grid_h, grid_w = grid
    tile_h, tile_w = -(-h // grid_h), -(-w // grid_w)
    # edge padding and whole-count clip limits, as Keras computes on the torch backend
    padded = np.pad(x, ((0, 0), (0, tile_h * grid_h - h), (0, tile_w * grid_w - w), (0, 0)), mode="edge")
    tiles = padded.reshape(n, grid_h, tile_h, grid_w, tile_w, c).transpose(0, 1, 3, 5, 2, 4)
    values = np.clip(tiles.astype(np.int32), 0, 255).reshape(-1, tile_h * tile_w)
    offsets = (np.arange(values.shape[0]) * 256)[:, None]  # one bincount for every tile and channel
    hists = np.bincount((values + offsets).ravel(), minlength=values.shape[0] * 256).astype(np.float32)
    hists = hists.reshape(n, grid_h, grid_w, c, 256)
    if clip_limit > 0:
        clipped = np.clip(hists, 0, np.float32(int(clip_limit * tile_h * tile_w / 256.0)))
        hists = clipped + (hists - clipped).sum(axis=-1, keepdims=True) / np.float32(256.0)
    cdf = np.cumsum(hists, axis=-1, dtype=np.float32)
    cdf_min = cdf.min(axis=-1, keepdims=True)
    denominator = np.float32(tile_h * tile_w) - cdf_min
    cdf = np.clip((cdf - cdf_min) * np.float32(255.0) / np.where(denominator == 0, 1, denominator), 0, 255)
    cdf = np.pad(cdf, ((0, 0), (1, 1), (1, 1), (0, 0), (0, 0)), mode="edge")  # tiles beyond the border

    def axis_nodes(size, tile, count):
        position = (np.arange(size, dtype=np.float32) - np.float32(tile / 2.0)) / np.float32(tile) + 1
        lower = np.floor(position)
        return np.clip(lower, 0, count + 1).astype(int), np.clip(lower + 1, 0, count + 1).astype(int), position - lower

    y0, y1, wy = axis_nodes(tile_h * grid_h, tile_h, grid_h)
    x0, x1, wx = axis_nodes(tile_w * grid_w, tile_w, grid_w)
    pixel = np.clip(padded, 0, 255).astype(np.int32)
    b, ch = np.arange(n)[:, None, None, None], np.arange(c)[None, None, None, :]
    rows0, rows1, cols0, cols1 = y0[None, :, None, None], y1[None, :, None, None], x0[None, None, :, None], \
        x1[None, None, :, None]
    wy, wx = wy[None, :, None, None], wx[None, None, :, None]
    top = cdf[b, rows0, cols0, ch, pixel] * (1 - wx) + cdf[b, rows0, cols1, ch, pixel] * wx
    bottom = cdf[b, rows1, cols0, ch, pixel] * (1 - wx) + cdf[b, rows1, cols1, ch, pixel] * wx
    return (top * (1 - wy) + bottom * wy)[:, :h, :w, :]


class ContrastLimitedAdaptiveHistogramEqualization(BaseImagePreprocessingLayer):
    """Contrast-limited adaptive histogram equalization on a `tile_grid_size` grid of tiles, each
    histogram clipped at `clip_limit` times its mean bin count, in whole counts (0 turns clipping
    off); tiles past the border repeat the edge pixels.

    >>> ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))(np.ones((1, 8, 8, 3))).shape
    (1, 8, 8, 3)
    """

    seeded = False

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8), data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if len(tuple(tile_grid_size)) != 2 or any(int(g) < 1 for g in tile_grid_size):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization: expected tile_grid_size of two positive "
                             f"integers, got {tile_grid_size!r}")
        self.value_range, self.clip_limit, self.tile_grid_size = value_range, clip_limit, tile_grid_size

    def transform_images(self, images, transformation=None, training=True):
        dtype = as_array(images).dtype
        single = len(images.shape) == 3
        x = as_array(images)[None] if single else as_array(images)
        x = x.transpose(0, 2, 3, 1) if self.data_format == "channels_first" else x
        x = rescale(x.astype(np.float32), self.value_range, (0, 255)).astype(np.float32)
        out = rescale(_clahe(x, self.clip_limit, tuple(int(g) for g in self.tile_grid_size)), (0, 255),
                      self.value_range)
        out = out.transpose(0, 3, 1, 2) if self.data_format == "channels_first" else out
        return ops.convert_to_tensor((out[0] if single else out).astype(dtype))

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range, "clip_limit": self.clip_limit,
                "tile_grid_size": self.tile_grid_size}
