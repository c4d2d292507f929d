"""compile / fit / evaluate / predict: the seed program, Keras equivalence, the Keras details
users notice, real data, and bad input."""

import numpy as np
import pytest

import nablanet as keras
from nablanet import layers, regularizers
from nablanet.data import train_test_split


def seed_model():
    return keras.Sequential([
        layers.Dense(64, activation="relu", input_shape=(784,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, activation="sigmoid")])


def test_the_seed_program_runs_and_its_loss_decreases(capsys):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X_train, X_test, y_train, y_test = train_test_split(rng.random((1000, 784)), rng.integers(2, size=1000),
                                                        test_size=0.2, random_state=0)
    model = seed_model()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=4, batch_size=128, validation_data=(X_test, y_test))
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    losses = history.history["loss"]
    assert losses[-1] < losses[0] and len(losses) == 4
    out = capsys.readouterr().out
    assert "Epoch 1/4" in out and "7/7" in out and "val_accuracy:" in out
    assert "\r" not in out and "\x1b" not in out  # not a terminal: plain lines only
    assert history.params == {"verbose": 1, "epochs": 4, "steps": 7}


def test_history_matches_keras_with_the_same_initial_weights():
    K = pytest.importorskip("keras")
    # Seeded: accuracy counts predictions on either side of 0.5, and a prediction within float32
    # rounding of 0.5 could fall on different sides in the two frameworks (this happened for
    # about one unseeded draw in eight; the losses always agreed).
    K.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.random((600, 784)).astype(np.float32)
    y = rng.integers(0, 2, 600).astype(np.float32)
    x_val, y_val = x[500:], y[500:]
    theirs = K.Sequential([K.Input(shape=(784,)), K.layers.Dense(64, activation="relu"),
                           K.layers.Dense(32, activation="relu"), K.layers.Dense(1, activation="sigmoid")])
    ours = seed_model()
    ours.set_weights([K.ops.convert_to_numpy(w) for w in theirs.weights])
    for model in (ours, theirs):
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    h_ours = ours.fit(x[:500], y[:500], epochs=5, batch_size=128, validation_data=(x_val, y_val),
                      shuffle=False, verbose=0).history
    h_theirs = theirs.fit(x[:500], y[:500], epochs=5, batch_size=128, validation_data=(x_val, y_val),
                          shuffle=False, verbose=0).history
    assert list(h_ours) == list(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-4, atol=1e-4, err_msg=key)


def test_validation_split_takes_the_last_fraction_before_shuffling():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((100, 3)).astype(np.float32), rng.standard_normal((100, 1)).astype(np.float32)
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    history = model.fit(x, y, epochs=1, validation_split=0.2, shuffle=True, verbose=0)
    want = model.evaluate(x[80:], y[80:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(want, rel=1e-6)
    assert history.history["loss"][0] == pytest.approx(model.evaluate(x[:80], y[:80], verbose=0), rel=1e-6)


def test_logged_loss_is_the_batch_weighted_mean_and_includes_l2_without_a_half():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((70, 4)).astype(np.float32), rng.standard_normal((70, 2)).astype(np.float32)
    model = keras.Sequential([layers.Dense(2, input_shape=(4,), kernel_regularizer=regularizers.L2(0.05),
                                           bias_initializer="ones")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    logged = model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0).history["loss"][0]
    kernel, bias = model.get_weights()
    data_loss = np.mean((x @ kernel + bias - y) ** 2)  # the batches' mean, weighted by batch size
    assert logged == pytest.approx(data_loss + 0.05 * np.sum(kernel**2), rel=1e-5)


def test_keras_defaults_users_notice():
    assert keras.optimizers.SGD().learning_rate == 0.01
    assert keras.optimizers.Adam().epsilon == 1e-7
    model = keras.Sequential([layers.Dense(3, input_shape=(2,))])
    model.compile(loss="mse")
    assert type(model.optimizer).__name__ == "RMSprop"  # compile's default, as in Keras


def test_functional_model_with_two_inputs_two_outputs_and_a_shared_layer():
    a, b = layers.Input(shape=(4,), name="a"), layers.Input(shape=(4,), name="b")
    shared = layers.Dense(8, activation="relu")
    merged = layers.concatenate([shared(a), shared(b)])
    out_class = layers.Dense(3, activation="softmax", name="label")(merged)
    out_value = layers.Dense(1, name="value")(merged)
    model = keras.Model([a, b], [out_class, out_value])
    model.compile(optimizer="adam", loss={"label": "sparse_categorical_crossentropy", "value": "mse"},
                  loss_weights={"label": 1.0, "value": 0.5}, metrics={"label": ["accuracy"]})
    rng = np.random.default_rng(4)
    xa, xb = rng.standard_normal((64, 4)), rng.standard_normal((64, 4))
    y_class, y_value = rng.integers(0, 3, 64), rng.standard_normal((64, 1))
    history = model.fit([xa, xb], [y_class, y_value], epochs=3, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "label_accuracy", "label_loss", "value_loss"}  # as Keras logs them
    assert len(model.trainable_weights) == 6  # the shared Dense counted once
    p_class, p_value = model.predict({"a": xa, "b": xb}, verbose=0)
    assert p_class.shape == (64, 3) and p_value.shape == (64, 1)
    logs = model.evaluate([xa, xb], [y_class, y_value], verbose=0, return_dict=True)
    assert set(logs) == {"loss", "label_accuracy", "label_loss", "value_loss"}


def test_nested_models_and_subclassing():
    encoder = keras.Sequential([layers.Dense(2, activation="tanh", input_shape=(5,))], name="encoder")
    inputs = layers.Input(shape=(5,))
    outputs = layers.Dense(5)(encoder(inputs))
    autoencoder = keras.Model(inputs, outputs)
    assert autoencoder.get_layer("encoder") is encoder
    autoencoder.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(5).standard_normal((32, 5))
    autoencoder.fit(x, x, epochs=2, verbose=0)
    assert encoder.predict(x, verbose=0).shape == (32, 2)

    class TwoLayer(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(8, activation="relu")
            self.out = layers.Dense(1)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    model = TwoLayer()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, x[:, :1], epochs=3, verbose=0)
    assert len(model.trainable_weights) == 4 and len(history.history["loss"]) == 3


def test_generators_dicts_lists_sample_and_class_weights():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)

    def batches():
        while True:
            for i in range(0, 40, 10):
                yield x[i:i + 10], y[i:i + 10], np.ones(10)

    model = keras.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    model.fit(x.tolist(), y.tolist(), epochs=1, verbose=0, class_weight={0: 1.0, 1: 3.0})
    model.fit(x, y, epochs=1, verbose=0, sample_weight=rng.uniform(0, 1, 40))
    assert model.train_on_batch(x, y)[0] > 0 and model.test_on_batch(x, y)[0] > 0
    assert model.predict_on_batch(x).shape == (40, 1)


def test_sequential_without_input_shape_builds_on_the_first_batch():
    model = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
    assert model.weights == []
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 3)), np.ones(8), verbose=0)
    before = model.get_weights()
    model.fit(np.ones((8, 3)), np.ones(8), verbose=0)
    assert model.output_shape == (None, 1) and model.optimizer.iterations == 2
    assert not np.allclose(before[0], model.get_weights()[0])
    model.add(layers.Dense(2))
    assert model.output_shape == (None, 2)
    model.pop()
    assert [layer.name for layer in model.layers] == [model.layers[0].name, model.layers[1].name]


def test_verbose_two_prints_one_line_per_epoch(capsys):
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2)), np.ones(8), epochs=2, batch_size=4, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert lines[0] == "Epoch 1/2" and lines[1].startswith("2/2 - ") and " - loss: " in lines[1]
    model.fit(np.ones((8, 2)), np.ones(8), verbose=0)
    assert capsys.readouterr().out == ""


def test_summary_lists_layers_shapes_and_counts(capsys):
    model = seed_model()
    model.summary()
    out = capsys.readouterr().out
    assert "(None, 64)" in out and "50,240" in out and "Total params: 52,353" in out


def test_pytorch_style_loop_with_backward_and_step():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    optimizer = keras.optimizers.SGD(learning_rate=0.02)
    x, y = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), np.array([[1.0], [2.0]], np.float32)
    first = None
    for _ in range(300):  # two points, three parameters: the loss can reach 0
        loss = keras.losses.MeanSquaredError()(y, model(x))
        first = first or loss.item()
        loss.backward()
        optimizer.step(model.trainable_weights)
        optimizer.zero_grad(model.trainable_weights)
    assert loss.item() < 1e-3 < first


# -- real data ------------------------------------------------------------------------------------

@pytest.mark.slow
def test_mlp_on_digits_reaches_97_percent():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data, digits.target, test_size=0.25,
                                                        random_state=0, stratify=digits.target)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    keras.utils.set_random_seed(0)  # seeds 0-4 all reached 97.6-98.2% here
    model = keras.Sequential([layers.Dense(256, activation="relu", input_shape=(64,)), layers.Dropout(0.3),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.97


@pytest.mark.slow
def test_logistic_regression_on_breast_cancer_reaches_95_percent():
    datasets = pytest.importorskip("sklearn.datasets")
    data = datasets.load_breast_cancer()
    x = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    x_train, x_test, y_train, y_test = train_test_split(x, data.target, test_size=0.25, random_state=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(30,))])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=50, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.95


# -- bad input ------------------------------------------------------------------------------------

@pytest.fixture
def compiled():
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_bad_input_gets_a_clear_message(compiled):
    x = np.ones((10, 4))
    with pytest.raises(ValueError, match="x and y must have the same number of samples, got 10 in x and 9 in y"):
        compiled.fit(x, np.eye(3)[np.zeros(9, int)], verbose=0)
    with pytest.raises(ValueError, match=r"expected inputs of shape \(None, 4\), got shape \(10, 5\)"):
        compiled.fit(np.ones((10, 5)), np.eye(3)[np.zeros(10, int)], verbose=0)
    with pytest.raises(ValueError, match="look like integer class indices: use sparse_categorical_crossentropy"):
        compiled.fit(x, np.zeros(10, int), verbose=0)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"x contains NaN or inf values \(the first at index \(3, 1\)\)"):
        compiled.fit(bad, np.eye(3)[np.zeros(10, int)], verbose=0)
    with pytest.raises(ValueError, match="x is empty"):
        compiled.fit(np.ones((0, 4)), np.ones((0, 3)), verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        compiled.fit(x, np.eye(3)[np.zeros(10, int)], batch_size=0, verbose=0)


def test_labels_outside_the_classes_are_refused():
    model = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got 5"):
        model.fit(np.ones((4, 4)), np.array([0, 1, 5, 2]), verbose=0)


def test_fit_before_compile_and_unknown_names():
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(RuntimeError, match=r"must be compiled first: call model.compile"):
        model.fit(np.ones((2, 2)), np.ones(2), verbose=0)
    with pytest.raises(ValueError, match="unknown optimizer 'adan'"):
        model.compile(optimizer="adan", loss="mse")
    model.compile(optimizer="adam", loss="mse_error")
    with pytest.raises(ValueError, match="unknown loss 'mse_error'"):
        model.fit(np.ones((2, 2)), np.ones(2), verbose=0)
    model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        model.fit(np.ones((2, 2)), np.ones(2), verbose=0)
    with pytest.raises(ValueError, match="unknown activation 'rleu'"):
        layers.Dense(1, activation="rleu")
