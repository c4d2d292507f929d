"""Model architectures as JSON configs, and models rebuilt from them (allowlisted classes only).

Sequential: its layers' configs and input shape. Functional: the layers, then every node of the
graph in running order with references `{"ref": [layer, node, tensor]}` to the tensors it
reads. Subclassed: the class's registered name, its `get_config()`, and the input shape it was
built with.
"""

from nablanet import tree
from nablanet.layers.core import InputLayer
from nablanet.saving.serialization import get_registered_name, resolve
from nablanet.symbolic import KerasTensor


def serialize_layer(layer):
    from nablanet.models import Model

    if isinstance(layer, Model):
        return model_config(layer)
    cls = type(layer)
    return {"class_name": get_registered_name(cls) if hasattr(cls, "_registered_name") else cls.__name__,
            "config": layer.get_config()}


def deserialize_layer(entry, custom_objects):
    cls = resolve(entry["class_name"], custom_objects, "layer")
    from nablanet.models import Model

    if isinstance(cls, type) and issubclass(cls, Model):
        return model_from_config(entry, custom_objects)
    config = dict(entry["config"])
    if entry["class_name"] == "Lambda":
        config["function"] = resolve(config["function"], custom_objects, "Lambda function")
    return cls.from_config(config)


def model_config(model):
    """The JSON-ready architecture of a model."""
    from nablanet.models import Sequential

    if isinstance(model, Sequential):
        config = {"name": model.name, "trainable": model.trainable,
                  "layers": [serialize_layer(layer) for layer in model.layers]}
        if model._input is not None:
            config["input_shape"] = list(model._input.shape[1:])
            config["input_dtype"] = model._input.dtype.name
        return {"class_name": "Sequential", "config": config}
    if model._graph is not None:
        return {"class_name": "Functional", "config": _functional_config(model)}
    cls = type(model)
    if not hasattr(cls, "_registered_name"):
        raise ValueError(
            f"save: {cls.__name__} is a subclassed Model; register it with "
            "@nablanet.saving.register_keras_serializable() and give it get_config(), so that it "
            "can be rebuilt without running code from the file"
        )
    return {"class_name": cls._registered_name, "config": model.get_config(),
            "build_input_shape": _json_shape(model._build_shape)}


def _json_shape(shape):
    return None if shape is None else tree.map_shape_structure(list, shape)


def _functional_config(model):
    graph = model._graph
    counts, positions, nodes = {}, {}, []
    for node in graph.nodes:
        name = node.layer.name
        positions[id(node)] = (name, counts.get(name, 0))
        counts[name] = counts.get(name, 0) + 1

    def ref(t):
        if isinstance(t, KerasTensor):
            layer_name, k = positions[id(t.history[0])]
            return {"ref": [layer_name, k, t.history[1]]}
        if isinstance(t, (list, tuple)):
            return [ref(x) for x in t]
        if isinstance(t, dict):
            return {"dict": {k: ref(v) for k, v in t.items()}}
        return t

    for node in graph.nodes:
        entry = {"layer": node.layer.name}
        if not isinstance(node.layer, InputLayer):
            entry["inputs"] = ref(node.inputs)
            entry["kwargs"] = {k: ref(v) for k, v in node.kwargs.items()}  # initial_state=[h, c], ...
        nodes.append(entry)
    layers = []
    for layer in graph.layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers, "nodes": nodes,
            "inputs": ref(model.inputs), "outputs": ref(model.outputs)}


def model_from_config(entry, custom_objects=None):
    """Rebuild a model (untrained weights) from `model_config`'s output."""
    from nablanet.layers.core import Input
    from nablanet.models import Model, Sequential

    class_name, config = entry["class_name"], entry["config"]
    if class_name == "Sequential":
        model = Sequential(name=config["name"], trainable=config.get("trainable", True))
        if config.get("input_shape") is not None:
            model.add(Input(shape=tuple(config["input_shape"]), dtype=config.get("input_dtype")))
        for layer in config["layers"]:
            model.add(deserialize_layer(layer, custom_objects))
        return model
    if class_name == "Functional":
        return _functional_from_config(config, custom_objects)
    cls = resolve(class_name, custom_objects, "model")
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise ValueError(f"load: {class_name!r} is not a Model class")
    model = cls.from_config(config)
    shape = entry.get("build_input_shape")
    if shape is not None and not model.built:
        model._build_once(_tuple_shape(shape))
    return model


def _tuple_shape(shape):
    return tree.map_shape_structure(tuple, shape)


def _functional_from_config(config, custom_objects):
    from nablanet.models import Model

    layers = {entry["name"]: deserialize_layer(entry, custom_objects) for entry in config["layers"]}
    produced, counts = {}, {}

    def resolve_ref(value):
        if isinstance(value, dict) and "ref" in value:
            name, k, i = value["ref"]
            out = produced[(name, k)]
            return out[i] if isinstance(out, list) else out
        if isinstance(value, dict) and "dict" in value:
            return {k: resolve_ref(v) for k, v in value["dict"].items()}
        if isinstance(value, list):
            return [resolve_ref(v) for v in value]
        return value

    for node in config["nodes"]:
        name = node["layer"]
        if name not in layers:
            raise ValueError(f"load: the graph names a layer {name!r} that the file does not define")
        layer, k = layers[name], counts.get(name, 0)
        counts[name] = k + 1
        if isinstance(layer, InputLayer):
            produced[(name, k)] = layer.output
        else:
            kwargs = {key: resolve_ref(value) for key, value in node.get("kwargs", {}).items()}
            produced[(name, k)] = layer(resolve_ref(node["inputs"]), **kwargs)
    model = Model(resolve_ref(config["inputs"]), resolve_ref(config["outputs"]), name=config["name"])
    model.trainable = config.get("trainable", True)
    return model
