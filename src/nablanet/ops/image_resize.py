"""`ops.image`'s resizing: `resize` and `scale_and_translate`, as separable resampling matrices."""


import numpy as np

from nablanet.autodiff import as_array
from nablanet.autodiff.ops import cast, getitem, matmul, pad, transpose
from nablanet.ops import array_inputs
from nablanet.ops.image_layout import checked_images, from_nhwc, like, restore_dtype, to_nhwc


# -- resampling weights ---------------------------------------------------------------------------------

def _cubic(x, a):
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, np.where(x < 2, far, 0.0))


def _resize_matrix(in_size, out_size, interpolation, antialias):
    """(out_size, in_size) weights of one axis, as torch's interpolate (align_corners=False)."""
    scale = in_size / out_size
    dst = np.arange(out_size)
    weights = np.zeros((out_size, in_size))
    if interpolation == "nearest":
        weights[dst, np.minimum(np.floor((dst + 0.5) * scale).astype(int), in_size - 1)] = 1.0
    elif antialias:
        half = 1.0 if interpolation == "bilinear" else 2.0
        support = half * scale if scale >= 1 else half
        inverse = 1 / scale if scale >= 1 else 1.0
        for i in dst:
            center = scale * (i + 0.5)
            lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), in_size)
            x = (np.arange(lo, hi) - center + 0.5) * inverse
            w = np.maximum(1 - np.abs(x), 0) if interpolation == "bilinear" else _cubic(x, -0.5)
            total = w.sum()
            weights[i, lo:hi] = w / total if total != 0 else w
    elif interpolation == "bilinear":
        src = np.maximum((dst + 0.5) * scale - 0.5, 0)
        lower = np.minimum(np.floor(src).astype(int), in_size - 1)
        upper = np.minimum(lower + 1, in_size - 1)
        fraction = src - lower
        np.add.at(weights, (dst, lower), 1 - fraction)
        np.add.at(weights, (dst, upper), fraction)
    else:  # bicubic: Keys' kernel with a = -0.75, indices clamped at the borders
        src = (dst + 0.5) * scale - 0.5
        base = np.floor(src).astype(int)
        t = src - base
        for offset in (-1, 0, 1, 2):
            np.add.at(weights, (dst, np.clip(base + offset, 0, in_size - 1)), _cubic(t - offset, -0.75))
    return weights


def _resample(x, weights_h, weights_w):
    """Apply per-axis weight matrices to the spatial axes of NHWC `x`."""
    dtype = as_array(x).dtype
    x = transpose(x, (0, 3, 1, 2))  # N C H W: the matmuls act on the last two axes
    x = matmul(matmul(weights_h.astype(dtype), x), weights_w.T.astype(dtype))
    return transpose(x, (0, 2, 3, 1))


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resize to `size = (height, width)` by "nearest", "bilinear" or "bicubic" interpolation.

    `antialias` widens the bilinear/bicubic kernel when downsampling. `crop_to_aspect_ratio` first
    crops the centre to the target's aspect ratio; `pad_to_aspect_ratio` pads with `fill_value`
    instead. Integer images are resampled in float32 and rounded back.

    >>> resize(np.ones((4, 4, 1)), (2, 2)).shape
    (2, 2, 1)
    """
    data_format = array_inputs.data_format(data_format, "resize")
    if interpolation in ("lanczos3", "lanczos5"):
        raise ValueError(f"resize: interpolation {interpolation!r} is not available (nor in Keras on torch); "
                         "use 'nearest', 'bilinear' or 'bicubic'")
    if interpolation not in ("nearest", "bilinear", "bicubic"):
        raise ValueError(f"resize: expected interpolation 'nearest', 'bilinear' or 'bicubic', got {interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported, got {fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: expected at most one of crop_to_aspect_ratio and pad_to_aspect_ratio, got both")
    if len(size) != 2:
        raise ValueError(f"resize: expected size (height, width), got {size!r}")
    images = checked_images(images, "resize")
    dtype = images.dtype
    working = images if dtype in (np.float32, np.float64) else cast(images, "float32")  # as torch's interpolate
    x, unbatched = to_nhwc(working, data_format)
    height, width = x.shape[1:3]
    target_height, target_width = int(size[0]), int(size[1])
    if crop_to_aspect_ratio:
        crop_height = max(min(height, int(width * target_height / target_width)), 1)
        crop_width = max(min(width, int(height * target_width / target_height)), 1)
        top, left = int((height - crop_height) / 2), int((width - crop_width) / 2)
        x = getitem(x, (slice(None), slice(top, top + crop_height), slice(left, left + crop_width)))
    elif pad_to_aspect_ratio:
        pad_height = max(height, int(width * target_height / target_width))
        pad_width = max(width, int(height * target_width / target_height))
        top, left = int((pad_height - height) / 2), int((pad_width - width) / 2)
        x = pad(x, ((0, 0), (top, top), (left, left), (0, 0)), constant_values=fill_value)
    antialias = antialias and interpolation != "nearest"
    weights_h = _resize_matrix(x.shape[1], target_height, interpolation, antialias)
    weights_w = _resize_matrix(x.shape[2], target_width, interpolation, antialias)
    out = from_nhwc(_resample(x, weights_h, weights_w), data_format, unbatched)
    return restore_dtype(out, dtype)


# -- scale and translate ---------------------------------------------------------------------------------

def _kernel_values(method, x):
    if method == "linear":
        return np.maximum(0.0, 1 - np.abs(x))
    if method == "cubic":
        return _cubic(x, -0.5)
    radius = 3.0 if method == "lanczos3" else 5.0
    y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 1e-3, y / np.where(x != 0, np.pi ** 2 * x ** 2, 1), 1.0)
    return np.where(x > radius, 0.0, out)


def _scale_weights(in_size, out_size, scale, translation, method, antialias):
    """(in_size, out_size) weights sampling output pixel centres back into the input."""
    inverse = 1.0 / scale
    kernel_scale = max(inverse, 1.0) if antialias else 1.0
    sample = (np.arange(out_size) + 0.5) * inverse - translation * inverse - 0.5
    weights = _kernel_values(method, np.abs(sample[None, :] - np.arange(in_size)[:, None]) / kernel_scale)
    total = weights.sum(axis=0, keepdims=True)
    weights = np.where(np.abs(total) > 1000.0 * np.finfo(np.float32).eps,
                       weights / np.where(total != 0, total, 1), 0.0)
    return np.where(((sample >= -0.5) & (sample <= in_size - 0.5))[None, :], weights, 0.0)


_METHODS = {"linear": "linear", "bilinear": "linear", "trilinear": "linear", "cubic": "cubic", "bicubic": "cubic",
            "tricubic": "cubic", "lanczos3": "lanczos3", "lanczos5": "lanczos5"}


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method, antialias=True):
    """Resample the `spatial_dims` axes to `output_shape`, mapping input position `p` to
    `p * scale + translation` (as `jax.image.scale_and_translate`). Methods: linear, cubic, lanczos3,
    lanczos5 (and their bi/tri aliases).

    >>> scale_and_translate(np.array([0.0, 1.0]), (4,), [2.0], [0.0], (0,), "linear")
    array([0.  , 0.25, 0.75, 1.  ])
    """
    if method not in _METHODS:
        raise ValueError(f"scale_and_translate: expected method in {tuple(_METHODS)}, got {method!r}")
    images = array_inputs.as_numeric(images)
    scale, translation = np.asarray(as_array(scale), dtype=float), np.asarray(as_array(translation), dtype=float)
    if len(output_shape) != images.ndim:
        raise ValueError(f"scale_and_translate: expected output_shape of rank {images.ndim}, got {output_shape!r}")
    integer = not np.issubdtype(images.dtype, np.floating)
    out = cast(images, "float32") if integer else images
    for i, axis in enumerate(spatial_dims):
        axis = axis % images.ndim
        weights = _scale_weights(images.shape[axis], output_shape[axis], scale[i], translation[i],
                                 _METHODS[method], antialias).astype(as_array(out).dtype)
        moved = [a for a in range(images.ndim) if a != axis] + [axis]
        out = matmul(transpose(out, tuple(moved)), weights)
        out = transpose(out, tuple(np.argsort(moved)))
    if integer:
        data = np.clip(np.round(as_array(out)), as_array(images).min(), as_array(images).max())
        return like(data.astype(images.dtype), images)
    return out
