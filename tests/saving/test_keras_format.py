"""`.keras` files both ways between nablanet and Keras 3 (KERAS_BACKEND=torch): architecture,
weights, compile settings and the optimizer's state."""

import os
import zipfile

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


def test_fit_four_equals_fit_two_save_keras_load_fit_two(tmp_path):
    x, y = RNG.standard_normal((32, 6)).astype("float32"), RNG.integers(0, 3, 32)

    def compiled():
        model = mlp(nn)
        model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    nn.utils.set_random_seed(5)
    straight = compiled()
    start = straight.get_weights()
    straight.fit(x, y, epochs=4, batch_size=8, verbose=0)
    nn.utils.set_random_seed(5)
    first = compiled()
    first.set_weights(start)
    first.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = first.save(tmp_path / "half.keras")
    with zipfile.ZipFile(path) as archive:
        assert {"metadata.json", "config.json", "model.weights.h5"} <= set(archive.namelist())
    resumed = nn.models.load_model(path)
    resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == straight.optimizer.iterations == 16


DATA = os.path.join(os.path.dirname(__file__), "data")


def test_files_from_nablanets_older_archive_still_load():
    from nablanet.saving import register_keras_serializable

    @register_keras_serializable(package="old")
    def twice(x):
        return x * 2.0

    expected = np.load(os.path.join(DATA, "old_predictions.npz"))
    x = expected["x"]
    sequential = nn.models.load_model(os.path.join(DATA, "old_sequential.nbz"))
    np.testing.assert_array_equal(sequential.predict(x, verbose=0), expected["sequential"])
    assert sequential.optimizer.iterations == int(expected["iterations"])
    assert set(sequential.evaluate(x, np.zeros(len(x)), verbose=0, return_dict=True)) == {"loss", "accuracy", "top2"}
    functional = nn.models.load_model(os.path.join(DATA, "old_functional.nbz"))
    label, value = functional.predict([x, x], verbose=0)
    np.testing.assert_array_equal(label, expected["label"])
    np.testing.assert_array_equal(value, expected["value"])
    assert functional.loss_weights == {"label": 1.0, "value": 0.3}
    with_lambda = nn.models.load_model(os.path.join(DATA, "old_lambda.nbz"))
    np.testing.assert_array_equal(with_lambda.predict(x, verbose=0), expected["lam"])


def _plain(config):
    """A config without Keras's bookkeeping that differs between two equal objects."""
    if isinstance(config, dict):
        return {k: _plain(v) for k, v in config.items() if k not in ("shared_object_id", "name")}
    if isinstance(config, (list, tuple)):
        return [_plain(v) for v in config]
    return config


LAYERS = [("Dense", (3,), {"activation": "relu"}), ("Dropout", (0.5,), {}), ("Conv2D", (4, 3), {"padding": "same"}),
          ("BatchNormalization", (), {}), ("MaxPooling2D", (), {}), ("Flatten", (), {}),
          ("Embedding", (20, 5), {"mask_zero": True}), ("LSTM", (4,), {}), ("GRU", (6,), {}), ("Concatenate", (), {})]


@pytest.mark.parametrize("name, args, kwargs", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_configs_match_keras(name, args, kwargs):
    theirs = _plain(getattr(keras.layers, name)(*args, **kwargs).get_config())
    ours = _plain(getattr(nn.layers, name)(*args, **kwargs).get_config())
    shared = set(theirs) & set(ours)
    assert {k: ours[k] for k in shared} == {k: theirs[k] for k in shared}
    missing = set(theirs) - set(ours) - set(nn.serialization.NEUTRAL)  # Keras-only arguments at their neutral value
    assert not missing
    rebuilt = nn.serialization.deserialize({"module": "keras.layers", "class_name": name,
                                            "config": getattr(keras.layers, name)(*args, **kwargs).get_config()})
    assert type(rebuilt) is getattr(nn.layers, name) and rebuilt.dtype == "float32"  # DTypePolicy dict taken


def test_the_registry_is_exposed_as_keras_saving_is():
    from nablanet import saving

    for name in ("register_keras_serializable", "get_custom_objects", "custom_object_scope", "serialize_keras_object",
                 "deserialize_keras_object", "get_registered_name", "get_registered_object"):
        assert hasattr(saving, name) and hasattr(keras.saving, name)
    config = saving.serialize_keras_object(nn.optimizers.Adam(learning_rate=0.02))
    assert config["class_name"] == "Adam" and config["module"] == "keras.optimizers"
    assert keras.saving.deserialize_keras_object(config).get_config()["learning_rate"] == pytest.approx(0.02)


@pytest.mark.parametrize("build", [cnn, text, nested], ids=lambda f: f.__name__)
def test_weights_h5_files_both_ways(tmp_path, build):
    ours, x = train(nn, build)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs = build(keras)
    theirs.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), ours.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    again = build(nn)
    again.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_allclose(again.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    again.load_weights(ours.save(tmp_path / "whole.keras"))  # a .keras file's weights
    np.testing.assert_array_equal(again.predict(x, verbose=0), ours.predict(x, verbose=0))
    with pytest.raises(nn.saving.SavingError, match="use model.save"):
        ours.save_weights(tmp_path / "w.keras")


OBJECTS = [("losses", "SparseCategoricalCrossentropy", {"from_logits": True}), ("losses", "Huber", {"delta": 2.0}),
           ("losses", "BinaryCrossentropy", {"label_smoothing": 0.1}), ("metrics", "AUC", {}),
           ("metrics", "SparseCategoricalAccuracy", {}), ("metrics", "TopKCategoricalAccuracy", {"k": 3}),
           ("optimizers", "SGD", {"momentum": 0.9, "nesterov": True}), ("optimizers", "RMSprop", {"rho": 0.8}),
           ("optimizers", "AdamW", {"weight_decay": 0.01}), ("optimizers", "Nadam", {}),
           ("initializers", "HeNormal", {"seed": 1}), ("initializers", "Orthogonal", {}),
           ("regularizers", "L1L2", {"l1": 0.1, "l2": 0.2}), ("constraints", "MaxNorm", {"max_value": 2})]


@pytest.mark.parametrize("module, name, kwargs", OBJECTS, ids=[f"{m}.{n}" for m, n, _ in OBJECTS])
def test_objects_cross_between_keras_and_nablanet_configs(module, name, kwargs):
    import json

    theirs = getattr(getattr(keras, module), name)(**kwargs)
    ours = nn.saving.deserialize_keras_object(json.loads(json.dumps(keras.saving.serialize_keras_object(theirs))))
    assert type(ours) is getattr(getattr(nn, module), name)
    back = keras.saving.deserialize_keras_object(json.loads(json.dumps(nn.saving.serialize_keras_object(ours))))
    expected = {k: v for k, v in theirs.get_config().items() if k != "name"}
    assert {k: v for k, v in back.get_config().items() if k != "name"} == expected


@pytest.mark.parametrize("optimizer", ["sgd_momentum", "rmsprop_centered"])
def test_other_optimizers_state_crosses_both_ways(tmp_path, optimizer):
    def make(lib):
        model = mlp(lib)
        opt = (lib.optimizers.SGD(0.05, momentum=0.9) if optimizer == "sgd_momentum"
               else lib.optimizers.RMSprop(0.01, momentum=0.5, centered=True))
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
        model.fit(data(mlp), RNG.integers(0, 3, 16), batch_size=8, epochs=1, verbose=0)
        return model

    ours = make(nn)
    theirs = keras.saving.load_model(ours.save(tmp_path / "ours.keras"))
    kept = keras_slots(theirs.optimizer)
    assert len(kept) == len(our_slots(ours.optimizer))
    for a, b in zip(our_slots(ours.optimizer), kept):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    keras_model = make(keras)
    keras_model.save(tmp_path / "theirs.keras")
    loaded = nn.models.load_model(tmp_path / "theirs.keras")
    assert len(our_slots(loaded.optimizer)) == len(keras_slots(keras_model.optimizer))
    for a, b in zip(our_slots(loaded.optimizer), keras_slots(keras_model.optimizer)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_keras_layer_nablanet_lacks_is_named(tmp_path):
    @keras.saving.register_keras_serializable(package="NablanetTest")
    class Halve(keras.layers.Layer):  # a layer only Keras knows, as a user's custom one
        def call(self, inputs):
            return inputs / 2

    model = keras.Sequential([keras.Input((4,)), Halve(), keras.layers.Dense(2)])
    model.save(tmp_path / "unit.keras")
    with pytest.raises(nn.saving.SavingError, match="unit.keras.*'Halve'.*neither built into"):
        nn.models.load_model(tmp_path / "unit.keras")


def _nadam_model(lib):
    model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(8, activation="tanh"), lib.layers.Dense(3)])
    model.compile(optimizer=lib.optimizers.Nadam(learning_rate=0.01), loss="mse")
    return model


def test_nadam_state_from_keras_continues_training_as_keras_does(tmp_path):
    """Keras's Nadam keeps `u_product` after its slots: nablanet reads all seven variables and its
    next steps match Keras's own continuation."""
    x, y = data(mlp), RNG.standard_normal((16, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    theirs = _nadam_model(keras)
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    theirs.save(tmp_path / "nadam.keras")
    ours = nn.models.load_model(tmp_path / "nadam.keras")
    assert ours.optimizer.iterations == int(theirs.optimizer.iterations.numpy()) == 4
    assert ours.optimizer.u_product == pytest.approx(float(theirs.optimizer._u_product.numpy()), rel=1e-6)
    assert len(our_slots(ours.optimizer)) == len(keras_slots(theirs.optimizer)) == 1 + 1 + 2 * 4 + 1
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-5)


def test_keras_restores_nablanet_nadam_state(tmp_path, recwarn):
    x, y = data(mlp), RNG.standard_normal((16, 3)).astype("float32")
    nn.backend.set_random_seed(0)
    ours = _nadam_model(nn)
    ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    theirs = keras.saving.load_model(ours.save(tmp_path / "nadam.keras"))
    assert not [w for w in recwarn if "Skipping variable loading" in str(w.message)]
    assert int(theirs.optimizer.iterations.numpy()) == ours.optimizer.iterations == 4
    assert float(theirs.optimizer._u_product.numpy()) == pytest.approx(ours.optimizer.u_product, rel=1e-6)
    for a, b in zip(our_slots(ours.optimizer), keras_slots(theirs.optimizer), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), ours.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)
