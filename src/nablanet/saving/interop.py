"""Weights from other frameworks: Keras files (`.weights.h5`, legacy `.h5`, `.keras`) and
PyTorch state dicts saved as safetensors. Pickles (`.pt`, `.pth`) are refused, never opened.

Keras layers keep the layouts nablanet uses, so a Keras layer's arrays are copied as they are.
Layers are matched as Keras itself matches them, by structure: in Keras 3 files by the keys
Keras gives each layer from its place in the model (`layers/dense`, `layers/dense_1`: classes
numbered in the model's order of layers), in legacy files by the order of the layers with
weights. Names are not used for that, since automatic names depend on the order the layers
were created in. Layer names are the fallback when the structure does not fit (a different
nesting, a subclassed model, layers in another order): when every layer of the model has a
namesake in the file, and the shapes fit by name. When both fit but disagree, the structure
wins, as in Keras.

PyTorch state dicts are matched and converted by `nablanet.saving.torch_weights`.

Every array is checked (shape, and dtype: floats or integers) and converted before the first
is assigned, so a load that fails leaves the model as it was.
"""

import collections
import math
import os

import numpy as np

from nablanet.names import snake_case
from nablanet.saving import safetensors
from nablanet.saving.layout import is_model, keras_class_name
from nablanet.saving.archive import (
    INFLATION_FLOOR,
    SavingError,
    _kind_of,
    _order,
    _read_bytes,
    assign_weights,
    numeric,
    read_archive,
)

PICKLE_ADVICE = (
    "nablanet never unpickles: loading a pickle can run any code the file holds. Convert the "
    "weights once, where you trust the file, to safetensors: `from safetensors.torch import "
    "save_file; save_file(model.state_dict(), 'x.safetensors')` (or `save_file(torch.load('x.pt', "
    "weights_only=True), 'x.safetensors')` for a saved state dict), then load x.safetensors")


def import_weights(model, path, names=None, skip_mismatch=False, flatten_from=None):
    """Load weights saved by Keras, PyTorch (as safetensors) or nablanet into `model`.

    Args:
        model: A built model (or layer).
        path: A Keras `.weights.h5`, legacy `.h5` or `.keras` file (needs h5py: the `h5`
            extra); a safetensors file holding a PyTorch state dict; or a nablanet file.
        names: For PyTorch files, `{layer name: module name}` (e.g. `{"fc1": "classifier.0"}`);
            by default the model's own map (VGG16 and VGG19 carry torchvision's), else the
            modules in order.
        skip_mismatch: Load what matches and return the problems instead of raising.
        flatten_from: For PyTorch files, `{layer name: shape}`: the channels-last shape of the
            feature map a Dense layer's input (or a normalization's) was flattened from
            (`(height, width, channels)`, or `(steps, channels)`), so that its rows are reordered
            from PyTorch's channels-first flattening; `None` for an input that is not a
            flattened feature map. Needed only where the Flatten cannot be traced (see
            `nablanet.saving.torch_weights`).

    Returns:
        The list of problems (empty when everything matched).

    Raises:
        SavingError: the file is a pickle, is not a weights file, or does not fit the model;
            the message names each layer that does not fit and both shapes. Nothing is
            assigned then.
    """
    path = os.fspath(path)
    if not model.weights:
        raise SavingError(f"load_weights: {type(model).__name__} {model.name!r} has no weights yet; build it "
                          "(give it an input shape, or call it on data) before loading weights into it")
    blob = _read_bytes(path, "load_weights")
    kind = _kind_of(blob[:16], path)
    torch_only = "names=" if names is not None else "flatten_from=" if flatten_from is not None else None
    if kind == "pickle":
        raise SavingError(f"load_weights: {path} is a Python pickle (torch.save's format). {PICKLE_ADVICE}")
    if kind == "zip":
        archive = _zip_names(blob, path)
        if "nablanet.json" in archive and "weights.safetensors" in archive:
            _refuse_torch_options(torch_only, path, "a nablanet archive")
            entries = read_archive(path, blob, members=("weights.safetensors",))
            tensors, metadata = safetensors.loads(entries["weights.safetensors"], source=path)
            return assign_weights(model, tensors, path, skip_mismatch, order=_order(metadata))
        if any(name.rsplit("/", 1)[-1] in ("data.pkl", "constants.pkl") for name in archive):
            raise SavingError(f"load_weights: {path} is a PyTorch pickle archive (torch.save's "
                              f"format). {PICKLE_ADVICE}")
    if kind in ("hdf5", "zip"):
        from nablanet.saving import keras_format
        from nablanet.saving.h5 import open_keras

        _refuse_torch_options(torch_only, path, "a Keras file")
        if kind == "zip" and "nablanet.json" in archive and keras_format.WEIGHTS in archive:
            entries, _ = keras_format.read_entries(path, blob, [keras_format.WEIGHTS], "load_weights")
            blob = entries[keras_format.WEIGHTS]  # checked against the digest nablanet wrote beside it
        with open_keras(path, blob, floor=_honest_size(model)) as weights:
            return load_keras(model, weights, skip_mismatch)
    try:
        tensors, metadata = safetensors.loads(blob, source=path)
    except safetensors.SafetensorsError as error:
        if path.endswith((".pt", ".pth", ".bin", ".ckpt", ".pkl")):
            raise SavingError(f"load_weights: {path} is not safetensors; files named like it are "
                              f"usually pickles. {PICKLE_ADVICE}") from None
        raise SavingError(f"load_weights: {path} is not a weights file nablanet reads (Keras HDF5 "
                          f"or .keras, safetensors, a nablanet archive): {error}") from None
    if metadata.get("format") == "nablanet-weights" or any("/" in key for key in tensors):
        _refuse_torch_options(torch_only, path, "nablanet's own weights")
        return assign_weights(model, tensors, path, skip_mismatch, order=_order(metadata))
    from nablanet.saving.torch_weights import load_torch

    return load_torch(model, tensors, path, names, skip_mismatch, flatten_from)


def _refuse_torch_options(option, path, what):
    if option is not None:
        raise SavingError(f"load_weights: {option} applies to PyTorch state dicts, and {path} is {what}, "
                          "whose layers are matched without it")


def _honest_size(model):
    """The most bytes a Keras file of `model`'s weights may hold: every weight in float64 with
    three optimizer slots beside it, plus room for the file's own structures."""
    return INFLATION_FLOOR + 4 * 8 * sum(math.prod(v.shape) for v in model.weights)


def _zip_names(blob, path):
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SavingError(f"load_weights: {path} is truncated or corrupted ({error})") from None


# -- the model's layers in Keras's terms -------------------------------------------------------------

def units(model, legacy=False):
    """The layers with weights inside `model` as a Keras file holds them, with their names (those
    of the models around them, then their own) and Keras 3 keys (None inside a subclassed model):
    legacy files hold the model's own layers (a nested model as a whole), Keras 3 files every
    layer that is not a model, in Keras's order."""
    if legacy:
        top = model.layers if is_model(model) else [model]
        return [(layer, (layer.name,), None) for layer in top if layer.weights]
    found = []

    def walk(layer, names, key):
        if is_model(layer):
            graph = keras_class_name(layer) in ("Sequential", "Functional")
            used = collections.Counter()
            for child in layer.layers:
                base = snake_case(keras_class_name(child))
                label = base if not used[base] else f"{base}_{used[base]}"
                used[base] += 1
                walk(child, names + (child.name,), f"{key}/layers/{label}" if graph and key is not None else None)
        elif layer.weights:
            found.append((layer, names, None if key is None else key.strip("/")))

    walk(model, (), "")
    return found


def _legacy_variables(layer):
    """A layer's weights in the order Keras's legacy files keep them: its trainable weights, then
    the others (in a model with BatchNormalization, every moving statistic comes last)."""
    return layer.trainable_weights + layer.non_trainable_weights


def _keras3_pairs(layer, entry):
    """(variable, array) pairs of a layer and its Keras 3 entry: its own variables, then each
    sublayer's from the entry's child of the same attribute name (`cell`, `forward_layer`)."""
    from nablanet.layers.base import Layer

    pairs = [(v, a) for v, a in zip(layer._weights, entry.arrays)]
    if len(layer._weights) != len(entry.arrays):
        pairs.append((_Count(layer, len(layer._weights), len(entry.arrays)), None))
    for attribute, value in vars(layer).items():
        if isinstance(value, Layer) and value is not layer and value.weights:
            child = entry.children.get(attribute)
            if child is None:
                pairs.append((_Count(value, len(value.weights), 0), None))
            else:
                pairs.extend(_keras3_pairs(value, child))
    return pairs


class _Count:
    """A weight-count mismatch, carried in a list of pairs."""

    def __init__(self, layer, mine, theirs):
        self.layer, self.mine, self.theirs = layer, mine, theirs


def _pairs(layer, entry, legacy):
    if legacy:
        variables = _legacy_variables(layer)
        pairs = list(zip(variables, entry.arrays))
        if len(variables) != len(entry.arrays):
            pairs.append((_Count(layer, len(variables), len(entry.arrays)), None))
        return pairs
    return _keras3_pairs(layer, entry)


def _problem(pairs, how, labels=None):
    """Why the pairs do not fit (naming the layer and both shapes), or None."""
    for i, (v, a) in enumerate(pairs):
        if isinstance(v, _Count):
            return (f"layer {v.layer.name!r} has {v.mine} weights but the file gives it {v.theirs} "
                    f"(matched {how})")
        if tuple(a.shape) != tuple(v.shape):
            *_, owner, weight = ["", *v.path.split("/")]
            origin = f" (from {labels[i]})" if labels else ""
            return (f"layer {owner!r}: weight {weight!r} has shape {tuple(v.shape)} in the model but "
                    f"{tuple(a.shape)} in the file{origin} (matched {how})")
    return None


# -- Keras files -------------------------------------------------------------------------------------

def load_keras(model, weights, skip_mismatch=False):
    """Assign the entries of a Keras file (`nablanet.saving.h5.KerasWeights`) to `model`: by
    structure, as Keras does; by layer name when the structure does not fit and the names do."""
    ours, entries, legacy = units(model, weights.legacy), weights.entries, weights.legacy
    found = [_matched(m, legacy) for m in (_by_structure(ours, entries, legacy), _by_name(ours, entries)) if m]
    if found:  # the first that fits: Keras's structure, else the names; or Keras's, to report
        _, unused, how, matched, problems = ([m for m in found if not m[-1]] or found)[0]
        if problems and how != "by layer name" and len(found) == 1 and not skip_mismatch:
            raise SavingError(_architecture_error(weights.source, ours, entries, problems))
    elif skip_mismatch:
        _, unused, how, matched, problems = _matched(_partial_by_name(ours, entries), legacy)
    else:
        raise SavingError(_architecture_error(weights.source, ours, entries))
    if unused:
        problems.append(f"the file has weights for layers the model lacks: "
                        f"{[e.name or e.key for e in unused][:6]}")
    return _assign(matched, problems, weights.source, skip_mismatch)


def _matched(match, legacy):
    """A match `(layer-entry pairs, unused entries, how)`, with the weights' pairs and their problems."""
    pairs, unused, how = match
    matched = [_pairs(layer, entry, legacy) for layer, entry in pairs]
    return pairs, unused, how, matched, [p for p in (_problem(m, how) for m in matched) if p]


def _by_name(ours, entries):
    file_names = collections.Counter(e.name for e in entries if e.name)
    model_names = collections.Counter(layer.name for layer, _, _ in ours)
    if not ours or any(model_names[layer.name] > 1 or file_names[layer.name] != 1 for layer, _, _ in ours):
        return None
    index = {e.name: e for e in entries}
    pairs = [(layer, index[layer.name]) for layer, _, _ in ours]
    taken = {id(e) for _, e in pairs}
    return pairs, [e for e in entries if id(e) not in taken], "by layer name"


def _partial_by_name(ours, entries):
    file_names = collections.Counter(e.name for e in entries)
    index = {e.name: e for e in entries if e.name and file_names[e.name] == 1}
    pairs = [(layer, index[layer.name]) for layer, _, _ in ours if layer.name in index]
    taken = {id(e) for _, e in pairs}
    return pairs, [e for e in entries if id(e) not in taken], "by layer name where names agree"


def _by_structure(ours, entries, legacy):
    """Keras's own pairing: legacy files layer by layer in order, Keras 3 files by key."""
    if legacy:
        if not ours or len(ours) != len(entries):
            return None
        return [(layer, entry) for (layer, _, _), entry in zip(ours, entries)], [], "by position"
    index = {e.key: e for e in entries}
    if not ours or any(key is None or key not in index for _, _, key in ours):
        return None
    pairs = [(layer, index[key]) for layer, _, key in ours]
    taken = {id(e) for _, e in pairs}
    return pairs, [e for e in entries if id(e) not in taken], "by Keras's layer keys"


def _architecture_error(source, ours, entries, problems=()):
    mine = [layer.name for layer, _, _ in ours]
    theirs = [e.name or e.key for e in entries]
    missing = [name for name in mine if name not in theirs]
    position = f" ({problems[0]})" if problems else ""
    return (f"load_weights: {source} holds the weights of a different architecture: the model has "
            f"{len(mine)} layers with weights ({_few(mine)}), the file {len(theirs)} ({_few(theirs)}); "
            f"{len(missing)} of the model's layers are not in the file by name (first: {missing[:3]}) "
            f"and the layers do not line up by position either{position}. Build the architecture the "
            "file was saved from, or pass skip_mismatch=True to load the layers whose names match")


def _few(names, n=4):
    return ", ".join(map(str, names[:n])) + (", ..." if len(names) > n else "")


def _assign(matched, problems, source, skip_mismatch):
    """Assign every layer whose weights all fit, after checking and converting them all: if
    anything fails (and `skip_mismatch` is off), nothing is assigned. Returns the problems."""
    if problems and not skip_mismatch:
        _raise(source, problems)
    ready = []
    for pairs in matched:
        if _problem(pairs, "") is not None:
            continue
        try:
            ready.append([(v, _converted(v, a)) for v, a in pairs])
        except SavingError as error:
            problems.append(str(error))
    if problems and not skip_mismatch:
        _raise(source, problems)
    for pairs in ready:
        for v, array in pairs:
            v.assign(array)
    return problems


def _raise(source, problems):
    raise SavingError(f"load_weights: {source} does not fit the model: " + "; ".join(problems[:6]) +
                      ". Pass skip_mismatch=True to load what fits.")


def _converted(variable, array):
    """`array` (or an h5py dataset, read now) as the variable's dtype; a `SavingError` naming
    the layer when it holds no numbers or cannot be read."""
    *_, owner, weight = ["", *variable.path.split("/")]
    if not numeric(array):
        raise SavingError(f"layer {owner!r}: weight {weight!r} has dtype {array.dtype} in the file, not "
                          "floats or integers")
    try:
        return np.asarray(array).astype(variable.dtype, copy=False)
    except (OSError, ValueError, TypeError) as error:
        raise SavingError(f"layer {owner!r}: weight {weight!r} cannot be read from the file ({error})") from None
