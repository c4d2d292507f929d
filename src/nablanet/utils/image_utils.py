"""Keras's image helpers: `load_img`, `img_to_array`, `array_to_img`, `save_img` (Pillow images).

Pillow is the `images` extra (`pip install 'nablanet[images]'`), imported only when one of these runs.
"""

import os

import numpy as np

from nablanet import backend

__all__ = ["array_to_img", "image_data_format", "img_to_array", "load_img", "save_img"]

_RESAMPLE = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def image_data_format():
    """The image layout setting (`nablanet.config`'s, else the backend's); "channels_last" where none exists."""
    try:
        from nablanet.config import image_data_format as setting
    except ImportError:  # the config module may not have landed
        setting = getattr(backend, "image_data_format", None)
    return setting() if setting is not None else "channels_last"


def _pil(where):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{where} needs Pillow: pip install 'nablanet[images]' (or pip install pillow)") from None
    return Image


def _data_format(where, data_format):
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """A Pillow image read from `path` (a path or a binary file object).

    Args:
        color_mode: "grayscale", "rgb" or "rgba".
        target_size: `(height, width)` to resize to, or None.
        interpolation: "nearest", "bilinear", "bicubic", "hamming", "box" or "lanczos".
        keep_aspect_ratio: Crop the centre to the target's aspect ratio before resizing.
    """
    image_module = _pil("load_img")
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(f"load_img: color_mode must be 'grayscale', 'rgb' or 'rgba', got {color_mode!r}")
    if interpolation not in _RESAMPLE:
        raise ValueError(f"load_img: interpolation must be one of {_RESAMPLE}, got {interpolation!r}")
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            image = image_module.open(f)
            image.load()
    elif hasattr(path, "read"):
        image = image_module.open(path)
        image.load()
    else:
        raise TypeError(f"load_img: path must be a file path or a binary file object, got {type(path).__name__}")
    if color_mode == "grayscale":
        if image.mode not in ("L", "I;16", "I"):
            image = image.convert("L")
    elif image.mode != color_mode.upper():
        image = image.convert(color_mode.upper())
    if target_size is not None:
        height, width = target_size
        if (image.width, image.height) != (width, height):
            if keep_aspect_ratio:
                scale = min(image.width / width, image.height / height)
                crop_w, crop_h = round(width * scale), round(height * scale)
                left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
                image = image.crop((left, top, left + crop_w, top + crop_h))
            resample = getattr(image_module.Resampling, interpolation.upper())
            image = image.resize((width, height), resample)
    return image


def img_to_array(img, data_format=None, dtype=None):
    """The image as a 3-D array `(height, width, channels)` (channels first if asked), of
    `dtype` (default `floatx()`)."""
    data_format = _data_format("img_to_array", data_format)
    x = np.asarray(img, dtype=backend.floatx() if dtype is None else dtype)
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of 2 or 3 dimensions, got shape {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A Pillow image from a 3-D array with 1 (grayscale), 3 (RGB) or 4 (RGBA) channels;
    `scale` maps the array's range onto 0-255 first."""
    image_module = _pil("array_to_img")
    data_format = _data_format("array_to_img", data_format)
    x = np.asarray(x, dtype=backend.floatx() if dtype is None else dtype)
    if x.ndim != 3:
        raise ValueError(f"array_to_img: expected one image of rank 3, got shape {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image_module.fromarray(x.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(x) > 255:  # beyond 8 bits: a 32-bit grayscale image
            return image_module.fromarray(x[:, :, 0].astype("int32"), "I")
        return image_module.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: expected 1, 3 or 4 channels, got {channels} (shape {x.shape})")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write the array `x` as an image file (`file_format` from the extension unless given;
    `kwargs` go to Pillow's `save`). RGBA saved as JPEG loses its alpha channel, with a warning."""
    import warnings

    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and (file_format == "jpg" or file_format == "jpeg"
                                 or (file_format is None and str(path).lower().endswith((".jpg", ".jpeg")))):
        warnings.warn("save_img: JPEG has no alpha channel; saving the RGB channels only", stacklevel=2)
        image = image.convert("RGB")
    image.save(path, format=file_format, **kwargs)
