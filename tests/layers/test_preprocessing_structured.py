"""Normalization, Discretization and CategoryEncoding against Keras 3 (PyTorch backend): outputs
and dtypes over tables of inputs, adapt results, configs and `.keras` files both ways."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")

rng = np.random.default_rng(0)
X = rng.normal(size=(6, 3, 4)).astype(np.float32)
VALUES = np.concatenate([rng.normal(size=50), [0.0, 0.5, 1.5, -1.0]]).astype(np.float32)


def _same(ours, theirs):
    theirs = np.asarray(theirs)
    ours = ours.numpy() if hasattr(ours, "numpy") else np.asarray(ours)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours.shape, ours.dtype, theirs.shape,
                                                                       theirs.dtype)
    np.testing.assert_array_equal(ours, theirs)


def _config(layer):
    config = layer.get_config()
    config.pop("name")
    return config


@pytest.mark.parametrize("axis", [-1, None, 1, (1, 2)])
@pytest.mark.parametrize("invert", [False, True])
def test_normalization_adapt_matches_keras(axis, invert):
    ours, theirs = layers.Normalization(axis=axis, invert=invert), keras.layers.Normalization(axis=axis, invert=invert)
    ours.adapt(X)
    theirs.adapt(X)
    for w, v in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(w.numpy(), np.asarray(v), rtol=1e-6, atol=1e-7)
        assert w.numpy().dtype == np.asarray(v).dtype
    np.testing.assert_allclose(ours(X).numpy(), np.asarray(theirs(X)), rtol=1e-5, atol=1e-6)
    assert _config(ours) == _config(theirs)


def test_normalization_takes_keras_weights():
    theirs = keras.layers.Normalization(axis=(1, 2))
    theirs.adapt(X)
    ours = layers.Normalization(axis=(1, 2))
    ours(X)  # built with a zero mean and unit variance
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    assert [w.name.split("/")[-1] for w in ours.weights] == ["mean", "variance", "count"]
    np.testing.assert_allclose(ours(X).numpy(), np.asarray(theirs(X)), rtol=1e-5, atol=1e-6)


def test_normalization_adapt_on_batches_equals_the_whole():
    whole = layers.Normalization()
    whole.adapt(X.reshape(-1, 4))
    for data in ([X[:2].reshape(-1, 4), X[2:].reshape(-1, 4)], (b for b in X), _Batches(X)):
        batched = layers.Normalization()
        batched.adapt(data)
        np.testing.assert_allclose(batched.adapt_mean.numpy(), whole.adapt_mean.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(batched.adapt_variance.numpy(), whole.adapt_variance.numpy(), rtol=1e-5)


class _Batches(nn.utils.PyDataset):
    def __init__(self, data):
        super().__init__()
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        return self.data[i], np.zeros(len(self.data[i]))


@pytest.mark.parametrize("mean, variance", [(3.0, 2.0), ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])])
def test_normalization_given_mean_matches_keras(mean, variance):
    ours = layers.Normalization(mean=mean, variance=variance, invert=True)
    theirs = keras.layers.Normalization(mean=mean, variance=variance, invert=True)
    np.testing.assert_allclose(ours(X).numpy(), np.asarray(theirs(X)), rtol=1e-6)
    assert _config(ours) == _config(theirs) and not ours.weights


def test_normalization_gradient_and_errors():
    layer = layers.Normalization(dtype="float64")
    data = rng.normal(size=(5, 3))
    layer.adapt(data)
    gradcheck(lambda x: layer(x), data)
    with pytest.raises(ValueError, match="Normalization: expected both mean and variance"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match=r"Normalization 'n'.adapt: the layer was built for .*\(6, 3\)"):
        built = layers.Normalization(name="n")
        built.adapt(np.zeros((6, 3)))
        built.adapt(np.zeros((6, 5)))
    with pytest.raises(ValueError, match="Normalization 'e'.adapt: expected at least one value.*got empty data"):
        layers.Normalization(name="e").adapt([])


@pytest.mark.parametrize("kwargs", [{"bin_boundaries": [0.0, 0.5, 1.5]}, {"num_bins": 5},
                                    {"num_bins": 3, "epsilon": 0.1}])
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(kwargs, mode):
    ours, theirs = layers.Discretization(**kwargs, output_mode=mode), keras.layers.Discretization(**kwargs,
                                                                                                  output_mode=mode)
    if "num_bins" in kwargs:
        batches = np.split(VALUES[:50], 5)
        ours.adapt(batches)
        for batch in batches:  # Keras's adapt needs TensorFlow; these are the steps it takes
            theirs.update_state(batch)
        theirs.finalize_state()
        np.testing.assert_array_equal(ours.bin_boundaries, theirs.bin_boundaries)
    for inputs in (VALUES[:8], VALUES[:8].reshape(4, 2), VALUES[-4:].reshape(4, 1)):
        _same(ours(inputs), theirs(inputs))
        assert ours.compute_output_shape(inputs.shape) == theirs.compute_output_shape(inputs.shape)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}


def test_discretization_errors():
    with pytest.raises(ValueError, match="Discretization: expected output_mode in .*got 'bad'"):
        layers.Discretization(num_bins=2, output_mode="bad")
    with pytest.raises(ValueError, match="exactly one of bin_boundaries and num_bins"):
        layers.Discretization()
    with pytest.raises(NotImplementedError, match="Discretization: sparse=True is not available"):
        layers.Discretization(num_bins=2, output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="Discretization 'd'.adapt: expected at least one value"):
        layers.Discretization(num_bins=2, name="d").adapt(np.zeros((0,)))
    with pytest.raises(ValueError, match="construct it with num_bins"):
        layers.Discretization(bin_boundaries=[1.0]).adapt(VALUES)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("inputs", [[1, 2, 3], [[1, 2], [3, 3]], [[1], [3]], 2, [[0, -1]]], ids=str)
def test_category_encoding_matches_keras(mode, inputs):
    inputs = np.array(inputs)
    ours, theirs = layers.CategoryEncoding(4, mode), keras.layers.CategoryEncoding(4, mode)
    _same(ours(inputs), theirs(inputs))
    assert ours.compute_output_shape(inputs.shape) == theirs.compute_output_shape(inputs.shape)
    assert _config(ours) == _config(theirs)


def test_category_encoding_count_weights_and_errors():
    ids, weights = np.array([[1, 2], [3, 3]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    _same(layers.CategoryEncoding(4, "count")(ids, count_weights=weights),
          keras.layers.CategoryEncoding(4, "count")(ids, count_weights=weights))
    with pytest.raises(ValueError, match=r"CategoryEncoding 'c': expected ids in \[0, num_tokens=4\), got an id of 7"):
        layers.CategoryEncoding(4, name="c")(np.array([[1], [7]]))
    with pytest.raises(ValueError, match="CategoryEncoding: expected output_mode in .*got 'int'"):
        layers.CategoryEncoding(4, "int")
    with pytest.raises(ValueError, match="expected num_tokens >= 1, got num_tokens=None"):
        layers.CategoryEncoding()
    with pytest.raises(NotImplementedError, match="CategoryEncoding: sparse=True"):
        layers.CategoryEncoding(4, sparse=True)


def _numeric_model(lib):
    inputs = lib.Input(shape=(3,))
    norm = lib.layers.Normalization()
    norm.adapt(X[:, :, 0])
    bins = lib.layers.Discretization(num_bins=3)
    bins.update_state(X[:, :, 1])
    bins.finalize_state()
    counts = lib.layers.CategoryEncoding(3, "count")(bins(inputs))
    return lib.Model(inputs, lib.layers.Concatenate()([norm(inputs), counts]))


@pytest.mark.parametrize("writer", ["nablanet", "keras"])
def test_keras_file_both_ways(tmp_path, writer):
    source = _numeric_model(nn if writer == "nablanet" else keras)
    path = str(tmp_path / "model.keras")
    source.save(path)
    loaded = (keras.saving.load_model if writer == "nablanet" else nn.saving.load_model)(path)
    x = X[:, :, 2]
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(source(x)), rtol=1e-6, atol=1e-6)
