"""Where a layer's features come from, for PyTorch weights: PyTorch flattens a feature map
channels first (channels, height, width), nablanet channels last (height, width, channels), so
a Linear (or a BatchNorm1d or LayerNorm) reading a flattened image has its rows in another
order than the Dense layer that replaces it.

`origin` follows a layer's input back through the functional graph, through layers that keep
the features as they are (dropout, activations, normalization), and into and out of nested
models, to the `Flatten` (or one-axis `Reshape`) that made it. `reorder` then moves the rows.
"""

import numpy as np

from nablanet import layers
from nablanet.layers.core import InputLayer
from nablanet.saving.layout import is_model
from nablanet.tree import flatten

IMAGE, PLAIN, UNKNOWN = "image", "plain", "unknown"

FEATURE_LAYERS = ("Dense", "BatchNormalization", "LayerNormalization")

_KEEPING = ("Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "AlphaDropout",
            "GaussianDropout", "GaussianNoise", "BatchNormalization", "LayerNormalization")

_MERGING = ("Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")


def chains(model):
    """`{id(layer): (outermost model, ..., the model that holds it)}` for every layer that is
    not a model."""
    found = {}

    def walk(layer, chain):
        if is_model(layer):
            for child in layer.layers:
                walk(child, chain + (layer,))
        else:
            found[id(layer)] = chain

    walk(model, ())
    return found


def _graph(model):
    """The functional graph of a Sequential or functional model, None for a subclassed one."""
    return model._graph


def _calls(layer, model):
    """The nodes of `layer` in `model`'s graph (None when the model has no graph)."""
    graph = _graph(model)
    if graph is None:
        return None
    nodes = {id(node) for node in graph.nodes}
    return [node for node in layer._inbound_nodes if id(node) in nodes]


def origin(layer, chain):
    """`(IMAGE, (height, width, channels))` when `layer` reads a channels-last flattening of an
    image; `(PLAIN, None)` when it reads something else that PyTorch orders as nablanet does;
    `(UNKNOWN, why)` when its input cannot be followed."""
    if not chain:
        return UNKNOWN, "it is the whole model, so its input comes from outside"
    calls = _calls(layer, chain[-1])
    if calls is None:
        return UNKNOWN, f"it is inside the subclassed model {chain[-1].name!r}, whose calls are not recorded"
    if len(calls) != 1 or len(calls[0].input_tensors()) != 1:
        return UNKNOWN, "it is called more than once, or on several inputs"
    tensor = calls[0].input_tensors()[0]
    if len(tensor.shape) != 2:
        return PLAIN, None  # it maps the last axis of a (batch, ..., features) input: nothing flattened
    return _trace(tensor, chain)


def _trace(tensor, chain):
    """Where the (batch, features) `tensor` of the model `chain[-1]` comes from, as `origin`."""
    while True:
        node, index = tensor.history
        source = node.layer
        if isinstance(source, InputLayer):
            tensor, chain = _leave(tensor, chain)
            if tensor is None:
                return UNKNOWN, chain
            continue
        if is_model(source):
            if _graph(source) is None:
                return UNKNOWN, f"it reads the subclassed model {source.name!r}, whose calls are not recorded"
            tensor, chain = flatten(source.outputs)[index], chain + (source,)
            continue
        kind, reads = type(source).__name__, node.input_tensors()
        if len(reads) != 1:
            if kind in _MERGING and all(_trace(t, chain)[0] == PLAIN for t in reads):
                return PLAIN, None
            return UNKNOWN, f"it reads {kind} {source.name!r}, which has several inputs"
        if kind == "Flatten" or (kind == "Reshape" and len(source.target_shape) == 1):
            found = _flattened(source, reads[0])
            if found is not None:
                return found
        elif kind not in _KEEPING:
            if kind == "Lambda" or getattr(layers, kind, None) is not type(source):  # not nablanet's
                return UNKNOWN, f"it reads {kind} {source.name!r}, which nablanet cannot see into"
            return PLAIN, None
        tensor = reads[0]


def _leave(tensor, chain):
    """From the Input of a nested model to what the enclosing model feeds it: `(tensor, chain)`,
    or `(None, why)`."""
    if len(chain) < 2:
        return None, "it reads the model's input"
    inner, outer = chain[-1], chain[-2]
    positions = [i for i, t in enumerate(flatten(inner.inputs)) if t is tensor]
    calls = _calls(inner, outer)
    if calls is None:
        return None, f"it is inside {inner.name!r}, called by the subclassed model {outer.name!r}"
    if len(positions) != 1 or len(calls) != 1:
        return None, f"the model {inner.name!r} that holds it is called more than once"
    return flatten(calls[0].inputs)[positions[0]], chain[:-1]


def _flattened(layer, read):
    """What a Flatten of `read` gives: an image's shape, PLAIN for a sequence, or None to keep
    following (a flatten of features is no change)."""
    shape = read.shape
    if len(shape) == 2:
        return None
    if len(shape) == 3:
        return PLAIN, None  # (steps, channels): not reordered, see nablanet.saving.interop
    if len(shape) != 4 or None in shape[1:]:
        return UNKNOWN, f"it reads {type(layer).__name__} {layer.name!r} of a tensor of shape {shape}"
    before = read.history[0].layer if read.history is not None else None
    if type(before).__name__ == "Permute" and tuple(before.dims) == (3, 1, 2):
        return PLAIN, None  # already PyTorch's (channels, height, width)
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return IMAGE, (shape[2], shape[3], shape[1])  # Flatten moves the channels last first
    return IMAGE, tuple(shape[1:])


def reorder(array, shape):
    """Rows of `array` (axis 0) from PyTorch's flattening of a (channels, *spatial) map to
    nablanet's of (*spatial, channels), `shape` being the latter."""
    *spatial, channels = shape
    rest = array.shape[1:]
    moved = array.reshape((channels, *spatial) + rest)
    axes = tuple(range(1, len(spatial) + 1)) + (0,) + tuple(range(len(spatial) + 1, moved.ndim))
    return np.ascontiguousarray(moved.transpose(axes)).reshape(array.shape)
