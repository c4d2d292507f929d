"""EinsumDense and RMSNormalization, the pieces attention layers are built from: Keras's outputs on
the same weights, gradients in float64, configs, shapes and errors."""

import numpy as np
import pytest

from nablanet import layers

keras = pytest.importorskip("keras")

EQUATIONS = [  # equation, output_shape, bias_axes, input shape
    ("ab,bc->ac", 4, "c", (3, 5)),
    ("abc,cde->abde", (None, 2, 4), "de", (2, 3, 5)),
    ("abcd,cde->abe", (None, 6), "e", (2, 3, 2, 4)),
    ("...b,bc->...c", 4, "c", (2, 3, 5)),
    ("ab...,bc->ac...", (4,), "c", (2, 5, 3)),
    ("abc,cd->abd", (3, 4), "bd", (2, 3, 5)),
    ("abc,bcd->ad", 4, None, (2, 3, 5)),
    ("abc,cd->abd", (3, 4), "b", (2, 3, 5)),
]


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("equation, output_shape, bias_axes, shape", EQUATIONS)
def test_einsum_dense_matches_keras_on_the_same_weights(equation, output_shape, bias_axes, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="tanh",
                                      bias_initializer="random_normal")
    expected = _numpy(theirs(x))
    ours = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="tanh")
    ours(x)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name.split("/")[-1] for w in ours.weights] == [w.name for w in theirs.weights]
    ours.set_weights([_numpy(w) for w in theirs.weights])
    np.testing.assert_allclose(ours(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert ours.compute_output_shape((None,) + shape[1:]) == theirs.compute_output_shape((None,) + shape[1:])


@pytest.mark.parametrize("case, expected", list(zip(EQUATIONS, [(3, 4), (2, 3, 2, 4), (2, 3, 6), (2, 3, 4), (2, 4, 3),
                                                     (2, 3, 4), (2, 4), (2, 3, 4)])))
def test_einsum_dense_gradients(check_layer, case, expected):
    equation, output_shape, bias_axes, shape = case
    layer = check_layer(layers.EinsumDense, {"equation": equation, "output_shape": output_shape,
                                             "bias_axes": bias_axes, "activation": "tanh"},
                        shape, expected, 2 if bias_axes else 1)
    assert layer.kernel.dtype == np.float64


def test_einsum_dense_symbolic_shapes_and_config_are_keras():
    x = layers.Input(shape=(32, 128))
    assert layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")(x).shape == (None, None, 64)
    assert layers.EinsumDense("...b,bc->...c", output_shape=64)(x).shape == (None, 32, 64)
    ours = layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d").get_config()
    theirs = keras.layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d").get_config()
    assert set(ours) == set(theirs)
    assert {k: v for k, v in ours.items() if k != "name"} == {k: v for k, v in theirs.items() if k != "name"}


def test_einsum_dense_kernel_fans_count_the_input_and_output_letters():
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 4, 16))
    layer(np.zeros((1, 2, 64), np.float32))
    kernel = layer.kernel.numpy()
    limit = np.sqrt(6 / (64 + 4 * 16))  # Keras: fan_in 64, fan_out heads * dim
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert abs(kernel.std() - limit / np.sqrt(3)) < 0.05 * limit


def test_einsum_dense_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"EinsumDense: expected an equation of the form .* got 'ab->b'"):
        layers.EinsumDense("ab->b", 3)
    with pytest.raises(ValueError, match=r"EinsumDense 'e1': bias_axes 'x' name \['x'\]"):
        layers.EinsumDense("ab,bc->ac", 3, bias_axes="x", name="e1")(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"EinsumDense 'e2': the equation 'abc,cd->abd' expects inputs of rank 3, "
                                         r"got shape \(2, 4\)"):
        layers.EinsumDense("abc,cd->abd", (None, 3), name="e2")(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"EinsumDense 'e3': axis 'b' of 'abc,cd->abd' has size 5 in the input"):
        layers.EinsumDense("abc,cd->abd", (4, 3), name="e3")(np.ones((2, 5, 4)))
    with pytest.raises(NotImplementedError, match="EinsumDense: lora_rank=2"):
        layers.EinsumDense("ab,bc->ac", 3, lora_rank=2)


@pytest.mark.parametrize("axis, shape", [(-1, (2, 3, 5)), ([1, 2], (2, 3, 4)), ([3, 2], (2, 2, 3, 4))])
def test_rms_normalization_matches_keras(axis, shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    theirs, ours = keras.layers.RMSNormalization(axis=axis), layers.RMSNormalization(axis=axis)
    theirs.build(shape)
    ours(x)
    scale = np.random.default_rng(2).uniform(0.5, 1.5, tuple(theirs.scale.shape)).astype(np.float32)
    theirs.set_weights([scale])
    ours.set_weights([scale])
    np.testing.assert_allclose(ours(x).numpy(), _numpy(theirs(x)), rtol=1e-5, atol=1e-6)
    assert ours.get_config()["axis"] == theirs.get_config()["axis"]


def test_rms_normalization_gradients_and_config(check_layer):
    check_layer(layers.RMSNormalization, {"epsilon": 1e-3}, (3, 4), (3, 4), 1)
    check_layer(layers.RMSNormalization, {"axis": [1, 2]}, (2, 3, 4), (2, 3, 4), 1)
    check_layer(layers.RMSNormalization, {"axis": 1}, (2, 3, 4), (2, 3, 4), 1)  # Keras on torch: trailing axes only
    ours, theirs = layers.RMSNormalization().get_config(), keras.layers.RMSNormalization().get_config()
    assert set(ours) == set(theirs) and ours["axis"] == theirs["axis"] and ours["epsilon"] == theirs["epsilon"]
    with pytest.raises(ValueError, match=r"RMSNormalization 'r': axis 3 is out of range for inputs of shape \(2, 3\)"):
        layers.RMSNormalization(axis=3, name="r")(np.ones((2, 3)))


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
@pytest.mark.parametrize("case", [EQUATIONS[1], EQUATIONS[2]], ids=["abc,cde->abde", "abcd,cde->abe"])
def test_einsum_dense_with_the_activation_fused_into_the_product_matches_keras(case, activation):
    equation, output_shape, bias_axes, shape = case
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation=activation,
                                      bias_initializer="random_normal")
    expected = _numpy(theirs(x))
    ours = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation=activation)
    ours(x)
    ours.set_weights([_numpy(w) for w in theirs.weights])
    np.testing.assert_allclose(ours(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_einsum_dense_with_a_fused_sigmoid_gradients(check_layer):
    check_layer(layers.EinsumDense, {"equation": "abc,cde->abde", "output_shape": (None, 2, 4), "bias_axes": "de",
                                     "activation": "sigmoid"}, (2, 3, 5), (2, 3, 2, 4), 2)
