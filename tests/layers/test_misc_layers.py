"""Identity, ActivityRegularization, UnitNormalization, SpectralNormalization, Wrapper and InputSpec
against Keras (torch backend): outputs on copied weights, configs, `.keras` files both ways, errors."""

import numpy as np
import pytest

import nablanet
from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")

rng = np.random.default_rng(5)
X = rng.standard_normal((3, 4)).astype(np.float32)


def test_identity_passes_anything_and_its_mask():
    layer = layers.Identity()
    assert layer.built and layer.get_config().keys() == keras.layers.Identity().get_config().keys()
    out = layer({"a": X, "b": [X]})
    np.testing.assert_array_equal(out["b"][0], X)
    masked = layers.Masking()(np.array([[[1.0], [0.0]]]))
    np.testing.assert_array_equal(layer(masked)._keras_mask, [[True, False]])
    assert layers.Identity()(layers.Input((2, 5))).shape == (None, 2, 5)


def test_activity_regularization_adds_keras_penalty():
    ours, theirs = layers.ActivityRegularization(l1=0.1, l2=0.3), keras.layers.ActivityRegularization(l1=0.1, l2=0.3)
    np.testing.assert_array_equal(ours(X), X)
    theirs(X)
    assert float(ours.losses[0]) == pytest.approx(float(keras.ops.convert_to_numpy(theirs.losses[0])), rel=1e-6)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name}
    assert layers.ActivityRegularization.from_config(ours.get_config()).l2 == 0.3


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_unit_normalization_matches_keras_with_gradients(axis):
    x = rng.standard_normal((2, 3, 4))
    x[0, 0] = 0.0  # a zero vector stays zero, as Keras's epsilon keeps it
    ours, theirs = layers.UnitNormalization(axis=axis, dtype="float64"), keras.layers.UnitNormalization(axis=axis)
    np.testing.assert_allclose(ours(x), keras.ops.convert_to_numpy(theirs(x)), rtol=1e-6, atol=1e-7)
    assert ours.get_config() == {**theirs.get_config(), "name": ours.name, "dtype": ours.get_config()["dtype"]}
    gradcheck(ours.call, rng.standard_normal((2, 3, 4)))
    with pytest.raises(ValueError, match="axis 3 is out of bounds for an input of shape \\(2, 3\\)"):
        layers.UnitNormalization(axis=3)(np.ones((2, 3)))
    with pytest.raises(TypeError, match="axis must be an int or a list"):
        layers.UnitNormalization(axis="last")


@pytest.mark.parametrize("wrapped, x", [
    (lambda lib: lib.Dense(5), X),
    (lambda lib: lib.Conv1D(3, 2), rng.standard_normal((2, 6, 4)).astype(np.float32)),
    (lambda lib: lib.Embedding(7, 3), np.array([[1, 2, 6], [0, 3, 5]])),
], ids=["Dense", "Conv1D", "Embedding"])
def test_spectral_normalization_matches_keras_step_by_step(wrapped, x):
    theirs = keras.layers.SpectralNormalization(wrapped(keras.layers), power_iterations=2)
    ours = layers.SpectralNormalization(wrapped(layers), power_iterations=2)
    theirs(x), ours(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert ours.weights[1].name == "vector_u"
    ours.set_weights(theirs.get_weights())
    for training in (True, True, False):  # each training call moves vector_u and rewrites the kernel
        expected = keras.ops.convert_to_numpy(theirs(x, training=training))
        output = ours(x, training=training).numpy()
        if x.dtype.kind == "f":  # Keras casts an Embedding's vectors to the ids' integer dtype
            np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)
        for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    config = ours.get_config()
    assert config.keys() == theirs.get_config().keys()
    assert layers.SpectralNormalization.from_config(config).power_iterations == 2


def test_spectral_normalization_gradient_and_errors():
    layer = layers.SpectralNormalization(layers.Dense(3, dtype="float64"), dtype="float64")
    x = rng.standard_normal((2, 4))
    layer(x, training=True)
    gradcheck(layer.call, x)
    with pytest.raises(ValueError, match="expected axis -1 of the input shape to have value 4, but received an input "
                                         "of shape \\(2, 5\\)"):
        layer(np.ones((2, 5)))
    with pytest.raises(ValueError, match="power_iterations must be greater than zero, got 0"):
        layers.SpectralNormalization(layers.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="Flatten has no 'kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.Flatten())(np.ones((2, 3)))
    with pytest.raises(ValueError, match="expected a Layer to wrap, got 3"):
        layers.Wrapper(3)


def test_spectral_normalization_keras_files_both_ways(tmp_path, keras_files_both_ways):
    def build(lib, sequential):
        return sequential([lib.Input((4,)), lib.SpectralNormalization(lib.Dense(3)), lib.UnitNormalization(),
                           lib.ActivityRegularization(0.01), lib.Identity()])

    paths = keras_files_both_ways(tmp_path, build, X)
    assert "layers/spectral_normalization/vars/1" in paths  # vector_u, after the kernel


def test_time_distributed_is_a_wrapper():
    assert issubclass(layers.TimeDistributed, layers.Wrapper)
    assert not issubclass(layers.Bidirectional, layers.Wrapper)  # as in Keras
    layer = layers.TimeDistributed(layers.Dense(2))
    assert layers.TimeDistributed.from_config(layer.get_config()).layer.units == 2


def test_input_spec_checks_every_call_with_keras_messages():
    class Pairs(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = layers.InputSpec(ndim=3, axes={-1: 2})

        def call(self, inputs):
            return inputs

    layer = Pairs(name="pairs")
    with pytest.raises(ValueError, match="Input 0 of layer 'pairs' is incompatible with the layer: expected ndim=3, "
                                         "found ndim=2. Full shape received: \\(4, 2\\)"):
        layer(np.ones((4, 2)))
    with pytest.raises(ValueError, match="expected axis -1 of the input shape to have value 2"):
        layer(layers.Input((5, 3)))
    assert layer(np.ones((1, 5, 2))).shape == (1, 5, 2)
    spec = layers.InputSpec(min_ndim=2, max_ndim=3, dtype="float32", shape=None)
    for shape, message in [((4,), "expected min_ndim=2, found ndim=1"), ((1, 2, 3, 4), "expected max_ndim=3")]:
        with pytest.raises(ValueError, match=message):
            layers.input_spec.check_input_spec(spec, np.ones(shape, np.float32), "x")
    with pytest.raises(ValueError, match="expected dtype=float32, found dtype=int64"):
        layers.input_spec.check_input_spec(spec, np.ones((2, 2), np.int64), "x")
    with pytest.raises(ValueError, match="expected shape=\\(None, 3\\), found shape=\\(2, 4\\)"):
        layers.input_spec.check_input_spec(layers.InputSpec(shape=(None, 3)), np.ones((2, 4)), "x")
    with pytest.raises(ValueError, match="expects 2 input\\(s\\), but it received 1"):
        layers.input_spec.check_input_spec([spec, spec], np.ones((2, 2)), "x")
    for kwargs in [{"ndim": 3}, {"shape": (None, 3), "axes": {1: 3}}, {"min_ndim": 2, "axes": {-1: 4}}]:
        assert repr(layers.InputSpec(**kwargs)) == repr(keras.layers.InputSpec(**kwargs))
        assert layers.InputSpec(**kwargs).get_config() == keras.layers.InputSpec(**kwargs).get_config()


def test_spectral_normalization_trains_as_keras():
    x, y = rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 3)).astype(np.float32)

    def build(lib):
        model = lib.Sequential([lib.Input((4,)), lib.layers.SpectralNormalization(lib.layers.Dense(3))])
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        return model

    theirs, ours = build(keras), build(nablanet)
    ours.layers[0].set_weights(theirs.layers[0].get_weights())
    expected = theirs.fit(x, y, epochs=3, batch_size=4, verbose=0, shuffle=False).history["loss"]
    got = ours.fit(x, y, epochs=3, batch_size=4, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    for mine, reference in zip(ours.layers[0].get_weights(), theirs.layers[0].get_weights()):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_spectral_normalization_legacy_h5_both_ways(tmp_path):
    def build(lib):
        return lib.Sequential([lib.Input((4,)), lib.layers.SpectralNormalization(lib.layers.Dense(3)),
                               lib.layers.UnitNormalization()])

    theirs = build(keras)
    theirs.save(tmp_path / "t.h5")
    loaded = nablanet.saving.load_model(tmp_path / "t.h5")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    ours = build(nablanet)
    ours.save(tmp_path / "o.h5")
    loaded = keras.saving.load_model(tmp_path / "o.h5")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), ours.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded.layers[0].vector_u.numpy(), ours.layers[0].vector_u.numpy())
