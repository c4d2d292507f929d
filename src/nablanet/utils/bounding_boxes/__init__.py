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

from nablanet.utils.bounding_boxes.converters import convert_format, decode_deltas_to_boxes, encode_box_to_deltas
from nablanet.utils.bounding_boxes.iou import compute_ciou, compute_iou
from nablanet.utils.bounding_boxes.transforms import affine_transform, clip_to_image_size, crop, pad

__all__ = [
    "affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
    "decode_deltas_to_boxes", "encode_box_to_deltas", "pad",
]
