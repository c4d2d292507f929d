"""Core, activation and merging layers: the layer contract, gradients, Keras equivalence."""

import numpy as np
import pytest

from nablanet import layers


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape, n_weights", [
    (layers.Dense, {"units": 3}, (4, 5), (4, 3), 2),
    (layers.Dense, {"units": 3, "use_bias": False, "activation": "tanh"}, (2, 4, 5), (2, 4, 3), 1),
    (layers.Activation, {"activation": "softplus"}, (4, 5), (4, 5), 0),
    (layers.Flatten, {}, (2, 3, 4), (2, 12), 0),
    (layers.Reshape, {"target_shape": (3, -1)}, (2, 12), (2, 3, 4), 0),
    (layers.Permute, {"dims": (2, 1)}, (2, 3, 4), (2, 4, 3), 0),
    (layers.RepeatVector, {"n": 3}, (2, 4), (2, 3, 4), 0),
    (layers.ReLU, {"negative_slope": 0.1, "max_value": 2.0}, (4, 5), (4, 5), 0),
    (layers.LeakyReLU, {}, (4, 5), (4, 5), 0),
    (layers.PReLU, {"alpha_initializer": "random_normal"}, (4, 5), (4, 5), 1),
    (layers.PReLU, {"shared_axes": [1]}, (2, 3, 5), (2, 3, 5), 1),
    (layers.ELU, {"alpha": 0.5}, (4, 5), (4, 5), 0),
    (layers.Softmax, {"axis": 0}, (4, 5), (4, 5), 0),
    (layers.Dropout, {"rate": 0.5}, (4, 5), (4, 5), 0),  # inference: the identity
])
def test_layer_contract_and_gradients(check_layer, cls, kwargs, input_shape, output_shape, n_weights):
    data = np.random.default_rng(1).uniform(0.1, 2, input_shape) * np.random.default_rng(2).choice([-1, 1], input_shape)
    check_layer(cls, kwargs, input_shape, output_shape, n_weights, input_data=data)


def test_dense_defaults_are_keras_defaults():
    layer = layers.Dense(4)
    assert type(layer.kernel_initializer).__name__ == "GlorotUniform"
    assert type(layer.bias_initializer).__name__ == "Zeros"
    layer(np.ones((1, 3)))
    assert np.all(layer.bias.numpy() == 0)
    assert np.abs(layer.kernel.numpy()).max() <= np.sqrt(6 / (3 + 4))


def test_dense_matches_keras_on_the_same_weights():
    keras = pytest.importorskip("keras")
    x = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    ours, theirs = layers.Dense(3, activation="relu"), keras.layers.Dense(3, activation="relu")
    theirs.build((None, 7))
    ours(x)
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in theirs.weights)
    ours.set_weights([kernel, bias])
    # float32 rounding bound of a 7-term dot product summed in any order: (7 + 1) eps sum |x w|
    bound = 8 * np.finfo(np.float32).eps * (np.abs(x) @ np.abs(kernel) + np.abs(bias))
    assert np.all(np.abs(ours(x).numpy() - keras.ops.convert_to_numpy(theirs(x))) <= bound)


def test_dropout_drops_and_rescales_only_in_training():
    layer = layers.Dropout(0.25, seed=3)
    x = np.ones((1000, 40), dtype=np.float32)
    out = layer(x, training=True).numpy()
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01 and np.allclose(out[kept], 1 / 0.75)
    assert np.array_equal(layer(x).numpy(), x)
    shared = layers.Dropout(0.5, noise_shape=(None, 1), seed=0)(x, training=True).numpy()
    assert np.all((shared == 0).all(axis=1) | (shared != 0).all(axis=1))


def test_merging_layers_and_their_gradients(check_layer):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for cls, expected in [(layers.Add, a + b), (layers.Subtract, a - b), (layers.Multiply, a * b),
                          (layers.Average, (a + b) / 2), (layers.Maximum, np.maximum(a, b)),
                          (layers.Minimum, np.minimum(a, b))]:
        np.testing.assert_allclose(cls(dtype="float64")([a, b]).numpy(), expected)
    assert layers.Concatenate()([a, b]).shape == (3, 8)
    np.testing.assert_allclose(layers.Dot(axes=1)([a, b]).numpy(), np.sum(a * b, axis=1, keepdims=True), rtol=1e-6)
    from nablanet import gradcheck

    gradcheck(lambda x, y: layers.Concatenate(axis=0)([x, y]), a, b)
    gradcheck(lambda x, y: layers.Dot(axes=1, normalize=True)([x, y]), a, b)


def test_functional_forms_build_graph_nodes():
    x = layers.Input(shape=(4,))
    y = layers.Input(shape=(4,))
    for fn in (layers.add, layers.subtract, layers.multiply, layers.average, layers.maximum, layers.minimum):
        assert fn([x, y]).shape == (None, 4)
    assert layers.concatenate([x, y]).shape == (None, 8)
    assert layers.dot([x, y], axes=1).shape == (None, 1)


def test_lambda_layer_infers_its_shape():
    x = layers.Input(shape=(3,))
    assert layers.Lambda(lambda t: t[:, :2] * 2)(x).shape == (None, 2)
    assert layers.Lambda(lambda t: t, output_shape=(5,))(x).shape == (None, 5)


def test_layer_errors_name_the_layer():
    with pytest.raises(ValueError, match="Dense: units must be a positive integer, got 0"):
        layers.Dense(0)
    dense = layers.Dense(2, name="d")
    dense(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"Dense 'd': expected inputs of shape \(None, 3\), got shape \(1, 4\)"):
        dense(np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"Dropout: rate must be a float in \[0, 1\), got 1.5"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match=r"cannot reshape samples of shape \(5,\)"):
        layers.Reshape((2, 2))(np.ones((1, 5)))
    with pytest.raises(TypeError, match=r"KerasTensor \+: cannot combine <KerasTensor .*> with \['a'\] \(list\)"):
        layers.Input(shape=(2,)) + ["a"]


def test_freezing_moves_weights_to_non_trainable():
    dense = layers.Dense(2)
    dense(np.ones((1, 3)))
    dense.trainable = False
    assert dense.trainable_weights == [] and len(dense.non_trainable_weights) == 2
    assert not dense.kernel.requires_grad
    dense.trainable = True
    assert len(dense.trainable_weights) == 2


def test_automatic_names_are_unique():
    a, b = layers.Dense(1), layers.Dense(1)
    assert a.name != b.name and a.name.startswith("dense")
