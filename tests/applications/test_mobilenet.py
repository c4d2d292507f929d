"""MobileNet against Keras's: the architecture (names, classes, weight shapes, parameters) with and
without the top, outputs on Keras's random weights saved in Keras's ImageNet file format, Keras's
ImageNet file found in Keras's cache, and the family's preprocessing."""

import numpy as np
import pytest

from nablanet.applications import mobilenet
from nablanet.applications.mobilenet import MobileNet

from .parity import (assert_close, assert_decode_is_keras, assert_preprocess_is_keras, assert_same_structure,
                     imagenet_cache, images, keras_predictions, keras_weights_file)

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

SMALL = dict(include_top=False, input_shape=(32, 32, 3), alpha=0.25, pooling="avg")


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    """Keras's MobileNet (alpha 0.25, no top, 32x32) with random weights in Keras's file format,
    and its outputs."""
    model = keras.applications.MobileNet(weights=None, **SMALL)
    path = keras_weights_file(model, tmp_path_factory.mktemp("mobilenet") / "mobilenet.h5")
    x = mobilenet.preprocess_input(images())
    return model, path, x, keras_predictions(model, x)


def test_architecture_without_top_is_keras(keras_small):
    assert_same_structure(MobileNet(weights=None, **SMALL), keras_small[0])


@pytest.mark.parametrize("kwargs", [dict(input_shape=(40, 32, 3), alpha=0.5, depth_multiplier=2, classes=10),
                                    dict(input_shape=(32, 32, 3), include_top=False, pooling="max", alpha=0.75)])
def test_architecture_is_keras(kwargs):
    assert_same_structure(MobileNet(weights=None, **kwargs), keras.applications.MobileNet(weights=None, **kwargs))


def test_outputs_on_keras_weights(keras_small):
    _, path, x, expected = keras_small
    assert_close(MobileNet(weights=path, **SMALL).predict(x, verbose=0), expected)


def test_imagenet_weights_are_keras_cached_file(keras_small, tmp_path, monkeypatch):
    """A 32x32 input gets the 224x224 file, as in Keras (and the model is named after it)."""
    model, _, x, expected = keras_small
    with pytest.raises(FileNotFoundError, match=r"mobilenet_2_5_224_tf_no_top\.h5.*looked at"):
        with pytest.warns(UserWarning, match="weights for 224x224"):
            MobileNet(weights="imagenet", **SMALL)
    imagenet_cache(tmp_path, monkeypatch, model, "mobilenet_2_5_224_tf_no_top.h5")
    with pytest.warns(UserWarning, match="the input is 32x32"):
        ours = MobileNet(weights="imagenet", **SMALL)
    assert ours.name == "mobilenet_0.25_224"
    assert_close(ours.predict(x, verbose=0), expected)


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="alpha in"):
        MobileNet(weights="imagenet", alpha=0.3)
    with pytest.raises(ValueError, match="depth_multiplier=1"):
        MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ValueError, match="at least 32x32"):
        MobileNet(weights=None, include_top=False, input_shape=(31, 64, 3))


def test_preprocessing_is_keras(monkeypatch):
    assert_preprocess_is_keras(mobilenet, keras.applications.mobilenet)
    assert_decode_is_keras(mobilenet, monkeypatch)
    np.testing.assert_allclose(mobilenet.preprocess_input(np.array([0.0, 127.5, 255.0])), [-1.0, 0.0, 1.0])


def test_outputs_with_top_on_keras_weights(tmp_path):
    """The classifier (a 1x1 convolution on pooled features, reshaped) too."""
    kwargs = dict(input_shape=(32, 32, 3), alpha=0.25, classes=7)
    theirs = keras.applications.MobileNet(weights=None, **kwargs)
    path = keras_weights_file(theirs, tmp_path / "mobilenet_top.h5", seed=3)
    x = mobilenet.preprocess_input(images(seed=3))
    ours = MobileNet(weights=path, **kwargs)
    assert_close(ours.predict(x, verbose=0), keras_predictions(theirs, x))
