"""Weights from other frameworks: Keras files (`.weights.h5`, legacy `.h5`, `.keras`) and
PyTorch state dicts saved as safetensors. Pickles (`.pt`, `.pth`) are refused, never opened.

Keras layers keep the layouts nablanet uses, so a Keras layer's arrays are copied as they are.
Layers are matched by name when every layer of the model has a namesake in the file, otherwise
by position: Keras 3's keys (`layers/conv2d_3`), or the order of a legacy file.

PyTorch modules are matched through a map from layer names to module names (`names=`, or the
one an application such as VGG16 carries), otherwise by position in the natural order of the
module names (`0`, `1`, ..., `10`, as `nn.Sequential` names them). Their layouts are converted:
convolution kernels (out, in, *window) become (*window, in, out), Linear's (out, in) becomes
Dense's (in, out), and a Dense layer fed by a `Flatten` of (height, width, channels) gets its
rows reordered from PyTorch's channels-first flattening to nablanet's channels-last one.
Sequences are not reordered: after a Conv1d, PyTorch flattens (channels, steps), so put
`Permute((2, 1))` before nablanet's `Flatten` there.
"""

import collections
import os
import re

import numpy as np

from nablanet.saving import safetensors
from nablanet.saving.archive import (
    SavingError, _kind_of, _order, _read_bytes, assign_weights, read_archive,
)

PICKLE_ADVICE = (
    "nablanet never unpickles: loading a pickle can run any code the file holds. Convert the "
    "weights once, where you trust the file, to safetensors: `from safetensors.torch import "
    "save_file; save_file(model.state_dict(), 'x.safetensors')` (or `save_file(torch.load('x.pt', "
    "weights_only=True), 'x.safetensors')` for a saved state dict), then load x.safetensors")


def import_weights(model, path, names=None, skip_mismatch=False):
    """Load weights saved by Keras, PyTorch (as safetensors) or nablanet into `model`.

    Args:
        model: A built model (or layer).
        path: A Keras `.weights.h5`, legacy `.h5` or `.keras` file (needs h5py: the `h5`
            extra); a safetensors file holding a PyTorch state dict; or a nablanet file.
        names: For PyTorch files, `{layer name: module name}` (e.g. `{"fc1": "classifier.0"}`);
            by default the model's own map (VGG16 and VGG19 carry torchvision's), else the
            modules in order.
        skip_mismatch: Load what matches and return the problems instead of raising.

    Returns:
        The list of problems (empty when everything matched).

    Raises:
        SavingError: the file is a pickle, is not a weights file, or does not fit the model;
            the message names each layer that does not fit and both shapes.
    """
    path = os.fspath(path)
    if not model.weights:
        raise SavingError(f"load_weights: {type(model).__name__} {model.name!r} has no weights yet; build it "
                          "(give it an input shape, or call it on data) before loading weights into it")
    blob = _read_bytes(path, "load_weights")
    kind = _kind_of(blob[:16], path)
    if kind == "pickle":
        raise SavingError(f"load_weights: {path} is a Python pickle (torch.save's format). {PICKLE_ADVICE}")
    if kind == "zip":
        archive = _zip_names(blob, path)
        if "nablanet.json" in archive:
            entries = read_archive(path, blob)
            tensors, metadata = safetensors.loads(entries["weights.safetensors"], source=path)
            return assign_weights(model, tensors, path, skip_mismatch, order=_order(metadata))
        if any(name.rsplit("/", 1)[-1] in ("data.pkl", "constants.pkl") for name in archive):
            raise SavingError(f"load_weights: {path} is a PyTorch pickle archive (torch.save's "
                              f"format). {PICKLE_ADVICE}")
    if kind in ("hdf5", "zip"):
        from nablanet.saving.h5 import read_keras

        return load_keras(model, read_keras(path, blob), skip_mismatch)
    try:
        tensors, metadata = safetensors.loads(blob, source=path)
    except safetensors.SafetensorsError as error:
        if path.endswith((".pt", ".pth", ".bin", ".ckpt", ".pkl")):
            raise SavingError(f"load_weights: {path} is not safetensors; files named like it are "
                              f"usually pickles. {PICKLE_ADVICE}") from None
        raise SavingError(f"load_weights: {path} is not a weights file nablanet reads (Keras HDF5 "
                          f"or .keras, safetensors, a nablanet archive): {error}") from None
    if metadata.get("format") == "nablanet-weights" or any("/" in key for key in tensors):
        return assign_weights(model, tensors, path, skip_mismatch, order=_order(metadata))
    return load_torch(model, tensors, path, names, skip_mismatch)


def _zip_names(blob, path):
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise SavingError(f"load_weights: {path} is truncated or corrupted ({error})") from None


# -- the model's layers in Keras's terms -------------------------------------------------------------

def _keras_class(layer):
    from nablanet.models import Model, Sequential

    if isinstance(layer, Sequential):
        return "Sequential"
    if isinstance(layer, Model) and layer._graph is not None:
        return "Functional"
    return type(layer).__name__


def _snake(name):
    """Keras's `to_snake_case`: `Conv2D` -> `conv2d`, `MaxPooling2D` -> `max_pooling2d`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def units(model, legacy=False):
    """The layers with weights inside `model` as a Keras file holds them, with their names (those
    of the models around them, then their own) and Keras 3 keys (None inside a subclassed model):
    legacy files hold the model's own layers (a nested model as a whole), Keras 3 files every
    layer that is not a model, in Keras's order."""
    from nablanet.models import Model, Sequential

    if legacy:
        top = _children(model) if isinstance(model, Model) else [model]
        return [(layer, (layer.name,), None) for layer in top if layer.weights]
    found = []

    def walk(layer, names, key):
        if isinstance(layer, Model):
            graph = isinstance(layer, Sequential) or layer._graph is not None
            used = collections.Counter()
            for child in _children(layer):
                base = _snake(_keras_class(child))
                label = base if not used[base] else f"{base}_{used[base]}"
                used[base] += 1
                walk(child, names + (child.name,), f"{key}/layers/{label}" if graph and key is not None else None)
        elif layer.weights:
            found.append((layer, names, None if key is None else key.strip("/")))

    walk(model, (), "")
    return found


def _children(model):
    from nablanet.models import Sequential

    return model.layers if isinstance(model, Sequential) or model._graph is not None else model._sublayers()


def _legacy_variables(layer):
    """A layer's weights in the order of Keras's `layer.weights`: layer by layer in a model; a
    layer's own, then its sublayers'."""
    from nablanet.models import Model

    if isinstance(layer, Model):
        return [v for child in _children(layer) for v in _legacy_variables(child)]
    return list(layer._weights) + [v for sub in layer._sublayers() for v in _legacy_variables(sub)]


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
            owner, _, weight = v.name.rpartition("/")
            origin = f" (from {labels[i]})" if labels else ""
            return (f"layer {owner!r}: weight {weight!r} has shape {tuple(v.shape)} in the model but "
                    f"{tuple(a.shape)} in the file{origin} (matched {how})")
    return None


# -- Keras files -------------------------------------------------------------------------------------

def load_keras(model, weights, skip_mismatch=False):
    """Assign the entries of a Keras file (`nablanet.saving.h5.KerasWeights`) to `model`."""
    ours, entries = units(model, weights.legacy), weights.entries
    pairs, unused = _by_name(ours, entries)
    how = "by layer name"
    if pairs is None:
        pairs, unused, how = _by_position(ours, entries, weights.legacy)
    if pairs is None:
        if not skip_mismatch:
            raise SavingError(_architecture_error(weights.source, ours, entries))
        pairs, unused = _partial_by_name(ours, entries)
        how = "by layer name where names agree"
    matched = [_pairs(layer, entry, weights.legacy) for layer, entry in pairs]
    problems = [p for p in (_problem(m, how) for m in matched) if p]
    if problems and how != "by layer name" and not skip_mismatch:
        raise SavingError(_architecture_error(weights.source, ours, entries, problems))
    if unused:
        problems.append(f"the file has weights for layers the model lacks: "
                        f"{[e.name or e.key for e in unused][:6]}")
    return _assign(matched, problems, weights.source, skip_mismatch)


def _by_name(ours, entries):
    file_names = collections.Counter(e.name for e in entries if e.name)
    model_names = collections.Counter(layer.name for layer, _, _ in ours)
    if not ours or any(model_names[layer.name] > 1 or file_names[layer.name] != 1 for layer, _, _ in ours):
        return None, None
    index = {e.name: e for e in entries}
    pairs = [(layer, index[layer.name]) for layer, _, _ in ours]
    taken = {id(e) for _, e in pairs}
    return pairs, [e for e in entries if id(e) not in taken]


def _partial_by_name(ours, entries):
    file_names = collections.Counter(e.name for e in entries)
    index = {e.name: e for e in entries if e.name and file_names[e.name] == 1}
    pairs = [(layer, index[layer.name]) for layer, _, _ in ours if layer.name in index]
    taken = {id(e) for _, e in pairs}
    return pairs, [e for e in entries if id(e) not in taken]


def _by_position(ours, entries, legacy):
    if legacy:
        if len(ours) != len(entries):
            return None, None, None
        return [(layer, entry) for (layer, _, _), entry in zip(ours, entries)], [], "by position"
    index = {e.key: e for e in entries}
    if not ours or any(key is None or key not in index for _, _, key in ours):
        return None, None, None
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
    """Raise if anything failed (nothing is assigned then), else assign every layer whose
    weights all fit."""
    if problems and not skip_mismatch:
        raise SavingError(f"load_weights: {source} does not fit the model: " + "; ".join(problems[:6]) +
                          ". Pass skip_mismatch=True to load what fits.")
    for pairs in matched:
        if _problem(pairs, "") is None:
            for v, a in pairs:
                v.assign(np.asarray(a).astype(v.dtype, copy=False))
    return problems


# -- PyTorch state dicts -----------------------------------------------------------------------------

def _natural(name):
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in name.split("."))


def load_torch(model, tensors, source, names=None, skip_mismatch=False):
    """Assign a PyTorch state dict (`{"features.0.weight": array, ...}`) to `model`."""
    modules = collections.defaultdict(dict)
    for key, array in tensors.items():
        module, _, parameter = key.rpartition(".")
        modules[module][parameter] = array
    ours = [layer for layer, _, _ in units(model)]
    optional = ()
    if names is None:  # the application's own map, and the modules it may leave out (a top)
        names, optional = getattr(model, "_torch_names", None), getattr(model, "_torch_optional", ())
    if names is not None:
        unknown = [n for n in names if n not in {layer.name for layer in ours}]
        if unknown and not skip_mismatch:
            raise SavingError(f"load_weights: the names map {unknown[:4]} to modules, but the model has "
                              f"no such layers with weights ({_few([layer.name for layer in ours])})")
        pairs = [(layer, names[layer.name]) for layer in ours if layer.name in names]
        absent = [layer.name for layer in ours if layer.name not in names]
    else:
        order = sorted(modules, key=_natural)
        if len(order) != len(ours) and not skip_mismatch:
            raise SavingError(
                f"load_weights: {source} holds {len(order)} PyTorch modules with weights ({_few(order)}), "
                f"the model {len(ours)} layers with weights ({_few([layer.name for layer in ours])}): a "
                "different architecture, or modules whose names do not sort in the model's order: pass "
                "names={layer name: module name}")
        pairs, absent = list(zip(ours, order)), [layer.name for layer in ours[len(order):]]
    problems = [f"layer {name!r} has no module in the names map" for name in absent]
    converted = []
    for layer, module in pairs:
        if module not in modules:
            problems.append(f"layer {layer.name!r}: the file has no module {module!r}")
            continue
        arrays, labels, problem = to_keras_layout(layer, modules[module], module)
        assigned = list(zip(layer._weights, arrays))
        if len(arrays) != len(layer._weights) and not problem:
            assigned.append((_Count(layer, len(layer._weights), len(arrays)), None))
        problem = problem or _problem(assigned, f"to module {module!r}", labels)
        if problem:
            problems.append(problem)
        converted.append(assigned)
    if problems and names is None:
        problems.append("the modules were matched to the layers in the order of their names; if that "
                        "is not the model's order, pass names={layer name: module name}")
    used = {module for _, module in pairs}
    extra = sorted((m for m in modules if m not in used and m not in optional), key=_natural)
    if extra:
        problems.append(f"the file has modules the model lacks: {extra[:6]}")
    return _assign(converted, problems, source, skip_mismatch)


def to_keras_layout(layer, parameters, module):
    """Layer `layer`'s arrays from PyTorch module `module`'s `parameters`: `(arrays, labels,
    problem)`, `problem` None when the module fits the layer's kind."""
    kind = type(layer).__name__
    wanted = _TORCH_PARAMETERS.get(kind)
    if wanted is None:
        return [], [], (f"layer {layer.name!r}: nablanet cannot convert PyTorch weights for {kind} layers "
                        f"(it converts {', '.join(sorted(_TORCH_PARAMETERS))})")
    wanted = [p for p in wanted(layer)]
    given = {k: v for k, v in parameters.items() if k != "num_batches_tracked"}
    if set(given) != set(wanted):
        return [], [], (f"layer {layer.name!r} ({kind}) needs parameters {wanted} of module {module!r}, "
                        f"which has {sorted(given)}")
    arrays = [_convert(layer, kind, p, given[p]) for p in wanted]
    return arrays, [f"{module}.{p} of shape {tuple(given[p].shape)}" for p in wanted], None


def _convert(layer, kind, parameter, array):
    if parameter != "weight" or kind in ("BatchNormalization", "LayerNormalization", "Embedding"):
        return array
    if kind == "Dense":
        kernel = array.T
        shape = flattened_shape(layer)
        if shape is not None and int(np.prod(shape)) == kernel.shape[0]:
            height, width, channels = shape
            kernel = kernel.reshape(channels, height, width, -1).transpose(1, 2, 0, 3).reshape(kernel.shape)
        return kernel
    return np.transpose(array, tuple(range(2, array.ndim)) + (1, 0))  # (out, in, *k) -> (*k, in, out)


def _bias(layer):
    return ["bias"] if layer.use_bias else []


_TORCH_PARAMETERS = {
    "Conv1D": lambda layer: ["weight"] + _bias(layer),
    "Conv2D": lambda layer: ["weight"] + _bias(layer),
    "Dense": lambda layer: ["weight"] + _bias(layer),
    "BatchNormalization": lambda layer: (["weight"] if layer.scale else []) + (["bias"] if layer.center else [])
    + ["running_mean", "running_var"],
    "LayerNormalization": lambda layer: (["weight"] if layer.scale else []) + (["bias"] if layer.center else []),
    "Embedding": lambda layer: ["weight"],
}

_SHAPE_KEEPING = ("Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "AlphaDropout",
                  "GaussianDropout", "GaussianNoise")


def flattened_shape(dense):
    """(height, width, channels) when `dense` reads a channels-last `Flatten` of an image (through
    dropout or activations), else None: the rows PyTorch flattens channels first."""
    layer = dense
    while True:
        if not layer._inbound_nodes:
            return None
        inputs = layer._inbound_nodes[0].input_tensors()
        if len(inputs) != 1 or inputs[0].history is None:
            return None
        layer = inputs[0].history[0].layer
        if type(layer).__name__ == "Flatten":
            shape = layer._build_shape
            if layer.data_format != "channels_last" or not isinstance(shape, tuple) or len(shape) != 4:
                return None
            return None if None in shape[1:] else tuple(shape[1:])
        if type(layer).__name__ not in _SHAPE_KEEPING:
            return None
