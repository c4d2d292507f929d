"""`nablanet.utils.bounding_boxes` against `keras.utils.bounding_boxes` on the torch backend: every format pair,
IoU and CIoU over overlapping, disjoint, nested and zero-area boxes, anchor deltas, boxes following a crop, pad,
clip or affine transformation of their image; Tensors in and out with float64 gradients; errors that name the
function."""

import inspect
import itertools

import numpy as np
import pytest

from nablanet import Tensor, gradcheck, ops
from nablanet.utils import bounding_boxes as bb

keras = pytest.importorskip("keras")
pytest.importorskip("torch")

kb = keras.utils.bounding_boxes
rng = np.random.default_rng(0)
FORMATS = ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh"]


def as_numpy(value):
    if isinstance(value, dict):
        return {key: as_numpy(item) for key, item in value.items()}
    return keras.ops.convert_to_numpy(value)


def tensor(value):
    """A torch tensor for Keras calls that mix their own tensors with the arrays given (NumPy on the left of a
    torch operator fails there)."""
    return keras.ops.convert_to_tensor(value)


def close(ours, theirs, rtol=1e-5, atol=1e-5):
    ours, theirs = as_numpy(ours), as_numpy(theirs)
    if isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            close(ours[key], theirs[key], rtol, atol)
        return
    assert isinstance(ours, np.ndarray) and ours.shape == theirs.shape, (type(ours), np.shape(ours), theirs.shape)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def corners(*shape, low=0.0, high=50.0, size=(1.0, 30.0)):
    """Random xyxy boxes with positive sizes."""
    x1, y1 = rng.uniform(low, high, shape), rng.uniform(low, high, shape)
    w, h = rng.uniform(*size, shape), rng.uniform(*size, shape)
    return np.stack([x1, y1, x1 + w, y1 + h], axis=-1).astype("float32")


# -- the namespace -----------------------------------------------------------------------------------------

def test_every_keras_name_exists_with_keras_signature():
    names = sorted(n for n in dir(kb) if not n.startswith("_"))
    assert names and sorted(bb.__all__) == names
    for name in names:
        assert inspect.signature(getattr(bb, name)) == inspect.signature(getattr(kb, name)), name


def test_reached_as_keras_reaches_it():
    import nablanet

    assert nablanet.utils.bounding_boxes is bb
    assert "bounding_boxes" in dir(nablanet.utils)


# -- convert_format ----------------------------------------------------------------------------------------

def _boxes_in(form, *shape):
    high = 1.0 if form.startswith("rel_") else 50.0
    return rng.uniform(0.0, high, (*shape, 4)).astype("float32")


@pytest.mark.parametrize("batch", [(), (2,)], ids=["unbatched", "batched"])
@pytest.mark.parametrize("source, target", list(itertools.product(FORMATS, FORMATS)))
def test_convert_format_matches_keras(source, target, batch):
    boxes = _boxes_in(source, *batch, 5)
    size = {"height": 40, "width": 70}
    close(bb.convert_format(boxes, source, target, **size), kb.convert_format(boxes, source, target, **size))
    if not (source.startswith("rel_") or target.startswith("rel_")):
        close(bb.convert_format(boxes, source, target), kb.convert_format(boxes, source, target))


@pytest.mark.parametrize("source, target", [("xyxy", "center_yxhw"), ("rel_xywh", "yxyx")])
def test_convert_format_integer_boxes_dtype_and_case(source, target):
    boxes = np.array([[1, 2, 3, 5], [0, 0, 4, 4]])
    for dtype in ["float32", "float64"]:
        ours = bb.convert_format(boxes, source.upper(), target, height=8, width=6, dtype=dtype)
        close(ours, kb.convert_format(boxes, source.upper(), target, height=8, width=6, dtype=dtype))


def test_convert_format_round_trips_through_every_format():
    boxes = corners(3, 4)
    for form in FORMATS:
        there = bb.convert_format(boxes, "xyxy", form, height=60, width=90)
        np.testing.assert_allclose(bb.convert_format(there, form, "xyxy", height=60, width=90), boxes, atol=1e-4)


def test_convert_format_updates_a_dict_in_place_as_keras_does():
    labels = np.array([1, 2])
    boxes = corners(2)
    ours, theirs = {"boxes": boxes, "labels": labels}, {"boxes": boxes, "labels": labels}
    result = bb.convert_format(ours, "xyxy", "xywh")
    assert result is ours and ours["labels"] is labels
    close(result, kb.convert_format(theirs, "xyxy", "xywh"))


# -- IoU and CIoU ------------------------------------------------------------------------------------------

BOXES1 = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 30], [2, 2, 8, 8], [3, 3, 3, 9]], "float32")
BOXES2 = np.array([[5, 0, 15, 10], [40, 40, 50, 45], [0, 0, 10, 10], [1, 1, 9, 9], [3, 3, 3, 9]], "float32")
# overlapping, disjoint, identical/containing, nested, zero-area (pair by pair in CIoU)


def _in(form, boxes):
    return as_numpy(kb.convert_format(boxes, "xyxy", form, height=60, width=80))


IOU_FORMATS = ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_center_xywh"]


@pytest.mark.parametrize("ranks", [(2, 2), (3, 3), (3, 2), (2, 3)], ids=lambda r: f"ranks{r[0]}{r[1]}")
@pytest.mark.parametrize("form", IOU_FORMATS)
def test_compute_iou_matches_keras(form, ranks):
    boxes1 = np.stack([BOXES1, corners(5)]) if ranks[0] == 3 else BOXES1
    boxes2 = np.stack([BOXES2[:4], corners(4)]) if ranks[1] == 3 else BOXES2[:4]
    boxes1, boxes2 = _in(form, boxes1), _in(form, boxes2)
    image_shape = (60, 80, 3) if form.startswith("rel_") else None
    ours = bb.compute_iou(boxes1, boxes2, form, image_shape=image_shape)
    close(ours, kb.compute_iou(boxes1, boxes2, form, image_shape=image_shape))
    assert ours.shape[-2:] == (5, 4)


@pytest.mark.parametrize("ranks", [(2, 2), (3, 3)])
def test_compute_iou_masking_matches_keras(ranks):
    boxes1, boxes2 = BOXES1.copy(), BOXES2.copy()
    boxes1[1], boxes2[3] = -1, [-2, -1, -3, -1]
    if ranks == (3, 3):
        boxes1, boxes2 = np.stack([boxes1, BOXES1]), np.stack([BOXES2, boxes2])
    for mask_val in [-1, 7]:
        ours = bb.compute_iou(boxes1, boxes2, "xyxy", use_masking=True, mask_val=mask_val)
        close(ours, kb.compute_iou(boxes1, boxes2, "xyxy", use_masking=True, mask_val=mask_val))
        assert (ours == mask_val).any()


def test_compute_iou_masking_with_one_side_batched():
    # Keras fails on this mix; each batch entry must equal the unbatched result
    boxes1, boxes2 = BOXES1.copy(), np.stack([BOXES2, BOXES2[::-1]])
    boxes1[2] = -1
    ours = bb.compute_iou(boxes1, boxes2, "xyxy", use_masking=True)
    for i in range(2):
        np.testing.assert_array_equal(ours[i], bb.compute_iou(boxes1, boxes2[i], "xyxy", use_masking=True))


def test_compute_iou_known_values():
    iou = bb.compute_iou(BOXES1, BOXES2, "xyxy")
    np.testing.assert_allclose(iou[0, :3], [50 / 150, 0.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(iou[3, 3], 36 / 64, rtol=1e-6)
    assert iou[4].max() == 0.0 and iou.dtype == np.float32


@pytest.mark.parametrize("shapes", [((5,), (5,)), ((2, 5), (2, 5)), ((2, 5), (5,)), ((5,), (1,))],
                         ids=["unbatched", "batched", "broadcast", "one"])
@pytest.mark.parametrize("form", ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw"])
def test_compute_ciou_matches_keras(form, shapes):
    def pick(table, shape):
        boxes = table[: shape[-1]]
        return np.stack([boxes, corners(shape[-1])]) if len(shape) == 2 else boxes

    boxes1, boxes2 = _in(form, pick(BOXES1, shapes[0])), _in(form, pick(BOXES2, shapes[1]))
    close(bb.compute_ciou(boxes1, boxes2, form), kb.compute_ciou(boxes1, boxes2, form))


def test_compute_ciou_of_a_box_with_itself_is_one_and_falls_with_distance():
    box = np.array([[2.0, 3.0, 7.0, 9.0]])
    moved = [box + [d, 0, d, 0] for d in (0.0, 1.0, 3.0, 10.0)]
    values = [float(bb.compute_ciou(box, other, "xyxy")[0]) for other in moved]
    assert values[0] == pytest.approx(1.0, abs=1e-6) and values == sorted(values, reverse=True)


def test_compute_ciou_relative_formats_with_an_image_shape():
    boxes1, boxes2 = _in("rel_xyxy", BOXES1), _in("rel_xyxy", BOXES2)
    ours = bb.compute_ciou(boxes1, boxes2, "rel_xyxy", image_shape=(60, 80, 3))
    close(ours, kb.compute_ciou(BOXES1, BOXES2, "xyxy"))


def _partly_overlapping(shape):
    return corners(*shape, high=5.0, size=(3.0, 6.0)).astype("float64")


@pytest.mark.parametrize("form", ["xyxy", "center_xywh"])
def test_compute_ciou_gradients_match_central_differences(form):
    boxes1, boxes2 = _in(form, _partly_overlapping((2, 3))), _in(form, _partly_overlapping((2, 3)))
    boxes1, boxes2 = boxes1.astype("float64"), boxes2.astype("float64")
    assert bb.compute_ciou(boxes1, boxes2, form).dtype == np.float64
    gradcheck(lambda a, b: bb.compute_ciou(a, b, form), boxes1, boxes2)


def test_compute_iou_gradients_match_central_differences():
    boxes1, boxes2 = _partly_overlapping((3,)), _partly_overlapping((2, 4))
    gradcheck(lambda a, b: bb.compute_iou(a, b, "xyxy"), boxes1, boxes2)


def test_tensors_in_tensors_out_with_gradients():
    boxes1 = Tensor(BOXES1[:3], requires_grad=True)
    iou = bb.compute_iou(boxes1, BOXES2, "xyxy")
    ciou = bb.compute_ciou(boxes1, BOXES2[:3], "xyxy")
    assert isinstance(iou, Tensor) and isinstance(ciou, Tensor) and iou.dtype == np.float32
    ops.sum(iou + ops.expand_dims(ciou, -1)).backward()
    assert boxes1.grad.shape == (3, 4) and np.all(np.isfinite(boxes1.grad))
    converted = bb.convert_format(Tensor(BOXES1), "xyxy", "center_yxhw")
    assert isinstance(converted, Tensor)


TENSOR_CALLS = {
    "convert_format": lambda b: bb.convert_format(b, "xyxy", "rel_center_xywh", height=60, width=80),
    "convert_format-dict": lambda b: bb.convert_format({"boxes": b}, "xyxy", "yxyx")["boxes"],
    "compute_iou-masked": lambda b: bb.compute_iou(b, BOXES2, "xyxy", use_masking=True),
    "encode_box_to_deltas": lambda b: bb.encode_box_to_deltas(ANCHORS[:5], b, "xyxy", "xyxy", variance=[1, 1, 2, 2]),
    "decode_deltas_to_boxes": lambda b: bb.decode_deltas_to_boxes(ANCHORS[:5], b / 100, "xyxy", "xywh"),
    "clip_to_image_size": lambda b: bb.clip_to_image_size({"boxes": b, "labels": np.arange(5)}, 12, 9)["boxes"],
    "crop": lambda b: bb.crop(b, 2, 3, 6, 6),
    "pad": lambda b: bb.pad(b, 2, 3),
    "affine_transform": lambda b: bb.affine_transform(b, 10.0, 0.1, 0.0, 1.0, 2.0, 0.0, 30, 20),
}


@pytest.mark.parametrize("name", sorted(TENSOR_CALLS))
def test_every_function_takes_tensors_and_gives_tensors_with_gradients(name):
    boxes = Tensor(BOXES1 + np.float32(1.0), requires_grad=True)
    out = TENSOR_CALLS[name](boxes)
    assert isinstance(out, Tensor) and out.dtype == np.float32, (type(out), out.dtype)
    np.testing.assert_allclose(out.numpy(), as_numpy(TENSOR_CALLS[name](BOXES1 + np.float32(1.0))), rtol=1e-6)
    ops.sum(out).backward()
    assert boxes.grad.shape == (5, 4) and np.all(np.isfinite(boxes.grad))


# -- anchor deltas -----------------------------------------------------------------------------------------

ANCHORS = corners(6)
DELTA_CASES = [
    ("xyxy", "xyxy", "center_yxhw", None, None),
    ("xyxy", "xywh", "center_xywh", [0.1, 0.1, 0.2, 0.2], None),
    ("center_xywh", "yxyx", "center_yxhw", np.array([0.1, 0.2, 0.3, 0.4]), None),
    ("rel_xyxy", "rel_center_xywh", "center_yxhw", None, (60, 80, 3)),
    ("xyxy", "rel_yxyx", "center_xywh", [0.5, 0.5, 1.0, 1.0], (60, 80, 3)),
]


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("anchor_format, box_format, encoding, variance, image_shape", DELTA_CASES)
def test_deltas_match_keras_and_round_trip(anchor_format, box_format, encoding, variance, image_shape, batched):
    anchors = _in(anchor_format, ANCHORS)
    boxes = np.stack([corners(6), corners(6)]) if batched else corners(6)
    boxes = _in(box_format, boxes)
    args = (anchor_format, box_format, encoding, variance, image_shape)
    deltas = bb.encode_box_to_deltas(anchors, boxes, *args)
    close(deltas, kb.encode_box_to_deltas(anchors, boxes, *args))
    decoded = bb.decode_deltas_to_boxes(anchors, deltas, *args)
    close(decoded, kb.decode_deltas_to_boxes(anchors, tensor(deltas), *args))
    np.testing.assert_allclose(decoded, boxes, rtol=1e-4, atol=1e-4)


def test_decode_deltas_by_level_matches_keras():
    anchors = {"P3": ANCHORS, "P4": ANCHORS[:2] * 2}
    deltas = {"P3": rng.normal(0, 0.3, (2, 6, 4)).astype("float32"),
              "P4": rng.normal(0, 0.3, (2, 4)).astype("float32")}
    ours = bb.decode_deltas_to_boxes(anchors, deltas, "xyxy", "yxyx")
    theirs = kb.decode_deltas_to_boxes(anchors, {k: tensor(v) for k, v in deltas.items()}, "xyxy", "yxyx")
    close(ours, theirs)


def test_deltas_keep_float64_and_gradients():
    anchors, boxes = ANCHORS.astype("float64"), corners(6).astype("float64")
    gradcheck(lambda b: bb.encode_box_to_deltas(anchors, b, "xyxy", "xyxy"), boxes)
    deltas = rng.normal(0, 0.3, (6, 4))
    gradcheck(lambda d: bb.decode_deltas_to_boxes(anchors, d, "xyxy", "center_xywh", variance=[1, 1, 2, 2]), deltas)


# -- boxes that follow their image -------------------------------------------------------------------------

@pytest.mark.parametrize("boxes", [np.array([[10, 20, 50, 60], [70, 80, 100, 120], [0, 0, 5, 5]]),
                                   corners(2, 4, low=-20.0, high=60.0)], ids=["int", "float-batched"])
def test_crop_and_pad_match_keras(boxes):
    for top, left, height, width in [(10, 20, 40, 30), (0, 0, 100, 100), (-5, 3, 200, 7)]:
        close(bb.crop(boxes, top, left, height, width), kb.crop(boxes, top, left, height, width))
        close(bb.pad(boxes, top, left), kb.pad(boxes, top, left))
        close(bb.pad(boxes, top, left, height, width), kb.pad(boxes, top, left, height, width))


def test_crop_without_a_far_edge_clips_only_at_zero():
    boxes = np.array([[10.0, 20.0, 500.0, 600.0]])
    np.testing.assert_array_equal(bb.crop(boxes, 30, 5, None, None), [[5.0, 0.0, 495.0, 570.0]])


@pytest.mark.parametrize("boxes, labels", [
    (np.array([[-10, -20, 150, 160], [50, 40, 70, 80], [130, 10, 140, 20]]), np.array([0, 1, 2])),
    (corners(2, 5, low=-40.0, high=130.0), rng.integers(0, 5, (2, 5))),
    (corners(3, low=-40.0, high=130.0), None),
], ids=["int", "batched", "no-labels"])
def test_clip_to_image_size_matches_keras(boxes, labels):
    given = {"boxes": boxes} if labels is None else {"boxes": boxes, "labels": labels}
    ours = bb.clip_to_image_size(given, height=100, width=120)
    close(ours, kb.clip_to_image_size(dict(given), height=100, width=120))
    assert ours is not given and given["boxes"] is boxes
    relative = {"boxes": boxes.astype("float32") / 100, **({} if labels is None else {"labels": labels})}
    close(bb.clip_to_image_size(relative, bounding_box_format="rel_xyxy"),
          kb.clip_to_image_size(dict(relative), bounding_box_format="rel_xyxy"))
    np.testing.assert_array_equal(bb.clip_to_image_size(boxes, 100, 120), ours["boxes"])


AFFINE = {"angle": [30.0, -10.0], "translate_x": [0.1, 0.0], "translate_y": [0.0, 0.2], "scale": [1.0, 1.2],
          "shear_x": [0.0, 5.0], "shear_y": [3.0, 0.0]}


@pytest.mark.parametrize("center", [(None, None), (0.25, 0.6)])
def test_affine_transform_matches_keras(center):
    boxes = corners(2, 5)
    params = [np.array(v, "float32") for v in AFFINE.values()]
    ours = bb.affine_transform(boxes, *params, 50, 40, *center)
    close(ours, kb.affine_transform(boxes, *params, 50, 40, *center))


def test_affine_transform_unbatched_and_scalars_agree_with_batched():
    boxes = corners(2, 5)
    batched = bb.affine_transform(boxes, *[np.array(v, "float32") for v in AFFINE.values()], 50, 40)
    for i in range(2):
        scalars = [np.float32(v[i]) for v in AFFINE.values()]
        np.testing.assert_allclose(bb.affine_transform(boxes[i], *scalars, 50, 40), batched[i], rtol=1e-6)
    same = bb.affine_transform(boxes, *[np.float32(v[0]) for v in AFFINE.values()], 50, 40)
    np.testing.assert_allclose(same[0], batched[0], rtol=1e-6)


def test_affine_identity_leaves_boxes_and_gradients_flow():
    boxes = corners(4).astype("float64")
    np.testing.assert_allclose(bb.affine_transform(boxes, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 50, 40), boxes, atol=1e-12)
    gradcheck(lambda b: bb.affine_transform(b, 20.0, 0.1, 0.0, 1.1, 0.0, 4.0, 50, 40), boxes)


# -- bad input ---------------------------------------------------------------------------------------------

BAD = [
    ("convert_format", lambda m: m.convert_format(BOXES1, "xyxy", "corners"), "corners"),
    ("convert_format", lambda m: m.convert_format(BOXES1, "xyxy", "rel_xyxy"), "height=None"),
    ("convert_format", lambda m: m.convert_format(BOXES1, "rel_xywh", "rel_xyxy", height=5), "width=None"),
    ("convert_format", lambda m: m.convert_format(BOXES1[:, :3], "xyxy", "xywh"), "(5, 3)"),
    ("compute_iou", lambda m: m.compute_iou(BOXES1, BOXES2, "rel_xyxy"), "image_shape"),
    ("compute_iou", lambda m: m.compute_iou(BOXES1[None, None], BOXES2, "xyxy"), "(1, 1, 5, 4)"),
    ("compute_iou", lambda m: m.compute_iou(BOXES1, BOXES2[:, :2], "xyxy"), "(5, 2)"),
    ("compute_iou", lambda m: m.compute_iou(BOXES1, BOXES2, "cxcywh"), "cxcywh"),
    ("compute_ciou", lambda m: m.compute_ciou(BOXES1, BOXES2, "rel_yxyx"), "image_shape"),
    ("compute_ciou", lambda m: m.compute_ciou(np.pad(BOXES1, ((0, 0), (0, 1))), BOXES2, "xyxy"), "(5, 5)"),
    ("encode_box_to_deltas", lambda m: m.encode_box_to_deltas(ANCHORS, ANCHORS, "xyxy", "xyxy", variance=[1, 2]),
     "(2,)"),
    ("encode_box_to_deltas", lambda m: m.encode_box_to_deltas(ANCHORS, ANCHORS, "xyxy", "xyxy", "xyxy"), "xyxy"),
    ("decode_deltas_to_boxes", lambda m: m.decode_deltas_to_boxes(ANCHORS, ANCHORS, "xyxy", "xyxy", "yxyx"), "yxyx"),
    ("clip_to_image_size", lambda m: m.clip_to_image_size({"boxes": BOXES1}), "height=None"),
]


@pytest.mark.parametrize("name, call, detail", BAD, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD)])
def test_bad_input_names_the_function_and_what_it_got(name, call, detail):
    with pytest.raises(ValueError) as ours:
        call(bb)
    assert str(ours.value).startswith(f"{name}: expected") and detail in str(ours.value)
    with pytest.raises(ValueError):  # Keras refuses the same input with the same exception type
        call(kb)


@pytest.mark.parametrize("call", [
    lambda m: m.crop(BOXES1, 1, 1, 5, 5, bounding_box_format="yxyx"),
    lambda m: m.pad(BOXES1, 1, 1, bounding_box_format="xywh"),
    lambda m: m.clip_to_image_size({"boxes": BOXES1}, 5, 5, bounding_box_format="center_xywh"),
    lambda m: m.affine_transform(BOXES1[None], *[np.zeros(1, "float32")] * 6, 5, 5, bounding_box_format="yxyx"),
])
def test_formats_keras_does_not_transform_raise_not_implemented(call):
    with pytest.raises(NotImplementedError, match="expected bounding_box_format"):
        call(bb)
    with pytest.raises(NotImplementedError):
        call(kb)


def test_errors_keras_does_not_raise_clearly():
    with pytest.raises(ValueError, match=r"decode_deltas_to_boxes: expected boxes_delta .* got shape \(6, 3\)"):
        bb.decode_deltas_to_boxes(ANCHORS, ANCHORS[:, :3], "xyxy", "xyxy")  # Keras broadcasts it into 4 columns
    with pytest.raises(ValueError, match="decode_deltas_to_boxes: expected anchors and boxes_delta both dicts"):
        bb.decode_deltas_to_boxes({"P3": ANCHORS}, ANCHORS, "xyxy", "xyxy")
    with pytest.raises(ValueError, match=r"affine_transform: expected angle as a scalar or shape \(2,\)"):
        bb.affine_transform(corners(2, 3), np.zeros(3), 0, 0, 1, 0, 0, 5, 5)
    with pytest.raises(ValueError, match="convert_format: expected a dict with a 'boxes' entry"):
        bb.convert_format({"box": BOXES1}, "xyxy", "yxyx")
    with pytest.raises(ValueError, match="encode_box_to_deltas: expected image_shape"):
        bb.encode_box_to_deltas(ANCHORS, ANCHORS, "xyxy", "rel_xyxy", image_shape=(5,))
