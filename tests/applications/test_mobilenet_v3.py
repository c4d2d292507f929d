"""MobileNetV3Small and MobileNetV3Large against Keras's: the architectures with and without the
top (and minimalistic), outputs on Keras's random weights in Keras's ImageNet file format (from a
path and from Keras's cache, hash checked), a `.keras` file both ways (the hard sigmoid is a pair
of graph ops there), and the family's preprocessing."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.applications import mobilenet_v3
from nablanet.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small

from .conftest import md5
from .parity import (assert_close, assert_decode_is_keras, assert_preprocess_is_keras, assert_same_structure, digest,
                     imagenet_cache, images, keras_predictions, keras_weights_file)

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

SMALL = dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")
# Keras 3.15.1's MobileNetV3Large(weights=None, input_shape=(32, 32, 3)): parameters, `digest`.
KERAS_LARGE = (5507432, "a57ea927667c4ded")


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    """Keras's MobileNetV3Small (no top, 32x32) with random weights in Keras's file format, and its
    outputs on pixels in [0, 255]."""
    model = keras.applications.MobileNetV3Small(weights=None, **SMALL)
    path = keras_weights_file(model, tmp_path_factory.mktemp("mobilenet_v3") / "mobilenet_v3.h5")
    x = images()
    return model, path, x, keras_predictions(model, x)


def test_architecture_without_top_is_keras(keras_small):
    assert_same_structure(MobileNetV3Small(weights=None, **SMALL), keras_small[0])


@pytest.mark.parametrize("build, kwargs", [
    ("MobileNetV3Small", dict(input_shape=(32, 32, 3), classes=10, minimalistic=True, alpha=0.75)),
    ("MobileNetV3Large", dict(input_shape=(32, 32, 3), include_top=False, pooling="max", minimalistic=True,
                              include_preprocessing=False))])
def test_architecture_is_keras(build, kwargs):
    ours = getattr(mobilenet_v3, build)(weights=None, **kwargs)
    assert_same_structure(ours, getattr(keras.applications, build)(weights=None, **kwargs))


def test_large_with_top_is_keras_recorded():
    ours = MobileNetV3Large(weights=None, input_shape=(32, 32, 3))
    assert (ours.count_params(), digest(ours)) == KERAS_LARGE


def test_outputs_on_keras_weights(keras_small):
    _, path, x, expected = keras_small
    assert_close(MobileNetV3Small(weights=path, **SMALL).predict(x, verbose=0), expected)


def test_imagenet_weights_are_keras_cached_file_with_its_hash(keras_small, tmp_path, monkeypatch):
    model, _, x, expected = keras_small
    filename = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    path = imagenet_cache(tmp_path, monkeypatch, model, filename)
    with pytest.raises(ValueError, match=f"is not Keras's {filename}"):
        with pytest.warns(UserWarning, match="224x224 inputs"):
            MobileNetV3Small(weights="imagenet", **SMALL)  # the hash is Keras's real file's
    hashes = dict(mobilenet_v3.IMAGENET_HASHES)
    hashes["small_224_1.0_float"] = (hashes["small_224_1.0_float"][0], md5(path))
    monkeypatch.setattr(mobilenet_v3, "IMAGENET_HASHES", hashes)
    with pytest.warns(UserWarning, match="the input is 32x32"):
        ours = MobileNetV3Small(weights="imagenet", **SMALL)
    assert_close(ours.predict(x, verbose=0), expected)


def test_keras_file_both_ways(keras_small, tmp_path):
    model, _, x, expected = keras_small
    model.save(tmp_path / "keras.keras")
    ours = nn.models.load_model(tmp_path / "keras.keras")
    assert_close(ours.predict(x, verbose=0), expected)
    ours.save(tmp_path / "ours.keras")
    assert_close(keras_predictions(keras.models.load_model(tmp_path / "ours.keras"), x), expected)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="alpha 0.75 and 1.0"):
        MobileNetV3Small(weights="imagenet", minimalistic=True, alpha=0.75)
    with pytest.raises(ValueError, match="at least 32x32"):
        MobileNetV3Large(weights=None, input_shape=(16, 16, 3))
    ours = MobileNetV3Small(weights=None, include_top=True, alpha=0.75, classes=3)  # any size, also with the top
    assert ours.input.shape == (None, None, None, 3) and ours.output.shape == (None, 3)


def test_preprocessing_is_keras(monkeypatch):
    assert_preprocess_is_keras(mobilenet_v3, keras.applications.mobilenet_v3)
    assert_decode_is_keras(mobilenet_v3, monkeypatch)
    x = np.ones((1, 2, 2, 3))
    assert mobilenet_v3.preprocess_input(x) is x


def test_outputs_with_top_on_keras_weights(tmp_path):
    """The head (pooling, a 1x1 convolution with hard-swish, dropout, the logits convolution)."""
    kwargs = dict(input_shape=(32, 32, 3), alpha=0.75, classes=7, classifier_activation=None)
    theirs = keras.applications.MobileNetV3Large(weights=None, **kwargs)
    path = keras_weights_file(theirs, tmp_path / "mobilenet_v3_top.h5", seed=3)
    x = images(seed=3)
    ours = MobileNetV3Large(weights=path, **kwargs)
    assert_close(ours.predict(x, verbose=0), keras_predictions(theirs, x))
