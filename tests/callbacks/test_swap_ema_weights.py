"""SwapEMAWeights against Keras's: validation, evaluation, prediction and checkpoints with the averages."""

import numpy as np
import pytest

import nablanet as nk

keras = pytest.importorskip("keras")

rng = np.random.default_rng(3)
X = rng.standard_normal((16, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype("float32")
X_VAL, Y_VAL = X[:6] + 0.1, Y[:6]
WEIGHTS = [rng.standard_normal((3, 1)).astype("float32"), np.zeros(1, "float32")]


def _model(lib, use_ema=True):
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
    model.compile(lib.optimizers.SGD(learning_rate=0.1, use_ema=use_ema, ema_momentum=0.6), "mse")
    model.set_weights(WEIGHTS)
    return model


def _fit(lib, **kwargs):
    model = _model(lib)
    seen = []
    record = lib.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()))
    history = model.fit(X, Y, validation_data=(X_VAL, Y_VAL), epochs=3, batch_size=4, shuffle=False, verbose=0,
                        callbacks=[lib.callbacks.SwapEMAWeights(**kwargs), record])
    return history.history, seen, model.get_weights()


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_fit_validates_and_hands_on_the_averages_as_keras(swap_on_epoch):
    history, seen, final = _fit(nk, swap_on_epoch=swap_on_epoch)
    their_history, their_seen, their_final = _fit(keras, swap_on_epoch=swap_on_epoch)
    for name in their_history:
        np.testing.assert_allclose(history[name], their_history[name], rtol=1e-5, err_msg=name)
    for ours, theirs in zip(seen + [final], their_seen + [their_final]):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

    plain = _model(nk).fit(X, Y, validation_data=(X_VAL, Y_VAL), epochs=3, batch_size=4, shuffle=False, verbose=0)
    assert not np.allclose(plain.history["val_loss"], history["val_loss"], rtol=1e-3)  # the averages were used


def _stepped(lib):
    model = _model(lib)
    for start in range(0, 16, 4):  # train_on_batch leaves the trained weights, not the averages, in the model
        model.train_on_batch(X[start:start + 4], Y[start:start + 4])
    return model


def test_evaluate_and_predict_use_the_averages_then_restore_the_weights():
    ours, theirs = _stepped(nk), _stepped(keras)
    trained = ours.get_weights()
    swapped = ours.evaluate(X_VAL, Y_VAL, verbose=0, callbacks=[nk.callbacks.SwapEMAWeights()])
    their_swapped = theirs.evaluate(X_VAL, Y_VAL, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(swapped, their_swapped, rtol=1e-5)
    assert not np.isclose(swapped, ours.evaluate(X_VAL, Y_VAL, verbose=0), rtol=1e-3)
    for a, b in zip(ours.get_weights(), trained):
        np.testing.assert_array_equal(a, b)

    predicted = ours.predict(X_VAL, verbose=0, callbacks=[nk.callbacks.SwapEMAWeights()])
    their_predicted = theirs.predict(X_VAL, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(predicted, keras.ops.convert_to_numpy(their_predicted), rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.get_weights(), trained):  # Keras leaves the averages in after predict; we put back
        np.testing.assert_array_equal(a, b)


def test_without_use_ema_or_before_training_it_says_what_is_missing():
    with pytest.raises(ValueError, match="SwapEMAWeights: expected an optimizer with use_ema=True, got use_ema=False"):
        _model(nk, use_ema=False).evaluate(X, Y, verbose=0, callbacks=[nk.callbacks.SwapEMAWeights()])
    with pytest.raises(ValueError, match="use_ema=True"):
        _model(keras, use_ema=False).evaluate(X, Y, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    with pytest.raises(ValueError, match="SwapEMAWeights: the optimizer holds no moving averages yet"):
        _model(nk).evaluate(X, Y, verbose=0, callbacks=[nk.callbacks.SwapEMAWeights()])


def test_a_checkpoint_after_it_saves_the_averages(tmp_path):
    model = _model(nk)
    path = str(tmp_path / "epoch{epoch}.weights.h5")
    trained = []  # before the swap, the epoch's trained weights
    record = nk.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: trained.append(model.get_weights()))
    model.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0,
              callbacks=[record,
                         nk.callbacks.SwapEMAWeights(swap_on_epoch=True),
                         nk.callbacks.ModelCheckpoint(path, save_weights_only=True)])
    their = _model(keras)
    their.fit(X, Y, epochs=2, batch_size=4, shuffle=False, verbose=0,
              callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
                         keras.callbacks.ModelCheckpoint(str(tmp_path / "k{epoch}.weights.h5"),
                                                         save_weights_only=True)])
    for epoch in (1, 2):
        ours, theirs = _model(nk), _model(nk)
        ours.load_weights(str(tmp_path / f"epoch{epoch}.weights.h5"))
        theirs.load_weights(str(tmp_path / f"k{epoch}.weights.h5"))  # Keras's file, read by nablanet
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert not np.allclose(ours.get_weights()[0], trained[epoch - 1][0], rtol=1e-3)
