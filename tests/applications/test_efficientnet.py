"""EfficientNetB0 to B7 against Keras's: B0's architecture and outputs on Keras's random weights in
Keras's ImageNet file format, B0 with `weights="imagenet"` as Keras builds it (an extra rescaling
in front) from Keras's cache, a `.keras` file both ways (the `Normalization` front end), and B1 to
B7 against Keras's recorded architectures (building them in Keras takes minutes)."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.applications import efficientnet

from .conftest import md5
from .parity import (assert_close, assert_decode_is_keras, assert_preprocess_is_keras, assert_recorded_architecture,
                     assert_same_structure, imagenet_cache, images, keras_predictions, keras_weights_file)

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

SMALL = dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")
# Keras 3.15.1's EfficientNetB<i>(weights=None, input_shape=(32, 32, 3)): parameters and `digest`
# (names, classes, weight shapes, output shape), and its parameters without the top.
KERAS_RECORDS = {
    "EfficientNetB0": (5330571, "19023caf547857aa", 4049571),
    "EfficientNetB1": (7856239, "da2b0d28d7e18819", 6575239),
    "EfficientNetB2": (9177569, "16bb75786a4d3957", 7768569),
    "EfficientNetB3": (12320535, "92d03e78b0af50bd", 10783535),
    "EfficientNetB4": (19466823, "4a8d6785db288dd4", 17673823),
    "EfficientNetB5": (30562527, "90e97c39a2b1d2d2", 28513527),
    "EfficientNetB6": (43265143, "5c13c67fbec626db", 40960143),
    "EfficientNetB7": (66658687, "72197e59344c867f", 64097687),
}
CHEAP = ("EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3")


@pytest.fixture(scope="module")
def keras_b0(tmp_path_factory):
    """Keras's EfficientNetB0 (no top, 32x32) with random weights in Keras's file format, and its
    outputs on pixels in [0, 255]."""
    model = keras.applications.EfficientNetB0(weights=None, **SMALL)
    path = keras_weights_file(model, tmp_path_factory.mktemp("efficientnet") / "efficientnetb0.h5")
    x = images()
    return model, path, x, keras_predictions(model, x)


def test_architecture_without_top_is_keras(keras_b0):
    assert_same_structure(efficientnet.EfficientNetB0(weights=None, **SMALL), keras_b0[0])


@pytest.mark.parametrize("name", sorted(KERAS_RECORDS))
def test_architecture_is_keras_recorded(name):
    """With the top: Keras's structure; without it (the cheaper ones): Keras's parameters."""
    assert_recorded_architecture(getattr(efficientnet, name), KERAS_RECORDS[name], name in CHEAP)


def test_outputs_on_keras_weights(keras_b0):
    _, path, x, expected = keras_b0
    assert_close(efficientnet.EfficientNetB0(weights=path, **SMALL).predict(x, verbose=0), expected)


def test_imagenet_weights_as_keras_loads_them(keras_b0, tmp_path, monkeypatch):
    """Keras's ImageNet B0 has one more layer (a rescaling that corrects its files' normalization);
    both libraries read the same cached file, with its hash checked."""
    import keras.src.backend.config as keras_config
    from keras.src.applications import efficientnet as keras_efficientnet

    model, _, x, _ = keras_b0
    path = imagenet_cache(tmp_path, monkeypatch, model, "efficientnetb0_notop.h5")
    with pytest.raises(ValueError, match="is not Keras's efficientnetb0_notop.h5"):
        efficientnet.EfficientNetB0(weights="imagenet", **SMALL)
    for table in (efficientnet.IMAGENET_HASHES, keras_efficientnet.WEIGHTS_HASHES):
        monkeypatch.setitem(table, "b0", (table["b0"][0], md5(path)))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras_home"))
    theirs = keras.applications.EfficientNetB0(weights="imagenet", **SMALL)
    ours = efficientnet.EfficientNetB0(weights="imagenet", **SMALL)
    assert_same_structure(ours, theirs)
    assert_close(ours.predict(x, verbose=0), keras_predictions(theirs, x))


def test_keras_file_both_ways(keras_b0, tmp_path):
    model, _, x, expected = keras_b0
    model.save(tmp_path / "keras.keras")
    ours = nn.models.load_model(tmp_path / "keras.keras")
    assert_close(ours.predict(x, verbose=0), expected)
    ours.save(tmp_path / "ours.keras")
    assert_close(keras_predictions(keras.models.load_model(tmp_path / "ours.keras"), x), expected)


def test_normalization_front_end_has_keras_weights(keras_b0):
    """The `Normalization` layer's mean, variance and count travel with the weights."""
    theirs = keras_b0[0].get_layer(index=2)  # given random statistics by the fixture
    assert type(theirs).__name__ == "Normalization"
    ours = efficientnet.EfficientNetB0(weights=None, **SMALL).layers[2]
    assert not np.allclose(theirs.get_weights()[0], 0)
    ours.set_weights(theirs.get_weights())
    x = images(1, 4)
    np.testing.assert_allclose(ours(x).numpy(), keras_predictions(theirs, x), rtol=1e-5)


def test_preprocessing_is_keras(monkeypatch):
    assert_preprocess_is_keras(efficientnet, keras.applications.efficientnet)
    assert_decode_is_keras(efficientnet, monkeypatch)
