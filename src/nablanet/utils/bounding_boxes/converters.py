"""Box formats and the conversions between them, the anchor deltas of detectors, and the argument checks the
other `bounding_boxes` modules share.

Formats (case-insensitive) order a box's four numbers as:
`xyxy` (left, top, right, bottom), `yxyx` (top, left, bottom, right), `xywh` (left, top, width, height),
`center_xywh` (centre x, centre y, width, height), `center_yxhw` (centre y, centre x, height, width), and
`rel_xyxy`, `rel_yxyx`, `rel_xywh`, `rel_center_xywh`: the same divided by the image's width and height.
"""

import numpy as np

from nablanet import ops
from nablanet.autodiff import Tensor
from nablanet.backend import epsilon

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh")


# -- reading the arguments ---------------------------------------------------------------------------------

def as_boxes(boxes, name, label="boxes", ranks=None):
    """`boxes` as a Tensor or array, checked to hold 4 numbers per box (and to have one of `ranks`)."""
    boxes = boxes if isinstance(boxes, Tensor) else np.asarray(boxes)
    shape = tuple(boxes.shape)
    if not shape or shape[-1] != 4:
        raise ValueError(f"{name}: expected {label} whose last axis holds the 4 numbers of a box, shape (..., 4), "
                         f"got shape {shape}")
    if ranks is not None and len(shape) not in ranks:
        raise ValueError(f"{name}: expected {label} of shape (N, 4) or (batch, N, 4), got shape {shape}")
    return boxes


def checked_format(value, name, label):
    """A format name, lower-cased and checked against `FORMATS`."""
    checked = str(value).lower()
    if checked not in FORMATS:
        raise ValueError(f"{name}: expected {label} to be one of {', '.join(FORMATS)}, got {value!r}")
    return checked


def only_xyxy(bounding_box_format, name, allowed=("xyxy",)):
    """Refuse the formats Keras does not transform in `name`."""
    if bounding_box_format not in allowed:
        raise NotImplementedError(f"{name}: expected bounding_box_format in {allowed}, got {bounding_box_format!r}; "
                                  "convert the boxes with convert_format first")


def image_size(image_shape, name):
    """`(height, width)` from an image shape `(height, width[, channels])`, or `(None, None)`."""
    if image_shape is None:
        return None, None
    if len(image_shape) not in (2, 3):
        raise ValueError(f"{name}: expected image_shape as (height, width, channels), got {image_shape!r}")
    return image_shape[0], image_shape[1]


def working_dtype(*boxes):
    """float64 when any input is, else float32 (Keras's choice for every box computation)."""
    return "float64" if any(np.dtype(b.dtype) == np.float64 for b in boxes) else "float32"


def split_columns(boxes):
    """The four numbers of the boxes as columns of shape (..., 1)."""
    return ops.split(boxes, 4, axis=-1)


def join_columns(columns):
    """Four columns back into boxes."""
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


def convert(boxes, source, target, height, width, dtype, name):
    """`convert_format` for checked arguments; `name` is the public function the errors name."""
    boxes = as_boxes(boxes, name)
    source, target = checked_format(source, name, "source format"), checked_format(target, name, "target format")
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
    x1, y1, x2, y2 = _to_xyxy(source.removeprefix("rel_"), *split_columns(boxes))
    if source.startswith("rel_"):
        x1, y1, x2, y2 = x1 * width, y1 * height, x2 * width, y2 * height
    columns = _from_xyxy(target.removeprefix("rel_"), x1, y1, x2, y2)
    if target.startswith("rel_"):
        scales = (height, width) * 2 if target == "rel_yxyx" else (width, height) * 2
        columns = [ops.divide(column, scale) for column, scale in zip(columns, scales)]
    return join_columns(columns)


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
        boxes["boxes"] = convert(boxes["boxes"], source, target, height, width, dtype, "convert_format")
        return boxes
    return convert(boxes, source, target, height, width, dtype, "convert_format")


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
    anchors, boxes = as_boxes(anchors, name, "anchors"), as_boxes(boxes, name)
    dtype = working_dtype(anchors, boxes)
    variance = _variance(variance, dtype, name)
    _center_format(encoding_format, name, "encoding_format")
    height, width = image_size(image_shape, name)
    anchors = convert(anchors, anchor_format, encoding_format, height, width, dtype, name)
    boxes = convert(boxes, box_format, encoding_format, height, width, dtype, name)
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
    height, width = image_size(image_shape, name)

    def decode(anchor, delta):
        anchor, delta = as_boxes(anchor, name, "anchors"), as_boxes(delta, name, "boxes_delta")
        dtype = working_dtype(anchor, delta)
        scales = _variance(variance, dtype, name)
        anchor = convert(anchor, anchor_format, encoded_format, height, width, dtype, name)
        delta = delta if scales is None else delta * scales
        box = ops.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                               ops.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)
        return convert(box, encoded_format, box_format, height, width, dtype, name)

    if isinstance(anchors, dict) or isinstance(boxes_delta, dict):
        if not (isinstance(anchors, dict) and isinstance(boxes_delta, dict)) or set(anchors) != set(boxes_delta):
            raise ValueError(f"{name}: expected anchors and boxes_delta both dicts with the same levels, or both "
                             f"arrays; got {_levels(anchors)} and {_levels(boxes_delta)}")
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def _levels(value):
    return f"a dict with levels {sorted(map(str, value))}" if isinstance(value, dict) else type(value).__name__
