"""ConvNeXtTiny to XLarge against Keras's: Tiny's architecture and outputs on Keras's random weights
in Keras's ImageNet file format (from a path and from Keras's cache, SHA-256 checked), a `.keras`
file both ways (Keras's internal `LayerScale` and `StochasticDepth` by their Keras names), the
others against Keras's recorded architectures (building them in Keras takes minutes), and the two
internal layers themselves."""

import hashlib

import numpy as np
import pytest

import nablanet as nn
from nablanet import gradcheck
from nablanet.applications import convnext
from nablanet.applications.convnext import LayerScale, StochasticDepth

from .parity import (assert_close, assert_decode_is_keras, assert_preprocess_is_keras, assert_recorded_architecture,
                     assert_same_structure, imagenet_cache, images, keras_predictions, keras_weights_file)

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

SMALL = dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")
# Keras 3.15.1's ConvNeXt<v>(weights=None, input_shape=(32, 32, 3)): parameters and `digest`
# (names, classes, weight shapes, output shape), and its parameters without the top.
KERAS_RECORDS = {
    "ConvNeXtTiny": (28589128, "cd7ca191350e4f8e", 27820128),
    "ConvNeXtSmall": (50223688, "1ee8f3cbb7e88e4c", 49454688),
    "ConvNeXtBase": (88591464, "0e64411b0afb6374", 87566464),
    "ConvNeXtLarge": (197767336, "c2eaf3e2afe80d05", 196230336),
    "ConvNeXtXLarge": (350196968, "2489bedbb0cb40f8", 348147968),
}
CHEAP = ("ConvNeXtTiny", "ConvNeXtSmall")


@pytest.fixture(scope="module")
def keras_tiny(tmp_path_factory):
    """Keras's ConvNeXtTiny (no top, 32x32) with random weights (layer scales far from their
    initial 1e-6) in Keras's file format, and its outputs on pixels in [0, 255]."""
    model = keras.applications.ConvNeXtTiny(weights=None, **SMALL)
    path = keras_weights_file(model, tmp_path_factory.mktemp("convnext") / "convnext_tiny.h5")
    x = images()
    return model, path, x, keras_predictions(model, x)


def test_architecture_without_top_is_keras(keras_tiny):
    assert_same_structure(convnext.ConvNeXtTiny(weights=None, **SMALL), keras_tiny[0])


@pytest.mark.parametrize("name", sorted(KERAS_RECORDS))
def test_architecture_is_keras_recorded(name):
    """With the top: Keras's structure; without it (the cheaper ones): Keras's parameters."""
    assert_recorded_architecture(getattr(convnext, name), KERAS_RECORDS[name], name in CHEAP)


def test_outputs_on_keras_weights(keras_tiny):
    _, path, x, expected = keras_tiny
    assert_close(convnext.ConvNeXtTiny(weights=path, **SMALL).predict(x, verbose=0), expected)


def test_imagenet_weights_are_keras_cached_file_with_its_hash(keras_tiny, tmp_path, monkeypatch):
    model, _, x, expected = keras_tiny
    path = imagenet_cache(tmp_path, monkeypatch, model, "convnext_tiny_notop.h5")
    with pytest.raises(ValueError, match="is not Keras's convnext_tiny_notop.h5"):
        convnext.ConvNeXtTiny(weights="imagenet", **SMALL)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    with_top = convnext.IMAGENET_HASHES["convnext_tiny"][0]
    monkeypatch.setitem(convnext.IMAGENET_HASHES, "convnext_tiny", (with_top, sha256))
    assert_close(convnext.ConvNeXtTiny(weights="imagenet", **SMALL).predict(x, verbose=0), expected)
    with pytest.raises(ValueError, match="must contain 'convnext_tiny'"):
        convnext.ConvNeXtTiny(weights="imagenet", name="tiny", **SMALL)


def test_keras_file_both_ways(keras_tiny, tmp_path):
    model, _, x, expected = keras_tiny
    model.save(tmp_path / "keras.keras")
    ours = nn.models.load_model(tmp_path / "keras.keras")
    scale = ours.get_layer("convnext_tiny_stage_0_block_0_layer_scale")
    assert type(scale) is LayerScale and scale.get_config()["projection_dim"] == 96
    assert_close(ours.predict(x, verbose=0), expected)
    ours.save(tmp_path / "ours.keras")
    assert_close(keras_predictions(keras.models.load_model(tmp_path / "ours.keras"), x), expected)


def test_internal_layers_have_keras_configs():
    from keras.src.applications import convnext as keras_convnext

    for ours, theirs in [(LayerScale(0.5, 4, name="scale"), keras_convnext.LayerScale(0.5, 4, name="scale")),
                         (StochasticDepth(0.1, name="drop"), keras_convnext.StochasticDepth(0.1, name="drop"))]:
        mine, keras_config = nn.saving.serialize_keras_object(ours), keras.saving.serialize_keras_object(theirs)
        assert (mine["module"], mine["class_name"]) == (keras_config["module"], keras_config["class_name"])
        assert mine["config"] == keras_config["config"]
        assert type(nn.saving.deserialize_keras_object(keras_config)) is type(ours)


def test_layer_scale_gradients_and_values():
    layer = LayerScale(0.5, 3, dtype="float64")
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    np.testing.assert_allclose(layer(x).numpy(), 0.5 * x)
    gamma = np.array([0.3, -1.2, 2.0])

    def f(inputs, scale):
        saved, layer.gamma = layer.gamma, scale
        try:
            return layer.call(inputs)
        finally:
            layer.gamma = saved

    gradcheck(f, x, gamma)


def test_stochastic_depth_drops_whole_samples_in_training():
    layer = StochasticDepth(0.5)
    x = np.ones((2000, 2, 3), "float32")
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    out = layer(x, training=True).numpy()
    per_sample = out.reshape(len(out), -1)
    assert set(np.unique(per_sample)) <= {0.0, 2.0}
    assert np.all(per_sample.min(axis=1) == per_sample.max(axis=1))  # a sample is kept or dropped whole
    assert 0.4 < np.mean(per_sample[:, 0] == 0) < 0.6


def test_preprocessing_is_keras(monkeypatch):
    assert_preprocess_is_keras(convnext, keras.applications.convnext)
    assert_decode_is_keras(convnext, monkeypatch)
