"""MixUp, CutMix, AugMix, RandAugment and Pipeline against Keras 3; `.keras` files of models holding
image augmentation layers, written and read both ways; and what every image layer shares (one image or
a batch in both layouts, in a model; configs equal to Keras's)."""

import json

import numpy as np
import pytest

import nablanet as nn
from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore:Tensor.T is deprecated:UserWarning")  # inside Keras's Equalization

rng = np.random.default_rng(2)
IMAGES = rng.uniform(0, 255, (4, 6, 6, 3)).astype(np.float32)
LABELS = np.eye(4, dtype=np.float32)[[0, 1, 2, 3]]


def keras_numpy(value):
    if isinstance(value, dict):
        return {k: keras_numpy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keras_numpy(v) for v in value]
    if hasattr(value, "detach"):
        return keras.ops.convert_to_numpy(value)
    return value


def layout(x, data_format):
    return x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)


@pytest.mark.parametrize("name, kwargs", [("MixUp", {"alpha": 0.4}), ("CutMix", {"factor": 0.8})])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_mixing_same_transformation_as_keras(name, kwargs, data_format):
    images = layout(IMAGES, data_format)
    theirs = getattr(keras.layers, name)(**kwargs, data_format=data_format, seed=3)
    ours = getattr(layers, name)(**kwargs, data_format=data_format)
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(images), training=True)
    for method, x in (("transform_images", images), ("transform_labels", LABELS)):
        expected = keras.ops.convert_to_numpy(getattr(theirs, method)(keras.ops.convert_to_tensor(x), drawn))
        got = getattr(ours, method)(nn.ops.convert_to_tensor(x), keras_numpy(drawn)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    assert set(ours.get_config()) == set(theirs.get_config())


@pytest.mark.parametrize("cls", [layers.MixUp, layers.CutMix])
def test_mixing_keeps_label_mass_and_is_seeded(cls):
    out = cls(seed=1)({"images": IMAGES, "labels": LABELS})
    again = cls(seed=1)({"images": IMAGES, "labels": LABELS})
    np.testing.assert_array_equal(out["images"].numpy(), again["images"].numpy())
    np.testing.assert_allclose(out["labels"].numpy().sum(axis=1), 1.0, rtol=1e-6)
    assert not np.allclose(out["labels"].numpy(), LABELS)
    inactive = cls(seed=1)({"images": IMAGES, "labels": LABELS}, training=False)
    np.testing.assert_array_equal(inactive["labels"].numpy(), LABELS)
    np.testing.assert_array_equal(inactive["images"].numpy(), IMAGES)
    cut = layers.CutMix(seed=0)(IMAGES).numpy()  # every pixel comes from some image of the batch
    assert np.isin(cut, IMAGES).all()


# RandAugment's operations by index. Keras on torch changes its inputs in place where it should not: brightness
# (3) adds to the images even when not picked (its delta is zeroed here), and each affine transform swaps entries of
# the rotation matrix, so a rotation (2) after a translation (1) uses a changed matrix (not compared).
@pytest.mark.parametrize("picks", [[0, 4], [5, 6], [7, 8], [9, 10], [10, 0], [2, 1]])
def test_rand_augment_same_transformation_as_keras(picks):
    kwargs = {"num_ops": 2, "factor": 0.6}
    theirs, ours = keras.layers.RandAugment(**kwargs, seed=5), layers.RandAugment(**kwargs)
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(IMAGES), training=True)
    drawn["transforms"]["random_brightness"]["rgb_delta"] = keras.ops.zeros((4, 1, 1, 1))
    drawn["layer_idxes"] = keras.ops.convert_to_tensor(np.array(picks, "int32"))
    same = keras_numpy(drawn)  # before Keras applies it (see above)
    expected = keras.ops.convert_to_numpy(theirs.transform_images(keras.ops.convert_to_tensor(IMAGES), drawn))
    got = ours.transform_images(nn.ops.convert_to_tensor(IMAGES), same).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("picks", [[0, 4], [5, 0], [1, 4]])
def test_rand_augment_moves_masks_and_boxes_as_keras(picks):
    masks = rng.integers(0, 3, (4, 6, 6, 1)).astype(np.float32)
    boxes = {"boxes": np.array([[[1.0, 1.0, 4.0, 5.0]], [[0.0, 2.0, 2.0, 5.5]], [[2.0, 3.0, 5.0, 4.0]],
                                [[0.5, 0.5, 3.0, 3.0]]], np.float32), "labels": np.ones((4, 1), np.float32)}
    theirs = keras.layers.RandAugment(factor=0.6, seed=5, bounding_box_format="xyxy")
    ours = layers.RandAugment(factor=0.6, bounding_box_format="xyxy")
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(IMAGES), training=True)
    drawn["layer_idxes"] = keras.ops.convert_to_tensor(np.array(picks, "int32"))
    expected = theirs.transform_segmentation_masks(keras.ops.convert_to_tensor(masks), drawn)
    expected = keras.ops.convert_to_numpy(expected)
    got = ours.transform_segmentation_masks(nn.ops.convert_to_tensor(masks), keras_numpy(drawn)).numpy()
    np.testing.assert_allclose(got, expected)
    expected = theirs.transform_bounding_boxes({k: keras.ops.convert_to_tensor(v) for k, v in boxes.items()}, drawn)
    got = ours.transform_bounding_boxes(dict(boxes), keras_numpy(drawn))
    np.testing.assert_allclose(np.asarray(got["boxes"]), keras.ops.convert_to_numpy(expected["boxes"]), atol=1e-4)


def test_policies_move_boxes_and_masks_with_the_images():
    masks = np.zeros((4, 6, 6, 1), np.float32)
    masks[:, 2:4, 1:3] = 1.0
    boxes = {"boxes": np.tile(np.array([[[1.0, 2.0, 3.0, 4.0]]], np.float32), (4, 1, 1)),
             "labels": np.ones((4, 1), np.float32)}
    for layer in (layers.RandAugment(num_ops=3, factor=0.3, seed=1, bounding_box_format="xyxy"),
                  layers.AugMix(seed=1, bounding_box_format="xyxy")):
        out = layer({"images": IMAGES, "segmentation_masks": masks, "bounding_boxes": boxes})
        assert out["segmentation_masks"].shape == masks.shape and out["bounding_boxes"]["boxes"].shape == (4, 1, 4)
        assert 0 <= out["segmentation_masks"].numpy().min() and out["segmentation_masks"].numpy().max() <= 1
    translate = layers.RandAugment(num_ops=1, seed=0, bounding_box_format="xyxy").augmenters["random_translation"]
    drawn = {"translations": np.array([[-2.0, 3.0]], np.float32), "input_shape": (1, 6, 6, 3)}  # 2 left, 3 down
    moved = translate.transform_bounding_boxes({"boxes": np.array([[[2.0, 1.0, 4.0, 2.0]]], np.float32)}, drawn)
    np.testing.assert_allclose(moved["boxes"], [[[0.0, 4.0, 2.0, 5.0]]], atol=1e-6)


def test_aug_mix_same_transformation_as_keras():
    theirs, ours = keras.layers.AugMix(chain_depth=2, seed=6), layers.AugMix(chain_depth=2)
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(IMAGES), training=True)
    same = keras_numpy(drawn)  # before Keras applies it: it changes rotation matrices in place
    expected = keras.ops.convert_to_numpy(theirs.transform_images(keras.ops.convert_to_tensor(IMAGES), drawn))
    got = ours.transform_images(nn.ops.convert_to_tensor(IMAGES), same).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("name, kwargs", [("AugMix", {}), ("AugMix", {"all_ops": False, "num_chains": 2}),
                                          ("RandAugment", {}), ("RandAugment", {"num_ops": 3, "factor": 0.9})])
def test_policies_seeded_inactive_in_range(name, kwargs):
    layer, again = getattr(layers, name)(**kwargs, seed=7), getattr(layers, name)(**kwargs, seed=7)
    out = layer(IMAGES).numpy()
    np.testing.assert_array_equal(out, again(IMAGES).numpy())
    assert out.shape == IMAGES.shape and out.min() >= 0 and out.max() <= 255 + 1e-3
    assert not np.allclose(out, IMAGES)
    np.testing.assert_array_equal(layer(IMAGES, training=False).numpy(), IMAGES)
    assert set(layer.get_config()) == set(getattr(keras.layers, name)(**kwargs).get_config())


def test_pipeline_equals_keras_and_round_trips():
    theirs = keras.layers.Pipeline([keras.layers.CenterCrop(4, 5), keras.layers.AutoContrast()])
    ours = layers.Pipeline([layers.CenterCrop(4, 5), layers.AutoContrast()])
    np.testing.assert_allclose(ours(IMAGES).numpy(), keras.ops.convert_to_numpy(theirs(IMAGES)), rtol=1e-5, atol=1e-3)
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    again = layers.Pipeline.from_config(config)
    np.testing.assert_array_equal(again(IMAGES).numpy(), ours(IMAGES).numpy())
    with pytest.raises(ValueError, match="Pipeline: expected a config with a list"):
        layers.Pipeline.from_config({"name": "p"})


def _augmenting_model(lib):
    return lib.Sequential([
        lib.Input((6, 6, 3)),
        lib.layers.CenterCrop(4, 4),
        lib.layers.RandomBrightness(0.2, seed=1),
        lib.layers.Solarization(addition_factor=0.1, threshold_factor=(0.4, 0.8)),
        lib.layers.RandomPerspective(scale=0.2, seed=2),  # not RandomShear: Keras cannot read back its config
        lib.layers.RandAugment(num_ops=1, factor=0.3, seed=3),
        lib.layers.Pipeline([lib.layers.RandomHue(0.3), lib.layers.RandomGrayscale(0.2)]),
        lib.layers.AutoContrast(),
    ])


@pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer 'pipeline:UserWarning")  # Keras's Pipeline
@pytest.mark.parametrize("writer", ["nablanet", "keras"])
def test_keras_file_both_ways(tmp_path, writer):
    source = _augmenting_model(nn if writer == "nablanet" else keras)
    path = str(tmp_path / "augment.keras")
    source.save(path)
    loaded = (keras.saving.load_model if writer == "nablanet" else nn.saving.load_model)(path)
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in source.layers]
    for mine, other in zip(loaded.layers, source.layers):
        assert set(mine.get_config()) == set(other.get_config())
    expected = np.asarray(source.predict(IMAGES, verbose=0))  # inference: only the crop and AutoContrast act
    np.testing.assert_allclose(np.asarray(loaded.predict(IMAGES, verbose=0)), expected, rtol=1e-5, atol=1e-3)
    if writer == "keras":
        assert loaded.layers[4].get_config()["num_ops"] == 1 and loaded.layers[1].factor == (-0.2, 0.2)


@pytest.mark.parametrize("layer", [layers.MixUp(), layers.CutMix(), layers.RandAugment(value_range=(0, 1), num_ops=3),
                                   layers.AugMix(value_range=(0, 1), all_ops=False)],
                         ids=lambda layer: type(layer).__name__)
def test_float64_gradients_through_a_fixed_transformation(layer):
    x = np.random.default_rng(5).uniform(0.05, 0.95, (3, 4, 5, 3))
    drawn = layer.get_random_transformation(x, seed=3)
    gradcheck(lambda images: layer.transform_images(images, drawn), x)


EVERY_LAYER = {
    "CenterCrop": {"height": 4, "width": 5}, "RandomBrightness": {"factor": 0.2},
    "RandomColorDegeneration": {"factor": 0.2}, "RandomElasticTransform": {}, "RandomErasing": {},
    "RandomColorJitter": {"brightness_factor": 0.2, "hue_factor": 0.2, "saturation_factor": 0.3},
    "RandomGaussianBlur": {}, "RandomGrayscale": {}, "RandomHue": {"factor": 0.3}, "RandomInvert": {},
    "RandomPerspective": {}, "RandomPosterization": {"factor": 4}, "RandomSaturation": {"factor": 0.3},
    "RandomSharpness": {"factor": 0.3}, "RandomShear": {"x_factor": 0.3}, "Solarization": {"addition_factor": 0.2},
    "Equalization": {}, "AutoContrast": {}, "ContrastLimitedAdaptiveHistogramEqualization": {"tile_grid_size": (2, 2)},
    "MixUp": {}, "CutMix": {}, "AugMix": {}, "RandAugment": {}, "MaxNumBoundingBoxes": {"max_number": 3},
}


@pytest.mark.parametrize("name", sorted(EVERY_LAYER))
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_every_layer_takes_one_image_or_a_batch_in_both_layouts(name, data_format):
    images = layout(IMAGES[:2, :, :5], data_format)
    layer = getattr(layers, name)(**EVERY_LAYER[name], data_format=data_format, seed=0)
    batch, single = layer(images), layer(images[0])
    assert tuple(single.shape) == tuple(batch.shape[1:])
    model = nn.Sequential([nn.Input(images.shape[1:]), getattr(layers, name)(**EVERY_LAYER[name],
                                                                             data_format=data_format)])
    assert tuple(model.output_shape[1:]) == tuple(batch.shape[1:])
    assert model.predict(images, verbose=0).shape == tuple(batch.shape)


def _comparable(config):
    return json.loads(json.dumps({k: v for k, v in config.items() if k not in ("name", "dtype")}, default=str))


@pytest.mark.parametrize("name", sorted(EVERY_LAYER))
def test_configs_equal_keras(name):
    ours, theirs = getattr(layers, name)(**EVERY_LAYER[name]), getattr(keras.layers, name)(**EVERY_LAYER[name])
    assert _comparable(ours.get_config()) == _comparable(theirs.get_config())
