"""Geometric image layers against Keras 3 (shear, perspective, erasing, centre crop, box counts)
with the same transformations; the elastic transform by its statistics (its noise is NumPy's)."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")

rng = np.random.default_rng(1)
IMAGES = rng.uniform(0, 255, (3, 7, 8, 3)).astype(np.float32)
MASKS = rng.integers(0, 3, (3, 7, 8, 1)).astype(np.float32)


def keras_numpy(value):
    if isinstance(value, dict):
        return {k: keras_numpy(v) for k, v in value.items()}
    if hasattr(value, "detach"):
        return keras.ops.convert_to_numpy(value)
    return value


def layout(x, data_format):
    return x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)


SAME = [
    ("RandomShear", {"x_factor": 0.3, "y_factor": (0.1, 0.4)}),
    ("RandomShear", {"x_factor": 0.5, "fill_mode": "constant", "fill_value": 9.0, "interpolation": "nearest"}),
    ("RandomShear", {"y_factor": 0.4, "fill_mode": "wrap"}),
    ("RandomPerspective", {"factor": 0.8, "scale": 0.6}),
    ("RandomPerspective", {"scale": 0.3, "interpolation": "nearest", "fill_value": 5.0}),
    ("RandomErasing", {"factor": 0.9, "scale": (0.2, 0.6)}),
    ("RandomErasing", {"scale": 0.5, "fill_value": 17.0}),
]


@pytest.mark.parametrize("name, kwargs", SAME, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SAME)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_same_transformation_as_keras(name, kwargs, data_format):
    images, masks = layout(IMAGES, data_format), layout(MASKS, data_format)
    ours = getattr(layers, name)(**kwargs, data_format=data_format)
    theirs = getattr(keras.layers, name)(**kwargs, data_format=data_format, seed=4)
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(images), training=True)
    for method, x in (("transform_images", images), ("transform_segmentation_masks", masks)):
        expected = keras.ops.convert_to_numpy(getattr(theirs, method)(keras.ops.convert_to_tensor(x), drawn))
        got = getattr(ours, method)(nn.ops.convert_to_tensor(x), keras_numpy(drawn)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    assert set(ours.get_config()) == set(theirs.get_config())


@pytest.mark.parametrize("make", [
    lambda: layers.RandomShear(0.3, 0.3, seed=2), lambda: layers.RandomPerspective(seed=2),
    lambda: layers.RandomElasticTransform(seed=2), lambda: layers.RandomErasing(factor=(1.0, 1.0), seed=2),
], ids=["shear", "perspective", "elastic", "erasing"])
def test_seeded_inactive_and_in_range(make):
    layer, again = make(), make()
    out = layer(IMAGES).numpy()
    np.testing.assert_array_equal(out, again(IMAGES).numpy())
    assert out.shape == IMAGES.shape and not np.allclose(out, IMAGES)
    assert out.min() >= 0 and out.max() <= 255 + 1e-3
    np.testing.assert_array_equal(layer(IMAGES, training=False).numpy(), IMAGES)
    model = nn.Sequential([nn.Input(IMAGES.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(IMAGES, verbose=0), IMAGES)


def test_elastic_transform_warps_masks_with_nearest_samples():
    layer = layers.RandomElasticTransform(scale=0.8, seed=0)
    out = layer({"images": IMAGES, "segmentation_masks": MASKS})
    assert set(np.unique(out["segmentation_masks"].numpy())) <= {0.0, 1.0, 2.0}
    assert not np.allclose(out["images"].numpy(), IMAGES)
    assert layer.get_random_transformation(IMAGES, training=False) is None
    np.testing.assert_array_equal(layers.RandomElasticTransform(factor=0.0)(IMAGES).numpy(), IMAGES)
    assert set(layer.get_config()) == set(keras.layers.RandomElasticTransform().get_config())


def test_erasing_fills_one_box_per_image():
    layer = layers.RandomErasing(factor=(1.0, 1.0), scale=(0.25, 0.25), fill_value=-1.0, value_range=(-1, 255), seed=0)
    out = layer(IMAGES).numpy()
    for image in out:
        rows, cols = np.nonzero((image == -1).all(axis=-1))
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # a full rectangle


@pytest.mark.parametrize("size", [(3, 4), (7, 8), (10, 5), (4, 12)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_center_crop_equals_keras(size, data_format):
    images = layout(IMAGES, data_format)
    theirs = keras.layers.CenterCrop(*size, data_format=data_format)
    ours = layers.CenterCrop(*size, data_format=data_format)
    expected = keras.ops.convert_to_numpy(theirs(images))
    np.testing.assert_allclose(ours(images).numpy(), expected, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(ours(images[0]).numpy(), expected[0], rtol=1e-5, atol=1e-3)
    assert ours.compute_output_shape((None,) + images.shape[1:]) == theirs.compute_output_shape(
        (None,) + images.shape[1:])
    assert set(ours.get_config()) == set(theirs.get_config())


def test_center_crop_in_a_model_and_masks():
    model = nn.Sequential([nn.Input((7, 8, 3)), layers.CenterCrop(4, 4)])
    assert model.output_shape == (None, 4, 4, 3)
    np.testing.assert_array_equal(model.predict(IMAGES, verbose=0), IMAGES[:, 1:5, 2:6])
    out = layers.CenterCrop(4, 4)({"images": IMAGES, "segmentation_masks": MASKS})
    np.testing.assert_array_equal(out["segmentation_masks"].numpy(), MASKS[:, 1:5, 2:6])


def test_max_num_bounding_boxes_equals_keras():
    boxes = {"boxes": rng.uniform(0, 5, (2, 3, 4)).astype(np.float32), "labels": np.array([[1, 2, 0], [2, 1, 1]])}
    for count in (2, 5):
        theirs = keras.layers.MaxNumBoundingBoxes(count, fill_value=-2, bounding_box_format="xyxy")
        expected = theirs({"images": IMAGES[:2], "bounding_boxes": dict(boxes)})
        got = layers.MaxNumBoundingBoxes(count, fill_value=-2, bounding_box_format="xyxy")(
            {"images": IMAGES[:2], "bounding_boxes": dict(boxes)})
        for key in ("boxes", "labels"):
            np.testing.assert_allclose(got["bounding_boxes"][key].numpy(),
                                       keras.ops.convert_to_numpy(expected["bounding_boxes"][key]))
        np.testing.assert_array_equal(got["images"].numpy(), IMAGES[:2])
        assert set(layers.MaxNumBoundingBoxes(count).get_config()) == set(keras.layers.MaxNumBoundingBoxes(
            count).get_config())


BOXES = {"boxes": np.array([[[1.0, 1.0, 4.0, 5.0], [3.0, 0.5, 7.5, 2.0]], [[0.0, 2.0, 2.0, 6.5], [5.0, 5.0, 5.5, 6.0]],
                            [[2.0, 3.0, 6.0, 4.0], [0.5, 0.5, 7.0, 6.0]]], np.float32),
         "labels": np.array([[1, 2], [0, 3], [2, 2]], np.float32)}


def keras_boxes(layer, boxes, drawn):
    out = layer.transform_bounding_boxes({k: keras.ops.convert_to_tensor(v) for k, v in boxes.items()}, drawn)
    return {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}


BOX_CASES = [(name, kwargs, fmt) for name, kwargs in [("RandomShear", {"x_factor": 0.4, "y_factor": 0.3}),
                                                        ("CenterCrop", {"height": 5, "width": 4}),
                                                        ("CenterCrop", {"height": 9, "width": 6})]
             for fmt in ("xyxy", "center_xywh", "rel_yxyx")]
# Keras's RandomPerspective returns xyxy boxes whatever the format (nablanet converts back): compared in xyxy
BOX_CASES.append(("RandomPerspective", {"scale": 0.5}, "xyxy"))


@pytest.mark.parametrize("name, kwargs, fmt", BOX_CASES)
def test_boxes_move_as_in_keras(name, kwargs, fmt):
    boxes = {"boxes": keras.ops.convert_to_numpy(keras.utils.bounding_boxes.convert_format(
        BOXES["boxes"], "xyxy", fmt, height=7, width=8)), "labels": BOXES["labels"]}
    extra = {} if name == "CenterCrop" else {"seed": 3}
    theirs = getattr(keras.layers, name)(**kwargs, **extra, bounding_box_format=fmt)
    ours = getattr(layers, name)(**kwargs, bounding_box_format=fmt)
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(IMAGES), training=True)
    expected = keras_boxes(theirs, boxes, drawn)
    got = ours.transform_bounding_boxes(dict(boxes), keras_numpy(drawn))
    np.testing.assert_allclose(np.asarray(got["boxes"]), expected["boxes"], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(got["labels"]), expected["labels"])
    out = ours({"images": IMAGES, "bounding_boxes": dict(boxes)})  # through call, with its own draw
    assert out["bounding_boxes"]["boxes"].shape == boxes["boxes"].shape


def test_mix_up_boxes_gain_the_partners():
    theirs, ours = keras.layers.MixUp(seed=2, bounding_box_format="xyxy"), layers.MixUp(bounding_box_format="xyxy")
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(IMAGES), training=True)
    expected = keras_boxes(theirs, BOXES, drawn)
    got = ours.transform_bounding_boxes(dict(BOXES), keras_numpy(drawn))
    np.testing.assert_allclose(np.asarray(got["boxes"]), expected["boxes"])
    order = keras_numpy(drawn)["permutation_order"]  # Keras stacks the partners' labels on the batch axis instead
    partners = np.concatenate([BOXES["labels"], BOXES["labels"][order]], axis=1)
    np.testing.assert_array_equal(np.asarray(got["labels"]), partners)


@pytest.mark.parametrize("make, error, message", [
    (lambda: layers.RandomShear(x_factor=1.5), ValueError, r"RandomShear: expected x_factor .* got x_factor=1.5"),
    (lambda: layers.RandomShear(fill_mode="mirror"), NotImplementedError, "RandomShear: expected fill_mode"),
    (lambda: layers.RandomPerspective(scale=2.0), ValueError, r"RandomPerspective: expected scale in \[0, 1\]"),
    (lambda: layers.RandomElasticTransform(scale=-1.0), ValueError, "RandomElasticTransform: expected scale"),
    (lambda: layers.RandomErasing(factor=3.0), ValueError, "RandomErasing: expected factor"),
    (lambda: layers.RandomErasing(fill_value=(1, 2)), ValueError, "RandomErasing: expected fill_value"),
])
def test_bad_arguments_name_the_layer(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match=r"RandomShear '\w+': expected images of shape .* got shape \(2, 7, 8, 3, 1\)"):
        layers.RandomShear(0.2)(IMAGES[:2, ..., None])
    boxes = {"boxes": np.zeros((3, 1, 4), np.float32), "labels": np.zeros((3, 1))}
    with pytest.raises(ValueError, match="RandomShear .*bounding_box_format"):
        layers.RandomShear(0.2)({"images": IMAGES, "bounding_boxes": boxes})
    with pytest.raises(NotImplementedError, match="RandomElasticTransform: bounding boxes cannot follow"):
        layers.RandomElasticTransform(bounding_box_format="xyxy")({"images": IMAGES, "bounding_boxes": boxes})


@pytest.mark.parametrize("layer", [
    layers.RandomShear(0.3, 0.3), layers.RandomShear(0.3, fill_mode="constant"), layers.RandomPerspective(scale=0.4),
    layers.RandomElasticTransform(value_range=(0, 1)), layers.RandomErasing(value_range=(0, 1)),
    layers.CenterCrop(3, 4), layers.CenterCrop(6, 3),
], ids=lambda layer: type(layer).__name__)
def test_float64_gradients_through_a_fixed_transformation(layer):
    x = np.random.default_rng(5).uniform(0.05, 0.95, (2, 4, 5, 3))
    drawn = layer.get_random_transformation(x, seed=3)
    gradcheck(lambda images: layer.transform_images(images, drawn), x)
