"""`.keras` files both ways between nablanet and Keras 3 (KERAS_BACKEND=torch): architecture,
weights, compile settings and the optimizer's state."""

import os

import numpy as np
import pytest

import nablanet as nn

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def mlp(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((6,)), L.Dense(8, activation="relu"), L.Dropout(0.3),
                           L.Dense(3, activation="softmax")])


def cnn(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((8, 8, 2)), L.Conv2D(4, 3, padding="same", activation="relu"),
                           L.BatchNormalization(), L.MaxPooling2D(), L.Flatten(), L.Dense(3, activation="softmax")])


def text(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((7,), dtype="int32"), L.Embedding(20, 5, mask_zero=True),
                           L.Bidirectional(L.LSTM(4)), L.Dense(3, activation="softmax")])


def gru(lib):
    L = lib.layers
    inputs = lib.Input((5, 3))
    return lib.Model(inputs, L.Dense(3, activation="softmax")(L.GRU(6, return_sequences=False)(inputs)))


def nested(lib):
    L = lib.layers
    inner_in = lib.Input((6,))
    inner = lib.Model(inner_in, L.Dense(5, activation="tanh")(inner_in), name="inner")
    inputs = lib.Input((6,))
    hidden = inner(inputs)
    return lib.Model(inputs, L.Dense(3, activation="softmax")(L.Concatenate()([hidden, L.Dense(2)(inputs)])))


def data(build):
    if build is text:
        x = RNG.integers(0, 20, (16, 7)).astype("int32")
        x[:, 5:] = 0  # padding the mask must hide
        return x
    shape = {mlp: (16, 6), cnn: (16, 8, 8, 2), gru: (16, 5, 3), nested: (16, 6)}[build]
    return RNG.standard_normal(shape).astype("float32")


MODELS = [mlp, cnn, text, gru, nested]


def train(lib, build):
    model = build(lib)
    model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = data(build), RNG.integers(0, 3, 16)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model, x


def keras_slots(optimizer):
    return [np.asarray(v.numpy()) for v in optimizer.variables]


def our_slots(optimizer):
    from nablanet.saving.layout import optimizer_arrays

    return [np.asarray(a) for a in optimizer_arrays(optimizer)]


@pytest.mark.parametrize("build", MODELS, ids=lambda f: f.__name__)
def test_keras_loads_what_nablanet_saves(tmp_path, build):
    model, x = train(nn, build)
    path = model.save(tmp_path / "m.keras")
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    assert type(theirs.optimizer).__name__ == "Adam"
    assert theirs.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    assert theirs.loss == "sparse_categorical_crossentropy"
    assert theirs._compile_config.config["metrics"] == ["accuracy"]
    assert int(theirs.optimizer.iterations.numpy()) == model.optimizer.iterations == 4
    ours, kept = our_slots(model.optimizer), keras_slots(theirs.optimizer)
    assert len(ours) == len(kept)
    for a, b in zip(ours, kept):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("build", MODELS, ids=lambda f: f.__name__)
def test_nablanet_loads_what_keras_saves(tmp_path, build):
    model, x = train(keras, build)
    model.save(tmp_path / "k.keras")
    ours = nn.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(model.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-5)
    assert isinstance(ours.optimizer, nn.optimizers.Adam)
    assert ours.optimizer.learning_rate == pytest.approx(0.01)
    assert ours.loss == "sparse_categorical_crossentropy" and ours._metric_spec == ["accuracy"]
    assert ours.optimizer.iterations == int(model.optimizer.iterations.numpy()) == 4
    assert len(our_slots(ours.optimizer)) == len(keras_slots(model.optimizer))
    for a, b in zip(our_slots(ours.optimizer), keras_slots(model.optimizer)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    again = nn.models.load_model(ours.save(tmp_path / "again.keras"))  # and back out through nablanet
    np.testing.assert_allclose(again.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=0, atol=0)
