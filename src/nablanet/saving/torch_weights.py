"""PyTorch state dicts (saved as safetensors) loaded into nablanet models.

PyTorch modules are matched through a map from layer names to module names (`names=`, or the
one an application such as VGG16 carries), otherwise by position in the natural order of the
module names (`0`, `1`, ..., `10`, as `nn.Sequential` names them). Their layouts are converted:
convolution kernels (out, in, *window) become (*window, in, out), Linear's (out, in) becomes
Dense's (in, out), and a layer reading the flattening of an image (height, width, channels) —
a Dense layer, or a BatchNormalization or LayerNormalization of the flat features — gets its
rows reordered from PyTorch's channels-first flattening to nablanet's channels-last one.

The `Flatten` (or one-axis `Reshape`) is found by following the layer's input back through the
functional graph, through dropout, activations and normalization, and into and out of nested
models (`nablanet.saving.feature_maps`). Where that cannot be done (a subclassed model, a
`Lambda`, a layer with several inputs, the model's own input) and the model or the file has
convolutions, loading stops with a `SavingError` that asks for `flatten_from={layer name:
(height, width, channels)}` (the feature map that was flattened) or `{layer name: None}` (not a
flattened feature map), unless the layer with weights before it outputs exactly as many
features as the layer reads (a Dense after a Dense, or after a global pooling), which needs no
reordering. Sequences are not reordered: after a Conv1d, PyTorch flattens (channels, steps), so
put `Permute((2, 1))` before nablanet's `Flatten` there (or pass `flatten_from={layer name:
(steps, channels)}` in a subclassed model).

PyTorch's BatchNorm and LayerNorm default to `eps=1e-5`, Keras's and nablanet's to 1e-3: a
`UserWarning` says so when their weights go into a layer whose `epsilon` is not 1e-5 (set the
layer's epsilon to the module's `eps`).
"""

import collections
import itertools
import math
import warnings

import numpy as np

from nablanet.saving import feature_maps
from nablanet.saving.archive import SavingError
from nablanet.saving.interop import _assign, _Count, _few, _problem, units


def _natural(name):
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in name.split("."))


def load_torch(model, tensors, source, names=None, skip_mismatch=False, flatten_from=None):
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
    maps = _FeatureMaps(model, ours, modules, flatten_from, skip_mismatch)
    converted, normalized = [], []
    for layer, module in pairs:
        if module not in modules:
            problems.append(f"layer {layer.name!r}: the file has no module {module!r}")
            continue
        shape, problem = maps.shape(layer, module)
        arrays, labels = [], []
        if problem is None:
            arrays, labels, problem = to_keras_layout(layer, modules[module], module, shape)
        assigned = list(zip(layer._weights, arrays))
        if len(arrays) != len(layer._weights) and not problem:
            assigned.append((_Count(layer, len(layer._weights), len(arrays)), None))
        problem = problem or _problem(assigned, f"to module {module!r}", labels)
        if problem:
            problems.append(problem)
        elif type(layer).__name__ in ("BatchNormalization", "LayerNormalization"):
            normalized.append(layer)
        converted.append(assigned)
    if problems and names is None:
        problems.append("the modules were matched to the layers in the order of their names; if that "
                        "is not the model's order, pass names={layer name: module name}")
    used = {module for _, module in pairs}
    extra = sorted((m for m in modules if m not in used and m not in optional), key=_natural)
    if extra:
        problems.append(f"the file has modules the model lacks: {extra[:6]}")
    problems = _assign(converted, problems, source, skip_mismatch)
    for layer in normalized:
        _check_epsilon(layer)
    return problems


def _check_epsilon(layer):
    if not math.isclose(layer.epsilon, 1e-5, rel_tol=1e-6):
        kind = type(layer).__name__
        warnings.warn(f"load_weights: layer {layer.name!r} ({kind}) has epsilon {layer.epsilon:g}, but "
                      f"PyTorch's {'BatchNorm' if kind.startswith('Batch') else 'LayerNorm'} defaults to "
                      "eps=1e-5, so its outputs will differ slightly from PyTorch's; build the layer with "
                      "the module's eps (epsilon=1e-5 for the default)", UserWarning, stacklevel=2)


class _FeatureMaps:
    """The feature map each layer that reads flattened features was flattened from (None: no
    reordering), from `flatten_from` or from the model's graph (`nablanet.saving.feature_maps`)."""

    def __init__(self, model, ours, modules, flatten_from, skip_mismatch):
        self.given = dict(flatten_from or {})
        readers = {layer.name for layer in ours if type(layer).__name__ in feature_maps.FEATURE_LAYERS}
        unknown = [name for name in self.given if name not in readers]
        if unknown and not skip_mismatch:
            raise SavingError(f"load_weights: flatten_from names {unknown[:4]}, but the model has no such "
                              f"Dense, BatchNormalization or LayerNormalization layers ({_few(sorted(readers))})")
        self.chains = feature_maps.chains(model)
        self.before = {id(b): a for a, b in itertools.pairwise(ours)}
        self.convolutions = any("Conv" in type(layer).__name__ for layer in ours) or any(
            getattr(p.get("weight"), "ndim", 0) >= 3 for p in modules.values())

    def shape(self, layer, module):
        """`(shape or None, problem or None)` for `layer`, loaded from `module`."""
        if type(layer).__name__ not in feature_maps.FEATURE_LAYERS or not layer._weights:
            return None, None
        features = layer._weights[0].shape[0]
        if layer.name in self.given:
            shape = self.given[layer.name]
            if shape is not None and (not isinstance(shape, (tuple, list)) or not all(
                    type(d) is int and d > 0 for d in shape) or math.prod(shape) != features):
                return None, (f"layer {layer.name!r} reads {features} features, but flatten_from gives it "
                              f"{shape!r}; give the channels-last shape of the feature map they were "
                              "flattened from, e.g. (height, width, channels), or None")
            return (None if shape is None else tuple(shape)), None
        kind, found = feature_maps.origin(layer, self.chains.get(id(layer), ()))
        if kind == feature_maps.IMAGE:
            return (found, None) if math.prod(found) == features else (None, None)
        before = self.before.get(id(layer))
        if kind == feature_maps.PLAIN or not self.convolutions or (
                before is not None and before._weights and before._weights[0].shape[-1] == features):
            return None, None  # nothing flattened, no feature map to flatten, or what comes before
        return None, (
            f"layer {layer.name!r} reads {features} features from module {module!r}, and nablanet cannot "
            f"tell whether they are a flattened feature map ({found}). PyTorch flattens feature maps "
            "channels first, nablanet channels last, so the rows must be reordered if they are: pass "
            f"flatten_from={{{layer.name!r}: (height, width, channels)}} with the shape of the map that "
            f"was flattened, or flatten_from={{{layer.name!r}: None}} if its input is not one")


def to_keras_layout(layer, parameters, module, feature_map=None):
    """Layer `layer`'s arrays from PyTorch module `module`'s `parameters`: `(arrays, labels,
    problem)`, `problem` None when the module fits the layer's kind. `feature_map`: the
    channels-last shape the layer's input features were flattened from, to reorder them."""
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
    arrays = [_convert(kind, p, given[p], feature_map) for p in wanted]
    return arrays, [f"{module}.{p} of shape {tuple(given[p].shape)}" for p in wanted], None


def _convert(kind, parameter, array, feature_map):
    if parameter == "weight" and kind in ("Conv1D", "Conv2D"):
        return np.transpose(array, tuple(range(2, array.ndim)) + (1, 0))  # (out, in, *k) -> (*k, in, out)
    if parameter == "weight" and kind == "Dense":
        array = array.T  # (out, in) -> (in, out)
    elif kind not in ("BatchNormalization", "LayerNormalization"):
        return array  # a bias, an Embedding's table
    if feature_map is not None and array.shape[0] == math.prod(feature_map):
        array = feature_maps.reorder(array, feature_map)
    return array


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
