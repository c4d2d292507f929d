"""TensorBoard: what TensorBoard reads back from our event files, against History and against what
Keras's own callback writes (its `tensorflow.summary` calls, recorded by a stand-in: TensorFlow is
not installed, and Keras's callback cannot write without it)."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.graph import keras_util
from tensorboard.util import tensor_util

import nablanet as nk

keras = pytest.importorskip("keras")
tensorboard_module = pytest.importorskip("keras.src.callbacks.tensorboard")

rng = np.random.default_rng(0)
X = rng.standard_normal((12, 6, 2)).astype("float32")
Y = rng.standard_normal((12, 1)).astype("float32")
X_VAL, Y_VAL = X[:4] * 0.5, Y[:4]
EPOCHS, BATCH = 3, 3  # four batches an epoch


def _model(lib):
    model = lib.Sequential([lib.Input((6, 2), name="x"), lib.layers.Conv1D(3, 3, name="conv"),
                            lib.layers.Flatten(name="flat"), lib.layers.Dense(1, name="out")], name="net")
    model.compile(lib.optimizers.SGD(learning_rate=0.05), "mse", metrics=["mae"])
    return model


class FakeSummary:
    """Stands in for `tensorflow.summary` as Keras's TensorBoard uses it: default writers, `record_if`,
    and the summaries, recorded as `(run, kind, tag, step) -> value`."""

    def __init__(self):
        self.records = {}
        self._writers = []
        self._conditions = []

    def create_file_writer(self, logdir):
        return _FakeWriter(self, os.path.basename(logdir))

    @contextlib.contextmanager
    def record_if(self, condition):
        self._conditions.append(condition)
        yield
        self._conditions.pop()

    def write(self, kind, tag, value, step):
        if not self._writers or (self._conditions and not self._conditions[-1]()):
            return False  # no default writer, or recording is off: tf.summary writes nothing
        run, default_step = self._writers[-1]
        step = default_step if step is None else step
        self.records[(run, kind, tag, int(keras.ops.convert_to_numpy(step)))] = value
        return True

    def scalar(self, name, data, step=None):
        return self.write("scalar", name, float(data), step)

    def histogram(self, name, data, step=None):
        return self.write("histogram", name, keras.ops.convert_to_numpy(data), step)

    def image(self, name, data, step=None):
        return self.write("image", name, np.asarray(data), step)


class _FakeWriter:
    def __init__(self, summary, run):
        self.summary, self.run = summary, run

    @contextlib.contextmanager
    def as_default(self, step=None):
        self.summary._writers.append((self.run, step))
        yield
        self.summary._writers.pop()

    def flush(self):
        pass

    def close(self):
        pass


def _fit_keras(monkeypatch, weights, callback_kwargs):
    summary = FakeSummary()
    monkeypatch.setattr(tensorboard_module, "keras_model_summary",
                        lambda name, data, step: summary.write("graph", name, data.to_json(), step))
    model = _model(keras)
    model.set_weights(weights)
    callback = keras.callbacks.TensorBoard(log_dir="unused", **callback_kwargs)
    callback._summary_module = summary
    history = model.fit(X, Y, validation_data=(X_VAL, Y_VAL), epochs=EPOCHS, batch_size=BATCH, shuffle=False,
                        verbose=0, callbacks=[callback])
    return summary.records, history.history


def _read_ours(log_dir):
    """`(run, kind, tag, step) -> value` from our event files, as TensorBoard's loader migrates them."""
    records = {}
    for run in sorted(os.listdir(log_dir)):
        accumulator = plugin_event_accumulator.EventAccumulator(os.path.join(log_dir, run), size_guidance={
            plugin_event_accumulator.TENSORS: 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["tensors"]:
            metadata = accumulator.SummaryMetadata(tag)
            kind = {"scalars": "scalar", "histograms": "histogram", "images": "image",
                    "graph_keras_model": "graph"}.get(metadata.plugin_data.plugin_name)
            if kind is None:
                continue  # the op graph, which Keras on torch does not write
            for event in accumulator.Tensors(tag):
                value = tensor_util.make_ndarray(event.tensor_proto)
                records[(run, kind, tag, event.step)] = value
    return records


@pytest.fixture(scope="module")
def weights():
    return _model(nk).get_weights()


CASES = [
    {"histogram_freq": 2, "write_images": True, "update_freq": 2, "write_steps_per_second": True},
    {"update_freq": "batch", "write_graph": False},
    {},
]


@pytest.mark.parametrize("kwargs", CASES)
def test_tags_steps_and_values_as_keras_writes_them(monkeypatch, tmp_path, weights, kwargs):
    theirs, their_history = _fit_keras(monkeypatch, weights, kwargs)
    model = _model(nk)
    model.set_weights(weights)
    history = model.fit(X, Y, validation_data=(X_VAL, Y_VAL), epochs=EPOCHS, batch_size=BATCH, shuffle=False,
                        verbose=0, callbacks=[nk.callbacks.TensorBoard(log_dir=tmp_path, **kwargs)])
    ours = _read_ours(tmp_path)
    assert sorted(ours) == sorted(theirs), set(ours) ^ set(theirs)
    for key, value in theirs.items():
        run, kind, tag, step = key
        if kind == "scalar" and "steps_per_second" not in tag:
            np.testing.assert_allclose(ours[key], value, rtol=2e-5, atol=1e-7, err_msg=str(key))
        elif kind == "graph":
            assert json.loads(ours[key].item())["class_name"] == json.loads(value)["class_name"]
        elif kind == "image":
            expected = (np.clip(value[:3], 0, 1) * 255.5).astype(np.uint8)  # TensorFlow's conversion
            width, height, *pngs = ours[key]
            assert (int(width), int(height)) == (expected.shape[2], expected.shape[1])
            decoded = [_decode_png(data).reshape(expected.shape[1:]) for data in pngs]
            np.testing.assert_allclose(np.stack(decoded), expected, atol=1)  # float32 vs float64 rounding
    for name, values in history.history.items():
        run, tag = ("validation", name[4:]) if name.startswith("val_") else ("train", name)
        got = [float(ours[(run, "scalar", f"epoch_{tag}", epoch)]) for epoch in range(EPOCHS)]
        np.testing.assert_array_equal(got, np.float32(values))
        np.testing.assert_allclose(values, their_history[name], rtol=2e-5)


def _decode_png(data):
    image_module = pytest.importorskip("PIL.Image")
    return np.asarray(image_module.open(io.BytesIO(data)))


def test_histograms_batch_scalars_and_graph_hold_the_models_values(tmp_path):
    model = _model(nk)
    seen, batch_logs = {}, {}
    record = nk.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.update({epoch: [w.numpy().copy() for w in model.weights]}),
        on_train_batch_end=lambda batch, logs: batch_logs.update({len(batch_logs) + 1: logs["loss"]}))
    callback = nk.callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=2, update_freq=3)
    model.fit(X, Y, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=[record, callback])
    assert sorted(os.listdir(tmp_path)) == ["train"]  # no validation, no validation run
    accumulator = event_accumulator.EventAccumulator(str(tmp_path / "train"), size_guidance={
        event_accumulator.HISTOGRAMS: 0, event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    accumulator.Reload()
    for index, weight in enumerate(model.weights):
        events = accumulator.Histograms(f"{weight.path}/histogram")
        assert [e.step for e in events] == [0, 2]
        for event in events:
            values = seen[event.step][index]
            histogram = event.histogram_value
            assert (histogram.min, histogram.max, histogram.num) == (values.min(), values.max(), values.size)
            np.testing.assert_allclose(histogram.sum, values.sum(dtype=np.float64), rtol=1e-12)
    batch_loss = accumulator.Scalars("batch_loss")
    assert [e.step for e in batch_loss] == [3, 6, 9, 12]
    np.testing.assert_array_equal([e.value for e in batch_loss], np.float32([batch_logs[s] for s in (3, 6, 9, 12)]))
    keras_graph = accumulator.Tensors("keras")[0]
    text = tensor_util.make_ndarray(keras_graph.tensor_proto).item().decode()
    assert text == model.to_json()
    conceptual = keras_util.keras_model_to_graph_def(json.loads(text))  # what TensorBoard's graph plugin draws
    assert [(n.name, list(n.input)) for n in conceptual.node] == [
        ("net/x", []), ("net/conv", ["net/x"]), ("net/flat", ["net/conv"]), ("net/out", ["net/flat"])]
    graph = accumulator.Graph()
    assert [(n.name, n.op, list(n.input)) for n in graph.node] == [
        ("x", "InputLayer", []), ("conv", "Conv1D", ["x"]), ("flat", "Flatten", ["conv"]),
        ("out", "Dense", ["flat"])]


def test_a_functional_graph_keeps_its_branches(tmp_path):
    inputs = nk.Input((3,), name="x")
    left, right = nk.layers.Dense(2, name="left")(inputs), nk.layers.Dense(2, name="right")(inputs)
    model = nk.Model(inputs, nk.layers.Add(name="sum")([left, right]))
    nk.callbacks.TensorBoard(log_dir=str(tmp_path)).set_model(model)
    accumulator = event_accumulator.EventAccumulator(str(tmp_path / "train"))
    accumulator.Reload()
    assert [(n.name, list(n.input)) for n in accumulator.Graph().node] == [
        ("x", []), ("left", ["x"]), ("right", ["x"]), ("sum", ["left", "right"])]


def test_evaluate_writes_evaluation_scalars_at_the_optimizer_step(tmp_path):
    model = _model(nk)
    model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0)
    logs = model.evaluate(X_VAL, Y_VAL, verbose=0, return_dict=True,
                          callbacks=[nk.callbacks.TensorBoard(log_dir=str(tmp_path), write_graph=False)])
    accumulator = event_accumulator.EventAccumulator(str(tmp_path / "validation"))
    accumulator.Reload()
    events = accumulator.Scalars("evaluation_loss_vs_iterations")
    assert [(e.step, e.value) for e in events] == [(4, np.float32(logs["loss"]))]


def test_embeddings_projector_config_and_weights(tmp_path):
    text_format = pytest.importorskip("google.protobuf.text_format")
    from tensorboard.plugins.projector import projector_config_pb2

    model = nk.Sequential([nk.Input((2,), dtype="int32"), nk.layers.Embedding(5, 2, name="words"),
                           nk.layers.Flatten(), nk.layers.Dense(1)])
    model.compile("sgd", "mse")
    callback = nk.callbacks.TensorBoard(log_dir=str(tmp_path), embeddings_freq=1,
                                        embeddings_metadata={"words": "words.tsv"})
    model.fit(np.array([[1, 2], [3, 4]]), np.ones((2, 1)), epochs=2, verbose=0, callbacks=[callback])
    text = (tmp_path / "projector_config.pbtxt").read_text()
    config = text_format.Parse(text, projector_config_pb2.ProjectorConfig())
    assert [(e.tensor_name, e.metadata_path) for e in config.embeddings] == [
        ("layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE", "words.tsv")]
    assert {"keras_embedding.ckpt-0.weights.h5", "keras_embedding.ckpt-1.weights.h5"} <= set(
        os.listdir(tmp_path / "train"))
    with pytest.raises(ValueError, match="TensorBoard: embeddings_metadata names layers .*'dense'"):
        nk.callbacks.TensorBoard(log_dir=str(tmp_path), embeddings_freq=1,
                                 embeddings_metadata={"dense": "x.tsv"}).set_model(model)


def test_bad_arguments_name_the_callback():
    with pytest.raises(ValueError, match="TensorBoard: profiling is not available .* got 5"):
        nk.callbacks.TensorBoard(profile_batch=5)
    with pytest.raises(ValueError, match="TensorBoard: update_freq must be .* got 'often'"):
        nk.callbacks.TensorBoard(update_freq="often")


def test_scalar_events_are_what_tensorboard_migrates(tmp_path):
    """Our scalars are the simple values TensorBoard turns into its scalar tensors."""
    model = _model(nk)
    model.fit(X, Y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[nk.callbacks.TensorBoard(log_dir=tmp_path)])
    accumulator = plugin_event_accumulator.EventAccumulator(str(tmp_path / "train"))
    accumulator.Reload()
    assert accumulator.SummaryMetadata("epoch_loss").data_class == summary_pb2.DATA_CLASS_SCALAR
    assert accumulator.SummaryMetadata("keras").data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
