"""`keras.ops.image`: resizing, affine and perspective transforms, patches, colour spaces, in
Keras's layouts (`data_format="channels_last"` by default).

Images are (batch, height, width, channels) or one unbatched (height, width, channels) image
(channels first with `data_format="channels_first"`). Every op is composed of differentiable
ops (slices, gathers, matmuls, `where`), so results on Tensors carry gradients with respect to
the images, to any order. The conventions are Keras's on the torch backend: half-pixel centres
for `resize` (as `torch.nn.functional.interpolate` with `align_corners=False`), rounding half
to even for nearest sampling, and Keras's fill modes.

>>> from nablanet.ops import image
>>> image.resize(np.arange(4.0).reshape(1, 2, 2, 1), (4, 4))[0, :, :, 0]
array([[0.  , 0.25, 0.75, 1.  ],
       [0.5 , 0.75, 1.25, 1.5 ],
       [1.5 , 1.75, 2.25, 2.5 ],
       [2.  , 2.25, 2.75, 3.  ]])
"""

import itertools
import math

import numpy as np

from nablanet import backend
from nablanet.autodiff import Tensor, as_array
from nablanet.autodiff.ops import (
    abs, broadcast_to, cast, clip, expand_dims, getitem, matmul, maximum, mean, minimum, pad, reshape, stack,
    transpose, where,
)
from nablanet.autodiff.ops.linalg import solve
from nablanet.ops import array_inputs

__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d",
    "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize",
    "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim",
]

_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
_ORDERS = {"nearest": 0, "bilinear": 1}


# -- layouts -----------------------------------------------------------------------------------------


def _images(images, name, ranks=(3, 4)):
    images = array_inputs.as_numeric(images)
    if images.ndim not in ranks:
        expected = " or ".join(str(r) for r in ranks)
        raise ValueError(f"{name}: expected images of rank {expected} (one image or a batch), got shape "
                         f"{tuple(images.shape)}")
    return images


def _to_nhwc(images, data_format):
    """Batched, channels-last view of `images`, and how to undo it."""
    unbatched = images.ndim == 3
    x = expand_dims(images, 0) if unbatched else images
    if data_format == "channels_first":
        x = transpose(x, (0, 2, 3, 1))
    return x, unbatched


def _from_nhwc(x, data_format, unbatched):
    if data_format == "channels_first":
        x = transpose(x, (0, 3, 1, 2))
    return getitem(x, (0,)) if unbatched else x


def _restore_dtype(result, dtype):
    """Cast a float result back to the input's dtype, rounding for integers as Keras does."""
    if np.issubdtype(dtype, np.integer):
        data = np.round(as_array(result))
        if dtype == np.uint8:
            data = np.clip(data, 0, 255)
        return _like(data.astype(dtype), result)
    return result if as_array(result).dtype == dtype else cast(result, dtype)


def _like(value, like):
    return Tensor._wrap(np.asarray(value)) if isinstance(like, Tensor) else value


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
    images = _images(images, "rgb_to_grayscale")
    axis = _channels(images, data_format, "rgb_to_grayscale", (1, 3))
    if images.shape[axis] == 1:
        return images
    r, g, b = _split_channels(array_inputs.as_floating(images), axis)
    gray = expand_dims(0.2989 * r + 0.587 * g + 0.114 * b, axis)
    if np.issubdtype(images.dtype, np.integer):
        return _like(np.trunc(as_array(gray)).astype(images.dtype), images)
    return gray


def _float_images(images, name):
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(f"{name}: expected floating-point images, got dtype {images.dtype}")
    return images


def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to hue, saturation and value in [0, 1].

    >>> rgb_to_hsv(np.array([[[1.0, 0.0, 0.0]]]))
    array([[[0., 1., 1.]]])
    """
    data_format = array_inputs.data_format(data_format, "rgb_to_hsv")
    images = _float_images(_images(images, "rgb_to_hsv"), "rgb_to_hsv")
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
    return _cast_like(stack([hue, saturation, value], axis=axis), images)


def hsv_to_rgb(images, data_format=None):
    """Hue, saturation and value in [0, 1] to RGB.

    >>> hsv_to_rgb(np.array([[[0.0, 1.0, 1.0]]]))
    array([[[1., 0., 0.]]])
    """
    data_format = array_inputs.data_format(data_format, "hsv_to_rgb")
    images = _float_images(_images(images, "hsv_to_rgb"), "hsv_to_rgb")
    axis = _channels(images, data_format, "hsv_to_rgb")
    hue, saturation, value = _split_channels(images, axis)
    dh = (hue - np.floor(as_array(hue))) * 6.0  # remainder(hue, 1): the floor is locally constant
    dr = clip(abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = clip(2.0 - abs(dh - 2.0), 0.0, 1.0)
    db = clip(2.0 - abs(dh - 4.0), 0.0, 1.0)
    one_minus_s = 1.0 - saturation
    planes = [value * (one_minus_s + saturation * d) for d in (dr, dg, db)]
    return _cast_like(stack(planes, axis=axis), images)


def _cast_like(result, images):
    return result if as_array(result).dtype == images.dtype else cast(result, images.dtype)


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
    images = _images(images, "resize")
    dtype = images.dtype
    working = images if dtype in (np.float32, np.float64) else cast(images, "float32")  # as torch's interpolate
    x, unbatched = _to_nhwc(working, data_format)
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
    out = _from_nhwc(_resample(x, weights_h, weights_w), data_format, unbatched)
    return _restore_dtype(out, dtype)


# -- sampling at coordinates --------------------------------------------------------------------------------

def _fix_index(index, size, fill_mode):
    if fill_mode in ("constant", "nearest"):
        return np.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    if fill_mode == "mirror":
        return _mirror(index, size)
    return (_mirror(2 * index + 1, 2 * size + 1) - 1) // 2  # reflect


def _mirror(index, size):
    period = size - 1
    if period == 0:
        return np.zeros_like(index)
    return np.abs((index + period) % (2 * period) - period)


def _nodes(coordinate, order):
    """(index, weight) pairs of one axis: the nearest sample, or the two linear neighbours."""
    data = as_array(coordinate)
    if not np.issubdtype(data.dtype, np.floating):
        return [(data.astype(np.int64), None)]
    if order == 0:
        return [(np.round(data).astype(np.int64), None)]
    lower = np.floor(data)
    upper_weight = coordinate - lower
    return [(lower.astype(np.int64), 1 - upper_weight), (lower.astype(np.int64) + 1, upper_weight)]


def _sample(x, coordinates, order, fill_mode, fill_value):
    """Interpolate `x` at `coordinates` (one array per axis of `x`), as Keras's map_coordinates."""
    per_axis = []
    for coordinate, size in zip(coordinates, x.shape):
        per_axis.append([(_fix_index(index, size, fill_mode), (index >= 0) & (index < size), weight)
                         for index, weight in _nodes(coordinate, order)])
    total = None
    for combination in itertools.product(*per_axis):
        indices, valid, weights = zip(*combination)
        value = getitem(x, tuple(indices))
        if fill_mode == "constant":
            value = where(np.logical_and.reduce(valid), value, fill_value)
        for weight in weights:
            if weight is not None:
                value = weight * value
        total = value if total is None else total + value
    return total


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Sample `inputs` at `coordinates` (one array of positions per axis of `inputs`), with nearest
    (`order=0`) or linear (`order=1`) interpolation; outside points follow `fill_mode`.

    >>> map_coordinates(np.array([0.0, 10.0, 20.0]), [np.array([0.5, 1.25, 3.0])], order=1)
    array([ 5. , 12.5,  0. ])
    """
    inputs = array_inputs.as_numeric(inputs)
    coordinates = [array_inputs.as_numeric(c) for c in coordinates]
    if len(coordinates) != inputs.ndim:
        raise ValueError(f"map_coordinates: expected one coordinate array per axis of inputs ({inputs.ndim}), got "
                         f"{len(coordinates)}")
    if coordinates and coordinates[0].ndim < 1:
        raise ValueError("map_coordinates: expected coordinates of rank at least 2 (axes, points...), got "
                         f"shape {(len(coordinates),)}")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"map_coordinates: expected fill_mode in {_FILL_MODES}, got {fill_mode!r}")
    if order not in (0, 1):
        raise NotImplementedError(f"map_coordinates: order must be 0 or 1, got {order!r}")
    out = _sample(inputs, coordinates, order, fill_mode, fill_value)
    return _restore_dtype(out, inputs.dtype)


def _interpolation_order(interpolation, name):
    if interpolation not in _ORDERS:
        raise ValueError(f"{name}: expected interpolation 'nearest' or 'bilinear', got {interpolation!r}")
    return _ORDERS[interpolation]


def _sample_images(x, rows, cols, order, fill_mode, fill_value):
    """Sample NHWC `x` at per-pixel, per-channel source `rows` and `cols` of shape (N, H, W, C)."""
    n, _, _, c = x.shape
    batch = np.arange(n).reshape(n, 1, 1, 1) + np.zeros(as_array(rows).shape, dtype=np.int64)
    channel = np.arange(c).reshape(1, 1, 1, c) + np.zeros(as_array(rows).shape, dtype=np.int64)
    return _sample(x, [batch, rows, cols, channel], order, fill_mode, fill_value)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """Apply `transform = [a0, a1, a2, b0, b1, b2, c0, c1]` (one row per image, or one for all): each
    output pixel (x, y) samples the input at `(a0 x + a1 y + a2, b0 x + b1 y + b2)`.

    As in Keras, `c0` and `c1` shift the source position by `c * channel` instead of dividing by
    `c0 x + c1 y + 1`; they are 0 for affine maps.

    >>> affine_transform(np.arange(4.0).reshape(2, 2, 1), [1, 0, 1, 0, 1, 0, 0, 0])[..., 0]
    array([[1., 0.],
           [3., 0.]])
    """
    data_format = array_inputs.data_format(data_format, "affine_transform")
    order = _interpolation_order(interpolation, "affine_transform")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"affine_transform: expected fill_mode in {_FILL_MODES}, got {fill_mode!r}")
    images = _images(images, "affine_transform")
    transform = array_inputs.as_numeric(transform)
    if transform.dtype.kind != "f":
        transform = cast(transform, "float32")
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(f"affine_transform: expected transform of shape (8,) or (batch, 8), got "
                         f"{tuple(transform.shape)}")
    x, unbatched = _to_nhwc(images, data_format)
    n, h, w, c = x.shape
    t = reshape(broadcast_to(reshape(transform, (-1, 8)), (n, 8)), (n, 8, 1, 1, 1))
    a = [getitem(t, (slice(None), i)) for i in range(8)]
    y_grid, x_grid, c_grid = np.meshgrid(*(np.arange(k, dtype=transform.dtype) for k in (h, w, c)), indexing="ij")
    rows = a[3] * x_grid + a[4] * y_grid + a[5] + a[6] * c_grid
    cols = a[0] * x_grid + a[1] * y_grid + a[2] + a[7] * c_grid
    out = _sample_images(x, rows, cols, order, fill_mode, fill_value)
    return _from_nhwc(_restore_dtype(out, images.dtype), data_format, unbatched)


def _homography(start_points, end_points):
    """The 8 coefficients mapping each output (end) point to its input (start) point."""
    rows, targets = [], []
    for k in range(4):
        sx, sy = (getitem(start_points, (slice(None), k, i)) for i in (0, 1))
        ex, ey = (getitem(end_points, (slice(None), k, i)) for i in (0, 1))
        zero, one = np.zeros(ex.shape, ex.dtype), np.ones(ex.shape, ex.dtype)
        rows.append(stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], axis=-1))
        rows.append(stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], axis=-1))
        targets.extend([sx, sy])
    return solve(stack(rows, axis=1), stack(targets, axis=-1))


def perspective_transform(images, start_points, end_points, interpolation="bilinear", fill_value=0,
                          data_format=None):
    """Warp so that the four `start_points` (x, y) land on `end_points`; (4, 2) or (batch, 4, 2).

    >>> corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    >>> perspective_transform(np.arange(4.0).reshape(2, 2, 1), corners, corners)[..., 0]
    array([[0., 1.],
           [2., 3.]])
    """
    data_format = array_inputs.data_format(data_format, "perspective_transform")
    order = _interpolation_order(interpolation, "perspective_transform")
    images = _images(images, "perspective_transform")
    dtype = images.dtype if np.issubdtype(images.dtype, np.floating) else np.dtype(backend.floatx())
    points = []
    for name, p in (("start_points", start_points), ("end_points", end_points)):
        p = array_inputs.as_numeric(p)
        compute = np.result_type(dtype, np.float32)  # NumPy's solve has no float16
        p = p if p.dtype == compute else cast(p, compute)
        if p.ndim not in (2, 3) or p.shape[-2:] != (4, 2):
            raise ValueError(f"perspective_transform: expected {name} of shape (4, 2) or (batch, 4, 2), got "
                             f"{tuple(p.shape)}")
        points.append(reshape(p, (-1, 4, 2)))
    if np.shape(as_array(start_points)) != np.shape(as_array(end_points)):
        raise ValueError(f"perspective_transform: start_points and end_points must have one shape, got "
                         f"{np.shape(as_array(start_points))} and {np.shape(as_array(end_points))}")
    x, unbatched = _to_nhwc(images, data_format)
    n, h, w, c = x.shape
    coefficients = _homography(*points)
    coefficients = coefficients if coefficients.dtype == dtype else cast(coefficients, dtype)
    coefficients = reshape(broadcast_to(coefficients, (n, 8)), (n, 8, 1, 1))
    y_grid, x_grid = np.meshgrid(np.arange(h, dtype=dtype), np.arange(w, dtype=dtype), indexing="ij")
    a = [getitem(coefficients, (slice(None), i)) for i in range(8)]
    denominator = a[6] * x_grid + a[7] * y_grid + 1.0
    cols = (a[0] * x_grid + a[1] * y_grid + a[2]) / denominator
    rows = (a[3] * x_grid + a[4] * y_grid + a[5]) / denominator
    rows, cols = (broadcast_to(expand_dims(v, -1), (n, h, w, c)) for v in (rows, cols))
    out = _sample_images(x, rows, cols, order, "constant", fill_value)
    return _from_nhwc(_restore_dtype(out, images.dtype), data_format, unbatched)


# -- filters ----------------------------------------------------------------------------------------------------

def _correlate(x, kernel):
    """Valid 2-D cross-correlation of each channel of NHWC `x` with a small NumPy `kernel`."""
    kh, kw = kernel.shape
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    kernel = kernel.astype(as_array(x).dtype)
    total = None
    for i, j in itertools.product(range(kh), range(kw)):
        if kernel[i, j] != 0:
            term = kernel[i, j] * getitem(x, (slice(None), slice(i, i + oh), slice(j, j + ow)))
            total = term if total is None else total + term
    return total if total is not None else getitem(x, (slice(None), slice(0, oh), slice(0, ow))) * 0


def _correlate_separable(x, rows, cols):
    """`_correlate` with the kernel `outer(rows, cols)`, one axis at a time."""
    return _correlate(_correlate(x, rows.reshape(-1, 1)), cols.reshape(1, -1))


def _gaussian(size, sigma):
    x = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blur each channel with a Gaussian kernel of `kernel_size` and `sigma` (zero padding).

    >>> gaussian_blur(np.ones((1, 3, 3, 1)))[0, 1, 1, 0]
    np.float64(1.0)
    """
    data_format = array_inputs.data_format(data_format, "gaussian_blur")
    images = _float_images(_images(images, "gaussian_blur"), "gaussian_blur")
    kernel_size = tuple(int(k) for k in np.broadcast_to(kernel_size, (2,)))
    sigma = tuple(float(s) for s in np.broadcast_to(sigma, (2,)))
    x, unbatched = _to_nhwc(images, data_format)
    p = kernel_size[0] // 2
    x = pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    first, second = _gaussian(kernel_size[0], sigma[0]), _gaussian(kernel_size[1], sigma[1])
    if kernel_size[0] == kernel_size[1]:
        out = _correlate_separable(x, second, first)
    else:  # Keras lays the outer product out in (kernel_size[0], kernel_size[1]) order
        out = _correlate(x, np.outer(second, first).reshape(kernel_size))
    return _from_nhwc(out, data_format, unbatched)


def sobel_edges(images, data_format=None):
    """Sobel gradients of each channel, stacked last as (vertical, horizontal): (..., channels, 2).

    >>> sobel_edges(np.ones((1, 3, 3, 1)))[0, 1, 1, 0]
    array([0., 0.])
    """
    data_format = array_inputs.data_format(data_format, "sobel_edges")
    images = _float_images(_images(images, "sobel_edges", ranks=(4,)), "sobel_edges")
    x, _ = _to_nhwc(images, data_format)
    x = pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    smooth, derivative = np.array([1.0, 2.0, 1.0]), np.array([-1.0, 0.0, 1.0])
    edges = stack([_correlate_separable(x, derivative, smooth), _correlate_separable(x, smooth, derivative)], -1)
    return transpose(edges, (0, 3, 1, 2, 4)) if data_format == "channels_first" else edges


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, data_format=None):
    """Structural similarity of two images (or batches), averaged over pixels and channels, with a
    Gaussian window of `filter_size` and `filter_sigma` (no padding).

    >>> x = np.random.default_rng(0).random((16, 16, 1))
    >>> float(ssim(x, x))
    1.0
    """
    data_format = array_inputs.data_format(data_format, "ssim")
    image1, image2 = _images(image1, "ssim"), _images(image2, "ssim")
    dtype = image1.dtype
    x, unbatched = _to_nhwc(array_inputs.as_floating(image1), data_format)
    y, _ = _to_nhwc(array_inputs.as_floating(image2), data_format)
    window = _gaussian(filter_size, filter_sigma)

    def blur(v):
        return _correlate_separable(v, window, window)

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(x), blur(y)
    sigma1 = blur(x * x) - mu1 * mu1
    sigma2 = blur(y * y) - mu2 * mu2
    sigma12 = blur(x * y) - mu1 * mu2
    ssim_map = ((2.0 * mu1 * mu2 + c1) * (2.0 * sigma12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (sigma1 + sigma2 + c2))
    out = mean(ssim_map, axis=(1, 2, 3))
    out = getitem(out, (0,)) if unbatched else out
    return _cast_like(out, image1) if np.issubdtype(dtype, np.floating) else _like(as_array(out).astype(dtype), out)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear", fill_mode="reflect",
                      fill_value=0.0, seed=None, data_format=None):
    """Displace every pixel by a random field (normal noise times `sigma`, blurred with a Gaussian of
    `sigma`, scaled by `alpha`) and resample. `seed` (an int) makes the field reproducible; the draws
    come from NumPy, so they differ from Keras's.

    >>> x = np.arange(9.0).reshape(3, 3, 1)
    >>> bool(np.allclose(elastic_transform(x, alpha=0.0, seed=1), x))
    True
    """
    data_format = array_inputs.data_format(data_format, "elastic_transform")
    order = _interpolation_order(interpolation, "elastic_transform")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"elastic_transform: expected fill_mode in {_FILL_MODES}, got {fill_mode!r}")
    images = _images(images, "elastic_transform")
    x, unbatched = _to_nhwc(images, data_format)
    n, h, w, c = x.shape
    generator = np.random.default_rng(seed) if seed is not None else backend.generator()
    dtype = images.dtype if np.issubdtype(images.dtype, np.floating) else np.dtype(backend.floatx())
    size = int(6 * sigma) | 1
    fields = []
    for _ in range(2):
        noise = (generator.standard_normal((n, h, w, 1)) * sigma).astype(dtype)
        fields.append(as_array(gaussian_blur(noise, (size, size), (sigma, sigma)))[..., 0])
    y_grid, x_grid = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    rows = np.broadcast_to((y_grid + alpha * fields[1])[..., None], (n, h, w, c))
    cols = np.broadcast_to((x_grid + alpha * fields[0])[..., None], (n, h, w, c))
    out = _sample_images(x, rows, cols, order, fill_mode, fill_value)
    return _from_nhwc(_restore_dtype(out, images.dtype), data_format, unbatched)


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
    images = _images(images, "pad_images")
    x, unbatched = _to_nhwc(images, data_format)
    top, bottom = _sides(top_padding, bottom_padding, target_height, x.shape[1], "pad_images", "pad")
    left, right = _sides(left_padding, right_padding, target_width, x.shape[2], "pad_images", "pad")
    return _from_nhwc(pad(x, ((0, 0), (top, bottom), (left, right), (0, 0))), data_format, unbatched)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None, right_cropping=None,
                target_height=None, target_width=None, data_format=None):
    """Crop; give two of (top, bottom, target height) and two of (left, right, target width).

    >>> crop_images(np.arange(9.0).reshape(3, 3, 1), 1, 1, 0, 0)[..., 0]
    array([[4., 5.],
           [7., 8.]])
    """
    data_format = array_inputs.data_format(data_format, "crop_images")
    images = _images(images, "crop_images")
    x, unbatched = _to_nhwc(images, data_format)
    top, height = _sides(top_cropping, bottom_cropping, target_height, x.shape[1], "crop_images", "crop")
    left, width = _sides(left_cropping, right_cropping, target_width, x.shape[2], "crop_images", "crop")
    x = getitem(x, (slice(None), slice(top, top + height), slice(left, left + width)))
    return _from_nhwc(x, data_format, unbatched)


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
    images = _images(images, "extract_patches")
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
    volumes = _images(volumes, "extract_patches_3d", ranks=(4, 5))
    size = array_inputs.int_tuple(size, 3, "extract_patches_3d", "size")
    strides = array_inputs.int_tuple(size if strides is None else strides, 3, "extract_patches_3d", "strides")
    dilation = array_inputs.int_tuple(dilation_rate, 3, "extract_patches_3d", "dilation_rate")
    unbatched = volumes.ndim == 4
    x = expand_dims(volumes, 0) if unbatched else volumes
    x = _move_channels(x, True) if data_format == "channels_first" else x
    out = _patches(x, size, strides, dilation, padding, "extract_patches_3d")
    out = _move_channels(out, False) if data_format == "channels_first" else out
    return getitem(out, (0,)) if unbatched else out


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
        return _like(data.astype(images.dtype), images)
    return out

