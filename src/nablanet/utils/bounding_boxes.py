"""Keras's `keras.utils.bounding_boxes`: box formats, IoU and CIoU, anchor deltas, and boxes moved with their image.

Every function is written with `nablanet.ops`, so NumPy arrays in give NumPy arrays out and Tensors in give
Tensors out, with gradients flowing through the arithmetic (`compute_iou`, `compute_ciou`, the deltas).

Formats (case-insensitive) order a box's four numbers as:
`xyxy` (left, top, right, bottom), `yxyx` (top, left, bottom, right), `xywh` (left, top, width, height),
`center_xywh` (centre x, centre y, width, height), `center_yxhw` (centre y, centre x, height, width), and
`rel_xyxy`, `rel_yxyx`, `rel_xywh`, `rel_center_xywh`: the same divided by the image's width and height.

>>> import numpy as np
>>> convert_format(np.array([[10, 20, 30, 40]]), source="xyxy", target="center_xywh")
array([[20., 30., 20., 20.]], dtype=float32)

Where this module does what Keras does not: float64 boxes keep float64 through `compute_iou`, `compute_ciou`
and the deltas (Keras computes them in float32); `compute_ciou` takes relative formats when `image_shape` is
given (Keras refuses them always); `affine_transform` takes unbatched boxes and scalar parameters;
`clip_to_image_size` also takes a bare array; `crop` takes `height=None`/`width=None` as "no far edge".
"""

import math

import numpy as np

from nablanet import ops
from nablanet.autodiff import Tensor
from nablanet.backend import epsilon

__all__ = [
    "affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
    "decode_deltas_to_boxes", "encode_box_to_deltas", "pad",
]

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh")


# -- reading the arguments ---------------------------------------------------------------------------------

def _as_boxes(boxes, name, label="boxes", ranks=None):
    boxes = boxes if isinstance(boxes, Tensor) else np.asarray(boxes)
    shape = tuple(boxes.shape)
    if not shape or shape[-1] != 4:
        raise ValueError(f"{name}: expected {label} whose last axis holds the 4 numbers of a box, shape (..., 4), "
                         f"got shape {shape}")
    if ranks is not None and len(shape) not in ranks:
        raise ValueError(f"{name}: expected {label} of shape (N, 4) or (batch, N, 4), got shape {shape}")
    return boxes


def _format(value, name, label):
    checked = str(value).lower()
    if checked not in FORMATS:
        raise ValueError(f"{name}: expected {label} to be one of {', '.join(FORMATS)}, got {value!r}")
    return checked


def _only_xyxy(bounding_box_format, name, allowed=("xyxy",)):
    if bounding_box_format not in allowed:
        raise NotImplementedError(f"{name}: expected bounding_box_format in {allowed}, got {bounding_box_format!r}; "
                                  "convert the boxes with convert_format first")


def _image_size(image_shape, name):
    """`(height, width)` from an image shape `(height, width[, channels])`, or `(None, None)`."""
    if image_shape is None:
        return None, None
    if len(image_shape) not in (2, 3):
        raise ValueError(f"{name}: expected image_shape as (height, width, channels), got {image_shape!r}")
    return image_shape[0], image_shape[1]


def _working_dtype(*boxes):
    """float64 when any input is, else float32 (Keras's choice for every box computation)."""
    return "float64" if any(np.dtype(b.dtype) == np.float64 for b in boxes) else "float32"


def _columns(boxes):
    return ops.split(boxes, 4, axis=-1)


def _joined(columns):
    return ops.concatenate(list(columns), axis=-1)


# -- formats -----------------------------------------------------------------------------------------------

def _to_xyxy(form, a, b, c, d):
    """The corners of boxes written in the absolute format `form` (columns of shape (..., 1))."""
    if form == "yxyx":
        return b, a, d, c
    if form == "xywh":
        return a, b, a + c, b + d
    if form == "center_xywh":
        return a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0
    if form == "center_yxhw":
        return b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0
    return a, b, c, d


def _from_xyxy(form, x1, y1, x2, y2):
    """Corner columns written in the absolute format `form`."""
    if form == "yxyx":
        return y1, x1, y2, x2
    if form == "xywh":
        return x1, y1, x2 - x1, y2 - y1
    if form in ("center_xywh", "center_yxhw"):
        w, h = x2 - x1, y2 - y1
        cx, cy = x1 + w / 2.0, y1 + h / 2.0
        return (cx, cy, w, h) if form == "center_xywh" else (cy, cx, h, w)
    return x1, y1, x2, y2


def _convert(boxes, source, target, height, width, dtype, name):
    """`convert_format` for checked arguments; `name` is the public function the errors name."""
    boxes = _as_boxes(boxes, name)
    source, target = _format(source, name, "source format"), _format(target, name, "target format")
    relative = source.startswith("rel_") or target.startswith("rel_")
    if relative and (height is None or width is None):
        raise ValueError(f"{name}: expected height and width to convert from {source!r} to {target!r}, since "
                         f"relative formats count in fractions of the image; got height={height}, width={width}")
    boxes = ops.cast(boxes, dtype)
    if source == target:
        return boxes
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]  # both relative: no scaling
    if relative:
        height, width = ops.cast(height, dtype), ops.cast(width, dtype)
    x1, y1, x2, y2 = _to_xyxy(source.removeprefix("rel_"), *_columns(boxes))
    if source.startswith("rel_"):
        x1, y1, x2, y2 = x1 * width, y1 * height, x2 * width, y2 * height
    columns = _from_xyxy(target.removeprefix("rel_"), x1, y1, x2, y2)
    if target.startswith("rel_"):
        scales = (height, width) * 2 if target == "rel_yxyx" else (width, height) * 2
        columns = [ops.divide(column, scale) for column, scale in zip(columns, scales)]
    return _joined(columns)


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Boxes rewritten from one format to another.

    Args:
        boxes: Boxes of shape `(..., 4)`, or a dict whose `"boxes"` entry holds them; the dict is updated in
            place and returned, as Keras does, its other entries (`"labels"`) untouched.
        source: The format `boxes` are in (see the module's list).
        target: The format to write.
        height: The image's height, needed when either format is relative.
        width: The image's width, likewise.
        dtype: The dtype of the result.

    Returns:
        The boxes in `target`, of `dtype` (or the dict holding them).

    Raises:
        ValueError: for an unknown format, a relative format without the image size, or boxes whose last axis
            is not 4.

    Example:
    >>> convert_format(np.array([[10, 20, 30, 40]]), "xyxy", "rel_xyxy", height=200, width=100)
    array([[0.1, 0.1, 0.3, 0.2]], dtype=float32)
    """
    if isinstance(boxes, dict):
        if "boxes" not in boxes:
            raise ValueError(f"convert_format: expected a dict with a 'boxes' entry, got keys {sorted(boxes)}")
        boxes["boxes"] = _convert(boxes["boxes"], source, target, height, width, dtype, "convert_format")
        return boxes
    return _convert(boxes, source, target, height, width, dtype, "convert_format")


# -- overlap -----------------------------------------------------------------------------------------------

def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1, image_shape=None):
    """The intersection over union of every box of `boxes1` with every box of `boxes2`.

    Either set may be batched: `(M, 4)` with `(N, 4)` gives `(M, N)`; with a batch on either or both sides the
    result is `(batch, M, N)`.

    Args:
        boxes1: Boxes of shape `(M, 4)` or `(batch, M, 4)`.
        boxes2: Boxes of shape `(N, 4)` or `(batch, N, 4)`.
        bounding_box_format: The format of both sets.
        use_masking: Whether pairs in which either box has all four numbers negative (padding) get `mask_val`.
        mask_val: The value such pairs get.
        image_shape: `(height, width, channels)`, needed for relative formats.

    Returns:
        The IoUs, `intersection / (union + epsilon)`.

    Example:
    >>> compute_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 0, 3, 2], [5, 5, 6, 6]]), "xyxy").round(4)
    array([[0.3333, 0.    ]], dtype=float32)
    """
    name = "compute_iou"
    boxes1 = _as_boxes(boxes1, name, "boxes1", ranks=(2, 3))
    boxes2 = _as_boxes(boxes2, name, "boxes2", ranks=(2, 3))
    height, width = _relative_size(bounding_box_format, image_shape, name)
    dtype = _working_dtype(boxes1, boxes2)
    boxes1 = _convert(boxes1, bounding_box_format, "xyxy", height, width, dtype, name)
    boxes2 = _convert(boxes2, bounding_box_format, "xyxy", height, width, dtype, name)
    # boxes1 along the next-to-last axis of the result, boxes2 along the last
    left = [ops.expand_dims(boxes1[..., i], -1) for i in range(4)]
    right = [ops.expand_dims(boxes2[..., i], -2) for i in range(4)]
    overlap_height = ops.maximum(ops.minimum(left[3], right[3]) - ops.maximum(left[1], right[1]), 0.0)
    overlap_width = ops.maximum(ops.minimum(left[2], right[2]) - ops.maximum(left[0], right[0]), 0.0)
    intersection = overlap_height * overlap_width
    area1 = (left[3] - left[1]) * (left[2] - left[0])
    area2 = (right[3] - right[1]) * (right[2] - right[0])
    iou = ops.divide(intersection, area1 + area2 - intersection + epsilon())
    if not use_masking:
        return iou
    padding = ops.logical_or(ops.expand_dims(ops.less(ops.max(boxes1, axis=-1), 0.0), -1),
                             ops.expand_dims(ops.less(ops.max(boxes2, axis=-1), 0.0), -2))
    return ops.where(padding, ops.cast(mask_val, iou.dtype), iou)


def _relative_size(bounding_box_format, image_shape, name):
    if "rel" in str(bounding_box_format).lower() and image_shape is None:
        raise ValueError(f"{name}: expected image_shape (height, width, channels) for the relative format "
                         f"{bounding_box_format!r}, got None")
    return _image_size(image_shape, name)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """The Complete IoU of boxes paired one to one (broadcast over their leading axes).

    CIoU (Zheng et al., 2020) is the IoU less the squared distance between the centres over the squared
    diagonal of the smallest box holding both, less an aspect-ratio term `alpha * v` with
    `v = 4 / pi**2 * (arctan(w2 / h2) - arctan(w1 / h1))**2` and `alpha = v / (v - iou + 1)`.

    Args:
        boxes1: Boxes of shape `(..., 4)`.
        boxes2: Boxes of shape `(..., 4)`, broadcastable against `boxes1`.
        bounding_box_format: The format of both.
        image_shape: `(height, width, channels)`, needed for relative formats.

    Returns:
        The CIoU per pair, of shape `boxes1.shape[:-1]` broadcast with `boxes2.shape[:-1]`.

    Example:
    >>> compute_ciou(np.array([[0, 0, 2, 2]]), np.array([[0, 0, 2, 2]]), "xyxy").round(4)
    array([1.], dtype=float32)
    """
    name = "compute_ciou"
    boxes1, boxes2 = _as_boxes(boxes1, name, "boxes1"), _as_boxes(boxes2, name, "boxes2")
    height, width = _relative_size(bounding_box_format, image_shape, name)
    dtype = _working_dtype(boxes1, boxes2)
    x1a, y1a, x2a, y2a = _columns(_convert(boxes1, bounding_box_format, "xyxy", height, width, dtype, name))
    x1b, y1b, x2b, y2b = _columns(_convert(boxes2, bounding_box_format, "xyxy", height, width, dtype, name))
    eps = epsilon()
    width1, height1 = x2a - x1a, y2a - y1a + eps
    width2, height2 = x2b - x1b, y2b - y1b + eps
    intersection = (ops.maximum(ops.minimum(x2a, x2b) - ops.maximum(x1a, x1b), 0.0)
                    * ops.maximum(ops.minimum(y2a, y2b) - ops.maximum(y1a, y1b), 0.0))
    union = width1 * height1 + width2 * height2 - intersection + eps
    iou = ops.squeeze(ops.divide(intersection, union + eps), axis=-1)
    hull_width = ops.maximum(x2a, x2b) - ops.minimum(x1a, x1b)
    hull_height = ops.maximum(y2a, y2b) - ops.minimum(y1a, y1b)
    diagonal = ops.squeeze(hull_width**2 + hull_height**2 + eps, axis=-1)
    centres = ops.squeeze(((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + ((y1a + y2a) / 2 - (y1b + y2b) / 2) ** 2,
                          axis=-1)
    v = ops.squeeze((4 / math.pi**2) * (ops.arctan(width2 / height2) - ops.arctan(width1 / height1)) ** 2, axis=-1)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres / diagonal + v * alpha)


# -- anchor deltas -----------------------------------------------------------------------------------------

def _variance(variance, dtype, name):
    if variance is None:
        return None
    variance = ops.cast(variance if isinstance(variance, Tensor) else np.asarray(variance), dtype)
    if variance.ndim == 0 or variance.shape[-1] != 4:
        raise ValueError(f"{name}: expected variance of 4 values (one per box number), got shape "
                         f"{tuple(variance.shape)}")
    return variance


def _center_format(value, name, label):
    if value not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"{name}: expected {label} 'center_xywh' or 'center_yxhw', got {value!r}")


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format, encoding_format="center_yxhw", variance=None,
                         image_shape=None):
    """The offsets and log-scales that move each anchor onto its box (the regression targets of a detector).

    In `encoding_format` (centre first, then size) the deltas are `(box_centre - anchor_centre) / anchor_size`
    and `log(box_size / anchor_size)`, divided by `variance` when given.

    Args:
        anchors: Anchors of shape `(N, 4)`.
        boxes: Boxes of shape `(N, 4)` or `(batch, N, 4)`.
        anchor_format: The format of `anchors`.
        box_format: The format of `boxes`.
        encoding_format: `"center_yxhw"` or `"center_xywh"`: the order of the deltas.
        variance: 4 numbers the deltas are divided by.
        image_shape: `(height, width, channels)`, needed for relative formats.

    Returns:
        The deltas, shaped as `boxes`.

    Example:
    >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
    >>> encode_box_to_deltas(anchors, np.array([[1.0, 1.0, 11.0, 11.0]]), "xyxy", "xyxy")
    array([[0.1, 0.1, 0. , 0. ]])
    """
    name = "encode_box_to_deltas"
    anchors, boxes = _as_boxes(anchors, name, "anchors"), _as_boxes(boxes, name)
    dtype = _working_dtype(anchors, boxes)
    variance = _variance(variance, dtype, name)
    _center_format(encoding_format, name, "encoding_format")
    height, width = _image_size(image_shape, name)
    anchors = _convert(anchors, anchor_format, encoding_format, height, width, dtype, name)
    boxes = _convert(boxes, box_format, encoding_format, height, width, dtype, name)
    anchor_size = ops.maximum(anchors[..., 2:], epsilon())
    box_size = ops.maximum(boxes[..., 2:], epsilon())
    deltas = ops.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size, ops.log(box_size / anchor_size)],
                             axis=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format, encoded_format="center_yxhw",
                           variance=None, image_shape=None):
    """The boxes that deltas (from `encode_box_to_deltas` or a detector's head) describe around their anchors.

    Args:
        anchors: Anchors of shape `(N, 4)`, or a dict of them by feature level.
        boxes_delta: Deltas of shape `(N, 4)` or `(batch, N, 4)`, or a dict with the same levels as `anchors`.
        anchor_format: The format of `anchors`.
        box_format: The format to write the boxes in.
        encoded_format: `"center_yxhw"` or `"center_xywh"`: the order of the deltas.
        variance: 4 numbers the deltas are multiplied by first.
        image_shape: `(height, width, channels)`, needed for relative formats.

    Returns:
        The boxes in `box_format` (a dict by level when given dicts).

    Example:
    >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
    >>> decode_deltas_to_boxes(anchors, np.array([[0.1, 0.1, 0.0, 0.0]]), "xyxy", "xyxy")
    array([[ 1.,  1., 11., 11.]])
    """
    name = "decode_deltas_to_boxes"
    _center_format(encoded_format, name, "encoded_format")
    height, width = _image_size(image_shape, name)

    def decode(anchor, delta):
        anchor, delta = _as_boxes(anchor, name, "anchors"), _as_boxes(delta, name, "boxes_delta")
        dtype = _working_dtype(anchor, delta)
        scales = _variance(variance, dtype, name)
        anchor = _convert(anchor, anchor_format, encoded_format, height, width, dtype, name)
        delta = delta if scales is None else delta * scales
        box = ops.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               ops.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return _convert(box, encoded_format, box_format, height, width, dtype, name)

    if isinstance(anchors, dict) or isinstance(boxes_delta, dict):
        if not (isinstance(anchors, dict) and isinstance(boxes_delta, dict)) or set(anchors) != set(boxes_delta):
            raise ValueError(f"{name}: expected anchors and boxes_delta both dicts with the same levels, or both "
                             f"arrays; got {_levels(anchors)} and {_levels(boxes_delta)}")
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def _levels(value):
    return f"a dict with levels {sorted(map(str, value))}" if isinstance(value, dict) else type(value).__name__


# -- boxes that follow their image -------------------------------------------------------------------------

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
    _only_xyxy(bounding_box_format, name, ("xyxy", "rel_xyxy"))
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError(f"{name}: expected height and width for bounding_box_format='xyxy', got height={height}, "
                         f"width={width}")
    is_dict = isinstance(bounding_boxes, dict)
    if is_dict and "boxes" not in bounding_boxes:
        raise ValueError(f"{name}: expected a dict with a 'boxes' entry, got keys {sorted(bounding_boxes)}")
    boxes = _as_boxes(bounding_boxes["boxes"] if is_dict else bounding_boxes, name)
    if bounding_box_format == "xyxy":
        height, width = ops.cast(height, boxes.dtype), ops.cast(width, boxes.dtype)
    else:
        height = width = 1.0
    x1, y1, x2, y2 = _columns(boxes)
    boxes = _joined([_limited(x1, width), _limited(y1, height), _limited(x2, width), _limited(y2, height)])
    if not is_dict:
        return boxes
    result = dict(bounding_boxes, boxes=boxes)
    if bounding_boxes.get("labels") is not None:
        x1, y1, x2, y2 = _columns(boxes)
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
    _only_xyxy(bounding_box_format, "crop")
    x1, y1, x2, y2 = _columns(_as_boxes(boxes, "crop"))
    return _joined([_limited(x1 - left, width), _limited(y1 - top, height), _limited(x2 - left, width),
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
    _only_xyxy(bounding_box_format, "pad")
    x1, y1, x2, y2 = _columns(_as_boxes(boxes, "pad"))
    return _joined([x1 + left, y1 + top, x2 + left, y2 + top])


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
        The transformed boxes, shaped as `boxes`, of the dtype of `angle` (floatx for integers).

    Example:
    >>> affine_transform(np.array([[0.0, 0.0, 4.0, 2.0]]), 0.0, 0.25, 0.0, 1.0, 0.0, 0.0, 5, 5)
    array([[1., 0., 5., 2.]])
    """
    name = "affine_transform"
    _only_xyxy(bounding_box_format, name)
    boxes = _as_boxes(boxes, name, ranks=(2, 3))
    angle = angle if isinstance(angle, Tensor) else np.asarray(angle)
    dtype = "float32" if angle.dtype.kind in "biu" else angle.dtype
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
