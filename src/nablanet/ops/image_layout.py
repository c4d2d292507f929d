"""The layouts `ops.image` reads and writes: one image or a batch, channels last or first."""


import numpy as np

from nablanet.autodiff import Tensor, as_array
from nablanet.autodiff.ops import cast, expand_dims, getitem, transpose
from nablanet.ops import array_inputs


FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
ORDERS = {"nearest": 0, "bilinear": 1}

# -- layouts -----------------------------------------------------------------------------------------


def checked_images(images, name, ranks=(3, 4)):
    images = array_inputs.as_numeric(images)
    if images.ndim not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        raise ValueError(f"{name}: expected images of rank {expected} (one image or a batch), got shape "
                         f"{tuple(images.shape)}")
    return images


def to_nhwc(images, data_format):
    """Batched, channels-last view of `images`, and how to undo it."""
    unbatched = images.ndim == 3
    x = expand_dims(images, 0) if unbatched else images
    if data_format == "channels_first":
        x = transpose(x, (0, 2, 3, 1))
    return x, unbatched


def from_nhwc(x, data_format, unbatched):
    if data_format == "channels_first":
        x = transpose(x, (0, 3, 1, 2))
    return getitem(x, (0,)) if unbatched else x


def restore_dtype(result, dtype):
    """Cast a float result back to the input's dtype, rounding for integers as Keras does."""
    if np.issubdtype(dtype, np.integer):
        data = np.round(as_array(result))
        if dtype == np.uint8:
            data = np.clip(data, 0, 255)
        return like(data.astype(dtype), result)
    return result if as_array(result).dtype == dtype else cast(result, dtype)


def like(value, like):
    return Tensor._wrap(np.asarray(value)) if isinstance(like, Tensor) else value


def float_images(images, name):
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{name}: expected floating-point images, got dtype {images.dtype}")
    return images


def cast_like(result, images):
    return result if as_array(result).dtype == images.dtype else cast(result, images.dtype)
