"""Archive I/O: atomic writes, zip entries read with their sizes checked, nablanet's weights as
safetensors, and nablanet's older model archive (`nablanet.json` with the SHA-256 of every
entry, `config.json`, `weights.safetensors`, `optimizer.safetensors`), which still loads. Models
are saved in Keras's `.keras` format (`nablanet.saving.keras_format`). Never pickled.
"""

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib

import numpy as np

from nablanet import serialization
from nablanet.compat import warn_ignored
from nablanet.saving import safetensors

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
FORMAT = "nablanet-model"
FORMAT_VERSION = 1


class SavingError(ValueError):
    """A model or weights file that cannot be read or written as asked."""


# -- atomic writes -----------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Write to a temporary file beside `path`, fsync it, then rename it over `path`.

    A crash, a KeyboardInterrupt or SIGKILL at any moment leaves either the old file or the new
    one, never a mix: `os.replace` is atomic on POSIX and Windows.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- weights ------------------------------------------------------------------------------------

def weight_key(variable):
    """`layer/weight`: the last two parts of the variable's path (its owner and its name), which do not
    depend on the model the layer was built in."""
    return "/".join(variable.path.split("/")[-2:])


def weight_names(variables):
    """Unique, readable keys: `weight_key`, with `#k` for the k-th repeat of a key."""
    seen, names = {}, []
    for v in variables:
        key = weight_key(v)
        k = seen.get(key, 0)
        seen[key] = k + 1
        names.append(key if k == 0 else f"{key}#{k}")
    return names


def weights_blob(model):
    variables = model.weights
    return safetensors.dumps(dict(zip(weight_names(variables), (v.numpy() for v in variables))),
                             metadata={"format": "nablanet-weights", "order": json.dumps(weight_names(variables))})


def assign_weights(model, tensors, source, skip_mismatch=False, order=None):
    """Set `model`'s weights from `tensors`: by name when the names agree, else by position
    when the file's order (`order`) has the same weights (short name and shape) as the model, as
    happens for the same architecture built again with other automatic layer names."""
    variables = model.weights
    names = weight_names(variables)
    if set(names) != set(tensors) and order is not None and len(order) == len(names) and all(
            key in tensors and key.split("#")[0].rsplit("/", 1)[-1] == v.name
            and tensors[key].shape == v.shape for key, v in zip(order, variables)):
        tensors = dict(zip(names, (tensors[key] for key in order)))
    problems, ready = [], []
    for v, name in zip(variables, names):
        if name not in tensors:
            problems.append(f"{name!r} is not in the file")
        elif tensors[name].shape != v.shape:
            problems.append(f"{name!r} has shape {tensors[name].shape} in the file, {v.shape} in the model")
        elif not numeric(tensors[name]):
            problems.append(f"{name!r} has dtype {tensors[name].dtype} in the file, not a number")
        else:
            ready.append((v, tensors[name].astype(v.dtype, copy=False)))
    extra = set(tensors) - set(names)
    if extra:
        problems.append(f"the file has weights the model lacks: {sorted(extra)[:5]}")
    if problems and not skip_mismatch:  # checked before anything is assigned: all or nothing
        raise SavingError(f"load_weights: {source} does not match the model: " + "; ".join(problems[:8]) +
                          ". Pass skip_mismatch=True to load what matches.")
    for v, array in ready:
        v.assign(array)
    return problems


def numeric(array):
    """Whether an array (or an h5py dataset) holds integers or floats: not booleans, complex
    numbers, strings, records or references, which no weight is."""
    return np.dtype(array.dtype).kind in "fiu"


def _order(metadata):
    try:
        return json.loads(metadata.get("order", "null"))
    except json.JSONDecodeError:
        return None


# -- the archive --------------------------------------------------------------------------------

def save_model(model, filepath, overwrite=True, zipped=None, extra=None):
    """Write `model` to `filepath` as a Keras 3 `.keras` archive (see `nablanet.saving.keras_format`);
    `extra` adds named byte entries (BackupAndRestore's training state). For a name ending in `.h5`
    or `.hdf5`, Keras's legacy HDF5 model format instead (`nablanet.saving.legacy_h5`)."""
    warn_ignored("save_model", "zipped", zipped, "a .keras file is always one zip archive", honoured=(True,))
    from nablanet.saving import keras_format, legacy_h5

    if extra is None and legacy_h5.is_legacy_h5(filepath):  # `.h5` means Keras's HDF5 model format, as in Keras
        return legacy_h5.save_model(model, os.fspath(filepath), overwrite=overwrite)
    return keras_format.save_model(model, filepath, overwrite=overwrite, extra=extra)


def _kind_of(head, path):
    """What the file is, from its first bytes: our archive is a zip, checked further on."""
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    return "unknown"


def _read_bytes(path, where):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise SavingError(f"{where}: cannot read {path}: {error.strerror}") from None


MAX_INFLATION = 20  # a compressed entry may grow this much (JSON: 5-10x), or to the floor below
INFLATION_FLOOR = 64 << 20


def read_member(archive, name, source, floor=None):
    """Entry `name` of an open zip, refused before it is inflated when it claims more than it
    can honestly hold: its stored size, or the larger of `floor` and `MAX_INFLATION` times its
    compressed size (a 400 KB entry of zeros can claim 400 MB). The read is bounded too, so a
    header that lies about the size cannot get past it."""
    info = archive.getinfo(name)
    floor = INFLATION_FLOOR if floor is None else floor
    cap = info.compress_size if info.compress_type == zipfile.ZIP_STORED else max(
        floor, MAX_INFLATION * info.compress_size)
    if info.file_size > cap:
        raise SavingError(f"{source}: entry {name} inflates to {info.file_size} bytes from {info.compress_size}, "
                          f"more than the {cap} it may (a zip bomb, or not a model file)")
    with archive.open(info) as member:
        data = member.read(cap + 1)
    if len(data) > cap:
        raise SavingError(f"{source}: entry {name} inflates past its declared {info.file_size} bytes (corrupted)")
    return data


def read_archive(path, blob=None, members=None):
    """The verified entries of a model archive (`blob`: its bytes, when already read), or a
    `SavingError` saying what is wrong. Only the entries the manifest lists are read (`members`:
    only those of them), each with its size checked first (`read_member`)."""
    path = os.fspath(path)
    blob = _read_bytes(path, "load_model") if blob is None else blob
    kind = _kind_of(blob[:16], path)
    if kind == "pickle":
        raise SavingError(f"load_model: {path} is a Python pickle. nablanet never unpickles (a pickle "
                          "can run any code); save PyTorch weights as .safetensors and import them")
    if kind == "hdf5":
        raise SavingError(f"load_model: {path} is an HDF5 file (a Keras .h5 model); nablanet's own files "
                          "are zip archives. Build the model in nablanet and load the weights with "
                          "model.load_weights(path)")
    if kind != "zip":
        raise SavingError(f"load_model: {path} is not a nablanet model file (it does not start like a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            names = set(archive.namelist())
            if "model.weights.h5" in names or "model.weights.json" in names:
                from nablanet.saving import keras_format

                entries, manifest = keras_format.read_entries(path, blob, members)
                entries["nablanet.json"] = json.dumps(manifest or {}).encode()
                return entries
            if "nablanet.json" not in names:
                if "data.pkl" in {n.rsplit("/", 1)[-1] for n in names}:
                    raise SavingError(f"load_model: {path} is a PyTorch pickle archive; nablanet never "
                                      "unpickles: convert it to .safetensors")
                raise SavingError(f"load_model: {path} is a zip file but not a nablanet model archive")
            manifest = read_manifest(read_member(archive, "nablanet.json", f"load_model: {path}"), path)
            digests = manifest.get("sha256", {})
            wanted = list(digests) if members is None else list(members)
            required = ("config.json", "weights.safetensors") if members is None else members
            missing = [name for name in (*required, *wanted) if name not in names or name not in digests]
            if missing:
                raise SavingError(f"load_model: {path} is missing its {missing[0]} entry (truncated)")
            entries = {name: read_member(archive, name, f"load_model: {path}") for name in wanted}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        if isinstance(error, SavingError):
            raise
        raise SavingError(f"load_model: {path} is truncated or corrupted ({error})") from None
    for name in wanted:
        if hashlib.sha256(entries[name]).hexdigest() != digests[name]:
            raise SavingError(f"load_model: {path} is corrupted: the checksum of {name} does not match")
    return entries


def read_manifest(data, path, format=FORMAT, version=FORMAT_VERSION):
    """The `nablanet.json` of an archive nablanet wrote: its format, version and SHA-256 digests."""
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SavingError(f"load_model: {path} has a corrupted manifest ({error})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), dict):
        raise SavingError(f"load_model: {path} has a corrupted manifest (not a JSON object with sha256 digests)")
    if manifest.get("format") != format or not isinstance(manifest.get("format_version", 0), int) or \
            manifest.get("format_version", 0) > version:
        raise SavingError(f"load_model: {path} is format {manifest.get('format')!r} version "
                          f"{manifest.get('format_version')}; this nablanet reads {format} up to {version}")
    return manifest


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model from a Keras 3 `.keras` archive (written by Keras or nablanet) or from
    nablanet's older archive: architecture, weights, and (with `compile`) its optimizer, loss,
    metrics and optimizer state, so that `fit` continues exactly.

    Classes are built only from nablanet's allowlist, registered objects and `custom_objects`;
    no code is ever loaded from a file, so `safe_mode` has nothing to unlock.
    """
    warn_ignored("load_model", "safe_mode", safe_mode, "no code is ever loaded from a file", default=True)
    path = os.fspath(filepath)
    blob = _read_bytes(path, "load_model")
    if blob.startswith(HDF5_MAGIC):  # a Keras (or nablanet) legacy HDF5 model
        from nablanet.saving import legacy_h5

        return legacy_h5.load_model(path, custom_objects=custom_objects, compile=compile, blob=blob)
    if _kind_of(blob[:16], path) == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(blob)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise SavingError(f"load_model: {path} is truncated or corrupted ({error})") from None
        from nablanet.saving import keras_format

        if keras_format.is_keras_archive(names):
            return keras_format.load_model(path, blob, custom_objects, compile)
    return _load_legacy(path, blob, custom_objects, compile)


def _load_legacy(path, blob, custom_objects, compile):
    """nablanet's archive before Keras's format: `nablanet.json`, `config.json` holding
    `{"model", "compile"}`, and safetensors weights and optimizer state."""
    from nablanet import backend

    entries = read_archive(path, blob)
    budget = 2 * len(entries["weights.safetensors"]) + (1 << 16)  # every weight the config creates is in the file
    generator = backend.generator()
    random_state = generator.bit_generator.state  # building layers draws initial weights: undo that
    try:
        config = json.loads(entries["config.json"])
        check_input_shapes(config, budget, path)
        with serialization.allocation_budget(budget, path), serialization.custom_object_scope(custom_objects or {}):
            model = serialization.deserialize(config["model"], kind="models")
            shape = config["model"].get("build_input_shape")
            if shape is not None and not model.built:
                model.build_from_config({"input_shape": shape})
            if compile and config.get("compile"):
                model.compile(**_legacy_compile(config["compile"]))
    except serialization.SerializationError as error:
        raise SavingError(f"load_model: {path}: {error}") from None
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise SavingError(f"load_model: {path} has a malformed architecture ({error!r})") from None
    finally:
        generator.bit_generator.state = random_state
    restore_training_state(model, entries, path, optimizer=compile)
    return model


def _legacy_compile(config):
    def spec(value, kind):
        if isinstance(value, dict) and "by_output" in value:
            return {k: spec(v, kind) for k, v in value["by_output"].items()}
        if isinstance(value, list):
            return [spec(v, kind) for v in value]
        if isinstance(value, dict) and ("loss" in value or "metric" in value):
            name = value.get("loss") or value.get("metric")
            return serialization.deserialize({"class_name": name, "config": value["config"]}, kind=kind)
        if isinstance(value, dict) and "registered" in value:
            return serialization.lookup(value["registered"], kind)
        return value

    return {"optimizer": serialization.deserialize(config["optimizer"], kind="optimizers"),
            "loss": spec(config["loss"], "losses"), "loss_weights": config.get("loss_weights"),
            "metrics": spec(config.get("metrics"), "metrics")}


def restore_training_state(model, entries, path, optimizer=True):
    """Set the weights, and the optimizer's state when there is one, from archive entries."""
    if "model.weights.h5" in entries:
        from nablanet.saving import layout

        extra = json.loads(entries.get("nablanet.json", b"{}")).get("optimizer_extra")
        layout.load_weights_h5(model, entries["model.weights.h5"], path,
                               optimizer=optimizer and getattr(model, "compiled", False), optimizer_extra=extra)
        return
    tensors, metadata = safetensors.loads(entries["weights.safetensors"], source=f"{path}:weights")
    assign_weights(model, tensors, path, order=_order(metadata))
    if optimizer and model.compiled and "optimizer.safetensors" in entries:
        state, metadata = safetensors.loads(entries["optimizer.safetensors"], source=f"{path}:optimizer")
        model.optimizer.build(model.trainable_weights)
        model.optimizer.set_state(state, json.loads(metadata.get("extra", "{}")))


def check_input_shapes(config, budget, path):
    """Refuse an input whose one sample alone would be larger than the budget (a layer runs on
    zeros of that shape to learn its output shape), wherever a config declares one: an input's
    `batch_shape`, a layer's `input_shape` or `batch_input_shape`, a `build_config`."""
    limit = max(budget, 64 << 20)

    def check(shape, node, batched):
        if shape and all(isinstance(s, list) for s in shape):  # one shape per input
            for each in shape:
                check(each, node, batched)
            return
        size = 1
        for d in shape[1:] if batched else shape:
            if not (d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0)):
                raise SavingError(f"load_model: {path}: {node.get('name')!r} has a malformed shape {shape}")
            size *= d or 1
        if 4 * size > limit:
            raise SavingError(f"load_model: {path}: input {node.get('name')!r} declares shape {shape} "
                              f"({4 * size} bytes a sample), more than the file can back")

    def walk(node):
        if isinstance(node, dict):
            for key, batched in (("batch_shape", True), ("batch_input_shape", True), ("build_input_shape", True),
                                 ("input_shape", False)):
                if isinstance(node.get(key), list):
                    check(node[key], node, batched)
            build = node.get("build_config")
            if isinstance(build, dict) and isinstance(build.get("input_shape"), list):
                check(build["input_shape"], node.get("config") if isinstance(node.get("config"), dict) else node, True)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)


def save_weights(model, filepath, overwrite=True, max_shard_size=None, **kwargs):
    """Write the weights to `filepath`, atomically: Keras's `.weights.h5` layout for such a name
    (Keras reads it), else nablanet's safetensors, by name."""
    if kwargs:
        raise TypeError(f"save_weights: unexpected argument(s) {sorted(kwargs)}")
    warn_ignored("save_weights", "max_shard_size", max_shard_size, "the weights are written to one file")
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise SavingError(f"save_weights: {path} exists and overwrite=False")
    if path.endswith(".keras"):
        raise SavingError(f"save_weights: {path} names a whole-model file; use model.save() for .keras, or "
                          "name the weights file *.weights.h5 (Keras) or *.safetensors")
    if path.endswith(".weights.h5"):
        from nablanet.saving import layout

        blob = layout.weights_h5(model)
    else:
        blob = weights_blob(model)
    with atomic_write(path) as handle:
        handle.write(blob)
    return path


def load_weights(model, filepath, skip_mismatch=False, names=None, flatten_from=None):
    """Set `model`'s weights from a file: nablanet's safetensors weights or model archive, a Keras
    `.weights.h5`/`.h5`/`.keras` file, or a PyTorch state dict saved as safetensors (`names=`
    and `flatten_from=` apply to those; see `nablanet.saving.interop.import_weights`). Returns
    the problems skipped with `skip_mismatch`."""
    from nablanet.saving.interop import import_weights

    return import_weights(model, filepath, names=names, skip_mismatch=skip_mismatch, flatten_from=flatten_from)
