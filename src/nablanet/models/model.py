"""Model: a layer that trains. Functional (`Model(inputs, outputs)`) or subclassed (`call`).

`compile` chooses the optimizer, losses and metrics; `fit`, `evaluate` and `predict` run the
one loop in `trainer.py`; `train_step`, `test_step` and `predict_step` can be overridden as in
Keras.
"""

import contextlib
import functools
import inspect

import numpy as np

from nablanet import losses as losses_module
from nablanet import metrics as metrics_module
from nablanet import backend, optimizers, serialization
from nablanet.autodiff import no_grad
from nablanet.autodiff.engine import backprop
from nablanet.autodiff.tensor import Tensor
from nablanet.compat import warn_ignored
from nablanet.layers.base import Layer
from nablanet.layers.core import InputLayer
from nablanet.models import compile_utils, trainer
from nablanet.models.functional import Graph, from_intermediate_inputs, functional_config, functional_from_config
from nablanet.names import unique_name
from nablanet.tree import flatten, map_shape_structure, map_structure


class Model(Layer):
    """A model: `Model(inputs, outputs)` for the functional API, or subclass it and define
    `call(inputs, training=None)`.

    Attributes for callbacks (besides Keras's `stop_training`):
        last_gradients: The gradients of the last `train_step`, aligned with
            `trainable_weights` (empty before the first step, or when the loss had no gradient).
        resume_epoch: An epoch for `fit` to start at when it is later than `initial_epoch`: a
            callback sets it in `on_train_begin` (`BackupAndRestore`, after restoring a backup),
            and `fit` clears it.

    Example:
        >>> from nablanet import layers
        >>> inputs = layers.Input(shape=(3,))
        >>> model = Model(inputs, layers.Dense(2)(inputs))
        >>> model.predict(np.ones((4, 3)), verbose=0).shape
        (4, 2)
    """

    accepts_integer_inputs = True

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        if name is None and type(self) is Model and (inputs is not None or outputs is not None):
            name = unique_name("functional")  # Keras's name for a model built from inputs and outputs
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._graph = None
        self._fit_cache = None  # a _FitCache while fit runs
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self.last_gradients = []
        self.resume_epoch = None
        self._replica_at_creation = backend.replica()  # to tell a model made before set_distribution
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model: pass both inputs and outputs for a functional model")
            inputs, outputs = from_intermediate_inputs(inputs, outputs)
            self._graph = Graph(inputs, outputs)
            self._set_structure(inputs, outputs)
            self.built = True
            self._build_shape = map_structure(lambda t: t.shape, inputs) if not isinstance(inputs, dict) else None

    # -- structure -------------------------------------------------------------------------------

    def _set_structure(self, inputs, outputs):
        """Keras's two views of a graph's ends: `inputs`/`outputs` are flat lists, `input`/`output`
        the structures the model was built from."""
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs, self.outputs = flatten(inputs), flatten(outputs)

    @property
    def layers(self):
        """The model's layers: the graph's (Input layers included) or the attributes'."""
        if self._graph is not None:
            return list(self._graph.layers)
        return self._sublayers()

    @property
    def input_shape(self):
        """A functional model's input shape (a list of them for several inputs)."""
        return self._graph_shapes("inputs", "input_shape")

    @property
    def output_shape(self):
        """A functional model's output shape (a list of them for several outputs)."""
        return self._graph_shapes("outputs", "output_shape")

    def _graph_shapes(self, ends, what):
        if self._graph is None:
            raise AttributeError(f"Model '{self.name}': {what} is defined for functional models only, "
                                 "got a subclassed model")
        shapes = map_structure(lambda t: t.shape, getattr(self, ends))
        return shapes[0] if isinstance(shapes, list) and len(shapes) == 1 else shapes

    def _sublayers(self):
        if self._graph is not None:
            return [layer for layer in self._graph.layers if not isinstance(layer, InputLayer)]
        return [layer for layer in super()._sublayers() if not isinstance(layer, InputLayer)]

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in `layers`."""
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"get_layer: index {index} is out of range for {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are {[layer.name for layer in self.layers]}")

    def call(self, inputs, training=None):
        if self._graph is None:
            raise NotImplementedError(f"{type(self).__name__}: a subclassed Model must define call()")
        return self._graph.run(inputs, training=training)

    def _clear_losses(self):
        for layer in self._all_layers():
            layer._losses = []

    def _all_layers(self):
        """This model and every layer inside it."""
        if self._fit_cache is not None:
            return self._fit_cache.layers
        found, stack = [self], list(self._sublayers())
        while stack:
            layer = stack.pop()
            found.append(layer)
            stack.extend(layer._sublayers())
        return found

    @property
    def losses(self):
        if self._fit_cache is None:
            return super().losses
        layers = self._fit_cache.layers
        penalties = [w.regularizer(w) for layer in layers for w in layer._weights
                     if getattr(w, "regularizer", None)]
        return [loss for layer in layers for loss in layer._losses] + penalties

    @property
    def trainable_weights(self):
        cache = self._fit_cache
        if cache is None:
            return super().trainable_weights
        if cache.trainable_weights is None:  # the first step has run, so a deferred build has made the weights
            cache.trainable_weights = super().trainable_weights
        return list(cache.trainable_weights)

    @contextlib.contextmanager
    def _fixed_structure(self):
        """Within one fit, evaluate or predict the layers and trainable weights cannot change (as in
        Keras, which asks for a recompile after `trainable` changes): walk them once, not every step.
        Nested uses (evaluate on the validation data inside fit) keep the outer walk."""
        if self._fit_cache is not None:
            yield
            return
        self._fit_cache = _FitCache(self._all_layers())
        try:
            yield
        finally:
            self._fit_cache = None

    def compute_output_shape(self, input_shape):
        if self._graph is not None:
            return map_structure(lambda t: t.shape, self._outputs_struct)
        return super().compute_output_shape(input_shape)

    def build(self, input_shape):
        if self._graph is None:  # a subclassed model builds by running on zeros once
            dummy = map_shape_structure(lambda s: np.zeros(tuple(1 if d is None else d for d in s), self.dtype),
                                        input_shape)
            self.built = True
            with no_grad():
                self.call(map_structure(self._convert, dummy))

    # -- compile ---------------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Choose the optimizer, the loss (per output) and the metrics (per output).

        Every step runs eagerly on NumPy, whatever `run_eagerly` says; `auto_scale_loss` wraps no
        optimizer (there is no float16 policy), and the optimizer's own `scale_loss` scales the loss
        before differentiating; `steps_per_execution` and `jit_compile` are ignored, with a warning.
        """
        warn_ignored("Model.compile", "steps_per_execution", steps_per_execution,
                     "every batch is one step that callbacks see", default=1)
        warn_ignored("Model.compile", "jit_compile", jit_compile, "there is no compiler: ops run eagerly",
                     default="auto", honoured=(False,))
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self.loss_weights = loss_weights
        self._metric_spec, self._weighted_metric_spec = metrics, weighted_metrics
        self._compiled_losses = None  # resolved at the first batch, when shapes are known
        self._compiled_metrics = compile_utils.CompileMetrics(
            metrics, weighted_metrics, self._output_names(), self._targets) if (
            metrics or weighted_metrics) else None
        self._output_loss_trackers = []
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._compile_flags = (run_eagerly, steps_per_execution)  # for get_compile_config
        self.compiled = True

    def _assert_compiled(self, where):
        if not self.compiled:
            raise RuntimeError(
                f"{where}: the model must be compiled first: call model.compile(optimizer=..., loss=...)"
            )

    def _output_names(self):
        outputs = flatten(self.outputs) if self._graph is not None else []
        return [t.name for t in outputs] if len(outputs) > 1 else None

    def _targets(self, y):
        """`y` as a list aligned with the outputs: a dict is read by output name."""
        names = self._output_names()
        if isinstance(y, dict) and names is not None:
            missing = [name for name in names if name not in y]
            if missing:
                raise ValueError(f"{self.name}: y has no targets for the outputs {missing}; "
                                 f"its keys are {sorted(y)} and the outputs are {names}")
            return [y[name] for name in names]
        return flatten(y)

    def _resolve_losses(self, y_pred):
        names = self._output_names()
        self._compiled_losses, self._loss_weight_values = compile_utils.losses_per_output(
            self.loss, self.loss_weights, len(flatten(y_pred)), names)
        # with several losses Keras also logs each output's own (unweighted) loss
        with_loss = [i for i, fn in enumerate(self._compiled_losses) if fn is not None]
        self._output_loss_trackers = [
            metrics_module.Mean(name=f"{names[i] if names else i}_loss") if fn is not None and len(with_loss) > 1
            else None for i, fn in enumerate(self._compiled_losses)]

    def _resolve_metrics(self, y, y_pred):
        """The compiled metrics for outputs shaped like `y_pred` (Keras builds them before the first
        step, so an overridden `compute_loss` or `train_step` that skips the base methods has them)."""
        if self._compiled_metrics is not None and not self._compiled_metrics.built:
            self._compiled_metrics.build(y, y_pred)

    def compiled_metrics_list(self):
        """The metrics `compile` was given, one by one (empty until they are built)."""
        return [] if self._compiled_metrics is None else self._compiled_metrics.metrics

    @property
    def metrics(self):
        """The loss tracker, the compiled metrics (one `CompileMetrics` entry, as in Keras), each
        output's loss tracker and, as Keras tracks them, the metrics held in the model's attributes."""
        found = [self._loss_tracker] if self.compiled else []
        found += [self._compiled_metrics] if getattr(self, "_compiled_metrics", None) is not None else []
        found += [tracker for tracker in getattr(self, "_output_loss_trackers", []) if tracker is not None]
        for value in vars(self).values():
            if isinstance(value, metrics_module.Metric) and not any(value is m for m in found):
                found.append(value)
        return found

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # -- steps -----------------------------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Clear `.grad` of every weight before a `loss.backward()` (a torch-backend Keras model
        inherits this from `torch.nn.Module`; Keras's torch guides call it in `train_step`)."""
        for weight in self.weights:
            weight.grad = None if set_to_none else np.zeros_like(weight.data)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss (weighted over outputs) plus every loss the layers added."""
        if self._compiled_losses is None:
            self._resolve_losses(y_pred)
        total = None
        for fn, weight, tracker, y_true, prediction in zip(self._compiled_losses, self._loss_weight_values,
                                                           self._output_loss_trackers, self._targets(y),
                                                           flatten(y_pred)):
            if fn is None:
                continue
            if isinstance(fn, losses_module.Loss):
                value = fn(y_true, prediction, sample_weight=sample_weight)
            else:
                values = fn(y_true, prediction)
                value = losses_module.reduce_weighted(
                    values, losses_module.masked_weight(sample_weight, prediction, values))
            if tracker is not None:
                tracker.update_state(_scalar(value), sample_weight=len(prediction))
            value = value * weight if weight != 1 else value
            total = value if total is None else total + value
        for extra in self.losses:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("compute_loss: the model has no loss; pass loss= to compile()")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with a batch; returns every metric's result by name."""
        del x  # as in Keras, the base method does not use the inputs
        if self._compiled_metrics is not None:
            self._compiled_metrics.update_state(y, y_pred, sample_weight=sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """Every metric's current result by name; a metric whose result is a dict adds its entries."""
        logs = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                logs.update({name: _log_value(value) for name, value in result.items()})
            else:
                logs[metric.name] = _log_value(result)
        return dict(sorted(logs.items()))  # Keras orders the logs by name

    def _compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """`compute_loss`, given `training=` only when it takes it (overrides written for Keras
        before 3.3 do not), as Keras calls it."""
        if _takes_training(type(self).compute_loss):
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def _track_loss(self, loss, x):
        """Keras's loss tracker: the mean over batches, weighted by batch size, of what
        `compute_loss` returned."""
        batch_size = len(next(a for a in flatten(x) if a is not None))
        self._loss_tracker.update_state(np.asarray(loss.data if isinstance(loss, Tensor) else loss),
                                        sample_weight=batch_size)

    def train_step(self, data):
        """One optimizer step on a batch (`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`);
        returns the running logs."""
        x, y, sample_weight = trainer.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        if not isinstance(loss, Tensor):
            loss = self._convert(loss)
        self._track_loss(loss, x)
        weights = self.trainable_weights
        scaled = self.optimizer.scale_loss(loss)  # as Keras: a loss scale multiplies the gradients, apply divides
        grads = backprop(scaled, weights, np.ones(scaled.shape, scaled.dtype), free=True) if loss.requires_grad else []
        self.last_gradients = grads
        if grads:
            self.optimizer.apply(grads, weights)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        """Loss and metrics on a batch, without updating anything."""
        x, y, sample_weight = trainer.unpack_x_y_sample_weight(data)
        with no_grad():
            y_pred = self(x, training=False)
            loss = self._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data):
        """The model's outputs for a batch (its `x`, alone or in a tuple)."""
        x, _, _ = trainer.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # -- the training API ------------------------------------------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train for `epochs` epochs; returns a `History` whose `history` maps each logged name
        ("loss", "accuracy", "val_loss", ...) to its per-epoch values."""
        return trainer.fit(
            self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
            class_weight=class_weight, sample_weight=sample_weight, initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
            validation_batch_size=validation_batch_size, validation_freq=validation_freq,
        )

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, **kwargs):
        """The loss (and metrics) on data: a float, a list `[loss, metrics...]`, or a dict."""
        if kwargs:  # Keras's signature keeps **kwargs for its own internal flags
            raise TypeError(f"Model.evaluate: unexpected arguments {sorted(kwargs)}")
        return trainer.evaluate(self, x, y, batch_size=batch_size, verbose=verbose, sample_weight=sample_weight,
                                steps=steps, callbacks=callbacks, return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for `x`, batch by batch with nothing recorded, as NumPy arrays."""
        return trainer.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns the loss (and metrics) on it."""
        self._assert_compiled("train_on_batch")
        batches, _ = trainer.make_batches(x, y, sample_weight, None, False, "train_on_batch",
                                          class_weight=class_weight)
        batches.batch_size = batches.n
        self.reset_metrics()
        logs = self.train_step(next(batches.epoch()))
        return logs if return_dict else self._as_list(logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss (and metrics) on one batch."""
        self._assert_compiled("test_on_batch")
        batches, _ = trainer.make_batches(x, y, sample_weight, None, False, "test_on_batch")
        batches.batch_size = batches.n
        self.reset_metrics()
        logs = self.test_step(next(batches.epoch()))
        return logs if return_dict else self._as_list(logs)

    def predict_on_batch(self, x):
        """The outputs for one batch, as NumPy arrays."""
        with no_grad():
            out = self(trainer.standardize(x, "predict_on_batch"), training=False)
        return map_structure(lambda t: t.data if isinstance(t, Tensor) else t, out)

    def _as_list(self, logs):
        """The logs as `evaluate` returns them without `return_dict`: in the order of `metrics`,
        then any other keys by name; one value alone is returned bare (Keras's rule)."""
        names = []
        for metric in self.metrics:
            if metric is self._compiled_metrics:
                # with several outputs Keras's list skips the compiled metrics' prefixed names: they come last, sorted
                names += [m.name for m in self.compiled_metrics_list()] if self._output_names() is None else []
            else:
                names.append(metric.name)
        values = [logs[n] for n in dict.fromkeys(names) if n in logs] + [logs[k] for k in sorted(logs)
                                                                        if k not in names]
        return values[0] if len(values) == 1 else values

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print a table of the layers, their output shapes and parameter counts, as Keras lays it
        out (`print_fn` gets the whole table as one string)."""
        from nablanet.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)

    def save(self, filepath, overwrite=True, zipped=None):
        """Save architecture, weights, compile settings and optimizer state to one file, written
        atomically: Keras 3's `.keras` format (which `keras.saving.load_model` opens), or, for a
        name ending in `.h5` or `.hdf5`, Keras's legacy HDF5 model format (`nablanet.saving.legacy_h5`).
        """
        from nablanet.saving import save_model

        warn_ignored("Model.save", "zipped", zipped, "a .keras file is always one zip archive", honoured=(True,))
        return save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights (atomically): Keras's layout for `*.weights.h5`, else safetensors by name."""
        from nablanet.saving import save_weights

        return save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, names=None, flatten_from=None):
        """Load weights from a file, which may come from nablanet, Keras or PyTorch.

        Args:
            filepath: nablanet's weights (`save_weights`) or model archive (`save`); a Keras
                `.weights.h5`, legacy `.h5` or `.keras` file (matched by structure, as Keras
                does, or by layer name; needs h5py); or a PyTorch state dict saved as
                safetensors (pickles are refused). See `nablanet.saving.interop`.
            skip_mismatch: Load the layers that fit and return the problems instead of raising.
            names: PyTorch files: `{layer name: module name}`, e.g. `{"fc1": "classifier.0"}`;
                by default the modules in the natural order of their names.
            flatten_from: PyTorch files: `{layer name: (height, width, channels)}`, the feature
                map a Dense layer's input was flattened from (None: not a flattened map), for
                a Flatten nablanet cannot trace (in a subclassed model, say).

        Returns:
            The problems skipped with `skip_mismatch` (empty when everything fit). When anything
            does not fit and `skip_mismatch` is off, a `SavingError` names it and nothing is
            assigned.
        """
        from nablanet.saving import load_weights

        return load_weights(self, filepath, skip_mismatch=skip_mismatch, names=names, flatten_from=flatten_from)

    export_formats = {}  # noqa: RUF012 -- format -> exporter, one table that nablanet.export fills

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
        """Export the inference pass for serving elsewhere: `format="onnx"` writes an ONNX file
        (needs `pip install 'nablanet[onnx]'`; see `nablanet.export.export_onnx` for
        `opset_version=` and `recurrent_masks=`). Keras's default format, a TensorFlow
        SavedModel, is not available.

        Example:
            >>> import os, tempfile
            >>> from nablanet import layers
            >>> inputs = layers.Input(shape=(3,))
            >>> model = Model(inputs, layers.Dense(2)(inputs))
            >>> with tempfile.TemporaryDirectory() as folder:
            ...     os.path.exists(model.export(os.path.join(folder, "m.onnx"), format="onnx", verbose=False))
            True
        """
        exporter = self.export_formats.get(format)
        if exporter is None:
            raise ValueError(f"Model.export: unsupported format={format!r}; the supported formats are "
                             f"{sorted(self.export_formats)} (pass format='onnx')")
        return exporter(self, filepath, verbose=verbose, input_signature=input_signature, **kwargs)

    # -- configuration (Keras 3's schema; see nablanet.serialization) ---------------------------------

    @property
    def _keras_class_name(self):
        return "Functional" if self._graph is not None and type(self) is Model else type(self).__name__

    @property
    def _keras_module(self):
        return "keras.src.models.functional" if self._keras_class_name == "Functional" else None

    def get_config(self):
        if self._graph is not None:
            return functional_config(self)
        return {"name": self.name, "trainable": self.trainable}

    def to_json(self, **kwargs):
        """The model's config in Keras's schema as a JSON string (`json.dumps`'s `kwargs`), for
        `nablanet.models.model_from_json`."""
        import json

        return json.dumps(serialization.serialize(self), **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        with serialization.custom_object_scope(custom_objects or {}):
            if "layers" in config and ("input_layers" in config or "nodes" in config):
                return functional_from_config(cls, config)
            return cls(**config)

    def get_compile_config(self):
        """The arguments of `compile`, as Keras writes them (empty before `compile`)."""
        if not self.compiled:
            return {}
        return {"optimizer": serialization.serialize(self.optimizer), "loss": serialization.serialize(self.loss),
                "loss_weights": self.loss_weights, "metrics": serialization.serialize(self._metric_spec),
                "weighted_metrics": serialization.serialize(self._weighted_metric_spec),
                "run_eagerly": self._compile_flags[0], "steps_per_execution": self._compile_flags[1],
                "jit_compile": False}

    def compile_from_config(self, config):
        """`compile` with what `get_compile_config` wrote (names stay names)."""
        if not config:
            return
        self.compile(optimizer=serialization.deserialize(config.get("optimizer") or "rmsprop", kind="optimizers"),
                     loss=compile_utils.revive(config.get("loss"), "losses"), loss_weights=config.get("loss_weights"),
                     metrics=compile_utils.revive(config.get("metrics"), "metrics"),
                     weighted_metrics=compile_utils.revive(config.get("weighted_metrics"), "metrics"))


def _scalar(value):
    return float(np.asarray(value.data if isinstance(value, Tensor) else value))


def _log_value(value):
    """A metric's result for the logs: a float, or an array for one per class or threshold, as Keras."""
    array = np.asarray(value.data if isinstance(value, Tensor) else value)
    return float(array) if array.ndim == 0 else array


@functools.lru_cache(maxsize=256)  # asked every step; inspect.signature is slow
def _takes_training(method):
    """Whether a `compute_loss` names a `training` parameter (Keras checks the name only)."""
    parameters = inspect.signature(method).parameters
    return "training" in parameters


class _FitCache:
    """What one fit walks once: every layer, and the trainable weights after the first step."""

    def __init__(self, layers):
        self.layers = layers
        self.trainable_weights = None
