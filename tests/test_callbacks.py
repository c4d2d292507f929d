"""Callbacks: Keras's semantics on scripted sequences, checked against Keras itself."""

import csv
import math
import warnings

import numpy as np
import pytest

import nablanet as nn
from nablanet import callbacks, layers

X = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
Y = np.random.default_rng(1).standard_normal((16, 1)).astype(np.float32)
SEQUENCE = [1.0, 0.8, 0.81, 0.79, 0.795, 0.9, 0.85, 0.7, 0.75, 0.76, 0.77, 0.78]
EPOCHS = len(SEQUENCE)


def scripted(values, key="val_loss"):
    """A callback that overwrites `key` in the epoch logs with the next scripted value."""
    def on_epoch_end(epoch, logs):
        logs[key] = values[epoch]
    return on_epoch_end


def run(framework, extra, epochs=EPOCHS, key="val_loss", values=SEQUENCE, lr=0.01):
    """Fit a tiny model with the scripted logs; return the history and the per-epoch weights."""
    model = framework.Sequential([framework.Input(shape=(3,)), framework.layers.Dense(1)])
    model.compile(optimizer=framework.optimizers.SGD(learning_rate=lr), loss="mse")
    seen = []
    record = framework.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append([w.copy() for w in model.get_weights()]))
    inject = framework.callbacks.LambdaCallback(on_epoch_end=scripted(values, key))
    history = model.fit(X, Y, epochs=epochs, batch_size=16, verbose=0, callbacks=[record, inject] + extra)
    return model, history, seen


EARLY_STOPPING_CASES = [
    {"patience": 2},
    {"patience": 3, "min_delta": 0.02},
    {"patience": 2, "restore_best_weights": True},
    {"patience": 1, "baseline": 0.75, "restore_best_weights": True},
    {"patience": 2, "start_from_epoch": 4},
    {"patience": 20, "restore_best_weights": True},  # never stops: restores at train end anyway
]


@pytest.mark.parametrize("kwargs", EARLY_STOPPING_CASES, ids=str)
def test_early_stopping_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    ours_stop, theirs_stop = callbacks.EarlyStopping(**kwargs), keras.callbacks.EarlyStopping(**kwargs)
    model, history, seen = run(nn, [ours_stop])
    _, keras_history, _ = run(keras, [theirs_stop])
    assert len(history.history["loss"]) == len(keras_history.history["loss"])
    assert ours_stop.stopped_epoch == theirs_stop.stopped_epoch
    assert ours_stop.best_epoch == theirs_stop.best_epoch
    if kwargs.get("restore_best_weights"):
        for restored, recorded in zip(model.get_weights(), seen[ours_stop.best_epoch]):
            np.testing.assert_array_equal(restored, recorded)


def test_early_stopping_on_accuracy_goes_up():
    stop = callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    model = nn.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    inject = callbacks.LambdaCallback(on_epoch_end=scripted([0.5, 0.6, 0.7, 0.65, 0.64, 0.9], "val_accuracy"))
    history = model.fit(X, (Y > 0).astype(float), epochs=6, verbose=0, callbacks=[inject, stop])
    assert len(history.history["loss"]) == 4 and stop.best_epoch == 2  # stops at the first drop


@pytest.mark.parametrize("kwargs", [{"patience": 1, "factor": 0.5}, {"patience": 2, "factor": 0.2, "cooldown": 2},
                                    {"patience": 1, "factor": 0.1, "min_lr": 0.004, "min_delta": 0.05}], ids=str)
def test_reduce_lr_on_plateau_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    _, history, _ = run(nn, [callbacks.ReduceLROnPlateau(**kwargs)])
    _, keras_history, _ = run(keras, [keras.callbacks.ReduceLROnPlateau(**kwargs)])
    np.testing.assert_allclose(history.history["learning_rate"], keras_history.history["learning_rate"], rtol=1e-6)
    assert len(set(history.history["learning_rate"])) > 1  # the case really reduces


def test_learning_rate_scheduler_matches_keras():
    keras = pytest.importorskip("keras")

    def schedule(epoch, lr):
        return lr if epoch < 3 else lr * math.exp(-0.1)

    _, history, _ = run(nn, [callbacks.LearningRateScheduler(schedule)], epochs=6)
    _, keras_history, _ = run(keras, [keras.callbacks.LearningRateScheduler(schedule)], epochs=6)
    np.testing.assert_allclose(history.history["learning_rate"], keras_history.history["learning_rate"], rtol=1e-6)
    one_argument = callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    _, history, _ = run(nn, [one_argument], epochs=3)
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3])


def test_terminate_on_nan_keeps_the_last_finite_weights(capsys):
    model = nn.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=1e6), loss="mse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the overflow that makes the NaN
        history = model.fit(X * 100, Y, epochs=50, batch_size=4, verbose=0, callbacks=[callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) < 50
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert "Invalid loss, terminating training" in capsys.readouterr().out


def test_csv_logger_writes_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    run(nn, [callbacks.CSVLogger(path)], epochs=2)
    run(nn, [callbacks.CSVLogger(path, append=True)], epochs=3)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["0", "1", "0", "1", "2"]
    assert float(rows[1]["val_loss"]) == SEQUENCE[1] and "loss" in rows[0]


def test_model_checkpoint_formats_names_and_keeps_the_best(tmp_path):
    pattern = str(tmp_path / "model-{epoch:02d}-{val_loss:.2f}.keras")
    run(nn, [callbacks.ModelCheckpoint(pattern, save_best_only=True)], epochs=5)
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["model-01-1.00.keras", "model-02-0.80.keras", "model-04-0.79.keras"]
    model = nn.models.load_model(tmp_path / "model-04-0.79.keras")
    assert model.predict(X, verbose=0).shape == (16, 1)
    weights = str(tmp_path / "w-{epoch}.safetensors")
    run(nn, [callbacks.ModelCheckpoint(weights, save_weights_only=True, save_freq=1)], epochs=2)
    assert (tmp_path / "w-2.safetensors").exists()


def test_gradient_monitor_logs_norms_and_warns():
    model = nn.Sequential([layers.Dense(4, activation="relu", input_shape=(3,), name="hidden"),
                           layers.Dense(1, name="out")])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[callbacks.GradientMonitor()])
    for key in ("grad_norm/hidden", "weight_norm/out", "update_ratio/hidden"):
        assert len(history.history[key]) == 3 and all(v > 0 for v in history.history[key])
    diverging = nn.Sequential([layers.Dense(1, input_shape=(3,))])
    diverging.compile(optimizer=nn.optimizers.SGD(learning_rate=0.5), loss="mse")
    with pytest.warns(callbacks.ConvergenceWarning, match="diverging|exploding"):
        diverging.fit(X * 10, Y, epochs=4, batch_size=16, verbose=0, callbacks=[callbacks.GradientMonitor()])


def test_history_plot_saves_a_png_per_metric(tmp_path):
    pytest.importorskip("matplotlib")
    _, history, _ = run(nn, [], epochs=3)
    paths = history.plot(tmp_path / "plots")
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == ["loss.png"]
    with open(paths[0], "rb") as handle:
        assert handle.read(4) == b"\x89PNG"


def test_every_hook_is_called_with_params():
    calls = []

    class Recorder(callbacks.Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                calls.append(name)
            return super().__getattribute__(name)

    model = nn.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    recorder = Recorder()
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0, callbacks=[recorder], validation_data=(X, Y))
    model.evaluate(X, Y, verbose=0, callbacks=[recorder])
    model.predict(X, verbose=0, callbacks=[recorder])
    for hook in ("on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end",
                 "on_epoch_end", "on_train_end", "on_test_begin", "on_test_batch_end", "on_test_end",
                 "on_predict_begin", "on_predict_batch_end", "on_predict_end"):
        assert hook in calls, hook
    assert recorder.model is model and recorder.params["epochs"] == 1


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    import sys

    _, history, _ = run(nn, [], epochs=1)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'nablanet\[plot\]'"):
        history.plot("/tmp/never-written")
