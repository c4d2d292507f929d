"""What Keras 3's guides (keras-io `guides/`) exercise, as our own short programs: the Sequential
and functional APIs, subclassed layers and models, masking, callbacks, built-in training, saving,
RNNs and transfer learning. Where a behaviour is Keras's, the test compares with Keras itself."""

import numpy as np
import pytest

import nablanet as nk
from nablanet import ops

K = pytest.importorskip("keras")


def _rng():
    return np.random.default_rng(0)


# -- functional API -------------------------------------------------------------------------------


class _UnitsOnly(nk.layers.Layer):
    """A custom layer whose config leaves out its name, as the functional guide's CustomDense does."""

    def __init__(self, units=4):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")

    def call(self, inputs):
        return ops.matmul(inputs, self.w)

    def get_config(self):
        return {"units": self.units}


def test_functional_from_config_with_a_custom_layer_that_drops_its_name():
    inputs = nk.Input((3,))
    model = nk.Model(inputs, _UnitsOnly(5)(inputs))
    rebuilt = nk.Model.from_config(model.get_config(), custom_objects={"_UnitsOnly": _UnitsOnly})
    assert rebuilt(np.ones((2, 3), "float32")).shape == (2, 5)


def test_functional_input_and_output_shape_as_keras():
    def build(lib):
        a, b = lib.Input((None, 4)), lib.Input((3,))
        x = lib.layers.GlobalAveragePooling1D()(a)
        one = lib.Model(a, lib.layers.Dense(2)(x))
        two = lib.Model([a, b], [lib.layers.Dense(2)(x), lib.layers.concatenate([x, b])])
        return one, two

    ours, theirs = build(nk), build(K)
    for mine, keras_model in zip(ours, theirs):
        assert mine.input_shape == keras_model.input_shape
        assert mine.output_shape == keras_model.output_shape


def test_subclassed_model_has_no_output_shape():
    class Plain(nk.Model):
        def call(self, x):
            return x

    with pytest.raises(AttributeError, match="functional"):
        _ = Plain().output_shape


def test_nested_models_ensemble_and_multi_io_fit_with_dicts():
    def member():
        inputs = nk.Input((8,))
        return nk.Model(inputs, nk.layers.Dense(1)(inputs))

    inputs = nk.Input((8,))
    ensemble = nk.Model(inputs, nk.layers.average([member()(inputs) for _ in range(3)]))
    assert ensemble.predict(np.ones((2, 8)), verbose=0).shape == (2, 1)

    title, tags = nk.Input((None,), name="title"), nk.Input((5,), name="tags")
    x = nk.layers.concatenate([nk.layers.LSTM(6)(nk.layers.Embedding(50, 4)(title)), tags])
    model = nk.Model([title, tags], [nk.layers.Dense(1, name="priority")(x), nk.layers.Dense(3, name="department")(x)])
    model.compile(optimizer="rmsprop",
                  loss={"priority": nk.losses.BinaryCrossentropy(from_logits=True),
                        "department": nk.losses.CategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2})
    rng = _rng()
    history = model.fit({"title": rng.integers(0, 50, (8, 6)), "tags": rng.integers(0, 2, (8, 5)).astype("float32")},
                        {"priority": rng.random((8, 1)), "department": rng.integers(0, 2, (8, 3))},
                        epochs=1, batch_size=4, verbose=0)
    assert set(history.history) == {"loss", "priority_loss", "department_loss"}


def test_layer_outputs_of_a_sequential_make_a_feature_extractor():
    base = nk.Sequential([nk.Input((12, 12, 3)), nk.layers.Conv2D(4, 3, strides=2, activation="relu"),
                          nk.layers.Conv2D(4, 3, activation="relu", name="middle")])
    every = nk.Model(base.inputs, [layer.output for layer in base.layers])
    one = nk.Model(base.inputs, base.get_layer(name="middle").output)
    image = np.ones((1, 12, 12, 3), "float32")
    assert [f.shape for f in every(image)] == [(1, 5, 5, 4), (1, 3, 3, 4)]
    assert one(image).shape == (1, 3, 3, 4)


# -- subclassing: losses --------------------------------------------------------------------------


class _ActivityPenalty(nk.layers.Layer):
    def call(self, inputs):
        self.add_loss(0.01 * ops.mean(inputs))
        return inputs


class _Outer(nk.layers.Layer):
    def __init__(self):
        super().__init__()
        self.penalty = _ActivityPenalty()

    def call(self, inputs):
        return self.penalty(self.penalty(inputs))


def test_losses_hold_only_the_last_outermost_call_as_keras():
    def counts(lib):
        class Penalty(lib.layers.Layer):
            def call(self, inputs):
                self.add_loss(0.01 * lib.ops.mean(inputs))
                return inputs

        class Outer(lib.layers.Layer):
            def __init__(self):
                super().__init__()
                self.penalty = Penalty()

            def call(self, inputs):
                return self.penalty(self.penalty(inputs))

        layer, seen = Outer(), []
        seen.append(len(layer.losses))
        for _ in range(2):
            layer(np.zeros((1, 1), "float32"))
            seen.append(len(layer.losses))
        return seen

    assert counts(nk) == counts(K) == [0, 2, 2]


def test_regularizer_losses_of_inner_layers_are_reported():
    class WithRegularizer(nk.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = nk.layers.Dense(3, kernel_regularizer=nk.regularizers.l2(1e-3))

        def call(self, inputs):
            return self.dense(inputs)

    layer = WithRegularizer()
    layer(np.zeros((1, 2), "float32"))
    layer(np.zeros((1, 2), "float32"))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), 1e-3 * np.sum(layer.dense.kernel.numpy() ** 2), rtol=1e-5)


def test_add_loss_trains_with_and_without_a_compiled_loss():
    inputs = nk.Input((3,))
    model = nk.Model(inputs, _ActivityPenalty()(inputs))
    for loss in ("mse", None):
        model.compile(optimizer="adam", loss=loss)
        history = model.fit(np.random.random((2, 3)), np.random.random((2, 3)), verbose=0)
        assert np.isfinite(history.history["loss"][0])


def test_a_variational_autoencoder_subclass_trains_with_its_kl_loss():
    class Sampling(nk.layers.Layer):
        def call(self, inputs):
            mean, log_var = inputs
            noise = nk.random.normal(shape=(ops.shape(mean)[0], ops.shape(mean)[1]))
            return mean + ops.exp(0.5 * log_var) * noise

    class VAE(nk.Model):
        def __init__(self, dim, **kwargs):
            super().__init__(**kwargs)
            self.hidden, self.mean, self.log_var = nk.layers.Dense(8, "relu"), nk.layers.Dense(2), nk.layers.Dense(2)
            self.sampling, self.out = Sampling(), nk.layers.Dense(dim, activation="sigmoid")

        def call(self, inputs):
            h = self.hidden(inputs)
            mean, log_var = self.mean(h), self.log_var(h)
            self.add_loss(-0.5 * ops.mean(log_var - ops.square(mean) - ops.exp(log_var) + 1))
            return self.out(self.sampling((mean, log_var)))

    vae = VAE(6)
    vae.compile(nk.optimizers.Adam(1e-3), loss=nk.losses.MeanSquaredError())
    history = vae.fit(np.random.random((16, 6)).astype("float32"), np.random.random((16, 6)).astype("float32"),
                      epochs=2, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 2
    assert len(vae.losses) == 1


# -- masking ---------------------------------------------------------------------------------------


class _LookupEmbedding(nk.layers.Layer):
    """A user's embedding as the masking guide writes it: integer ids straight into `take`."""

    def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), initializer="random_normal")

    def call(self, inputs):
        return ops.take(self.embeddings, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0) if self.mask_zero else None


def test_a_users_layer_keeps_integer_inputs_as_keras():
    ids = np.array([[1, 0, 3]], "int32")
    layer = _LookupEmbedding(5, 2, mask_zero=True)
    assert layer(ids).shape == (1, 3, 2)
    np.testing.assert_array_equal(layer.compute_mask(ids), [[True, False, True]])

    class Seen(nk.layers.Layer):
        def call(self, inputs):
            self.dtype_seen = str(inputs.dtype)
            return inputs

    class SeenKeras(K.layers.Layer):
        def call(self, inputs):
            self.dtype_seen = K.backend.standardize_dtype(inputs.dtype)
            return inputs

    ours, theirs = Seen(), SeenKeras()
    ours(ids), theirs(ids)
    assert ours.dtype_seen == theirs.dtype_seen == "int32"


def test_subclasses_of_our_layers_keep_their_cast():
    class MyDense(nk.layers.Dense):
        pass

    assert MyDense(2)(np.ones((1, 3), "int32")).dtype == np.float32


def test_masks_propagate_through_opted_in_and_splitting_custom_layers():
    class PassMask(nk.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return ops.relu(inputs)

    class TimeSplit(nk.layers.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else ops.split(mask, 2, axis=1)

    padded = nk.utils.pad_sequences([[7, 6, 5], [4, 3, 2, 1]], padding="post")
    np.testing.assert_array_equal(padded, K.utils.pad_sequences([[7, 6, 5], [4, 3, 2, 1]], padding="post"))
    embedded = nk.layers.Embedding(10, 3, mask_zero=True)(padded)
    first, second = TimeSplit()(PassMask()(embedded))
    np.testing.assert_array_equal(np.asarray(first._keras_mask), [[True, True], [True, True]])
    np.testing.assert_array_equal(np.asarray(second._keras_mask), [[True, False], [True, True]])

    inputs = nk.Input((None,), dtype="int32")
    x = PassMask()(nk.layers.Embedding(10, 3, mask_zero=True)(inputs))
    assert x._keras_mask is not None
    model = nk.Model(inputs, nk.layers.LSTM(4)(x))
    out = model.predict(padded, verbose=0)
    np.testing.assert_allclose(out[0], model.predict(padded[:1, :3], verbose=0)[0], atol=1e-6)


# -- callbacks -------------------------------------------------------------------------------------


def _log_keys(lib):
    class Keys(lib.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = {}

        def _note(self, where, logs):
            self.seen.setdefault(where, sorted(logs or {}))

    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
                 "on_predict_end"):
        setattr(Keys, hook, lambda self, logs=None, _h=hook: self._note(_h, logs))
    for hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
                 "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin"):
        setattr(Keys, hook, lambda self, i, logs=None, _h=hook: self._note(_h, logs))

    lib.utils.set_random_seed(0)
    model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(1)])
    model.compile(optimizer=lib.optimizers.RMSprop(learning_rate=0.1), loss="mean_squared_error",
                  metrics=["mean_absolute_error"])
    x, y = np.random.random((16, 6)).astype("float32"), np.random.random((16, 1)).astype("float32")
    keys = Keys()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_split=0.5, callbacks=[keys])
    model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[keys])
    model.predict(x, batch_size=8, verbose=0, callbacks=[keys])
    return keys.seen


def test_callback_log_keys_as_keras():
    assert _log_keys(nk) == _log_keys(K)


def test_a_callback_sets_the_learning_rate_and_stops_training():
    class Schedule(nk.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate = 0.1 / (epoch + 1)

    class StopAtTwo(nk.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True
                self.model.set_weights(self.model.get_weights())

    model = nk.Sequential([nk.Input((4,)), nk.layers.Dense(1)])
    model.compile(optimizer=nk.optimizers.RMSprop(), loss="mse")
    history = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=5, steps_per_epoch=2, batch_size=4, verbose=0,
                        callbacks=[Schedule(), StopAtTwo()])
    assert len(history.history["loss"]) == 2
    assert float(ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.05)


# -- training with the built-in methods -----------------------------------------------------------


def test_custom_loss_function_loss_class_and_metric_class():
    class Tempered(nk.losses.Loss):
        def __init__(self, factor=0.1, name="tempered"):
            super().__init__(name=name)
            self.factor = factor

        def call(self, y_true, y_pred):
            return ops.mean(ops.square(y_true - y_pred)) + self.factor * ops.mean(ops.square(0.5 - y_pred))

    class Hits(nk.metrics.Metric):
        def __init__(self, name="hits", **kwargs):
            super().__init__(name=name, **kwargs)
            self.hits = self.add_weight(name="hits", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            truth = ops.argmax(y_true, axis=1) if len(y_true.shape) == 2 else ops.cast(y_true, "int32")
            right = ops.cast(ops.equal(ops.argmax(y_pred, axis=1), truth), "float32")
            self.hits.assign_add(ops.sum(right))

        def result(self):
            return self.hits

        def reset_state(self):
            self.hits.assign(0.0)

    rng = _rng()
    x, labels = rng.random((12, 5)).astype("float32"), rng.integers(0, 3, 12).astype("float32")
    for loss, targets in ((lambda t, p: ops.mean(ops.square(t - p)), ops.one_hot(labels, 3)),
                          (Tempered(), ops.one_hot(labels, 3)), ("sparse_categorical_crossentropy", labels)):
        model = nk.Sequential([nk.Input((5,)), nk.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss=loss, metrics=[Hits()])
        history = model.fit(x, targets, batch_size=4, epochs=2, verbose=0)
        assert all(0 <= h <= 12 for h in history.history["hits"])


# -- saving ----------------------------------------------------------------------------------------


def test_saving_custom_models_layers_and_functions(tmp_path):
    @nk.saving.register_keras_serializable(package="guides")
    class Stack(nk.Model):
        def __init__(self, hidden_units, **kwargs):
            super().__init__(**kwargs)
            self.hidden_units = hidden_units
            self.dense_layers = [nk.layers.Dense(u) for u in hidden_units]

        def call(self, inputs):
            for layer in self.dense_layers:
                inputs = layer(inputs)
            return inputs

        def get_config(self):
            return {"hidden_units": self.hidden_units}

    model = Stack([4, 2])
    x = np.random.random((2, 3)).astype("float32")
    expected = ops.convert_to_numpy(model(x))
    model.save(tmp_path / "stack.keras")
    np.testing.assert_allclose(ops.convert_to_numpy(nk.models.load_model(tmp_path / "stack.keras")(x)), expected,
                               rtol=1e-6)

    def squared_tanh(v):
        return ops.tanh(v) ** 2

    inputs = nk.Input((3,))
    functional = nk.Model(inputs, nk.layers.Activation(squared_tanh)(_UnitsOnly(4)(inputs)))
    custom = {"_UnitsOnly": _UnitsOnly, "squared_tanh": squared_tanh}
    with nk.utils.custom_object_scope(custom):
        assert nk.Model.from_config(functional.get_config())(x).shape == (2, 4)
        clone = nk.models.clone_model(functional)
    assert clone(x).shape == (2, 4)


def test_weights_move_between_functional_subclassed_and_sequential(tmp_path):
    def functional(dropout=False):
        inputs = nk.Input((6,), name="digits")
        x = nk.layers.Dense(4, activation="relu", name="dense_1")(inputs)
        x = nk.layers.Dropout(0.5)(x) if dropout else x
        return nk.Model(inputs, nk.layers.Dense(3, name="predictions")(x))

    class Same(nk.Model):
        def __init__(self):
            super().__init__()
            self.dense_1, self.dense_2 = nk.layers.Dense(4, activation="relu"), nk.layers.Dense(3)

        def call(self, inputs):
            return self.dense_2(self.dense_1(inputs))

    source, same = functional(), Same()
    same(ops.ones((1, 6)))
    same.set_weights(source.get_weights())
    functional(dropout=True).set_weights(source.get_weights())
    for a, b in zip(source.weights, same.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())

    source.save_weights(tmp_path / "w.weights.h5")
    again = functional()
    again.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(again.get_weights()[0], source.get_weights()[0])
    extracted = nk.Sequential(again.layers[:-1] + [nk.layers.Dense(2)])
    assert extracted(np.ones((1, 6), "float32")).shape == (1, 2)


# -- RNNs ------------------------------------------------------------------------------------------


def test_encoder_states_start_the_decoder_and_stateful_layers_reset():
    enc_in, dec_in = nk.Input((None,)), nk.Input((None,))
    _, h, c = nk.layers.LSTM(4, return_state=True)(nk.layers.Embedding(20, 3)(enc_in))
    decoded = nk.layers.LSTM(4)(nk.layers.Embedding(30, 3)(dec_in), initial_state=[h, c])
    model = nk.Model([enc_in, dec_in], nk.layers.Dense(2)(decoded))
    assert model.predict([np.ones((2, 5)), np.ones((2, 3))], verbose=0).shape == (2, 2)

    chunks = [np.random.random((3, 4, 5)).astype("float32") for _ in range(2)]
    stateful = nk.layers.LSTM(6, stateful=True)
    first = ops.convert_to_numpy(stateful(chunks[0]))
    stateful(chunks[1])
    carried = stateful.states
    assert ops.convert_to_numpy(nk.layers.LSTM(6)(chunks[1], initial_state=carried)).shape == (3, 6)
    stateful.reset_states()
    np.testing.assert_allclose(ops.convert_to_numpy(stateful(chunks[0])), first, atol=1e-6)


def test_rnn_over_an_lstm_cell_computes_what_lstm_does():
    fused = nk.Sequential([nk.Input((None, 5)), nk.layers.LSTM(4), nk.layers.BatchNormalization(), nk.layers.Dense(3)])
    looped = nk.Sequential([nk.Input((None, 5)), nk.layers.RNN(nk.layers.LSTMCell(4)), nk.layers.BatchNormalization(),
                            nk.layers.Dense(3)])
    looped.set_weights(fused.get_weights())
    x = np.random.random((4, 7, 5)).astype("float32")
    np.testing.assert_allclose(looped.predict(x, verbose=0), fused.predict(x, verbose=0), atol=1e-5)
    bidirectional = nk.Sequential([nk.Input((5, 10)), nk.layers.Bidirectional(nk.layers.LSTM(4, return_sequences=True)),
                                   nk.layers.Bidirectional(nk.layers.LSTM(3)), nk.layers.Dense(2)])
    assert bidirectional.output_shape == (None, 2)


class _TwoTrackCell(nk.layers.Layer):
    """The RNN guide's cell shape: inputs `(x1, x2)`, states and outputs of shapes `(u,)` and `(u, v)`."""

    state_size = [(2,), (3, 2)]
    output_size = [(2,), (3, 2)]

    def build(self, input_shapes):
        self.k1 = self.add_weight(shape=(input_shapes[0][-1], 2), name="k1")
        self.k2 = self.add_weight(shape=(*input_shapes[1][1:], 3, 2), name="k2")

    def call(self, inputs, states):
        x1, x2 = nk.tree.flatten(inputs)
        o1, o2 = ops.matmul(x1, self.k1), ops.einsum("bij,ijkl->bkl", x2, self.k2)
        return (o1, o2), (states[0] + o1, states[1] + o2)


def test_an_rnn_over_a_nested_cell_builds_predicts_and_fits():
    in1, in2 = nk.Input((None, 4)), nk.Input((None, 5, 3))
    outputs = nk.layers.RNN(_TwoTrackCell())((in1, in2))
    model = nk.Model([in1, in2], outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
    x = [np.random.random((6, 7, 4)), np.random.random((6, 7, 5, 3))]
    y = [np.random.random((6, 2)), np.random.random((6, 3, 2))]
    history = model.fit(x, y, batch_size=3, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert [p.shape for p in model.predict(x, verbose=0)] == [(6, 2), (6, 3, 2)]


# -- training with built-in methods: datasets, weights, checkpoints --------------------------------


def _batches(lib, arrays, size, seen):
    class Batches(lib.utils.PyDataset):
        def __len__(self):
            return int(np.ceil(len(arrays[0]) / size))

        def __getitem__(self, i):
            seen.append(i)
            return tuple(a[i * size:(i + 1) * size] for a in arrays)

    return Batches()


def _dataset_fit(lib):
    """fit on PyDatasets with steps_per_epoch, validation_steps and (x, y, sample_weight) batches."""
    rng = _rng()
    x, y = rng.random((40, 6)).astype("float32"), rng.integers(0, 3, 40).astype("float32")
    weights = np.where(y == 1, 2.0, 1.0)
    model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(3, activation="softmax")])
    model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    train_seen, val_seen = [], []
    history = model.fit(_batches(lib, (x, y, weights), 8, train_seen), epochs=2, steps_per_epoch=2,
                        validation_data=_batches(lib, (x, y), 8, val_seen), validation_steps=2, shuffle=False,
                        verbose=0)
    return sorted(history.history), len(train_seen), val_seen


def test_fit_on_datasets_with_steps_and_sample_weights_as_keras():
    keys, steps, val_seen = _dataset_fit(nk)
    their_keys, _, their_val_seen = _dataset_fit(K)  # Keras also peeks one training batch first
    assert (keys, val_seen) == (their_keys, their_val_seen)
    assert steps == 4


def test_checkpoints_named_by_epoch_and_loss_restore_the_latest(tmp_path):
    rng = _rng()
    x, y = rng.random((32, 4)).astype("float32"), rng.integers(0, 2, 32)
    model = nk.Sequential([nk.Input((4,)), nk.layers.Dense(2, activation="softmax")])
    model.compile("rmsprop", "sparse_categorical_crossentropy")
    best = nk.callbacks.ModelCheckpoint(str(tmp_path / "mymodel_{epoch}.keras"), save_best_only=True,
                                        monitor="val_loss")
    by_loss = nk.callbacks.ModelCheckpoint(str(tmp_path / "ckpt-loss={loss:.2f}.keras"), save_freq=2)
    model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, callbacks=[best, by_loss], verbose=0)
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert "mymodel_1.keras" in saved and any(name.startswith("ckpt-loss=") for name in saved)
    latest = max(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime)
    restored = nk.models.load_model(latest)
    assert restored.predict(x[:3], verbose=0).shape == (3, 2)


def test_the_tensorboard_callback_as_the_guide_writes_it(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator

    rng = _rng()
    x, y = rng.random((32, 4)).astype("float32"), rng.integers(0, 2, 32)
    model = nk.Sequential([nk.Input((4,)), nk.layers.Dense(2, activation="softmax")])
    model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["sparse_categorical_accuracy"])
    tensorboard_cbk = nk.callbacks.TensorBoard(
        log_dir=str(tmp_path / "logs"), histogram_freq=0, embeddings_freq=0, update_freq="epoch")
    history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, callbacks=[tensorboard_cbk],
                        verbose=0)
    for run, prefix in (("train", ""), ("validation", "val_")):
        accumulator = event_accumulator.EventAccumulator(str(tmp_path / "logs" / run))
        accumulator.Reload()
        for name in ("loss", "sparse_categorical_accuracy"):
            events = accumulator.Scalars(f"epoch_{name}")
            assert [e.step for e in events] == [0, 1]
            np.testing.assert_array_equal([e.value for e in events], np.float32(history.history[prefix + name]))


# -- transfer learning -----------------------------------------------------------------------------


def test_freezing_is_recursive_and_keeps_frozen_weights():
    inner = nk.Sequential([nk.Input((3,)), nk.layers.Dense(3, activation="relu")])
    outer = nk.Sequential([nk.Input((3,)), inner, nk.layers.Dense(3, activation="sigmoid")])
    outer.trainable = False
    assert inner.trainable is False and inner.layers[0].trainable is False

    first = nk.layers.Dense(3, activation="relu")
    model = nk.Sequential([nk.Input((3,)), first, nk.layers.Dense(3)])
    first.trainable = False
    before = first.get_weights()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.random((4, 3)), np.random.random((4, 3)), verbose=0)
    for a, b in zip(before, first.get_weights()):
        np.testing.assert_array_equal(a, b)
    norm = nk.layers.BatchNormalization()
    norm.build((None, 4))
    assert (len(norm.weights), len(norm.trainable_weights), len(norm.non_trainable_weights)) == (4, 2, 2)
