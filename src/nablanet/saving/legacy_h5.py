"""Keras's legacy HDF5 model file (`model.save("m.h5")`), written and read both ways with Keras 3.

The layout, as Keras's `legacy_h5_format` writes it:

- root attributes `keras_version`, `backend`, `model_config` (JSON: `{"class_name", "config"}`)
  and, when the model is compiled, `training_config` (JSON: loss, metrics, loss weights and
  `optimizer_config`);
- group `model_weights`: attribute `layer_names` (the model's layers, in order), and per layer a
  group of that name whose attribute `weight_names` lists its datasets, trainable weights first;
  a nested model's group holds all of its weights;
- group `optimizer_weights`, when the optimizer has state: attribute `weight_names` and the
  datasets, in Keras's order of `optimizer.variables` (the step, the learning rate, then the
  slots).

Reading trusts nothing in the file: every object's links and declared sizes are checked before
any data is read (`h5.check_file`), classes come only from the allowlist, a Lambda holding code is
refused, and only arrays and string attributes are read.
"""

import hashlib
import io
import json
import os

import numpy as np

from nablanet import serialization
from nablanet.saving import h5, layout
from nablanet.saving.archive import SavingError, atomic_write, check_input_shapes, weight_names

BACKEND = "numpy"  # Keras 3's name for a NumPy-array backend; Keras only records it
KERAS_VERSION = "3.0.0"  # the Keras file-format generation this layout follows
EXTENSIONS = (".h5", ".hdf5")


def is_legacy_h5(path):
    """Whether `path` names a legacy HDF5 model file (by its extension, as Keras decides).

    >>> is_legacy_h5("best_model.h5"), is_legacy_h5("m.weights.h5"), is_legacy_h5("m.keras")
    (True, False, False)
    """
    name = os.fspath(path).lower()
    return name.endswith(EXTENSIONS) and not name.endswith(".weights.h5")


# -- configs: the one place that turns models into JSON and back --------------------------------

def _config_json(model):
    """The model's architecture as Keras's `model_config` JSON: `{"class_name", "config"}`, the
    config in Keras 3's schema."""
    config = serialization.serialize(model)
    return json.dumps({"class_name": config["class_name"], "config": config["config"]})


def _model_from_config_json(text, custom_objects):
    """A model (untrained weights) from Keras's `model_config` JSON."""
    with serialization.custom_object_scope(custom_objects or {}):
        return serialization.deserialize(json.loads(text), kind="models")


# Keras 3 reads a loss named by its short alias in a training_config as the metric of that name, and fails
_LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
                 "msle": "mean_squared_logarithmic_error", "kld": "kl_divergence", "logcosh": "log_cosh"}


def _training_config(model):
    """Keras's `training_config`: the compile arguments, the optimizer as `optimizer_config`."""
    config = model.get_compile_config()
    optimizer = config.pop("optimizer")
    config["loss"] = _full_names(config["loss"])
    config["optimizer_config"] = {"class_name": optimizer["class_name"], "config": optimizer["config"]}
    return config


def _full_names(spec):
    """Loss aliases spelled out, in a loss spec (a name, a config, or a list or dict per output)."""
    if isinstance(spec, str):
        return _LOSS_ALIASES.get(spec, spec)
    if isinstance(spec, list):
        return [_full_names(each) for each in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {output: _full_names(each) for output, each in spec.items()}
    return spec


def _compile_args(model, training_config, custom_objects):
    """Compile `model` with the settings of a `training_config`."""
    config = dict(training_config)
    config["optimizer"] = config.pop("optimizer_config")
    with serialization.custom_object_scope(custom_objects or {}):
        model.compile_from_config(config)


# -- writing -----------------------------------------------------------------------------------

def save_model(model, path, overwrite=True, include_optimizer=True):
    """Write `model` to `path` in Keras's legacy HDF5 model format, atomically.

    Args:
        model: A built model (Sequential, functional, or registered subclass).
        path: The file to write (`.h5` or `.hdf5`).
        overwrite: Replace an existing file.
        include_optimizer: Write the compile settings' optimizer state too.

    Returns:
        The path written.

    Example:
        >>> import os, tempfile, nablanet as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> path = save_model(model, os.path.join(tempfile.mkdtemp(), "m.h5"))
        >>> load_model(path).layers[0].units
        2
    """
    h5py = h5._h5py("save")
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise SavingError(f"save: {path} exists and overwrite=False")
    if not model.built:
        raise SavingError("save: the model has no weights yet; build it (call it on data, or fit) first")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=("v108", "latest")) as f:  # 1.8 formats: metadata checksums
        f.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
        f.attrs["backend"] = BACKEND.encode("utf-8")
        f.attrs["model_config"] = _config_json(model).encode("utf-8")
        if getattr(model, "compiled", False):
            f.attrs["training_config"] = json.dumps(_training_config(model)).encode("utf-8")
        _write_weights(f.create_group("model_weights"), model)
        optimizer = getattr(model, "optimizer", None)
        if include_optimizer and optimizer is not None and optimizer.built:
            _write_optimizer(f, optimizer)
        f.attrs["nablanet_sha256"] = _digest(f, path, h5py).encode("utf-8")  # Keras ignores it; bit flips don't
    with atomic_write(path) as handle:
        handle.write(buffer.getbuffer())
    return path


def _names(values):
    return np.array([v.encode("utf-8") for v in values], dtype=bytes) if values else np.array([], dtype="S1")


def _write_subset(group, variables, prefix):
    names = [f"{prefix}/{name}" for name in weight_names(variables)]
    group.attrs["weight_names"] = _names(names)
    for name, v in zip(names, variables):
        group.create_dataset(name, data=np.asarray(v.numpy()))


def _write_weights(group, model):
    layers = list(model.layers)
    group.attrs["layer_names"] = _names([layer.name for layer in layers])
    group.attrs["backend"] = BACKEND.encode("utf-8")
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf-8")
    for layer in sorted(layers, key=lambda layer: layer.name):
        _write_subset(group.create_group(layer.name), layer.trainable_weights + layer.non_trainable_weights,
                      model.name)
    _write_subset(group.create_group("top_level_model_weights"), [], model.name)


def _write_optimizer(f, optimizer):
    found = layout.optimizer_variables(optimizer)
    names = layout.optimizer_variable_names(optimizer)
    group = f.create_group("optimizer_weights")
    group.attrs["weight_names"] = _names(names)
    for name, (_, value) in zip(names, found):
        group.create_dataset(name, data=np.asarray(value))


# -- reading -------------------------------------------------------------------------------------

def load_model(path, custom_objects=None, compile=True, blob=None):
    """Load a model from a Keras legacy HDF5 file (written by Keras 3 or by nablanet).

    The architecture comes from `model_config` (allowlisted classes only), the weights from
    `model_weights`, and with `compile` the compile settings from `training_config` and the
    optimizer's state from `optimizer_weights` when the file has them.

    Raises:
        SavingError: naming the file and what is wrong with it.
    """
    h5py = h5._h5py("load_model")
    path = os.fspath(path)
    if blob is None:
        with open(path, "rb") as handle:
            blob = handle.read()
    try:
        f = h5py.File(io.BytesIO(blob), "r")
    except (OSError, ValueError) as error:
        raise SavingError(f"load_model: {path} is truncated or corrupted ({error})") from None
    with f:
        try:
            return _load(f, path, len(blob), custom_objects, compile, h5py)
        except SavingError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as error:
            raise SavingError(f"load_model: {path} is corrupted ({type(error).__name__}: {error})") from None


def _load(f, path, size, custom_objects, compile, h5py):
    from nablanet import backend

    h5.check_file(f, path, size, h5py, "load_model")
    expected = _text_attr(f, "nablanet_sha256", path, h5py)
    if expected is not None and expected != _digest(f, path, h5py):
        raise SavingError(f"load_model: {path} is corrupted: its contents do not match the checksum nablanet "
                          "wrote with them")
    text = _text_attr(f, "model_config", path, h5py)
    if text is None:
        raise SavingError(f"load_model: {path} is an HDF5 file without a model_config: a weights file, not "
                          "a model. Build the model and call model.load_weights(path)")
    config = _parse(text, "model_config", path)
    generator = backend.generator()
    random_state = generator.bit_generator.state  # building layers draws initial weights: undo that
    budget = 2 * size + (1 << 16)  # every weight the config creates is stored in the file
    check_input_shapes(config, budget, path)
    try:
        with serialization.allocation_budget(budget, path):
            model = _model_from_config_json(text, custom_objects)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        raise SavingError(f"load_model: {path} has an architecture nablanet cannot build: {error}") from None
    finally:
        generator.bit_generator.state = random_state
    _read_weights(f, model, path, h5py)
    training = _text_attr(f, "training_config", path, h5py) if compile else None
    if training is not None:
        try:
            _compile_args(model, _parse(training, "training_config", path), custom_objects)
        except (KeyError, TypeError, ValueError) as error:
            raise SavingError(f"load_model: {path} has compile settings nablanet cannot rebuild ({error}); "
                              "load it with compile=False") from None
        if "optimizer_weights" in f:
            _read_optimizer(f, model, path, h5py)
    return model


def _digest(f, path, h5py):
    """SHA-256 of the configs and of every dataset (path, dtype, shape and bytes), in path order."""
    digest = hashlib.sha256()
    for name in ("model_config", "training_config"):
        text = _text_attr(f, name, path, h5py)
        digest.update(f"{name}={text!r};".encode())
    names = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    for name in sorted(names):
        data = np.ascontiguousarray(f[name][()])
        digest.update(f"{name}:{data.dtype.str}:{data.shape};".encode())
        digest.update(data.tobytes())
    return digest.hexdigest()


def _parse(text, what, path):
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SavingError(f"load_model: {path} has a corrupted {what} ({error})") from None


def _text_attr(obj, name, path, h5py):
    """A string attribute, its declared size checked before it is read; None when absent."""
    if name not in obj.attrs:
        return None
    attribute = obj.attrs.get_id(name)
    if h5.attribute_bytes(obj, name) > h5.MAX_ATTRIBUTE_BYTES:
        raise SavingError(f"load_model: {path}: attribute {name} declares {h5.attribute_bytes(obj, name)} bytes, "
                          f"more than the {h5.MAX_ATTRIBUTE_BYTES} a config may hold")
    if attribute.dtype.kind not in "SUO":
        raise SavingError(f"load_model: {path}: attribute {name} holds {attribute.dtype}, not text")
    value = obj.attrs[name]
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else None
    if not isinstance(value, (bytes, str)):
        raise SavingError(f"load_model: {path}: attribute {name} is not a single string")
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _read_weights(f, model, path, h5py):
    from nablanet.saving.interop import load_keras

    group = h5._member(f, "model_weights", path, h5py, kind=h5py.Group)
    if "layer_names" not in group.attrs:
        raise SavingError(f"load_model: {path}: model_weights has no layer_names (corrupted)")
    try:
        weights = h5.KerasWeights(h5._legacy(group, path, h5py), True, path)
        load_keras(model, weights)
    except SavingError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise SavingError(f"load_model: {path} is corrupted: its weights cannot be read ({error})") from None


def _read_optimizer(f, model, path, h5py):
    """Set the optimizer's state from `optimizer_weights` (Keras's order), shapes checked first."""
    group = h5._member(f, "optimizer_weights", path, h5py, kind=h5py.Group)
    names = [h5._text(n) for n in group.attrs.get("weight_names", [])]
    layout.restore_optimizer(model, model.optimizer, [(name, h5.dataset(group, name, path, h5py)) for name in names],
                             path)
