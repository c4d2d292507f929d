"""Keras 3's `.keras` file, both ways: a zip of `metadata.json`, `config.json` (Keras's schema, from
`nablanet.serialization`) and `model.weights.h5` (Keras's layout, `nablanet.saving.layout`), plus
`nablanet.json`, which Keras ignores: the SHA-256 of every other entry (so tampering is caught)
and the optimizer state Keras does not keep.

Loading builds the model from the allowlist only, with every weight the config declares counted
against what the weights entry can hold before it is allocated.
"""

import hashlib
import io
import json
import os
import time
import zipfile
import zlib

from nablanet import serialization
from nablanet.saving import archive, layout
from nablanet.saving.archive import SavingError

KERAS_VERSION = "3.15.1"  # the Keras release whose format this writes
FORMAT = "nablanet-keras"
FORMAT_VERSION = 1
WEIGHTS = "model.weights.h5"


def save_model(model, path, overwrite=True, extra=None):
    """Write `model` (architecture, weights, compile settings, optimizer state) to `path` as a
    Keras 3 `.keras` archive, atomically; `extra` adds named byte entries (training state)."""
    path = os.fspath(path)
    if not overwrite and os.path.exists(path):
        raise SavingError(f"save: {path} exists and overwrite=False")
    if not model.built:
        raise SavingError("save: the model has no weights yet; build it (call it on data, or fit) first")
    config = serialization.serialize(model)
    entries = {"metadata.json": json.dumps({"keras_version": KERAS_VERSION, "nablanet_version": _version(),
                                            "date_saved": time.strftime("%Y-%m-%d@%H:%M:%S")}).encode(),
               "config.json": json.dumps(config).encode(),
               WEIGHTS: layout.weights_h5(model), **layout.asset_entries(model)}
    entries.update(extra or {})
    optimizer = getattr(model, "optimizer", None)
    state = optimizer.get_state()[1] if optimizer is not None and optimizer.built else None
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "optimizer_extra": state,
                "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in entries.items()}}
    with archive.atomic_write(path) as handle, zipfile.ZipFile(handle, "w") as out:
        for name, data in entries.items():
            out.writestr(name, data, zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED)
        out.writestr("nablanet.json", json.dumps(manifest), zipfile.ZIP_DEFLATED)
    return path


def _version():
    from importlib import metadata

    try:
        return metadata.version("nablanet")
    except metadata.PackageNotFoundError:
        return "unknown"


def is_keras_archive(names):
    return "config.json" in names and (WEIGHTS in names or "model.weights.json" in names)


def read_entries(path, blob, members=None, where="load_model"):
    """The entries of a `.keras` archive (`members`: only those), each size-checked before it is
    inflated and, when nablanet wrote the file, checked against its SHA-256."""
    source = f"{where}: {path}"
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            names = set(zf.namelist())
            if "model.weights.json" in names and WEIGHTS not in names:
                raise SavingError(f"{source} holds sharded weights, which nablanet does not read; save the model "
                                  "again without max_shard_size")
            wanted = ["config.json", WEIGHTS] if members is None else list(members)
            wanted += [n for n in ("metadata.json", "training.json") if n in names and members is None]
            wanted += sorted(n for n in names if n.startswith("assets/") and not n.endswith("/") and members is None)
            manifest = None
            if "nablanet.json" in names:
                manifest = archive.read_member(zf, "nablanet.json", source)
                manifest = archive.read_manifest(manifest, path, FORMAT, FORMAT_VERSION)
                if members is None:
                    wanted += [n for n in manifest["sha256"] if n not in wanted]
            missing = [n for n in wanted if n not in names]
            if missing:
                raise SavingError(f"{source} is missing its {missing[0]} entry (truncated)")
            entries = {name: archive.read_member(zf, name, source) for name in wanted}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        if isinstance(error, SavingError):
            raise
        raise SavingError(f"{source} is truncated or corrupted ({error})") from None
    if manifest is not None:
        for name in wanted:
            digest = manifest["sha256"].get(name)
            if digest is None or hashlib.sha256(entries[name]).hexdigest() != digest:
                raise SavingError(f"{source} is corrupted: the checksum of {name} does not match")
    return entries, manifest


def _deserialize_with_assets(config, entries, path, budget):
    """The model of `config`; when the archive holds assets, its layers get them as they are created,
    before the graph that calls them is built (a lookup's vocabulary sizes what follows it). A first
    build finds each such layer's path; the second, creating the same layers in the same order, loads."""
    if not any(name.startswith("assets/") for name in entries):
        return serialization.deserialize(config, kind="models")
    created = []
    keep = serialization.on_create(lambda obj: created.append(obj) if hasattr(obj, "load_assets") else None)
    with keep, serialization.allocation_budget(budget, path):  # a budget of its own: the second build counts anew
        first = serialization.deserialize(config, kind="models")
    if not layout.is_model(first):
        return first
    paths = {id(layer): path for path, layer in layout.walk(first)}
    queue = [paths.get(id(obj)) for obj in created]

    def load_early(obj):
        if hasattr(obj, "load_assets") and queue:
            where = queue.pop(0)
            if where is not None:
                try:
                    layout.load_layer_assets(obj, where, entries, path)
                except SavingError:
                    pass  # assets that need the weights too (TF-IDF's): loaded with them, after the graph

    with serialization.on_create(load_early):
        return serialization.deserialize(config, kind="models")


def load_model(path, blob, custom_objects=None, compile=True):
    """The model in a `.keras` archive written by Keras or nablanet."""
    from nablanet import backend

    entries, manifest = read_entries(path, blob)
    try:
        config = json.loads(entries["config.json"])
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SavingError(f"load_model: {path} has a malformed config.json ({error})") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise SavingError(f"load_model: {path} has a malformed config.json (no class_name at the top)")
    compile_config = config.pop("compile_config", None)
    budget = 2 * len(entries[WEIGHTS]) + (1 << 16)  # every weight the config creates is stored in the file
    archive.check_input_shapes(config, budget, path)
    generator = backend.generator()
    random_state = generator.bit_generator.state  # building layers draws initial weights: undo that
    try:
        with serialization.allocation_budget(budget, path), serialization.custom_object_scope(custom_objects or {}):
            model = _deserialize_with_assets(config, entries, path, budget)
            if not layout.is_model(model) and not callable(getattr(model, "save", None)):
                raise SavingError(f"load_model: {path}: config.json describes a {type(model).__name__}, not a model")
            if not layout.is_model(model) and config.get("build_config"):  # a layer saved alone (FeatureSpace)
                model.build_from_config(config["build_config"])
            if compile and compile_config:
                model.compile_from_config(compile_config)
    except serialization.SerializationError as error:
        raise SavingError(f"load_model: {path}: {error}") from None
    except (KeyError, TypeError, IndexError, ValueError) as error:
        raise SavingError(f"load_model: {path} has a malformed architecture ({error})") from None
    finally:
        generator.bit_generator.state = random_state
    extra = (manifest or {}).get("optimizer_extra")
    layout.load_weights_h5(model, entries[WEIGHTS], path, optimizer=compile and getattr(model, "compiled", False),
                           optimizer_extra=extra)
    layout.load_assets(model, entries, path)  # after the variables, as Keras: TF-IDF weights come first
    return model
