"""nablanet.config and Keras's backend names: settings that really change what fit does, the honest
no-ops, and the refusals."""

import logging

import numpy as np
import pytest

import nablanet as nn
from nablanet import backend, config


@pytest.fixture(autouse=True)
def _restore_settings():
    saved = (config.floatx(), config.epsilon(), config.image_data_format(), config.is_interactive_logging_enabled(),
             config.max_epochs(), config.max_steps_per_epoch())
    yield
    config.set_floatx(saved[0])
    config.set_epsilon(saved[1])
    config.set_image_data_format(saved[2])
    (config.enable_interactive_logging if saved[3] else config.disable_interactive_logging)()
    config.set_max_epochs(saved[4])
    config.set_max_steps_per_epoch(saved[5])


def small_model():
    model = nn.Sequential([nn.Input((3,)), nn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


DATA = np.ones((32, 3), "float32"), np.ones((32, 1), "float32")


def test_defaults_match_keras():
    import keras

    for name in ("floatx", "epsilon", "image_data_format", "is_interactive_logging_enabled", "max_epochs",
                 "max_steps_per_epoch", "is_flash_attention_enabled", "is_traceback_filtering_enabled"):
        assert getattr(config, name)() == getattr(keras.config, name)(), name
    assert config.dtype_policy().name == keras.config.dtype_policy().name == "float32"


def test_disabling_interactive_logging_silences_fit_and_sends_progress_to_the_logger(capsys, caplog):
    small_model().fit(*DATA, epochs=1, verbose=1)
    assert "Epoch 1/1" in capsys.readouterr().out
    config.disable_interactive_logging()
    assert not config.is_interactive_logging_enabled()
    with caplog.at_level(logging.INFO, logger="nablanet"):
        small_model().fit(*DATA, epochs=1, verbose=1)
        small_model().fit(*DATA, epochs=1, verbose=2)
    assert capsys.readouterr().out == ""
    assert any("Epoch 1/1" in r.getMessage() for r in caplog.records)
    assert any("loss:" in r.getMessage() for r in caplog.records)
    config.enable_interactive_logging()
    small_model().fit(*DATA, epochs=1, verbose=2)
    assert "loss:" in capsys.readouterr().out


def test_fit_honours_max_epochs_and_max_steps_per_epoch_with_keras_warning():
    config.set_max_epochs(2)
    with pytest.warns(UserWarning, match="fit: limiting epochs to 2"):
        history = small_model().fit(*DATA, epochs=5, verbose=0)
    assert len(history.history["loss"]) == 2
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(3)
    seen = []
    counter = nn.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    with pytest.warns(UserWarning, match="fit: limiting steps_per_epoch to 3"):
        small_model().fit(*DATA, epochs=2, batch_size=4, verbose=0, callbacks=[counter])
    assert seen == [0, 1, 2, 0, 1, 2]
    small_model().fit(*DATA, epochs=1, batch_size=4, steps_per_epoch=2, verbose=0)  # under the cap: no warning


def test_dtype_policy_sets_the_dtype_layers_use_and_refuses_mixed_policies():
    config.set_dtype_policy("float64")
    assert config.floatx() == "float64" and config.dtype_policy().compute_dtype == "float64"
    layer = nn.layers.Dense(2)
    layer(np.ones((1, 3)))
    assert layer.kernel.dtype == np.float64
    config.set_dtype_policy(config.DTypePolicy("float32"))
    assert config.dtype_policy() == config.DTypePolicy("float32")
    with pytest.raises(ValueError, match="DTypePolicy: mixed precision \\('mixed_float16'\\) is not supported"):
        config.set_dtype_policy("mixed_float16")
    with pytest.raises(ValueError, match="DTypePolicy: expected one of .* got 'int8'"):
        config.set_dtype_policy("int8")
    assert config.floatx() == "float32"


def test_setters_validate_and_name_themselves():
    with pytest.raises(ValueError, match="set_image_data_format: expected 'channels_last' or 'channels_first'"):
        config.set_image_data_format("channels_middle")
    config.set_image_data_format("channels_first")
    assert backend.image_data_format() == "channels_first"
    with pytest.raises(ValueError, match="set_max_epochs: expected a positive integer or None, got 0"):
        config.set_max_epochs(0)
    with pytest.raises(ValueError, match="set_max_steps_per_epoch: expected a positive integer or None"):
        config.set_max_steps_per_epoch(2.5)


def test_backend_name_is_numpy_and_set_backend_refuses():
    assert config.backend() == backend.backend() == "numpy"
    with pytest.raises(NotImplementedError, match="set_backend: nablanet runs on NumPy only .* 'jax'"):
        config.set_backend("jax")


def test_switches_kept_for_keras_programs_are_stored_and_change_nothing_else():
    assert "never runs code from a file" in " ".join(config.enable_unsafe_deserialization.__doc__.split())
    assert config.enable_unsafe_deserialization() is None
    config.enable_flash_attention()
    assert config.is_flash_attention_enabled() is True
    config.disable_flash_attention()
    assert config.is_flash_attention_enabled() is False
    config.disable_traceback_filtering()
    assert not config.is_traceback_filtering_enabled()
    config.enable_traceback_filtering()
    assert config.is_traceback_filtering_enabled()


def test_get_uid_and_clear_session_as_keras():
    import keras

    keras.backend.clear_session()
    backend.clear_session()
    ours = [backend.get_uid("x"), backend.get_uid("x"), backend.get_uid("y")]
    assert ours == [keras.backend.get_uid("x"), keras.backend.get_uid("x"), keras.backend.get_uid("y")] == [1, 2, 1]
    nn.layers.Dense(1)
    backend.clear_session()
    assert backend.get_uid("x") == 1
    assert nn.layers.Dense(1).name == "dense"  # default names count from the start again


def test_is_keras_tensor_and_dtype_helpers():
    assert backend.is_keras_tensor(nn.Input((3,)))
    assert not backend.is_keras_tensor(nn.Tensor(np.ones(3)))
    assert not backend.is_keras_tensor(np.ones(3))
    assert backend.is_float_dtype("float32") and backend.is_int_dtype("int64")
    assert backend.result_type("int32", "float32") == "float32"
    assert backend.standardize_dtype(np.float64) == "float64"
