"""Colour and histogram augmentation layers against Keras 3: the same transformation gives the
same images; deterministic layers equal Keras's outputs; random ones repeat with a seed, are
the identity outside training, and stay in `value_range`."""

import warnings

import numpy as np
import pytest

from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")

rng = np.random.default_rng(0)
IMAGES = rng.uniform(0, 255, (3, 6, 7, 3)).astype(np.float32)
UNIT = IMAGES / 255


def keras_numpy(value):
    """A Keras transformation (nested dicts and lists of tensors) as NumPy."""
    if isinstance(value, dict):
        return {k: keras_numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(keras_numpy(v) for v in value)
    if hasattr(value, "detach") or hasattr(value, "numpy"):
        return keras.ops.convert_to_numpy(value)
    return value


def same_transformation(ours, theirs, images, data_format="channels_last"):
    """Apply Keras's drawn transformation with both layers and compare."""
    images = images if data_format == "channels_last" else images.transpose(0, 3, 1, 2)
    drawn = theirs.get_random_transformation(keras.ops.convert_to_tensor(images), training=True)
    expected = keras.ops.convert_to_numpy(theirs.transform_images(keras.ops.convert_to_tensor(images), drawn))
    got = ours.transform_images(layers.Layer()._convert(images), keras_numpy(drawn))
    np.testing.assert_allclose(np.asarray(got.numpy() if hasattr(got, "numpy") else got), expected,
                               rtol=1e-5, atol=1e-5 * float(np.abs(expected).max() or 1))
    return expected


RANDOM = [  # (name, kwargs, images)
    ("RandomBrightness", {"factor": 0.3}, IMAGES),
    ("RandomBrightness", {"factor": (-0.2, 0.4), "value_range": (0, 1)}, UNIT),
    ("RandomColorDegeneration", {"factor": 0.8}, IMAGES),
    ("RandomGrayscale", {"factor": 0.5}, IMAGES),
    ("RandomHue", {"factor": 0.6}, IMAGES),
    ("RandomHue", {"factor": (0.1, 0.9), "value_range": (0, 1)}, UNIT),
    ("RandomSaturation", {"factor": (0.2, 0.8), "value_range": (0, 1)}, UNIT),
    ("RandomInvert", {"factor": 0.7}, IMAGES),
    ("RandomPosterization", {"factor": 4}, IMAGES),
    ("RandomPosterization", {"factor": (2, 6), "value_range": (0, 1)}, UNIT),
    ("Solarization", {"addition_factor": 0.4, "threshold_factor": (0.2, 0.7)}, IMAGES),
    ("Solarization", {"threshold_factor": 0.5, "value_range": (0, 1)}, UNIT),
    ("RandomSharpness", {"factor": 0.9}, IMAGES),
    ("RandomGaussianBlur", {"factor": 0.8, "kernel_size": 5, "sigma": (0.3, 1.0)}, IMAGES),
]
CHANNELS_FIRST = {"RandomColorDegeneration", "RandomGrayscale", "RandomHue", "RandomSaturation", "RandomSharpness",
                  "RandomGaussianBlur"}


@pytest.mark.parametrize("name, kwargs, images", RANDOM, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(RANDOM)])
def test_same_transformation_as_keras(name, kwargs, images):
    formats = ["channels_last"] + (["channels_first"] if name in CHANNELS_FIRST else [])
    for data_format in formats:
        extra = {} if name in ("RandomBrightness", "Solarization") else {"data_format": data_format}
        for seed in (1, 2):
            same_transformation(getattr(layers, name)(**kwargs, **extra), getattr(keras.layers, name)(
                **kwargs, **extra, seed=seed), images, data_format)


@pytest.mark.parametrize("name, kwargs, images", RANDOM, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(RANDOM)])
def test_seeded_inactive_in_range_and_config(name, kwargs, images):
    layer, again = getattr(layers, name)(**kwargs, seed=3), getattr(layers, name)(**kwargs, seed=3)
    out = layer(images).numpy()
    np.testing.assert_array_equal(out, again(images).numpy())
    np.testing.assert_array_equal(layer(images, training=False).numpy(), images)
    high = kwargs.get("value_range", (0, 255))[1]
    assert out.shape == images.shape and out.min() >= -1e-4 * high and out.max() <= high * (1 + 1e-5)
    assert set(layer.get_config()) == set(getattr(keras.layers, name)(**kwargs).get_config())
    assert layer(images[0]).shape == images[0].shape  # one image, no batch axis


def test_grayscale_and_degeneration_make_gray_images():
    for layer in (layers.RandomGrayscale(factor=1.0), layers.RandomColorDegeneration((1.0, 1.0))):
        out = layer(IMAGES).numpy()
        np.testing.assert_allclose(out, np.repeat(out[..., :1], 3, axis=-1), rtol=1e-6)
        np.testing.assert_allclose(out[..., 0], IMAGES @ np.array([0.2989, 0.587, 0.114], np.float32), rtol=1e-5)
    np.testing.assert_array_equal(layers.RandomGrayscale(factor=0.0)(IMAGES).numpy(), IMAGES)


def test_invert_brightness_posterize_statistics():
    np.testing.assert_allclose(layers.RandomInvert(factor=(1.0, 1.0))(IMAGES).numpy(), 255 - IMAGES)
    shifted = layers.RandomBrightness((0.1, 0.1))(IMAGES).numpy()
    np.testing.assert_allclose(shifted, np.minimum(IMAGES + 25.5, 255), rtol=1e-6)
    posterized = layers.RandomPosterization(factor=(2, 2))(IMAGES).numpy()
    assert set(np.unique(posterized)) <= {0.0, 64.0, 128.0, 192.0}
    hue = layers.RandomHue((0.0, 0.0))(IMAGES).numpy()  # a zero turn keeps the colours
    np.testing.assert_allclose(hue, IMAGES, rtol=1e-4, atol=1e-3)


def test_color_jitter_matches_keras_with_fixed_factors():
    kwargs = {"brightness_factor": (0.1, 0.1), "contrast_factor": 0.0, "saturation_factor": (0.7, 0.7),
              "value_range": (0, 1)}
    expected = keras.ops.convert_to_numpy(keras.layers.RandomColorJitter(**kwargs, seed=1)(UNIT))
    np.testing.assert_allclose(layers.RandomColorJitter(**kwargs, seed=1)(UNIT).numpy(), expected, rtol=1e-5,
                               atol=1e-6)
    layer = layers.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.3, saturation_factor=0.4,
                                     hue_factor=0.2, seed=5)
    out = layer(IMAGES).numpy()
    np.testing.assert_array_equal(out, layers.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.3,
                                                                saturation_factor=0.4, hue_factor=0.2,
                                                                seed=5)(IMAGES).numpy())
    np.testing.assert_array_equal(layer(IMAGES, training=False).numpy(), IMAGES)
    assert set(layer.get_config()) == set(keras.layers.RandomColorJitter(brightness_factor=0.2).get_config())


DETERMINISTIC = [
    ("Equalization", {}, IMAGES),
    ("Equalization", {"bins": 64, "value_range": (0, 1)}, UNIT),
    ("AutoContrast", {}, IMAGES * 0.5 + 40),
    ("AutoContrast", {"value_range": (0, 1)}, UNIT * 0.3 + 0.2),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"tile_grid_size": (2, 3)}, IMAGES),
    ("ContrastLimitedAdaptiveHistogramEqualization", {"tile_grid_size": (4, 2), "clip_limit": 0.0,
                                                      "value_range": (0, 1)}, UNIT),
]


@pytest.mark.parametrize("name, kwargs, images", DETERMINISTIC,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(DETERMINISTIC)])
def test_deterministic_layers_equal_keras(name, kwargs, images):
    formats = ["channels_last"] + (["channels_first"] if name != "AutoContrast" else [])
    for data_format in formats:
        x = images if data_format == "channels_last" else images.transpose(0, 3, 1, 2)
        ours, theirs = getattr(layers, name)(**kwargs, data_format=data_format), getattr(keras.layers, name)(
            **kwargs, data_format=data_format)
        with warnings.catch_warnings():  # torch warns inside Keras's Equalization (Tensor.T on 0-d tensors)
            warnings.simplefilter("ignore", UserWarning)
            expected = keras.ops.convert_to_numpy(theirs(x))
        np.testing.assert_allclose(ours(x).numpy(), expected, rtol=1e-5, atol=1e-5 * float(expected.max()))
        assert set(ours.get_config()) == set(theirs.get_config())


def test_auto_contrast_spans_the_range_and_keeps_constant_images():
    out = layers.AutoContrast()(IMAGES * 0.5 + 40).numpy()
    np.testing.assert_allclose(out.min(axis=(1, 2)), 0, atol=1e-3)
    np.testing.assert_allclose(out.max(axis=(1, 2)), 255, rtol=1e-6)
    flat = np.full((1, 3, 3, 3), 7.0, np.float32)
    np.testing.assert_array_equal(layers.AutoContrast()(flat).numpy(), flat)


@pytest.mark.parametrize("make, message", [
    (lambda: layers.RandomBrightness(1.5), "RandomBrightness: expected factor"),
    (lambda: layers.RandomHue(-0.2), "RandomHue: expected factor"),
    (lambda: layers.RandomGrayscale(2.0), "RandomGrayscale: expected factor between 0 and 1, got factor=2.0"),
    (lambda: layers.RandomPosterization(9), "RandomPosterization: expected factor"),
    (lambda: layers.Solarization(addition_factor=1.5), "Solarization: expected addition_factor"),
    (lambda: layers.RandomGaussianBlur(kernel_size=4), "RandomGaussianBlur: expected kernel_size"),
    (lambda: layers.RandomSharpness(0.5, value_range=(0, 1, 2)), "RandomSharpness: expected value_range"),
])
def test_bad_arguments_name_the_layer(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_wrong_rank_names_the_layer():
    with pytest.raises(ValueError, match=r"RandomHue 'random_hue\w*': expected images of shape .* got shape \(6, 7\)"):
        layers.RandomHue(0.2)(IMAGES[0, ..., 0])


@pytest.mark.parametrize("layer", [
    layers.RandomBrightness(0.2, value_range=(0, 1)), layers.RandomColorDegeneration(0.5, value_range=(0, 1)),
    layers.RandomHue(0.5, value_range=(0, 1)), layers.RandomSaturation((0.3, 0.6), value_range=(0, 1)),
    layers.RandomSharpness(0.8, value_range=(0, 1)), layers.RandomGaussianBlur(value_range=(0, 1)),
    layers.Solarization(0.2, (0.3, 0.9), value_range=(0, 1)), layers.AutoContrast(value_range=(0, 1)),
    layers.RandomColorJitter((0, 1), brightness_factor=0.1, contrast_factor=0.2, saturation_factor=0.3),
], ids=lambda layer: type(layer).__name__)
def test_float64_gradients_through_a_fixed_transformation(layer):
    x = np.random.default_rng(5).uniform(0.05, 0.95, (2, 4, 5, 3))
    drawn = layer.get_random_transformation(x, seed=3)
    gradcheck(lambda images: layer.transform_images(images, drawn), x)
