"""Arguments that came with Keras's parameter lists: each does what it does in Keras, or is refused
with a message that names it."""

import contextlib
import io
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import nablanet as nb  # noqa: E402


def _numpy(x):
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)


def test_sparse_top_k_from_sorted_ids_matches_keras():
    labels = np.array([2, 0, 1, 3])
    ids = np.array([[1, 2, 0], [0, 3, 1], [3, 2, 0], [0, 1, 2]])
    for k in (1, 2, 3):
        theirs = keras.metrics.SparseTopKCategoricalAccuracy(k, from_sorted_ids=True)
        mine = nb.metrics.SparseTopKCategoricalAccuracy(k, from_sorted_ids=True)
        theirs.update_state(labels, ids)
        mine.update_state(labels, ids)
        assert float(_numpy(theirs.result())) == pytest.approx(float(mine.result()))


def test_progbar_averages_what_is_not_stateful_as_keras_does():
    def lines(progbar_class, **kwargs):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            bar = progbar_class(4, verbose=2, **kwargs)
            bar.update(1, [("loss", 1.0), ("acc", 0.5)])
            bar.update(3, [("loss", 3.0), ("acc", 0.7)])
            bar.update(4, [("loss", 9.0), ("acc", 0.9)], finalize=False)
            bar.update(4, [("loss", 5.0), ("acc", 0.8)])
        return out.getvalue().split(" - ")[-2:]

    for kwargs in ({}, {"stateful_metrics": ["acc"]}, {"stateless_metrics": ["loss"]}):
        assert lines(nb.utils.Progbar, **kwargs) == lines(keras.utils.Progbar, **kwargs)
    bar = nb.utils.Progbar(4, verbose=0)
    bar.update(1, [("loss", 1.0)])
    bar.update(3, [("loss", 4.0)])
    assert bar.values["loss"] == pytest.approx((1.0 * 1 + 4.0 * 2) / 3)
    with pytest.raises(ValueError, match="not both"):
        nb.utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def _model():
    model = nb.Sequential([nb.Input((2,)), nb.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_terminate_on_nan_raises_when_asked():
    x, y = np.ones((4, 2), "float32"), np.full((4, 1), 1e30, "float32")  # the squared error overflows
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(RuntimeError, match="TerminateOnNaN"):
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[nb.callbacks.TerminateOnNaN(raise_error=True)])
    with np.errstate(over="ignore", invalid="ignore"):
        history = _model().fit(x, y, epochs=3, verbose=0, callbacks=[nb.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1


def test_lambda_callback_takes_keras_s_positional_hooks_and_others_by_name():
    seen = []
    callback = nb.callbacks.LambdaCallback(lambda epoch, logs: seen.append(("begin", epoch)),
                                           on_predict_begin=lambda logs: seen.append("predict"))
    model = _model()
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[callback])
    model.predict(np.ones((2, 2)), verbose=0, callbacks=[callback])
    assert seen == [("begin", 0), ("begin", 1), "predict"]
    with pytest.raises(TypeError, match="not a callback hook"):
        nb.callbacks.LambdaCallback(on_epoch_finish=print)


def test_fit_uses_a_history_the_user_passes():
    history = nb.callbacks.History()
    returned = _model().fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[history])
    assert returned is history and len(history.history["loss"]) == 2
    plain = nb.callbacks.CallbackList([], add_history=False)
    assert plain.history is None and nb.callbacks.CallbackList([], add_history=True).history is not None


def test_sequential_add_and_pop_can_defer_the_rebuild():
    model = nb.Sequential([nb.Input((3,)), nb.layers.Dense(2)])
    model.add(nb.layers.Dense(4), rebuild=False)
    assert not model.built
    assert model.predict(np.ones((2, 3)), verbose=0).shape == (2, 4) and model.output.shape == (None, 4)
    popped = model.pop(rebuild=False)
    assert isinstance(popped, nb.layers.Dense) and not model.built
    model.build()
    assert model.output.shape == (None, 2)


def test_separable_conv_regularizers_and_constraints_reach_its_kernels():
    layer = nb.layers.SeparableConv2D(2, 3, depthwise_regularizer="l2", pointwise_regularizer="l1",
                                      pointwise_constraint=nb.constraints.NonNeg())
    layer(np.ones((1, 5, 5, 3), "float32"))
    assert layer.depthwise_kernel.regularizer is not None and layer.pointwise_kernel.regularizer is not None
    assert layer.pointwise_kernel.constraint is not None


def test_what_nablanet_cannot_honour_is_refused_by_name(tmp_path):
    with pytest.raises(NotImplementedError, match="lora_rank=4"):
        nb.layers.Dense(3, lora_rank=4)
    with pytest.raises(NotImplementedError, match="quantization_config"):
        nb.layers.Embedding(5, 2, quantization_config={"mode": "int8"})
    with pytest.raises(NotImplementedError, match="renorm=True"):
        nb.layers.BatchNormalization(renorm=True)
    with pytest.raises(NotImplementedError, match="antialias=True"):
        nb.layers.Resizing(4, 4, antialias=True)
    with pytest.warns(UserWarning, match="max_shard_size"):
        nb.saving.save_weights(_model(), str(tmp_path / "m.weights.h5"), max_shard_size=1)
    with pytest.raises(ValueError, match="aggregation"):
        nb.Variable(np.zeros(2), aggregation="median")
