"""Bounding-box formats for the image augmentation layers: conversions through `xyxy` and
clipping to the image, as Keras's layers do them (in float32, on NumPy arrays).

Formats order a box's four numbers as `xyxy` (left, top, right, bottom), `yxyx`, `xywh`,
`center_xywh`, `center_yxhw`, or `rel_xyxy`, `rel_yxyx`, `rel_xywh`, `rel_center_xywh` (the
same divided by the image's width and height).

>>> convert(np.array([[1.0, 2.0, 4.0, 6.0]]), "xyxy", "center_xywh")
array([[2.5, 4. , 3. , 4. ]], dtype=float32)
"""

import numpy as np

from nablanet.autodiff import as_array

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh")


def _columns(boxes):
    return [boxes[..., i] for i in range(4)]


def _to_xyxy(boxes, fmt):
    a, b, c, d = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return np.stack([b, a, d, c], axis=-1)
    if fmt == "xywh":
        return np.stack([a, b, a + c, b + d], axis=-1)
    if fmt == "center_xywh":
        return np.stack([a - c / 2, b - d / 2, a + c / 2, b + d / 2], axis=-1)
    return np.stack([b - d / 2, a - c / 2, b + d / 2, a + c / 2], axis=-1)  # center_yxhw


def _from_xyxy(boxes, fmt):
    x1, y1, x2, y2 = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return np.stack([y1, x1, y2, x2], axis=-1)
    if fmt == "xywh":
        return np.stack([x1, y1, x2 - x1, y2 - y1], axis=-1)
    if fmt == "center_xywh":
        return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=-1)
    return np.stack([(y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1], axis=-1)  # center_yxhw


def _scale(boxes, fmt, height, width, inverse):
    """Multiply (or divide) a relative format's x and y columns by the image's width and height."""
    order = {"xyxy": "xyxy", "yxyx": "yxyx", "xywh": "xyxy", "center_xywh": "xyxy"}[fmt]
    factors = np.array([np.float32(width if axis == "x" else height) for axis in order], np.float32)
    return boxes / factors if inverse else boxes * factors


def convert(boxes, source, target, height=None, width=None):
    """`boxes` (..., 4) from format `source` to `target`."""
    source, target = source.lower(), target.lower()
    for fmt in (source, target):
        if fmt not in FORMATS:
            raise ValueError(f"bounding boxes: expected a format in {FORMATS}, got {fmt!r}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (height is None or width is None):
        raise ValueError(f"bounding boxes: converting {source!r} to {target!r} needs the image's height and width")
    boxes = np.asarray(as_array(boxes), np.float32)
    if boxes.shape[-1:] != (4,):
        raise ValueError(f"bounding boxes: expected boxes of shape (..., 4), got shape {boxes.shape}")
    if source == target:
        return boxes
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    if source.startswith("rel_"):
        source = source[4:]
        boxes = _scale(boxes, source, height, width, inverse=False)
    xyxy = _to_xyxy(boxes, source)
    if target.startswith("rel_"):
        target = target[4:]
        return _scale(_from_xyxy(xyxy, target), target, height, width, inverse=True)
    return _from_xyxy(xyxy, target)


def clip_to_image(bounding_boxes, height=None, width=None, relative=False):
    """Clip `xyxy` (or `rel_xyxy`) boxes to the image; boxes left with no area get label -1."""
    boxes = np.asarray(as_array(bounding_boxes["boxes"]), np.float32)
    high = np.array([1, 1, 1, 1] if relative else [width, height, width, height], np.float32)
    boxes = np.clip(boxes, 0, high)
    result = {**bounding_boxes, "boxes": boxes}
    if bounding_boxes.get("labels") is not None:
        area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
        result["labels"] = np.where(area > 0, as_array(bounding_boxes["labels"]), -1)
    return result
