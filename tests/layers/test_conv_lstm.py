"""ConvLSTM1D/2D/3D: outputs, states and masks against Keras (torch backend) on copied weights,
float64 gradients, dropout, stateful runs, configs, `.keras` files both ways, training, errors."""

import os

import numpy as np
import pytest

import nablanet as nn
from nablanet import gradcheck, layers, ops

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Keras's ConvLSTM runs many tiny torch convolutions, for which starting threads costs more than it saves."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

CASES = [
    ("ConvLSTM2D", {"filters": 3, "kernel_size": 3}, (2, 4, 6, 5, 2)),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": (3, 2), "padding": "same", "return_sequences": True,
                    "data_format": "channels_first"}, (2, 3, 2, 5, 4)),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "strides": 2, "return_state": True, "go_backwards": True},
     (2, 3, 7, 6, 2)),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "activation": "relu",
                    "recurrent_activation": "hard_sigmoid", "return_sequences": True}, (2, 3, 6, 6, 2)),
    ("ConvLSTM1D", {"filters": 3, "kernel_size": 3, "padding": "same", "return_sequences": True,
                    "return_state": True}, (2, 4, 7, 2)),
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 2, "data_format": "channels_first", "unit_forget_bias": False,
                    "use_bias": False}, (2, 4, 2, 7)),
    ("ConvLSTM3D", {"filters": 2, "kernel_size": 2, "return_sequences": True}, (1, 3, 3, 4, 3, 2)),
    ("ConvLSTM3D", {"filters": 2, "kernel_size": (3, 1, 2), "padding": "same", "data_format": "channels_first",
                    "go_backwards": True}, (1, 3, 2, 3, 4, 3)),
]


def as_list(out):
    return [np.asarray(keras.ops.convert_to_numpy(o)) if not isinstance(o, nn.Tensor) else o.numpy()
            for o in (out if isinstance(out, (list, tuple)) else [out])]


def pair(name, kwargs, x):
    """Keras's layer with random weights (so biases and every gate count) and ours with a copy."""
    theirs = getattr(keras.layers, name)(**kwargs)
    theirs.build(x.shape)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours = getattr(layers, name)(**kwargs)
    ours(x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    assert [w.path.split("/")[-1] for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"][:len(weights)]
    ours.set_weights(weights)
    return theirs, ours


@pytest.mark.parametrize("name, kwargs, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_outputs_and_states_match_keras(name, kwargs, shape):
    x = rng.standard_normal(shape).astype("float32")
    theirs, ours = pair(name, kwargs, x)
    want, got = as_list(theirs(x)), as_list(ours(x))
    expected = ours.compute_output_shape(shape)
    assert [w.shape for w in want] == [tuple(s) for s in (expected if isinstance(expected, list) else [expected])]
    assert float(np.std(want[0])) > 1e-3  # a non-trivial output
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_masks_and_initial_states_match_keras():  # one call: Keras runs ConvLSTM slowly
    x = rng.standard_normal((3, 4, 4, 4, 2)).astype("float32")
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]], dtype=bool)
    kwargs = {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True, "return_state": True}
    theirs, ours = pair("ConvLSTM2D", kwargs, x)
    states = [rng.standard_normal((3, 4, 4, 2)).astype("float32") for _ in range(2)]
    want = as_list(theirs(x, mask=mask, initial_state=states))  # the first example is not masked
    got = as_list(ours(x, mask=mask, initial_state=states))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def check_gradients(layer, x, initial_state=None, mask=None):
    """gradcheck every output w.r.t. the inputs, the initial states and the cell's weights."""
    layer(x)
    cell = layer.cell
    names = [n for n in ("kernel", "recurrent_kernel", "bias") if getattr(cell, n) is not None]
    states = list(initial_state or [])

    def f(inputs, *tensors):
        saved = [getattr(cell, n) for n in names]
        for n, t in zip(names, tensors[len(states):]):
            setattr(cell, n, t)
        try:
            out = layer.call(inputs, initial_state=list(tensors[:len(states)]) or None, mask=mask)
        finally:
            for n, value in zip(names, saved):
                setattr(cell, n, value)
        outs = out if isinstance(out, list) else [out]
        return ops.concatenate([ops.reshape(o, (-1,)) for o in outs], axis=0)

    gradcheck(f, x, *states, *[getattr(cell, n).numpy() for n in names])


@pytest.mark.parametrize("cls, kwargs, shape", [
    (layers.ConvLSTM1D, {"filters": 2, "kernel_size": 2, "return_state": True}, (1, 3, 4, 2)),
    (layers.ConvLSTM2D, {"filters": 1, "kernel_size": 2, "padding": "same", "return_sequences": True,
                         "data_format": "channels_first", "go_backwards": True}, (1, 2, 1, 3, 2)),
    (layers.ConvLSTM3D, {"filters": 1, "kernel_size": 2, "strides": (1, 2, 1)}, (1, 2, 2, 3, 2, 1)),
])
def test_gradients_in_float64(cls, kwargs, shape):
    layer = cls(**kwargs, dtype="float64")
    check_gradients(layer, rng.standard_normal(shape))


def test_gradients_through_masks_and_initial_states():
    layer = layers.ConvLSTM1D(2, 2, padding="same", return_sequences=True, dtype="float64")
    x = rng.standard_normal((2, 3, 3, 1))
    states = [rng.standard_normal((2, 3, 2)) for _ in range(2)]
    check_gradients(layer, x, initial_state=states, mask=np.array([[1, 0, 1], [1, 1, 0]], dtype=bool))


def test_dropout_is_training_only_and_one_mask_per_gate_and_sequence(monkeypatch):
    x = rng.standard_normal((2, 3, 5, 5, 2)).astype("float32")
    layer = layers.ConvLSTM2D(2, 3, dropout=0.5, recurrent_dropout=0.5, seed=1)
    plain = layer(x).numpy()
    trained = layer(x, training=True).numpy()
    assert not np.allclose(plain, trained) and np.all(np.isfinite(trained))
    draws = []
    original = type(layer.cell)._mask

    def ones(self, shape, rate, dtype, count):
        draws.append((tuple(shape), count))
        return original(self, shape, 0.0, dtype, count)  # every unit kept: factors collapse to 1

    monkeypatch.setattr(type(layer.cell), "_mask", ones)
    np.testing.assert_allclose(layer(x, training=True).numpy(), plain, rtol=1e-6, atol=1e-6)
    assert draws == [((2, 5, 5, 2), 4), ((2, 3, 3, 2), 4)]  # inputs and states, four gates, once a sequence


def test_stateful_continues_where_the_last_batch_stopped():
    x = rng.standard_normal((2, 6, 4, 3)).astype("float32")
    whole = layers.ConvLSTM1D(2, 3, padding="same")
    stateful = layers.ConvLSTM1D(2, 3, padding="same", stateful=True)
    whole(x), stateful(x[:, :3])
    stateful.set_weights(whole.get_weights())
    stateful.reset_states()
    stateful(x[:, :3])
    np.testing.assert_allclose(stateful(x[:, 3:]).numpy(), whole(x).numpy(), rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful(x[:, 3:]).numpy(), whole(x[:, 3:]).numpy(), rtol=1e-5, atol=1e-6)


def _plain(config):
    if isinstance(config, dict):
        return {k: _plain(v) for k, v in config.items() if k not in ("name", "dtype")}
    if isinstance(config, (list, tuple)):
        return [_plain(v) for v in config]
    return config


@pytest.mark.parametrize("name, kwargs", [
    ("ConvLSTM1D", {"filters": 2, "kernel_size": 3, "return_sequences": True}),
    ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "dropout": 0.2, "recurrent_dropout": 0.1, "seed": 4,
                    "data_format": "channels_first", "go_backwards": True, "unit_forget_bias": False}),
    ("ConvLSTM3D", {"filters": 2, "kernel_size": (1, 2, 3), "strides": 2, "activation": "relu",
                    "kernel_regularizer": "l2", "stateful": True, "return_state": True}),
])
def test_configs_equal_keras(name, kwargs):
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    ours = getattr(layers, name)(**kwargs)
    assert _plain(ours.get_config()) == _plain(theirs)
    rebuilt = nn.serialization.deserialize({"module": "keras.layers", "class_name": name, "config": theirs})
    assert type(rebuilt) is getattr(layers, name) and _plain(rebuilt.get_config()) == _plain(theirs)
    assert ours.filters == 2 and ours.kernel_size == ours.cell.kernel_size  # the cell's settings, as Keras


def video(lib):
    L = lib.layers
    inputs = lib.Input((3, 6, 5, 2))
    h = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True)(inputs)
    h = L.ConvLSTM2D(2, 3, go_backwards=True)(h)
    signal = L.ConvLSTM1D(2, 2, data_format="channels_first")(L.Reshape((3, 2, 30))(inputs))
    return lib.Model(inputs, L.Dense(2)(L.Concatenate()([L.Flatten()(h), L.Flatten()(signal)])))


def test_keras_files_both_ways(tmp_path, keras_files_both_ways):
    keras_files_both_ways(tmp_path, video, rng.standard_normal((2, 3, 6, 5, 2)).astype("float32"))


def test_conv_lstm2d_trains_a_tiny_model():
    nn.utils.set_random_seed(0)
    x = rng.standard_normal((16, 3, 5, 5, 1)).astype("float32")
    y = (x[:, -1].mean(axis=(1, 2, 3)) > 0).astype("float32")  # the sign of the last frame's mean
    model = nn.Sequential([nn.Input((3, 5, 5, 1)), layers.ConvLSTM2D(2, 3, padding="same"),
                           layers.GlobalAveragePooling2D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nn.optimizers.Adam(0.05), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=6, batch_size=8, verbose=0).history["loss"]
    assert history[-1] < history[0] and np.all(np.isfinite(history))


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"ConvLSTM2D .*expected a 5-D input \(batch, timesteps, height, width, "
                                         r"channels\), got shape \(2, 3, 4, 2\)"):
        layers.ConvLSTM2D(2, 3)(rng.standard_normal((2, 3, 4, 2)))
    with pytest.raises(ValueError, match=r"ConvLSTM1D .*expected a 4-D input \(batch, timesteps, channels, steps\)"):
        layers.ConvLSTM1D(2, 3, data_format="channels_first")(rng.standard_normal((2, 3, 4)))
    with pytest.raises(ValueError, match=r"kernel \(3, 3\) does not fit the input \(2, 2\)"):
        layers.ConvLSTM2D(2, 3)(rng.standard_normal((1, 2, 2, 2, 1)))
    with pytest.raises(ValueError, match="strides > 1 cannot be combined with dilation_rate > 1"):
        layers.ConvLSTM3D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        layers.ConvLSTM1D(2, 3, padding="causal")
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_state=True)
    with pytest.raises(ValueError, match=r"initial state has shape \(1, 4, 4, 3\), expected .*\(1, 4, 4, 2\)"):
        layer(rng.standard_normal((1, 2, 4, 4, 1)), initial_state=[np.zeros((1, 4, 4, 3))] * 2)


def mixed(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((3, 6, 5, 2)), L.ConvLSTM2D(2, 3, return_sequences=True),
                           L.TimeDistributed(L.Flatten()), L.Reshape((3, 24, 1)), L.SeparableConv2D(2, 3),
                           L.Reshape((1, 22, 1, 2)), L.Conv3D(2, 1), L.Flatten(), L.Dense(2)])


def test_legacy_h5_and_weights_files_both_ways(tmp_path):
    x = rng.standard_normal((2, 3, 6, 5, 2)).astype("float32")
    theirs = mixed(keras)
    theirs.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in theirs.get_weights()])
    want = keras.ops.convert_to_numpy(theirs(x))
    theirs.save(tmp_path / "theirs.h5")
    ours = nn.saving.load_model(tmp_path / "theirs.h5")
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, rtol=1e-5, atol=1e-5)
    ours.save(tmp_path / "ours.h5")
    ours.save_weights(tmp_path / "ours.weights.h5")
    again = keras.saving.load_model(tmp_path / "ours.h5")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(x)), want, rtol=1e-5, atol=1e-5)
    fresh = mixed(keras)
    fresh.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fresh(x)), want, rtol=1e-5, atol=1e-5)
