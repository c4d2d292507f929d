"""TensorBoard: training logs as event files that TensorBoard reads, written without TensorFlow."""

import json
import os
import time
import warnings

import numpy as np

from nablanet import backend
from nablanet.callbacks import event_file
from nablanet.callbacks.base import Callback

_EMBEDDING_TENSOR = "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"  # the name Keras writes


class TensorBoard(Callback):
    """Write logs for TensorBoard (`tensorboard --logdir logs`, from `pip install 'nablanet[tensorboard]'`).

    As Keras does: the runs `log_dir/train` and `log_dir/validation` get the scalars `epoch_<name>`
    for every logged value at the epoch's index (validation values without their `val_` prefix),
    `epoch_learning_rate`, and `evaluation_<name>_vs_iterations` at the optimizer's step after each
    evaluation. With `write_graph`, the train run gets the model's config (TensorBoard's conceptual
    graph, tag `keras`) and a graph of its layers (the op graph).

    Args:
        log_dir: The folder of the runs.
        histogram_freq: Every how many epochs to write a histogram of every weight (0: never), tagged
            `<weight path>/histogram`.
        write_graph: Write the model's graph when the callback is given the model.
        write_images: With `histogram_freq`, also write the weights as images (`<weight path>/image`).
        write_steps_per_second: Also log `steps_per_second` (per epoch; per batch with `update_freq`).
        update_freq: "epoch", or "batch" or a number `n` of batches: write `batch_<name>` every `n`
            training batches, at the count of batches since training began.
        profile_batch: Only 0: nablanet has no profiler to trace with.
        embeddings_freq: Every how many epochs to save the weights for TensorBoard's projector,
            which shows the `Embedding` layers (`projector_config.pbtxt` in `log_dir`).
        embeddings_metadata: A metadata file for every `Embedding` layer, or `{layer name: file}`.

    Example:
        >>> import tempfile
        >>> import nablanet as keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0,
        ...                   callbacks=[TensorBoard(log_dir=folder)])
        ...     sorted(os.listdir(folder))
        ['train']
    """

    chief_only = True

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        if profile_batch:
            raise ValueError(f"TensorBoard: profiling is not available in nablanet; expected profile_batch=0, "
                             f"got {profile_batch!r}")
        if update_freq != "epoch" and update_freq != "batch" and not (
                isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, "
                             f"got {update_freq!r}")
        self.log_dir = str(os.fspath(log_dir))
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers = {}
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0
        self._epoch_start_time = self._batch_start_time = 0.0

    def set_model(self, model):
        """Take the model, and write its graph (with `write_graph`) and projector config."""
        super().set_model(model)
        self._writers = {}  # a new event file per model, as Keras starts new writers
        if model is None:
            return
        if self.write_graph:
            self._write_graph()
        if self.embeddings_freq:
            self._configure_embeddings()

    def _writer(self, run):
        if run not in self._writers:
            self._writers[run] = event_file.EventFileWriter(os.path.join(self.log_dir, run))
        return self._writers[run]

    # -- the hooks ----------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._previous_epoch_iterations = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._previous_epoch_iterations = int(self.model.optimizer.iterations)
            self._epoch_start_time = time.time()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        values = []
        if self.write_steps_per_second:
            elapsed = time.time() - self._batch_start_time
            values.append(event_file.scalar_value("batch_steps_per_second", 1.0 / max(elapsed, 1e-9)))
        values += [event_file.scalar_value(f"batch_{name}", value) for name, value in _scalars(logs)]
        self._writer("train").add_values(step, values)

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not hasattr(optimizer, "iterations"):
            return
        values = [event_file.scalar_value(f"evaluation_{name}_vs_iterations", value) for name, value in _scalars(logs)]
        self._writer("validation").add_values(int(optimizer.iterations), values)

    def on_epoch_end(self, epoch, logs=None):
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            path = os.path.join(self.log_dir, "train", f"keras_embedding.ckpt-{epoch}.weights.h5")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.model.save_weights(path)

    # -- what is written ----------------------------------------------------------------------------

    def _log_epoch_metrics(self, epoch, logs):
        if not logs:
            return
        train = {name: value for name, value in logs.items() if not name.startswith("val_")}
        val = {name[4:]: value for name, value in logs.items() if name.startswith("val_")}
        train.update(self._learning_rates())
        if self.write_steps_per_second:
            elapsed = time.time() - self._epoch_start_time
            steps = int(self.model.optimizer.iterations) - self._previous_epoch_iterations
            train["steps_per_second"] = steps / max(elapsed, 1e-9)
        # every epoch whatever update_freq is (as tf.keras forced it; Keras 3 on TensorFlow drops them
        # when the epoch's last batch is not a multiple of update_freq)
        for run, run_logs in (("train", train), ("validation", val)):
            if run_logs:
                values = [event_file.scalar_value(f"epoch_{name}", value) for name, value in _scalars(run_logs)]
                self._writer(run).add_values(epoch, values)

    def _learning_rates(self):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if hasattr(optimizer, "optimizers"):
            return {f"learning_rate_{opt.name}": float(opt.learning_rate) for opt in optimizer.optimizers}
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            return {"learning_rate": float(optimizer.learning_rate)}
        return {}

    def _log_weights(self, epoch):
        values = []
        for layer in self.model.layers:
            for weight in layer.weights:
                name = weight.path.replace(":", "_")
                array = np.asarray(weight.numpy())
                values.append(event_file.histogram_value(f"{name}/histogram", array))
                if self.write_images:
                    image = _weight_image(array)
                    if image is not None:
                        values.append(_image_value(f"{name}/image", image))
        self._writer("train").add_values(epoch, values)

    def _write_graph(self):
        try:
            text = self.model.to_json()
        except Exception as error:  # noqa: BLE001 -- any model that cannot be described is skipped, as Keras does
            warnings.warn(f"TensorBoard: the model failed to serialize as JSON, so no graph is written: {error}",
                          stacklevel=2)
            return
        config = json.loads(text)
        if config.get("class_name") not in ("Functional", "Sequential"):
            return  # a subclassed model has no graph to show
        writer = self._writer("train")
        keras_graph = event_file.tensor_value("keras", [text], (), "graph_keras_model", b"1")
        writer.add_values(0, [keras_graph])
        writer.add_graph(event_file.graph_def(_layer_nodes(config)))

    def _configure_embeddings(self):
        metadata = self.embeddings_metadata
        unclaimed = dict(metadata) if isinstance(metadata, dict) else {}
        lines = []
        for layer in self.model.layers:
            if type(layer).__name__ != "Embedding":
                continue
            lines += ["embeddings {", f"  tensor_name: {_quote(_EMBEDDING_TENSOR)}"]
            path = metadata if isinstance(metadata, str) else unclaimed.pop(layer.name, None)
            if path is not None:
                lines.append(f"  metadata_path: {_quote(path)}")
            lines.append("}")
        if unclaimed:
            raise ValueError(f"TensorBoard: embeddings_metadata names layers that are not Embedding layers of the "
                             f"model: {sorted(unclaimed)}")
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w", encoding="utf-8") as file:
            file.write("".join(line + "\n" for line in lines))


def _scalars(logs):
    for name, value in (logs or {}).items():
        try:
            yield name, float(value)
        except (TypeError, ValueError):
            continue  # not a number: TensorBoard's scalars cannot show it


def _quote(text):
    # protobuf text format's string escapes
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _weight_image(weight):
    """A weight as a batch of images `(k, height, width, channels)`, laid out as Keras does, or None."""
    image = np.squeeze(weight)
    if image.ndim == 1:  # a bias
        image = image.reshape(1, image.shape[0], 1, 1)
    elif image.ndim == 2:  # a Dense kernel, wider than tall
        if image.shape[0] > image.shape[1]:
            image = image.T
        image = image.reshape(1, image.shape[0], image.shape[1], 1)
    elif image.ndim == 3:  # a convolution kernel with one axis of size 1 squeezed out
        if backend.image_data_format() == "channels_last":
            image = np.transpose(image, (2, 0, 1))
        image = image.reshape(*image.shape, 1)
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        return None
    return image


def _image_value(tag, images, max_outputs=3):
    # floats are clipped to [0, 1] and scaled to 8 bits, as TensorFlow's image summary does
    pixels = (np.clip(images[:max_outputs], 0.0, 1.0) * 255.5).astype(np.uint8)
    height, width = images.shape[1:3]
    strings = [str(width), str(height)] + [event_file.png(image) for image in pixels]
    return event_file.tensor_value(tag, strings, (len(strings),), "images")


def _layer_nodes(config):
    """`(name, op, inputs)` for every layer of a Sequential or functional config: the op graph."""
    layers = config["config"]["layers"]
    if config["class_name"] == "Sequential":
        names = [layer["config"]["name"] for layer in layers]
        return [(name, layer["class_name"], names[i - 1:i]) for i, (name, layer) in enumerate(zip(names, layers))]
    return [(layer["config"]["name"], layer["class_name"], _inbound_names(layer.get("inbound_nodes", [])))
            for layer in layers]


def _inbound_names(nodes):
    names = []

    def walk(item):
        if isinstance(item, dict):
            history = item.get("config", {}).get("keras_history") if item.get("class_name") == "__keras_tensor__" \
                else None
            if history:
                names.append(history[0])
                return
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(nodes)
    return list(dict.fromkeys(names))
