"""`ops.image`'s colour-space conversions: grayscale, HSV."""


import numpy as np

from nablanet.autodiff import as_array
from nablanet.autodiff.ops import abs, clip, expand_dims, getitem, maximum, minimum, stack, where
from nablanet.ops import array_inputs
from nablanet.ops.image_layout import cast_like, checked_images, float_images, like


# -- colour --------------------------------------------------------------------------------------------

def _channels(images, data_format, name, allowed=(3,)):
    axis = -1 if data_format == "channels_last" else -3
    if images.shape[axis] not in allowed:
        raise ValueError(f"{name}: expected {' or '.join(map(str, allowed))} channels on axis {axis}, got shape "
                         f"{tuple(images.shape)}")
    return axis


def _split_channels(images, axis):
    return [getitem(images, (Ellipsis, c) if axis == -1 else (Ellipsis, c, slice(None), slice(None)))
            for c in range(3)]


def rgb_to_grayscale(images, data_format=None):
    """Luma `0.2989 R + 0.587 G + 0.114 B`, keeping a channel axis of 1 (one-channel images pass through).

    >>> rgb_to_grayscale(np.array([[[1.0, 1.0, 1.0]]]))
    array([[[0.9999]]])
    """
    data_format = array_inputs.data_format(data_format, "rgb_to_grayscale")
    images = checked_images(images, "rgb_to_grayscale")
    axis = _channels(images, data_format, "rgb_to_grayscale", (1, 3))
    if images.shape[axis] == 1:
        return images
    r, g, b = _split_channels(array_inputs.as_floating(images), axis)
    gray = expand_dims(0.2989 * r + 0.587 * g + 0.114 * b, axis)
    if np.issubdtype(images.dtype, np.integer):
        return like(np.trunc(as_array(gray)).astype(images.dtype), images)
    return gray


def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to hue, saturation and value in [0, 1].

    >>> rgb_to_hsv(np.array([[[1.0, 0.0, 0.0]]]))
    array([[[0., 1., 1.]]])
    """
    data_format = array_inputs.data_format(data_format, "rgb_to_hsv")
    images = float_images(checked_images(images, "rgb_to_hsv"), "rgb_to_hsv")
    axis = _channels(images, data_format, "rgb_to_hsv")
    eps = np.finfo(images.dtype).eps
    images = where(np.abs(as_array(images)) < eps, 0.0, images)
    r, g, b = _split_channels(images, axis)
    value = maximum(maximum(r, g), b)
    spread = value - minimum(minimum(r, g), b)
    v, s_ = as_array(value), as_array(spread)
    saturation = where(v > 0, spread / where(v > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * where(s_ > 0, spread, 1.0))
    hue = where(v == as_array(g), norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = where(v == as_array(r), norm * (g - b), hue)
    hue = where(s_ > 0, hue, 0.0)
    hue = hue + (as_array(hue) < 0).astype(images.dtype)
    return cast_like(stack([hue, saturation, value], axis=axis), images)


def hsv_to_rgb(images, data_format=None):
    """Hue, saturation and value in [0, 1] to RGB.

    >>> hsv_to_rgb(np.array([[[0.0, 1.0, 1.0]]]))
    array([[[1., 0., 0.]]])
    """
    data_format = array_inputs.data_format(data_format, "hsv_to_rgb")
    images = float_images(checked_images(images, "hsv_to_rgb"), "hsv_to_rgb")
    axis = _channels(images, data_format, "hsv_to_rgb")
    hue, saturation, value = _split_channels(images, axis)
    dh = (hue - np.floor(as_array(hue))) * 6.0  # remainder(hue, 1): the floor is locally constant
    dr = clip(abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = clip(2.0 - abs(dh - 2.0), 0.0, 1.0)
    db = clip(2.0 - abs(dh - 4.0), 0.0, 1.0)
    one_minus_s = 1.0 - saturation
    planes = [value * (one_minus_s + saturation * d) for d in (dr, dg, db)]
    return cast_like(stack(planes, axis=axis), images)


