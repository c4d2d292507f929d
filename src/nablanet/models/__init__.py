"""Models: functional and subclassed `Model`, and `Sequential`; `clone_model`, `model_from_json`,
`save_model` and `load_model` as `keras.models` has them."""

import importlib
import json

from nablanet import serialization
from nablanet.models.model import Model
from nablanet.models.sequential import Sequential
from nablanet.symbolic import KerasTensor
from nablanet.tree import flatten, map_structure

serialization.register_table("models", {"Model": Model, "Functional": Model, "Sequential": Sequential}, "keras")

EXPORTERS = ("nablanet.export",)  # parts that fill Model.export_formats when imported (they import models)


class _ExportFormats(dict):
    """`Model.export_formats`, filled on first use by importing `EXPORTERS` (models cannot import them)."""

    def _fill(self):
        if not getattr(self, "_filled", False):
            self._filled = True
            for module in EXPORTERS:
                importlib.import_module(module)

    def get(self, key, default=None):
        self._fill()
        return super().get(key, default)

    def __getitem__(self, key):
        self._fill()
        return super().__getitem__(key)

    def __contains__(self, key):
        self._fill()
        return super().__contains__(key)

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def keys(self):
        self._fill()
        return super().keys()


Model.export_formats = _ExportFormats(Model.export_formats)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with `Model.save` (see `nablanet.saving.load_model`)."""
    from nablanet.saving import load_model as load

    return load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save `model` to `filepath` (see `nablanet.saving.save_model`, which takes the same arguments)."""
    from nablanet.saving import save_model as save

    return save(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def model_from_json(json_string, custom_objects=None):
    """Build a model (new weights) from the JSON `Model.to_json` wrote, in Keras's schema.

    >>> from nablanet import layers
    >>> model = Sequential([layers.Input(shape=(3,)), layers.Dense(2)])
    >>> model_from_json(model.to_json()).output_shape
    (None, 2)
    """
    try:
        config = json.loads(json_string)
    except (TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"model_from_json: expected a JSON string from Model.to_json(), got {error}") from None
    return serialization.deserialize(config, custom_objects=custom_objects)


def _clone_layer(layer):
    return layer.__class__.from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """A copy of `model` with new layers (new weights, as in Keras): each layer goes through
    `clone_function` (default: rebuilt from its config), each call of a functional graph through
    `call_function(layer, *args, **kwargs)`; `input_tensors` replace the model's inputs.
    `recursive` clones nested Sequential/functional models with the same functions. A compiled
    model's copy is compiled as it was (a new optimizer, the same loss and metrics), as in Keras.

    >>> from nablanet import layers
    >>> model = Sequential([layers.Input(shape=(3,)), layers.Dense(2, name="d")])
    >>> copy = clone_model(model)
    >>> copy.layers[0] is model.layers[0], copy.layers[0].name
    (False, 'd')
    """
    if kwargs:
        raise TypeError(f"clone_model: unexpected keyword arguments {sorted(kwargs)}")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model: expected a Model, got {type(model).__name__}")
    clone = _clone_model(model, input_tensors, clone_function, call_function, recursive)
    if getattr(model, "compiled", False) and not getattr(clone, "compiled", False):
        clone.compile_from_config(model.get_compile_config())
    return clone


def _clone_model(model, input_tensors, clone_function, call_function, recursive):
    base = clone_function or _clone_layer
    if recursive:
        def clone(layer):
            if isinstance(layer, Model) and (isinstance(layer, Sequential) or layer._graph is not None):
                return clone_model(layer, clone_function=clone_function, call_function=call_function, recursive=True)
            return base(layer)
    else:
        clone = base
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone, call_function)
    if getattr(model, "_graph", None) is None:
        if clone_function is not None or call_function is not None or input_tensors is not None:
            raise ValueError(f"clone_model: a subclassed model ({type(model).__name__}) is cloned from its config "
                             "only; clone_function, call_function and input_tensors need a functional or "
                             "Sequential model")
        return model.__class__.from_config(model.get_config())
    return _clone_functional(model, input_tensors, clone, call_function)


def _new_input(t, name=None):
    from nablanet.layers import Input

    return Input(shape=tuple(t.shape[1:]), batch_size=t.shape[0], dtype=t.dtype, name=name)


def _clone_sequential(model, input_tensors, clone, call_function):
    from nablanet.layers import InputLayer

    layers = [clone(layer) for layer in model.layers if not isinstance(layer, InputLayer)]
    if input_tensors is None and call_function is None:
        inputs = getattr(model, "inputs", None) if getattr(model, "built", False) else None
        new = Sequential(([_new_input(flatten(inputs)[0])] if inputs is not None else []) + layers, name=model.name)
        return new
    if input_tensors is None:
        input_tensors = _new_input(flatten(model.inputs)[0])
    tensors = flatten(input_tensors)
    if len(tensors) != 1 or not isinstance(tensors[0], KerasTensor):
        raise ValueError(f"clone_model: a Sequential model takes one input tensor from Input(), got {input_tensors!r}")
    x = tensors[0]
    for layer in layers:
        x = call_function(layer, x) if call_function else layer(x)
    return Model(tensors[0], x, name=model.name)


def _clone_functional(model, input_tensors, clone, call_function):
    from nablanet.layers import InputLayer

    graph = model._graph
    old_inputs = flatten(graph.inputs)
    if input_tensors is None:
        new_inputs = [_new_input(t, t.name) for t in old_inputs]
    else:
        new_inputs = flatten(input_tensors)
        if len(new_inputs) != len(old_inputs) or not all(isinstance(t, KerasTensor) for t in new_inputs):
            raise ValueError(f"clone_model: input_tensors must be {len(old_inputs)} tensors from Input(), "
                             f"got {input_tensors!r}")
    values = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    layers = {}
    for node in graph.nodes:
        if isinstance(node.layer, InputLayer):
            continue
        if id(node.layer) not in layers:
            layers[id(node.layer)] = clone(node.layer)
        layer = layers[id(node.layer)]
        swap = lambda t: values[id(t)] if isinstance(t, KerasTensor) else t  # noqa: E731
        args = [map_structure(swap, node.inputs), *map_structure(swap, list(node.args))]
        kwargs = {k: map_structure(swap, v) for k, v in node.kwargs.items()}
        out = call_function(layer, *args, **kwargs) if call_function else layer(*args, **kwargs)
        for old, new in zip(flatten(node.outputs), flatten(out)):
            values[id(old)] = new
    return Model(map_structure(lambda t: values[id(t)], graph.inputs),
                 map_structure(lambda t: values[id(t)], graph.outputs), name=model.name)


__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
