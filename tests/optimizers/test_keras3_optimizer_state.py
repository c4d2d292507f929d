"""Keras 3's newer optimizers inside `fit`, and their state through `.keras` and `.h5` files both
ways with Keras (torch backend): the same training history, every optimizer variable in Keras's
order (wrappers' included), and training that continues from a Keras file as it does in Keras."""

import os

import numpy as np
import pytest

import nablanet as nn
from nablanet.saving.layout import optimizer_arrays

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(11)
X = RNG.standard_normal((16, 6)).astype("float32")
Y = RNG.standard_normal((16, 3)).astype("float32")

OPTIMIZERS = {
    "lion": lambda o: o.Lion(2**-7),
    "lamb": lambda o: o.Lamb(2**-5),
    "adafactor": lambda o: o.Adafactor(0.05),
    "ftrl": lambda o: o.Ftrl(2**-3, l1_regularization_strength=0.001),
    "muon": lambda o: o.Muon(2**-6),
    "schedule_free_adamw": lambda o: o.ScheduleFreeAdamW(2**-6),
    "loss_scale": lambda o: o.LossScaleOptimizer(o.Adam(2**-7), initial_scale=2.0**6, dynamic_growth_steps=3),
    "multi": lambda o: o.MultiOptimizer(o.OptimizerMap(o.SGD(2**-4), {".*kernel": o.Adam(2**-7)})),
}


def model(lib, name):
    net = lib.Sequential([lib.Input((6,)), lib.layers.Dense(5, activation="tanh"), lib.layers.Dense(3)])
    net.compile(optimizer=OPTIMIZERS[name](lib.optimizers), loss="mse")
    return net


def keras_arrays(optimizer):
    return [np.asarray(v.numpy()) for v in optimizer.variables]


def assert_same_state(ours, theirs):
    mine, kept = [np.asarray(a) for a in optimizer_arrays(ours)], keras_arrays(theirs)
    assert [a.shape for a in mine] == [b.shape for b in kept]
    for a, b in zip(mine, kept):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32 state, as in test_against_keras


def fit(net, epochs):
    return net.fit(X, Y, batch_size=8, epochs=epochs, shuffle=False, verbose=0).history["loss"]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_history_and_keras_file_state_match_keras(tmp_path, name):
    theirs, ours = model(keras, name), model(nn, name)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(fit(ours, 2), fit(theirs, 2), rtol=1e-5)
    assert_same_state(ours.optimizer, theirs.optimizer)  # the same state, slot for slot, in Keras's order

    loaded_by_keras = keras.saving.load_model(ours.save(tmp_path / "ours.keras"))
    assert type(loaded_by_keras.optimizer).__name__ == type(ours.optimizer).__name__
    assert_same_state(ours.optimizer, loaded_by_keras.optimizer)

    theirs.save(tmp_path / "theirs.keras")
    loaded = nn.models.load_model(tmp_path / "theirs.keras")
    assert type(loaded.optimizer) is type(ours.optimizer)
    assert_same_state(loaded.optimizer, theirs.optimizer)
    np.testing.assert_allclose(fit(loaded, 1), fit(theirs, 1), rtol=1e-5)  # training continues as in Keras
    np.testing.assert_allclose(loaded.predict(X, verbose=0), np.asarray(theirs.predict(X, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    again = nn.models.load_model(loaded.save(tmp_path / "again.keras"))  # and through nablanet alone, exactly
    assert again.optimizer.iterations == loaded.optimizer.iterations
    for a, b in zip(optimizer_arrays(again.optimizer), optimizer_arrays(loaded.optimizer), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["adafactor", "muon", "loss_scale"])
def test_h5_state_crosses_both_ways(tmp_path, name):
    """Keras's loader of `.h5` files leaves the optimizer unbuilt; its own reader of
    `optimizer_weights` gives our arrays, shaped as the variables of a Keras optimizer built on the model."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    ours = model(nn, name)
    fit(ours, 1)
    ours.save(tmp_path / "ours.h5")
    with h5py.File(tmp_path / "ours.h5", "r") as f:
        stored = [np.asarray(a) for a in legacy_h5_format.load_optimizer_weights_from_hdf5_group(f)]
    reference = model(keras, name)
    reference.optimizer.build(reference.trainable_variables)
    assert [a.shape for a in stored] == [a.shape for a in keras_arrays(reference.optimizer)]
    for a, b in zip(stored, optimizer_arrays(ours.optimizer), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    theirs = model(keras, name)
    fit(theirs, 1)
    if name == "adafactor":  # Keras names its placeholders for 1-D variables alike, and h5 refuses the repeat
        with pytest.raises(ValueError, match="name already exists"):
            theirs.save(tmp_path / "theirs.h5")
        return
    theirs.save(tmp_path / "theirs.h5")
    assert_same_state(nn.models.load_model(tmp_path / "theirs.h5").optimizer, theirs.optimizer)


def test_loss_scale_optimizer_scales_the_loss_in_fit():
    """`fit` differentiates `scale_loss(loss)`: the inner optimizer sees the true gradient."""
    plain, scaled = model(nn, "lion"), model(nn, "loss_scale")
    scaled.set_weights(plain.get_weights())
    inner = nn.optimizers.Lion(2**-7)
    scaled.compile(optimizer=nn.optimizers.LossScaleOptimizer(inner, initial_scale=2.0**10), loss="mse")
    fit(plain, 1)
    fit(scaled, 1)
    for a, b in zip(plain.get_weights(), scaled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert float(scaled.optimizer.dynamic_scale) == 2.0**10 and int(scaled.optimizer.step_counter) == 2


@pytest.mark.parametrize("make", [
    lambda o: o.LossScaleOptimizer(o.Adam(0.001)),
    lambda o: o.MultiOptimizer(o.OptimizerMap(o.Nadam(0.003), {".*kernel": o.Adam(0.001)})),
], ids=["loss_scale", "multi"])
def test_wrapped_optimizers_keep_their_exact_scalars_through_keras_files(tmp_path, make):
    """Keras's file holds rates (and Nadam's product) in float32; nablanet's own record keeps them exact."""
    net = nn.Sequential([nn.Input((6,)), nn.layers.Dense(3)])
    net.compile(optimizer=make(nn.optimizers), loss="mse")
    fit(net, 1)
    loaded = nn.models.load_model(net.save(tmp_path / "m.keras"))
    assert loaded.optimizer.get_state()[1] == net.optimizer.get_state()[1]
    assert 0.001 in [o.learning_rate for o in getattr(loaded.optimizer, "optimizers", None) or
                     [loaded.optimizer.inner_optimizer]]
