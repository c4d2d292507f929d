"""`ops.image`'s crops, pads and patches."""

import itertools
import math

import numpy as np

from nablanet.autodiff.ops import expand_dims, getitem, pad, reshape, stack, transpose
from nablanet.ops import array_inputs
from nablanet.ops.image_layout import checked_images, from_nhwc, to_nhwc


# -- crops, pads, patches --------------------------------------------------------------------------------

def _sides(first, second, target, size, name, kind):
    names = {"pad": ("top_padding", "bottom_padding", "target_height"),
             "crop": ("top_cropping", "bottom_cropping", "target_height")}[kind]
    if [first, second, target].count(None) != 1:
        raise ValueError(f"{name}: expected exactly two of {', '.join(names)}, got "
                         f"{first!r}, {second!r}, {target!r}")
    for label, value in zip(names, (first, second, target)):
        if value is not None and value < 0:
            raise ValueError(f"{name}: expected {label} >= 0, got {value}")
    if kind == "pad":
        first = target - second - size if first is None else first
        second = target - first - size if second is None else second
        if first < 0 or second < 0:
            raise ValueError(f"{name}: the target {target} is smaller than the image ({size})")
        return first, second
    first = size - target - second if first is None else first
    target = size - second - first if target is None else target
    if first < 0 or target < 0 or first + target > size:
        raise ValueError(f"{name}: cannot crop {first} then keep {target} of {size} pixels")
    return first, target


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None, right_padding=None,
               target_height=None, target_width=None, data_format=None):
    """Pad with zeros; give two of (top, bottom, target height) and two of (left, right, target width).

    >>> pad_images(np.ones((2, 2, 1)), 1, 0, 0, 1)[..., 0]
    array([[0., 0., 0.],
           [1., 1., 0.],
           [1., 1., 0.]])
    """
    data_format = array_inputs.data_format(data_format, "pad_images")
    images = checked_images(images, "pad_images")
    x, unbatched = to_nhwc(images, data_format)
    top, bottom = _sides(top_padding, bottom_padding, target_height, x.shape[1], "pad_images", "pad")
    left, right = _sides(left_padding, right_padding, target_width, x.shape[2], "pad_images", "pad")
    return from_nhwc(pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))), data_format, unbatched)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """Crop; give two of (top, bottom, target height) and two of (left, right, target width).

    >>> crop_images(np.arange(9.0).reshape(3, 3, 1), 1, 1, 0, 0)[..., 0]
    array([[4., 5.],
           [7., 8.]])
    """
    data_format = array_inputs.data_format(data_format, "crop_images")
    images = checked_images(images, "crop_images")
    x, unbatched = to_nhwc(images, data_format)
    top, height = _sides(top_cropping, bottom_cropping, target_height, x.shape[1], "crop_images", "crop")
    left, width = _sides(left_cropping, right_cropping, target_width, x.shape[2], "crop_images", "crop")
    x = getitem(x, (slice(None), slice(top, top + height), slice(left, left + width)))
    return from_nhwc(x, data_format, unbatched)


def _patches(x, size, strides, dilation, padding, name):
    """Patches of channels-last `x` (batch, *spatial, channels): (batch, *out, prod(size) * channels)."""
    spatial = x.shape[1:-1]
    if padding not in ("valid", "same"):
        raise ValueError(f"{name}: expected padding 'valid' or 'same', got {padding!r}")
    if padding == "same":
        widths = []
        for n, k, s, d in zip(spatial, size, strides, dilation):
            effective = (k - 1) * d + 1
            total = effective - 1 if s == 1 else max(0, ((n + s - 1) // s - 1) * s + effective - n)
            widths.append((total // 2, total - total // 2))
        x = pad(x, ((0, 0), *widths, (0, 0)))
        spatial = x.shape[1:-1]
    out = [(n - (k - 1) * d - 1) // s + 1 for n, k, s, d in zip(spatial, size, strides, dilation)]
    if any(o <= 0 for o in out):
        raise ValueError(f"{name}: patches of size {size} (dilation {dilation}) do not fit the input of spatial "
                         f"shape {tuple(spatial)}")
    pieces = []
    for offsets in itertools.product(*(range(k) for k in size)):
        index = (slice(None),) + tuple(slice(o * d, o * d + (m - 1) * s + 1, s)
                                       for o, d, m, s in zip(offsets, dilation, out, strides))
        pieces.append(getitem(x, index))
    patches = stack(pieces, axis=-2)  # (batch, *out, positions, channels)
    return reshape(patches, (x.shape[0], *out, math.prod(size) * x.shape[-1]))


def _move_channels(x, to_last):
    axes = list(range(x.ndim))
    order = [0] + axes[2:] + [1] if to_last else [0, x.ndim - 1] + axes[1:-1]
    return transpose(x, tuple(order))


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Every `size` patch (taken every `strides`), flattened in (row, column, channel) order into the
    channel axis. A 3-tuple `size` takes 3-D patches of volumes (see `extract_patches_3d`).

    >>> extract_patches(np.arange(16.0).reshape(4, 4, 1), 2)[0, 0]
    array([0., 1., 4., 5.])
    """
    if not isinstance(size, (int, np.integer)) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    data_format = array_inputs.data_format(data_format, "extract_patches")
    images = checked_images(images, "extract_patches")
    size = array_inputs.int_tuple(size, 2, "extract_patches", "size")
    strides = array_inputs.int_tuple(strides or size, 2, "extract_patches", "strides")
    dilation = array_inputs.int_tuple(dilation_rate, 2, "extract_patches", "dilation_rate")
    unbatched = images.ndim == 3
    x = expand_dims(images, 0) if unbatched else images
    x = _move_channels(x, True) if data_format == "channels_first" else x
    out = _patches(x, size, strides, dilation, padding, "extract_patches")
    out = _move_channels(out, False) if data_format == "channels_first" else out
    return getitem(out, (0,)) if unbatched else out


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Every `size` 3-D patch of volumes (batch, depth, height, width, channels), flattened in
    (depth, row, column, channel) order into the channel axis.

    >>> extract_patches_3d(np.arange(8.0).reshape(2, 2, 2, 1), 2)[0, 0, 0]
    array([0., 1., 2., 3., 4., 5., 6., 7.])
    """
    data_format = array_inputs.data_format(data_format, "extract_patches_3d")
    volumes = checked_images(volumes, "extract_patches_3d", ranks=(4, 5))
    size = array_inputs.int_tuple(size, 3, "extract_patches_3d", "size")
    strides = array_inputs.int_tuple(size if strides is None else strides, 3, "extract_patches_3d", "strides")
    dilation = array_inputs.int_tuple(dilation_rate, 3, "extract_patches_3d", "dilation_rate")
    unbatched = volumes.ndim == 4
    x = expand_dims(volumes, 0) if unbatched else volumes
    x = _move_channels(x, True) if data_format == "channels_first" else x
    out = _patches(x, size, strides, dilation, padding, "extract_patches_3d")
    out = _move_channels(out, False) if data_format == "channels_first" else out
    return getitem(out, (0,)) if unbatched else out
