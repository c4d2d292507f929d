"""EfficientNetV2B0 to B3, S, M and L against Keras's: B0's architecture and outputs on Keras's
random weights in Keras's ImageNet file format (from a path and from Keras's cache, hash checked),
a `.keras` file from Keras, and the others against Keras's recorded architectures (building them in
Keras takes minutes)."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.applications import efficientnet_v2

from .conftest import md5
from .parity import (assert_close, assert_decode_is_keras, assert_preprocess_is_keras, assert_recorded_architecture,
                     assert_same_structure, imagenet_cache, images, keras_predictions, keras_weights_file)

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

SMALL = dict(include_top=False, input_shape=(32, 32, 3), pooling="max")
# Keras 3.15.1's EfficientNetV2<v>(weights=None, input_shape=(32, 32, 3)): parameters and `digest`
# (names, classes, weight shapes, output shape), and its parameters without the top.
KERAS_RECORDS = {
    "EfficientNetV2B0": (7200312, "ddbd512e8e3307e0", 5919312),
    "EfficientNetV2B1": (8212124, "e172c43f7a758de0", 6931124),
    "EfficientNetV2B2": (10178374, "b2d29359700d794f", 8769374),
    "EfficientNetV2B3": (14467622, "03edf44e4f79d472", 12930622),
    "EfficientNetV2S": (21612360, "b81738cbe5e409e2", 20331360),
    "EfficientNetV2M": (54431388, "0b91f6d89d7c06f8", 53150388),
    "EfficientNetV2L": (119027848, "602afbe6c5842531", 117746848),
}
CHEAP = ("EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3")


@pytest.fixture(scope="module")
def keras_b0(tmp_path_factory):
    """Keras's EfficientNetV2B0 (no top, 32x32) with random weights in Keras's file format, and its
    outputs on pixels in [0, 255]."""
    model = keras.applications.EfficientNetV2B0(weights=None, **SMALL)
    path = keras_weights_file(model, tmp_path_factory.mktemp("efficientnet_v2") / "efficientnetv2-b0.h5")
    x = images()
    return model, path, x, keras_predictions(model, x)


def test_architecture_without_top_is_keras(keras_b0):
    assert_same_structure(efficientnet_v2.EfficientNetV2B0(weights=None, **SMALL), keras_b0[0])


@pytest.mark.parametrize("name", sorted(KERAS_RECORDS))
def test_architecture_is_keras_recorded(name):
    """With the top: Keras's structure; without it (the cheaper ones): Keras's parameters."""
    assert_recorded_architecture(getattr(efficientnet_v2, name), KERAS_RECORDS[name], name in CHEAP)


def test_outputs_on_keras_weights(keras_b0):
    _, path, x, expected = keras_b0
    assert_close(efficientnet_v2.EfficientNetV2B0(weights=path, **SMALL).predict(x, verbose=0), expected)


def test_imagenet_weights_are_keras_cached_file_with_its_hash(keras_b0, tmp_path, monkeypatch):
    model, _, x, expected = keras_b0
    path = imagenet_cache(tmp_path, monkeypatch, model, "efficientnetv2-b0_notop.h5")
    with pytest.raises(ValueError, match="is not Keras's efficientnetv2-b0_notop.h5"):
        efficientnet_v2.EfficientNetV2B0(weights="imagenet", **SMALL)
    monkeypatch.setitem(efficientnet_v2.IMAGENET_HASHES, "b0", (efficientnet_v2.IMAGENET_HASHES["b0"][0], md5(path)))
    assert_close(efficientnet_v2.EfficientNetV2B0(weights="imagenet", **SMALL).predict(x, verbose=0), expected)


def test_keras_file_from_keras(keras_b0, tmp_path):
    """Keras's `.keras` file (its front end's `Normalization` with a fixed mean and variance);
    the other way is shown on EfficientNetB0 (`Rescaling`, `Normalization`) and ConvNeXtTiny (a
    `Normalization` with a fixed mean and variance)."""
    model, _, x, expected = keras_b0
    model.save(tmp_path / "keras.keras")
    assert_close(nn.models.load_model(tmp_path / "keras.keras").predict(x, verbose=0), expected)


def test_s_m_l_scale_pixels_to_minus_one_one():
    """The large variants only rescale (x / 128 - 1), as Keras's do; without preprocessing, nothing."""
    ours = efficientnet_v2.EfficientNetV2S(weights=None, include_top=False, input_shape=(32, 32, 3))
    front = ours.layers[1]
    assert type(front).__name__ == "Rescaling" and (front.scale, front.offset) == (1.0 / 128.0, -1)
    assert ours.layers[2].name == "stem_conv"
    bare = efficientnet_v2.EfficientNetV2B0(weights=None, include_top=False, input_shape=(32, 32, 3),
                                            include_preprocessing=False)
    assert bare.layers[1].name == "stem_conv"


def test_preprocessing_is_keras(monkeypatch):
    assert_preprocess_is_keras(efficientnet_v2, keras.applications.efficientnet_v2)
    assert_decode_is_keras(efficientnet_v2, monkeypatch)
    x = np.zeros((1, 2, 2, 3))
    assert efficientnet_v2.preprocess_input(x) is x
