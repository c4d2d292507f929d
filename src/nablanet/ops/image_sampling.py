"""`ops.image`'s sampling at coordinates: `map_coordinates`, affine and perspective transforms."""

import itertools

import numpy as np

from nablanet import backend
from nablanet.autodiff import as_array
from nablanet.autodiff.ops import broadcast_to, cast, expand_dims, getitem, reshape, stack, where
from nablanet.autodiff.ops.linalg import solve
from nablanet.ops import array_inputs
from nablanet.ops.image_layout import FILL_MODES, ORDERS, checked_images, from_nhwc, restore_dtype, to_nhwc


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
    if fill_mode not in FILL_MODES:
        raise ValueError(f"map_coordinates: expected fill_mode in {FILL_MODES}, got {fill_mode!r}")
    if order not in (0, 1):
        raise NotImplementedError(f"map_coordinates: order must be 0 or 1, got {order!r}")
    out = _sample(inputs, coordinates, order, fill_mode, fill_value)
    return restore_dtype(out, inputs.dtype)


def interpolation_order(interpolation, name):
    if interpolation not in ORDERS:
        raise ValueError(f"{name}: expected interpolation 'nearest' or 'bilinear', got {interpolation!r}")
    return ORDERS[interpolation]


def sample_images(x, rows, cols, order, fill_mode, fill_value):
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
    order = interpolation_order(interpolation, "affine_transform")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"affine_transform: expected fill_mode in {FILL_MODES}, got {fill_mode!r}")
    images = checked_images(images, "affine_transform")
    transform = array_inputs.as_numeric(transform)
    if transform.dtype.kind != "f":
        transform = cast(transform, "float32")
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(f"affine_transform: expected transform of shape (8,) or (batch, 8), got "
                         f"{tuple(transform.shape)}")
    x, unbatched = to_nhwc(images, data_format)
    n, h, w, c = x.shape
    t = reshape(broadcast_to(reshape(transform, (-1, 8)), (n, 8)), (n, 8, 1, 1, 1))
    a = [getitem(t, (slice(None), i)) for i in range(8)]
    y_grid, x_grid, c_grid = np.meshgrid(*(np.arange(k, dtype=transform.dtype) for k in (h, w, c)), indexing="ij")
    rows = a[3] * x_grid + a[4] * y_grid + a[5] + a[6] * c_grid
    cols = a[0] * x_grid + a[1] * y_grid + a[2] + a[7] * c_grid
    out = sample_images(x, rows, cols, order, fill_mode, fill_value)
    return from_nhwc(restore_dtype(out, images.dtype), data_format, unbatched)


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
    order = interpolation_order(interpolation, "perspective_transform")
    images = checked_images(images, "perspective_transform")
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
    x, unbatched = to_nhwc(images, data_format)
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
    out = sample_images(x, rows, cols, order, "constant", fill_value)
    return from_nhwc(restore_dtype(out, images.dtype), data_format, unbatched)
