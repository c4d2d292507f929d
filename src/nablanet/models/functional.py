"""The functional graph behind `Model(inputs, outputs)`: the nodes that lead from the inputs to
the outputs, in an order that runs each layer after the layers it reads from."""

import numpy as np

from nablanet import serialization
from nablanet.layers.core import Input, InputLayer
from nablanet.layers.operation import Operation
from nablanet.symbolic import KerasTensor
from nablanet.tree import flatten, map_structure, pack_sequence_as


class Graph:
    """Nodes from `inputs` (KerasTensors from `Input`) to `outputs`, ready to run on data."""

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs
        for t in flatten(inputs):
            if not isinstance(t, KerasTensor) or t.history is None or not isinstance(t.history[0].layer, InputLayer):
                raise ValueError(f"Model: inputs must be tensors made by Input(), got {t!r}")
        for t in flatten(outputs):
            if not isinstance(t, KerasTensor):
                raise ValueError(f"Model: outputs must be symbolic tensors from calling layers, got {t!r}")
        self.nodes = self._order()
        self._check_reachable()
        self.operations = self._keras_order()  # every layer and op node, in Keras's order
        self.layers = [layer for layer in self.operations if not isinstance(layer, Operation)]

    def _order(self):
        order, seen = [], set()
        stack = [(_producer(t), False) for t in reversed(flatten(self.outputs))]
        while stack:  # iterative depth-first search over nodes
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((_producer(t), False) for t in reversed(node.input_tensors()) if id(_producer(t)) not in seen)
        return order

    def _keras_order(self):
        """The layers (and op nodes) as Keras lists them, which its weight files follow: by depth
        (the most calls between a layer and the outputs) from the deepest, ties in the order a
        depth-first search from the outputs first reaches them."""
        first_reached = {}
        stack = [_producer(t) for t in reversed(flatten(self.outputs))]
        while stack:
            node = stack.pop()
            if id(node) in first_reached:
                continue
            first_reached[id(node)] = len(first_reached)
            stack.extend(_producer(t) for t in reversed(node.input_tensors()))
        in_graph = {id(node) for node in self.nodes}
        node_depth, layer_depth, reached, layers = {}, {}, {}, {}
        for node in reversed(self.nodes):  # from the outputs back, so a node's consumers come first
            key = id(node.layer)
            depth = max(node_depth.get(id(node), 0), layer_depth.get(key, 0))
            layer_depth[key], node_depth[id(node)] = depth, depth
            reached[key] = min(reached.get(key, len(first_reached)), first_reached.get(id(node), len(first_reached)))
            layers[key] = node.layer
            for t in node.input_tensors():
                parent = _producer(t)
                if id(parent) in in_graph:
                    node_depth[id(parent)] = max(node_depth.get(id(parent), 0), depth + 1)
        return [layers[key] for key in sorted(layers, key=lambda k: (-layer_depth[k], reached[k]))]

    def _check_reachable(self):
        given = {id(t) for t in flatten(self.inputs)}
        for node in self.nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs) not in given:
                raise ValueError(
                    f"Model: the outputs depend on the input {node.outputs.name!r}, which is not among "
                    "the model's inputs. Pass every Input the outputs need."
                )

    def adjust_input_rank(self, inputs):
        """`inputs` with Keras's rank adjustment: data one axis short of an Input whose last axis
        is 1 gets that axis (`(N, 28, 28)` for `Input((28, 28, 1))`), data with an extra last axis
        of size 1 loses it; anything else is left for the shape check to refuse."""
        symbolic, flat = flatten(self.inputs), flatten(inputs)
        if len(symbolic) != len(flat) or (isinstance(inputs, dict) and not isinstance(self.inputs, dict)):
            return inputs
        adjusted, changed = [], False
        for t, x in zip(symbolic, flat):
            rank, shape = len(t.shape), np.shape(x.data if hasattr(x, "data") else x)
            if len(shape) == rank - 1 and t.shape[-1] == 1:
                x, changed = x[..., None], True
            elif len(shape) == rank + 1 and shape[-1] == 1:
                x, changed = x[..., 0], True
            adjusted.append(x)
        return pack_sequence_as(inputs, adjusted) if changed else inputs

    def run(self, inputs, training=None):
        """Evaluate the graph on concrete `inputs` (same structure as `self.inputs`)."""
        values = {}
        symbolic = flatten(self.inputs)
        concrete = flatten(inputs)
        if isinstance(inputs, dict) and not isinstance(self.inputs, dict):
            names = {t.name: t for t in symbolic}
            missing = set(names) - set(inputs)
            if missing:
                raise ValueError(f"Model: missing inputs {sorted(missing)}; the model's inputs are {list(names)}")
            concrete = [inputs[t.name] for t in symbolic]
        if len(concrete) != len(symbolic):
            raise ValueError(f"Model: expected {len(symbolic)} inputs, got {len(concrete)}")
        for t, x in zip(symbolic, concrete):
            values[id(t)] = x
        for node in self.nodes:
            if isinstance(node.layer, InputLayer):
                continue
            concrete = lambda t: values[id(t)] if isinstance(t, KerasTensor) else t  # noqa: E731
            args = map_structure(concrete, node.inputs)
            kwargs = {k: map_structure(concrete, v) for k, v in node.kwargs.items()}
            if training is not None:
                kwargs["training"] = training
            out = node.layer(args, *map_structure(concrete, list(node.args)), **kwargs)
            for symbolic_out, value in zip(flatten(node.outputs), flatten(out)):
                values[id(symbolic_out)] = value
        outputs = map_structure(lambda t: values[id(t)], self.outputs)
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            return outputs[0]  # a list of one output gives the array, as Keras's
        return outputs


def from_intermediate_inputs(inputs, outputs):
    """`(inputs, outputs)` where inputs that layers produced (Keras allows them: a model on a
    FeatureSpace's encoded features) become new `Input`s of their shape and dtype, and the layers
    between them and the outputs are called again on those, sharing their weights."""
    def made_by_input(t):
        return isinstance(t, KerasTensor) and t.history is not None and isinstance(t.history[0].layer, InputLayer)

    starts = [t for t in flatten(inputs) if isinstance(t, KerasTensor) and not made_by_input(t)]
    if not starts:
        return inputs, outputs
    values = {id(t): Input(batch_shape=tuple(t.shape), dtype=t.dtype) for t in starts}
    order, seen = [], set()
    stack = [(_producer(t), False) for t in reversed(flatten(outputs)) if id(t) not in values]
    while stack:  # depth-first from the outputs, stopping at the given inputs
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen or isinstance(node.layer, InputLayer):
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((_producer(t), False) for t in reversed(node.input_tensors()) if id(t) not in values)
    swap = lambda t: values.get(id(t), t) if isinstance(t, KerasTensor) else t  # noqa: E731
    for node in order:
        args = [map_structure(swap, node.inputs), *map_structure(swap, list(node.args))]
        kwargs = {k: map_structure(swap, v) for k, v in node.kwargs.items()}
        for old, new in zip(flatten(node.outputs), flatten(node.layer(*args, **kwargs))):
            values[id(old)] = new
    return map_structure(swap, inputs), map_structure(swap, outputs)


def _producer(t):
    """The node that made `t`, or a clear error for a tensor no layer or op produced."""
    if t.history is None:
        raise ValueError(f"Model: the graph reads {t!r}, which no layer or op produced (a mask that a layer computes "
                         "from values describes data only); compute it with nablanet.ops instead")
    return t.history[0]


# -- the functional config (Keras 3's schema) ----------------------------------------------------------

def functional_config(model):
    """The config of a functional model as Keras writes it: every layer with its `inbound_nodes`
    (the arguments of each call, tensors as `__keras_tensor__` references `[layer, node, index]`),
    then `input_layers` and `output_layers`."""
    graph = model._graph
    in_graph = {id(node) for node in graph.nodes}
    position = {}
    for layer in graph.operations:
        kept = [node for node in layer._inbound_nodes if id(node) in in_graph]
        position.update({id(node): k for k, node in enumerate(kept)})

    def history(t):
        node, index = t.history
        return [node.layer.name, position[id(node)], index]

    def ref(value):
        if isinstance(value, KerasTensor):
            return {"class_name": "__keras_tensor__", "config": {
                "shape": list(value.shape), "dtype": value.dtype.name, "keras_history": history(value)}}
        if isinstance(value, (list, tuple)):
            return [ref(v) for v in value]
        if isinstance(value, dict):
            return {k: ref(v) for k, v in value.items()}
        return _literal(value)

    layers = []
    for layer in graph.operations:
        entry = serialization.serialize(layer)
        if isinstance(layer, Operation):
            entry["registered_name"] = entry["class_name"]
        entry["name"] = layer.name
        nodes = [node for node in layer._inbound_nodes if id(node) in in_graph]
        entry["inbound_nodes"] = [] if isinstance(layer, InputLayer) else [
            {"args": ref([node.inputs, *node.args]), "kwargs": ref(dict(node.kwargs))} for node in nodes]
        layers.append(entry)

    def ends(tensors):
        if isinstance(tensors, KerasTensor):
            return history(tensors)
        if isinstance(tensors, dict):
            return {k: ends(v) for k, v in tensors.items()}
        return [ends(t) for t in tensors]

    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": ends(model._inputs_struct), "output_layers": ends(model._outputs_struct)}


def functional_from_config(cls, config):
    """Rebuild a functional model from `functional_config`'s output (or an older nablanet
    config), building every layer through the registry."""
    if "nodes" in config:
        return _legacy_from_config(cls, config)
    layers, pending = {}, []
    for entry in config["layers"]:
        if str(entry.get("module", "")).startswith(_OP_MODULES):
            layer = Operation.from_keras(entry["class_name"], entry.get("config", {}))
        else:
            layer = serialization.deserialize(entry, kind="layers")
        name = entry.get("name", getattr(layer, "name", None))
        layers[name] = layer
        pending.append([name, layer, list(entry.get("inbound_nodes", []))])
    produced = {name: [layer.output] for name, layer in layers.items() if isinstance(layer, InputLayer)}

    def ready(value):
        if _is_ref(value):
            name, k, _ = value["config"]["keras_history"]
            return len(produced.get(name, [])) > k
        if isinstance(value, list):
            return all(ready(v) for v in value)
        if isinstance(value, dict):
            return all(ready(v) for v in value.values())
        return True

    def revive(value):
        if _is_ref(value):
            name, k, i = value["config"]["keras_history"]
            return flatten(produced[name][k])[i]
        if isinstance(value, list):
            return [revive(v) for v in value]
        if isinstance(value, dict) and "class_name" not in value:
            return {key: revive(v) for key, v in value.items()}
        if isinstance(value, dict) and value["class_name"] == "__slice__":
            bounds = value.get("config", {})
            return slice(bounds.get("start"), bounds.get("stop"), bounds.get("step"))
        if isinstance(value, dict) and value["class_name"] == "__ellipsis__":
            return Ellipsis
        return serialization.deserialize(value)

    while any(nodes for _, _, nodes in pending):
        progress = False
        # keyed by the config's name: a custom get_config may leave the name out, renaming the layer
        for name, layer, nodes in pending:
            while nodes and ready(nodes[0]):
                node = nodes.pop(0)
                args = revive(node.get("args", []))
                kwargs = {k: revive(v) for k, v in node.get("kwargs", {}).items()
                          if k != "training" and not (k == "mask" and v is None)}
                produced.setdefault(name, []).append(layer(*args, **kwargs))
                progress = True
        if not progress:
            stuck = [name for name, _, nodes in pending if nodes]
            raise serialization.SerializationError(
                f"Functional.from_config: the nodes of layers {stuck[:5]} read tensors no layer produces")

    def ends(spec):
        if isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str):
            name, k, i = spec
            if name not in produced or len(produced[name]) <= k:
                raise serialization.SerializationError(f"Functional.from_config: no tensor {spec} in the graph")
            return flatten(produced[name][k])[i]
        if isinstance(spec, dict):
            return {key: ends(v) for key, v in spec.items()}
        return [ends(s) for s in spec]

    model = cls(ends(config["input_layers"]), ends(config["output_layers"]), name=config.get("name"))
    model.trainable = config.get("trainable", True)
    return model


_OP_MODULES = ("keras.src.ops.", "keras.ops.")


def _literal(value):
    """A node argument that is no tensor, as Keras writes it (slices and arrays have their own tags)."""
    if isinstance(value, slice):
        return {"class_name": "__slice__", "config": {"start": _literal(value.start), "stop": _literal(value.stop),
                                                      "step": _literal(value.step)}}
    if value is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(value, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    return serialization.serialize(value)


def _is_ref(value):
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _legacy_from_config(cls, config):
    """nablanet's config before Keras's schema: `nodes` in running order with `{"ref": [layer,
    node, tensor]}` references."""
    layers = {entry["name"]: serialization.deserialize(entry, kind="layers") for entry in config["layers"]}
    produced, counts = {}, {}

    def resolve(value):
        if isinstance(value, dict) and "ref" in value:
            name, k, i = value["ref"]
            out = produced[(name, k)]
            return out[i] if isinstance(out, list) else out
        if isinstance(value, dict) and "dict" in value:
            return {k: resolve(v) for k, v in value["dict"].items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    for node in config["nodes"]:
        name = node["layer"]
        if name not in layers:
            raise serialization.SerializationError(f"load: the graph names a layer {name!r} the file does not define")
        layer, k = layers[name], counts.get(name, 0)
        counts[name] = k + 1
        if isinstance(layer, InputLayer):
            produced[(name, k)] = layer.output
        else:
            kwargs = {key: resolve(value) for key, value in node.get("kwargs", {}).items()}
            produced[(name, k)] = layer(resolve(node["inputs"]), **kwargs)
    model = cls(resolve(config["inputs"]), resolve(config["outputs"]), name=config["name"])
    model.trainable = config.get("trainable", True)
    return model
