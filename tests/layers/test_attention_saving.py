"""A small transformer with every attention layer through `.keras`, `.weights.h5` and `.h5` files,
both ways between Keras and nablanet: the same predictions, and Keras's weight paths
(`multi_head_attention/query_dense/vars`, `_gate_dense`, GroupQueryAttention's `_query_dense`)."""

import zipfile

import h5py
import numpy as np
import pytest

import nablanet
from nablanet import layers

keras = pytest.importorskip("keras")

IDS = np.array([[3, 1, 4, 1, 0, 0], [5, 9, 0, 0, 0, 0], [2, 6, 5, 3, 5, 8]])


def _model(lib, model_class):
    ids = lib.Input(shape=(6,), dtype="int32")
    x = lib.Embedding(10, 8)(ids)  # padding masks: test_attention.py (Keras drops them at run time after MHA)
    a = lib.MultiHeadAttention(2, 4, use_gate=True, name="mha")(x, x, use_causal_mask=True)
    x = lib.LayerNormalization()(lib.Add()([x, a]))
    g = lib.GroupQueryAttention(4, 4, 2, name="gqa")(x, x)
    x = lib.LayerNormalization()(lib.Add()([x, g]))
    f = lib.Dense(8, activation="relu")(x)
    x = lib.Add()([x, lib.Attention(use_scale=True)([f, x]), lib.AdditiveAttention()([f, x])])
    x = lib.EinsumDense("ab,bc->ac", 8, bias_axes="c", activation="tanh")(lib.GlobalAveragePooling1D()(x))
    x = lib.RMSNormalization()(x)
    return model_class(ids, lib.Dense(3)(x))


def _random_weights(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.2, tuple(w.shape)).astype(np.float32) * rng.choice([-1, 1], tuple(w.shape))
                       for w in model.weights])


def _paths(archive):
    with zipfile.ZipFile(archive) as z, h5py.File(z.open("model.weights.h5")) as f:
        found = []
        f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(found)


def test_keras_file_from_keras_loads_here(tmp_path):
    theirs = _model(keras.layers, keras.Model)
    _random_weights(theirs, 0)
    theirs.save(tmp_path / "t.keras")
    ours = nablanet.saving.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), theirs.predict(IDS, verbose=0), rtol=1e-5, atol=1e-5)
    assert type(ours.get_layer("gqa")).__name__ == "GroupedQueryAttention"


def test_keras_file_from_here_loads_in_keras_with_keras_weight_paths(tmp_path):
    ours = _model(layers, nablanet.Model)
    _random_weights(ours, 1)
    ours.save(tmp_path / "o.keras")
    theirs = keras.saving.load_model(tmp_path / "o.keras")
    np.testing.assert_allclose(theirs.predict(IDS, verbose=0), ours.predict(IDS, verbose=0), rtol=1e-5, atol=1e-5)
    reference = _model(keras.layers, keras.Model)
    reference.save(tmp_path / "r.keras")
    assert _paths(tmp_path / "o.keras") == _paths(tmp_path / "r.keras")
    assert "layers/mha/_gate_dense/vars/0" not in _paths(tmp_path / "o.keras")  # named by class, as Keras
    assert "layers/multi_head_attention/_gate_dense/vars/0" in _paths(tmp_path / "o.keras")
    assert "layers/grouped_query_attention/_query_dense/vars/1" in _paths(tmp_path / "o.keras")
    again = nablanet.saving.load_model(tmp_path / "o.keras")
    np.testing.assert_array_equal(again.predict(IDS, verbose=0), ours.predict(IDS, verbose=0))


def test_weights_files_both_ways(tmp_path):
    ours, theirs = _model(layers, nablanet.Model), _model(keras.layers, keras.Model)
    _random_weights(ours, 2)
    ours.save_weights(tmp_path / "o.weights.h5")
    theirs.load_weights(tmp_path / "o.weights.h5")
    np.testing.assert_allclose(theirs.predict(IDS, verbose=0), ours.predict(IDS, verbose=0), rtol=1e-5, atol=1e-5)
    _random_weights(theirs, 3)
    theirs.save_weights(tmp_path / "t.weights.h5")
    ours.load_weights(tmp_path / "t.weights.h5")
    np.testing.assert_allclose(ours.predict(IDS, verbose=0), theirs.predict(IDS, verbose=0), rtol=1e-5, atol=1e-5)


def test_legacy_h5_round_trip(tmp_path):
    ours = _model(layers, nablanet.Model)
    _random_weights(ours, 4)
    ours.save(tmp_path / "o.h5")
    again = nablanet.saving.load_model(tmp_path / "o.h5")
    np.testing.assert_array_equal(again.predict(IDS, verbose=0), ours.predict(IDS, verbose=0))
