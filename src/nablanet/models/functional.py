"""The functional graph behind `Model(inputs, outputs)`: the nodes that lead from the inputs to
the outputs, in an order that runs each layer after the layers it reads from."""

from nablanet.layers.core import InputLayer
from nablanet.symbolic import KerasTensor
from nablanet.tree import flatten, map_structure


class Graph:
    """Nodes from `inputs` (KerasTensors from `Input`) to `outputs`, ready to run on data."""

    def __init__(self, inputs, outputs):
        self.inputs, self.outputs = inputs, outputs
        for t in flatten(inputs):
            if not isinstance(t, KerasTensor) or not isinstance(t.history[0].layer, InputLayer):
                raise ValueError(f"Model: inputs must be tensors made by Input(), got {t!r}")
        for t in flatten(outputs):
            if not isinstance(t, KerasTensor):
                raise ValueError(f"Model: outputs must be symbolic tensors from calling layers, got {t!r}")
        self.nodes = self._order()
        self._check_reachable()
        self.layers = []
        for node in self.nodes:
            if not any(node.layer is layer for layer in self.layers):
                self.layers.append(node.layer)

    def _order(self):
        order, seen = [], set()
        stack = [(t.history[0], False) for t in reversed(flatten(self.outputs))]
        while stack:  # iterative depth-first search over nodes
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((t.history[0], False) for t in reversed(node.input_tensors()) if id(t.history[0]) not in seen)
        return order

    def _check_reachable(self):
        given = {id(t) for t in flatten(self.inputs)}
        for node in self.nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs) not in given:
                raise ValueError(
                    f"Model: the outputs depend on the input {node.outputs.name!r}, which is not among "
                    "the model's inputs. Pass every Input the outputs need."
                )

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
        return map_structure(lambda t: values[id(t)], self.outputs)
