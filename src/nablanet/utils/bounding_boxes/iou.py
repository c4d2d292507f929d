"""Overlap of boxes: the pairwise IoU table and the Complete IoU of paired boxes."""

import math

from nablanet import ops
from nablanet.backend import epsilon
from nablanet.utils.bounding_boxes.converters import as_boxes, convert, image_size, split_columns, working_dtype


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
    >>> compute_iou([[0, 0, 2, 2]], [[1, 0, 3, 2], [5, 5, 6, 6]], "xyxy").round(4)
    array([[0.3333, 0.    ]], dtype=float32)
    """
    name = "compute_iou"
    boxes1 = as_boxes(boxes1, name, "boxes1", ranks=(2, 3))
    boxes2 = as_boxes(boxes2, name, "boxes2", ranks=(2, 3))
    height, width = _relative_size(bounding_box_format, image_shape, name)
    dtype = working_dtype(boxes1, boxes2)
    boxes1 = convert(boxes1, bounding_box_format, "xyxy", height, width, dtype, name)
    boxes2 = convert(boxes2, bounding_box_format, "xyxy", height, width, dtype, name)
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
    return image_size(image_shape, name)


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
    >>> compute_ciou([[0, 0, 2, 2]], [[0, 0, 2, 2]], "xyxy").round(4)
    array([1.], dtype=float32)
    """
    name = "compute_ciou"
    boxes1, boxes2 = as_boxes(boxes1, name, "boxes1"), as_boxes(boxes2, name, "boxes2")
    height, width = _relative_size(bounding_box_format, image_shape, name)
    dtype = working_dtype(boxes1, boxes2)
    x1a, y1a, x2a, y2a = split_columns(convert(boxes1, bounding_box_format, "xyxy", height, width, dtype, name))
    x1b, y1b, x2b, y2b = split_columns(convert(boxes2, bounding_box_format, "xyxy", height, width, dtype, name))
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
