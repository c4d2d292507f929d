"""Boxes that follow their image: clipped to it, cropped or padded with it, moved by its affine transformation."""

import math

import numpy as np

from nablanet import ops
from nablanet.autodiff import Tensor
from nablanet.utils.bounding_boxes.converters import as_boxes, join_columns, only_xyxy, split_columns


def _limited(column, upper):
    """`column` clipped to [0, upper]; no upper limit when `upper` is None."""
    return ops.maximum(column, 0) if upper is None else ops.clip(column, 0, upper)


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes clipped to the image; in a dict, boxes left with no area get the label -1.

    Args:
        bounding_boxes: A dict with `"boxes"` (`(N, 4)` or `(batch, N, 4)`) and optionally `"labels"`
            (`(N,)` or `(batch, N)`), or the boxes alone.
        height: The image's height (not used for `"rel_xyxy"`, which clips to [0, 1]).
        width: The image's width.
        bounding_box_format: `"xyxy"` or `"rel_xyxy"`.

    Returns:
        A new dict with the clipped boxes (and labels), or the clipped boxes when given boxes alone.

    Example:
    >>> clipped = clip_to_image_size({"boxes": np.array([[-5, 2, 8, 9], [12, 0, 15, 3]]),
    ...                               "labels": np.array([3, 4])}, height=6, width=10)
    >>> clipped["boxes"].tolist(), clipped["labels"].tolist()
    ([[0, 2, 8, 6], [10, 0, 10, 3]], [3, -1])
    """
    name = "clip_to_image_size"
    only_xyxy(bounding_box_format, name, ("xyxy", "rel_xyxy"))
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError(f"{name}: expected height and width for bounding_box_format='xyxy', got height={height}, "
                         f"width={width}")
    is_dict = isinstance(bounding_boxes, dict)
    if is_dict and "boxes" not in bounding_boxes:
        raise ValueError(f"{name}: expected a dict with a 'boxes' entry, got keys {sorted(bounding_boxes)}")
    boxes = as_boxes(bounding_boxes["boxes"] if is_dict else bounding_boxes, name)
    if bounding_box_format == "xyxy":
        height, width = ops.cast(height, boxes.dtype), ops.cast(width, boxes.dtype)
    else:
        height = width = 1.0
    x1, y1, x2, y2 = split_columns(boxes)
    boxes = join_columns([_limited(x1, width), _limited(y1, height), _limited(x2, width), _limited(y2, height)])
    if not is_dict:
        return boxes
    result = dict(bounding_boxes, boxes=boxes)
    if bounding_boxes.get("labels") is not None:
        x1, y1, x2, y2 = split_columns(boxes)
        area = ops.squeeze((x2 - x1) * (y2 - y1), axis=-1)
        result["labels"] = ops.where(area > 0, bounding_boxes["labels"], -1)
    return result


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Boxes in the frame of an image cropped to `height` x `width` from (`top`, `left`), clipped to it.

    Args:
        boxes: Boxes of shape `(N, 4)` or `(batch, N, 4)`.
        top: The crop's first row in the original image.
        left: The crop's first column.
        height: The crop's height (None: no clipping at the bottom).
        width: The crop's width (None: no clipping at the right).
        bounding_box_format: `"xyxy"`.

    Returns:
        The moved and clipped boxes, of the input's dtype.

    Example:
    >>> crop(np.array([[10, 20, 50, 60]]), top=10, left=20, height=40, width=30)
    array([[ 0, 10, 30, 40]])
    """
    only_xyxy(bounding_box_format, "crop")
    x1, y1, x2, y2 = split_columns(as_boxes(boxes, "crop"))
    return join_columns([_limited(x1 - left, width), _limited(y1 - top, height), _limited(x2 - left, width),
                    _limited(y2 - top, height)])


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes in the frame of an image padded by `top` rows and `left` columns.

    Args:
        boxes: Boxes of shape `(N, 4)` or `(batch, N, 4)`.
        top: Rows added above the image.
        left: Columns added to its left.
        height: Accepted for Keras's signature; the padded size does not move the boxes.
        width: Likewise.
        bounding_box_format: `"xyxy"`.

    Returns:
        The moved boxes, of the input's dtype.

    Example:
    >>> pad(np.array([[10, 20, 30, 40]]), top=5, left=1)
    array([[11, 25, 31, 45]])
    """
    only_xyxy(bounding_box_format, "pad")
    x1, y1, x2, y2 = split_columns(as_boxes(boxes, "pad"))
    return join_columns([x1 + left, y1 + top, x2 + left, y2 + top])


def _affine_dtype(angle, boxes):
    """The dtype of `angle` (as Keras computes), unless it is a Python number or integer: then that of the boxes,
    or float32 for integer boxes."""
    if not isinstance(angle, (int, float)):
        angle = angle if isinstance(angle, Tensor) else np.asarray(angle)
        if angle.dtype.kind == "f":
            return angle.dtype
    return boxes.dtype if boxes.dtype.kind == "f" else np.dtype("float32")


def _parameter(value, dtype):
    value = value if isinstance(value, Tensor) else np.asarray(value)
    return ops.cast(value, dtype)


def _affine_matrix(angle, translate_x, translate_y, scale, shear_x, shear_y, height, width, center_x, center_y):
    """The rows `(a0, a1, a2)` and `(b0, b1, b2)` taking a point `(x, y)` of the image to its transformed place,
    with Keras's conventions (degrees, fractions of the image, shear after rotation)."""
    degree = 1.0 / 180.0 * math.pi  # Keras's rounding
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    rotation, shear_x, shear_y = -angle * degree, -shear_x * degree, -shear_y * degree
    cx_plus_tx = cx + (-translate_x) * (width - 1)
    cy_plus_ty = cy + (-translate_y) * (height - 1)
    cos_sy, tan_sx = ops.cos(shear_y), ops.tan(shear_x)
    a = ops.cos(rotation - shear_y) / cos_sy
    b = a * tan_sx + ops.sin(rotation)
    c = -ops.sin(rotation - shear_y) / cos_sy
    d = ops.cos(rotation) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    return (a0, a1, cx - a0 * cx_plus_tx - a1 * cy_plus_ty), (b0, b1, cy - b0 * cx_plus_tx - b1 * cy_plus_ty)


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height, width, center_x=None,
                     center_y=None, bounding_box_format="xyxy"):
    """The boxes holding each box's corners after the affine transformation of its image.

    The transformation rotates by `angle` degrees about the centre (`center_x`, `center_y`, fractions of the
    image, 0.5 when None), scales by `scale`, shears by `shear_x`/`shear_y` degrees and translates by
    `translate_x`/`translate_y` fractions of the image's size, as Keras's `RandomAffine`-style layers do.

    Args:
        boxes: Boxes of shape `(batch, N, 4)` with parameters of shape `(batch,)` (or scalars), or `(N, 4)` with
            scalar parameters.
        angle: Rotation in degrees.
        translate_x: Horizontal translation, a fraction of the width.
        translate_y: Vertical translation, a fraction of the height.
        scale: Scale factor.
        shear_x: Shear along x in degrees.
        shear_y: Shear along y in degrees.
        height: The image's height.
        width: The image's width.
        center_x: The centre's x, a fraction of the width.
        center_y: The centre's y, a fraction of the height.
        bounding_box_format: `"xyxy"`.

    Returns:
        The transformed boxes, shaped as `boxes`, of the dtype of `angle` when it is a float array, else of
        the boxes' (float32 for integer boxes).

    Example:
    >>> affine_transform(np.array([[0.0, 0.0, 4.0, 2.0]]), 0.0, 0.25, 0.0, 1.0, 0.0, 0.0, 5, 5)
    array([[1., 0., 5., 2.]])
    """
    name = "affine_transform"
    only_xyxy(bounding_box_format, name)
    boxes = as_boxes(boxes, name, ranks=(2, 3))
    dtype = _affine_dtype(angle, boxes)
    center_x, center_y = 0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y
    values = [_parameter(v, dtype) for v in (angle, translate_x, translate_y, scale, shear_x, shear_y)]
    rows = _affine_matrix(*values, height, width, center_x, center_y)
    batched = boxes.ndim == 3
    for value, label in zip(values, ("angle", "translate_x", "translate_y", "scale", "shear_x", "shear_y")):
        if value.ndim > 1 or (value.ndim == 1 and (not batched or value.shape[0] not in (1, boxes.shape[0]))):
            expected = f"a scalar or shape ({boxes.shape[0]},)" if batched else "a scalar (the boxes have no batch)"
            raise ValueError(f"{name}: expected {label} as {expected}, got shape {tuple(value.shape)}")
    if batched:  # one matrix per image, over its boxes and their corners
        rows = [[ops.reshape(entry, (-1, 1, 1)) if entry.ndim else entry for entry in row] for row in rows]
    x1, y1, x2, y2 = (ops.cast(boxes[..., i], dtype) for i in range(4))
    xs, ys = ops.stack([x1, x2, x2, x1], axis=-1), ops.stack([y1, y1, y2, y2], axis=-1)
    (a0, a1, a2), (b0, b1, b2) = rows
    moved_x, moved_y = a0 * xs + a1 * ys + a2, b0 * xs + b1 * ys + b2
    return ops.stack([ops.min(moved_x, axis=-1), ops.min(moved_y, axis=-1), ops.max(moved_x, axis=-1),
                      ops.max(moved_y, axis=-1)], axis=-1)
