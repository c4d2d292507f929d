"""Keras arguments that nablanet accepts and ignores: a non-default value warns, naming the function,
the argument and why; the default (or a value nablanet honours anyway) says nothing."""

import warnings

import numpy as np
import pytest

import nablanet as nn
from nablanet.compat import warn_ignored


def test_warn_ignored_names_the_function_the_argument_and_why():
    with pytest.warns(UserWarning, match=r"^f: nablanet ignores x=3 \(no reason\)$"):
        warn_ignored("f", "x", 3, "no reason", default=1)


@pytest.mark.parametrize("value, default, honoured", [(1, 1, ()), (None, None, ()), ("auto", "auto", ()),
                                                      (False, "auto", (False,)), (True, None, (True,))])
def test_warn_ignored_is_silent_for_the_default_and_honoured_values(value, default, honoured):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_ignored("f", "x", value, "why", default=default, honoured=honoured)


@pytest.mark.parametrize("value, default", [(True, 1), (1, True), (np.zeros(2), None), ([0], None)])
def test_warn_ignored_does_not_mistake_equal_looking_values_for_the_default(value, default):
    with pytest.warns(UserWarning, match="nablanet ignores x="):
        warn_ignored("f", "x", value, "why", default=default)


def test_the_warning_points_at_the_callers_line():
    model = nn.Sequential([nn.layers.Dense(1, input_shape=(2,))])
    with pytest.warns(UserWarning) as record:
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
    assert record[0].filename == __file__


def _model():
    model = nn.Sequential([nn.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


CASES = [
    ("Model.compile", "steps_per_execution", lambda: _model().compile("sgd", "mse", steps_per_execution=8)),
    ("Model.compile", "jit_compile", lambda: _model().compile("sgd", "mse", jit_compile=True)),
    ("BackupAndRestore", "double_checkpoint", lambda: nn.callbacks.BackupAndRestore("b", double_checkpoint=True)),
    ("Embedding", "input_length", lambda: nn.layers.Embedding(10, 2, input_length=5)),
    ("Input", "tensor", lambda: nn.layers.Input(shape=(2,), tensor=np.zeros((1, 2)))),
    ("InputLayer", "input_tensor", lambda: nn.layers.InputLayer(shape=(2,), input_tensor=np.zeros((1, 2)))),
    ("Lambda", "mask", lambda: nn.layers.Lambda(lambda x: x, mask=lambda x, m: m)),
    ("AUC", "num_labels", lambda: nn.metrics.AUC(multi_label=True, num_labels=3)),
    ("LSTM", "unroll", lambda: nn.layers.LSTM(2, unroll=True)),
    ("GRU", "use_cudnn", lambda: nn.layers.GRU(2, use_cudnn=True)),
    ("SimpleRNN", "time_major", lambda: nn.layers.SimpleRNN(2, time_major=True)),
    ("Bidirectional.reset_states", "states",
     lambda: nn.layers.Bidirectional(nn.layers.LSTM(2, stateful=True)).reset_states([np.zeros((1, 2))] * 4)),
]


@pytest.mark.parametrize("where, name, call", CASES, ids=[f"{w}-{n}" for w, n, _ in CASES])
def test_ignored_keras_arguments_warn(where, name, call):
    with pytest.warns(UserWarning, match=rf"^{where}: nablanet ignores {name}=.* \(.+\)$"):
        call()


def test_save_and_load_warn_about_zipped_and_safe_mode(tmp_path):
    model = _model()
    path = str(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match=r"^Model.save: nablanet ignores zipped=False"):
        model.save(path, zipped=False)
    model.save(path, zipped=True)  # what nablanet does anyway: silent
    with pytest.warns(UserWarning, match=r"^load_model: nablanet ignores safe_mode=False"):
        nn.models.load_model(path, safe_mode=False)


def test_arguments_nablanet_honours_anyway_are_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _model().compile("sgd", "mse", run_eagerly=True, jit_compile=False, auto_scale_loss=False)
        nn.layers.GRU(2, use_cudnn=False, implementation=1)
        # summary's layout options are all honoured (tests/models/test_keras_semantics.py compares them)
        _model().summary(line_length=80, positions=[0.3, 0.6, 1.0], expand_nested=True, show_trainable=True,
                         layer_range=["dense", "dense"], print_fn=lambda *a: None)
