"""Preprocessing and augmentation layers: exact where deterministic, statistical where random."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import gradcheck, layers

rng = np.random.default_rng(0)
IMAGES = rng.uniform(0, 255, (6, 8, 10, 3)).astype(np.float32)


def test_rescaling_and_resizing():
    np.testing.assert_allclose(layers.Rescaling(1 / 255, offset=-1)(IMAGES).numpy(), IMAGES / 255 - 1,
                               rtol=1e-6, atol=1e-6)
    resized = layers.Resizing(4, 5)(IMAGES).numpy()
    assert resized.shape == (6, 4, 5, 3)
    np.testing.assert_allclose(resized, IMAGES.reshape(6, 4, 2, 5, 2, 3).mean(axis=(2, 4)), rtol=1e-5)  # 2x down
    assert layers.Resizing(5, 5, crop_to_aspect_ratio=True)(IMAGES).shape == (6, 5, 5, 3)
    assert layers.Resizing(16, 20, interpolation="nearest")(IMAGES).shape == (6, 16, 20, 3)


def test_resizing_matches_torch_bilinear():
    torch = pytest.importorskip("torch")
    ours = layers.Resizing(13, 7)(IMAGES).numpy()
    theirs = torch.nn.functional.interpolate(torch.tensor(IMAGES.transpose(0, 3, 1, 2)), size=(13, 7),
                                             mode="bilinear", align_corners=False).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("layer", [layers.RandomFlip(seed=0), layers.RandomRotation(0.2, seed=0),
                                   layers.RandomTranslation(0.2, 0.1, seed=0), layers.RandomZoom(0.3, seed=0),
                                   layers.RandomContrast(0.5, seed=0)], ids=lambda layer: type(layer).__name__)
def test_augmentation_only_in_training(layer):
    np.testing.assert_array_equal(layer(IMAGES, training=False).numpy(), IMAGES)
    model = nn.Sequential([nn.Input(IMAGES.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(IMAGES, verbose=0), IMAGES)
    for out in (layer(IMAGES, training=True).numpy(), layer(IMAGES).numpy()):  # a direct call augments (Keras 3)
        assert out.shape == IMAGES.shape and not np.allclose(out, IMAGES)


def test_flip_is_an_exact_mirror():
    out = layers.RandomFlip("horizontal", seed=1)(IMAGES, training=True).numpy()
    for image, original in zip(out, IMAGES):
        assert np.array_equal(image, original) or np.array_equal(image, original[:, ::-1])


def test_quarter_turn_rotation_and_integer_translation_are_exact():
    square = rng.uniform(0, 1, (2, 5, 5, 1)).astype(np.float32)
    rotate = layers.RandomRotation((0.25, 0.25), fill_mode="constant")
    # positive factors turn counter-clockwise, as in Keras
    counter_clockwise = np.rot90(square[..., 0], k=1, axes=(1, 2))
    np.testing.assert_allclose(rotate(square, training=True).numpy()[..., 0], counter_clockwise, atol=1e-5)
    shift = layers.RandomTranslation((0.2, 0.2), (0.0, 0.0), fill_mode="constant", fill_value=7.0)
    out = shift(square, training=True).numpy()
    np.testing.assert_allclose(out[:, 1:], square[:, :-1], atol=1e-5)
    np.testing.assert_allclose(out[:, 0], 7.0)


@pytest.mark.parametrize("name, args, kwargs", [
    ("RandomRotation", [(0.1, 0.1)], {"fill_mode": "constant"}),
    ("RandomRotation", [(-0.07, -0.07)], {"fill_mode": "reflect"}),
    ("RandomTranslation", [(0.13, 0.13), (-0.21, -0.21)], {"fill_mode": "nearest"}),
    ("RandomZoom", [(-0.3, -0.3)], {"fill_mode": "constant"}),
    ("RandomZoom", [(0.2, 0.2), (0.1, 0.1)], {"fill_mode": "wrap"}),
])
def test_geometric_augmentation_matches_keras(name, args, kwargs):
    keras = pytest.importorskip("keras")
    images = rng.uniform(0, 1, (2, 7, 9, 3)).astype(np.float32)
    expected = np.asarray(getattr(keras.layers, name)(*args, **kwargs)(images, training=True))
    actual = getattr(layers, name)(*args, **kwargs)(images, training=True).numpy()
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_random_crop_trains_randomly_and_infers_centered():
    crop = layers.RandomCrop(4, 6, seed=0)
    np.testing.assert_array_equal(crop(IMAGES, training=False).numpy(), IMAGES[:, 2:6, 2:8])
    out = crop(IMAGES, training=True).numpy()
    assert out.shape == (6, 4, 6, 3)
    for window, image in zip(out, IMAGES):  # each crop is a window of its own image
        assert any(np.array_equal(window, image[top:top + 4, left:left + 6])
                   for top in range(5) for left in range(5))


def test_gradients_flow_through_geometric_augmentation():
    small = rng.uniform(0, 1, (2, 4, 4, 1))
    for layer in (layers.RandomZoom(0.2, seed=3, dtype="float64"), layers.Resizing(3, 5, dtype="float64")):
        layer.build((None, 4, 4, 1))
        state = layer._generator.bit_generator.state if getattr(layer, "_generator", None) else None

        def f(x, layer=layer, state=state):
            if state is not None:
                layer._generator.bit_generator.state = state  # the same random transform every call
            return layer.call(x, training=True) if isinstance(layer, layers.RandomZoom) else layer.call(x)

        gradcheck(f, small)


@pytest.mark.parametrize("layer", [layers.RandomFlip("horizontal", seed=0), layers.RandomRotation(0.2, seed=0),
                                   layers.RandomContrast(0.5, seed=0), layers.RandomCrop(4, 6, seed=0),
                                   layers.Resizing(4, 5)], ids=lambda layer: type(layer).__name__)
def test_one_image_without_a_batch_axis(layer):
    image = IMAGES[0]
    out = layer(image).numpy()
    assert out.ndim == 3 and out.shape[-1] == 3
    if isinstance(layer, layers.RandomFlip):  # a mirror of the image, never its channels reversed
        assert np.array_equal(out, image) or np.array_equal(out, image[:, ::-1])
    with pytest.raises(ValueError, match="expected images of shape"):
        layer(IMAGES[0, 0])


@pytest.mark.parametrize("size", [(3, 2), (2, 3), (5, 5)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_aspect_ratio_crop_matches_keras(size, interpolation):
    keras = pytest.importorskip("keras")
    images = rng.uniform(0, 1, (2, 10, 7, 3)).astype(np.float32)
    expected = np.asarray(keras.layers.Resizing(*size, interpolation=interpolation, crop_to_aspect_ratio=True)(images))
    actual = layers.Resizing(*size, interpolation=interpolation, crop_to_aspect_ratio=True)(images).numpy()
    np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_factor_rules_follow_keras():
    assert layers.RandomRotation(-0.2)._low == -0.2 and layers.RandomRotation(-0.2)._high == 0.2
    with pytest.raises(ValueError, match=r"within \[-1, 1\]"):
        layers.RandomZoom((-1.5, -1.5))
    with pytest.raises(ValueError, match=r"within \[-1, 1\]"):
        layers.RandomTranslation(0.1, 1.2)
    with pytest.raises(ValueError, match="lower bound above"):
        layers.RandomRotation((0.3, 0.1))
