"""MobileNetV2 against Keras's: the architecture with and without the top, outputs on Keras's
random weights in Keras's ImageNet file format (from a path and from Keras's cache), an input
tensor, and the family's preprocessing."""

import pytest

import nablanet as nn
from nablanet.applications import mobilenet_v2
from nablanet.applications.mobilenet_v2 import MobileNetV2

from .parity import (assert_close, assert_decode_is_keras, assert_preprocess_is_keras, assert_same_structure,
                     imagenet_cache, images, keras_predictions, keras_weights_file)

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

SMALL = dict(include_top=False, input_shape=(32, 32, 3), alpha=0.35)


@pytest.fixture(scope="module")
def keras_small(tmp_path_factory):
    """Keras's MobileNetV2 (alpha 0.35, no top, 32x32) with random weights in Keras's file format,
    and its outputs."""
    model = keras.applications.MobileNetV2(weights=None, **SMALL)
    path = keras_weights_file(model, tmp_path_factory.mktemp("mobilenet_v2") / "mobilenet_v2.h5")
    x = mobilenet_v2.preprocess_input(images())
    return model, path, x, keras_predictions(model, x)


def test_architecture_without_top_is_keras(keras_small):
    assert_same_structure(MobileNetV2(weights=None, **SMALL), keras_small[0])


@pytest.mark.parametrize("kwargs", [dict(input_shape=(96, 96, 3), alpha=1.3, classes=10),
                                    dict(input_shape=(32, 48, 3), include_top=False, pooling="avg", alpha=0.5)])
def test_architecture_is_keras(kwargs):
    assert_same_structure(MobileNetV2(weights=None, **kwargs), keras.applications.MobileNetV2(weights=None, **kwargs))


def test_outputs_on_keras_weights(keras_small):
    _, path, x, expected = keras_small
    assert_close(MobileNetV2(weights=path, **SMALL).predict(x, verbose=0), expected)


def test_imagenet_weights_are_keras_cached_file(keras_small, tmp_path, monkeypatch):
    model, _, x, expected = keras_small
    filename = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    with pytest.raises(FileNotFoundError, match=filename.replace(".", r"\.")):
        with pytest.warns(UserWarning, match="weights for 224x224"):
            MobileNetV2(weights="imagenet", **SMALL)
    imagenet_cache(tmp_path, monkeypatch, model, filename)  # Keras gives this file no hash
    with pytest.warns(UserWarning, match="the input is 32x32"):
        ours = MobileNetV2(weights="imagenet", **SMALL)
    assert ours.name == "mobilenetv2_0.35_224"
    assert_close(ours.predict(x, verbose=0), expected)


def test_input_tensor_names_the_model_as_keras():
    inputs = nn.Input(shape=(96, 96, 3))
    scaled = nn.layers.Rescaling(1.0)(inputs)
    ours = MobileNetV2(weights=None, include_top=False, alpha=0.35, input_tensor=scaled, pooling="avg")
    assert ours.inputs[0] is inputs and ours.output.shape == (None, 1280)
    assert ours.name == "mobilenetv2_0.35_None"  # Keras's rule: the rows of input_shape, None here


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="alpha in"):
        MobileNetV2(weights="imagenet", alpha=0.6)
    with pytest.raises(ValueError, match="classes=1000"):
        MobileNetV2(weights="imagenet", classes=10)


def test_preprocessing_is_keras(monkeypatch):
    assert_preprocess_is_keras(mobilenet_v2, keras.applications.mobilenet_v2)
    assert_decode_is_keras(mobilenet_v2, monkeypatch)
