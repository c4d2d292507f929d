"""Regularizers, constraints and the noise layers: Keras's values, applied where Keras applies them."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import constraints, layers, regularizers

W = np.random.default_rng(0).standard_normal((5, 4))


@pytest.mark.parametrize("name, kwargs", [("L1", {"l1": 0.3}), ("L2", {"l2": 0.2}), ("L1L2", {"l1": 0.1, "l2": 0.05})])
def test_penalties_match_keras(name, kwargs):
    keras = pytest.importorskip("keras")
    ours = float(getattr(regularizers, name)(**kwargs)(W))
    penalty = getattr(keras.regularizers, name)(**kwargs)
    theirs = float(keras.ops.convert_to_numpy(penalty(keras.ops.convert_to_tensor(W))))
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert isinstance(regularizers.get(name.lower() if name != "L1L2" else "l1_l2"), getattr(regularizers, name))


@pytest.mark.parametrize("name, kwargs", [("MaxNorm", {"max_value": 1.5}), ("NonNeg", {}), ("UnitNorm", {"axis": 1}),
                                          ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.2, "rate": 0.7})])
def test_constraints_match_keras(name, kwargs):
    keras = pytest.importorskip("keras")
    ours = getattr(constraints, name)(**kwargs)(W)
    theirs = keras.ops.convert_to_numpy(getattr(keras.constraints, name)(**kwargs)(keras.ops.convert_to_tensor(W)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_constraint_holds_after_every_update():
    model = nn.Sequential([layers.Dense(4, input_shape=(5,), kernel_constraint=constraints.MaxNorm(0.5),
                                        kernel_initializer="ones")])
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.5), loss="mse")
    model.fit(np.ones((8, 5)), np.full((8, 4), 10.0), epochs=3, verbose=0)
    assert np.all(np.linalg.norm(model.get_weights()[0], axis=0) <= 0.5 + 1e-6)


def test_model_losses_hold_weight_and_activity_penalties():
    dense = layers.Dense(2, input_shape=(3,), kernel_regularizer=regularizers.L1(0.1),
                         activity_regularizer=regularizers.L2(0.01), kernel_initializer="ones")
    model = nn.Sequential([dense])
    x = np.ones((4, 3), np.float32)
    out = model(x)
    values = sorted(float(loss.item()) for loss in model.losses)
    assert values == pytest.approx(sorted([0.1 * 6, 0.01 * float(np.sum(out.numpy() ** 2)) / 4]))


def test_noise_layers_are_identity_at_inference_and_keep_statistics_in_training():
    x = np.random.default_rng(1).standard_normal((4000, 20)).astype(np.float32)
    for layer, mean, std in [(layers.GaussianNoise(0.5, seed=0), 0.0, np.sqrt(1.25)),
                             (layers.GaussianDropout(0.2, seed=0), 0.0, np.sqrt(1 + 0.25)),
                             (layers.AlphaDropout(0.1, seed=0), 0.0, 1.0)]:
        np.testing.assert_array_equal(layer(x).numpy(), x)
        noisy = layer(x, training=True).numpy()
        assert abs(noisy.mean() - mean) < 0.03 and abs(noisy.std() - std) < 0.05, type(layer).__name__
    images = np.ones((10, 4, 4, 3), np.float32)
    dropped = layers.SpatialDropout2D(0.5, seed=0)(images, training=True).numpy()
    per_channel = dropped.reshape(10, 16, 3)
    assert np.all((per_channel == 0).all(axis=1) | (per_channel == 2).all(axis=1))
    sequences = layers.SpatialDropout1D(0.5, seed=0)(np.ones((10, 7, 3), np.float32), training=True).numpy()
    assert np.all((sequences == 0).all(axis=1) | (sequences == 2).all(axis=1))


def test_regularization_layers_round_trip_their_config():
    for layer in [layers.GaussianNoise(0.3), layers.GaussianDropout(0.2), layers.AlphaDropout(0.1),
                  layers.SpatialDropout1D(0.2), layers.SpatialDropout2D(0.2)]:
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_matches_keras_with_its_gradient(mode):
    keras = pytest.importorskip("keras")
    from nablanet import gradcheck

    ours = regularizers.OrthogonalRegularizer(factor=0.25, mode=mode)  # Keras keeps factor in float32
    theirs = keras.regularizers.OrthogonalRegularizer(factor=0.25, mode=mode)
    assert float(ours(W)) == pytest.approx(float(keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(W)))),
                                           rel=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert regularizers.get("orthogonal_regularizer").get_config() == {"factor": 0.01, "mode": "rows"}
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    gradcheck(ours, W)
    with pytest.raises(ValueError, match="rank 2, got shape \\(5, 4, 1\\)"):
        ours(W[..., None])
    with pytest.raises(ValueError, match="mode must be 'rows' or 'columns', got 'diagonal'"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


def test_constraint_function_names_and_deserialize_match_keras():
    keras = pytest.importorskip("keras")
    for name in ("max_norm", "min_max_norm", "non_neg", "unit_norm"):
        assert getattr(constraints, name) is getattr(constraints, type(getattr(keras.constraints, name)()).__name__)
        config = keras.constraints.serialize(getattr(keras.constraints, name)())
        restored = constraints.deserialize(config)
        assert type(restored).__name__ == config["class_name"] and restored.get_config() == config["config"]
