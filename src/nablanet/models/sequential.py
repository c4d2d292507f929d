"""Sequential: a stack of layers, each feeding the next."""

from nablanet import serialization
from nablanet.autodiff.variable import name_scope
from nablanet.layers.base import Layer
from nablanet.layers.core import Input, InputLayer
from nablanet.models.functional import Graph
from nablanet.models.model import Model
from nablanet.symbolic import KerasTensor


class Sequential(Model):
    """A linear stack of layers: `Sequential([Dense(64, activation="relu", input_shape=(784,)),
    Dense(1)])`, or built up with `add`.

    The model is built (weights created, shapes known, `summary()` available) as soon as the
    input shape is known: from an `Input`, from `input_shape=` on the first layer, or from the
    first data it sees.

    Example:
        >>> from nablanet import layers
        >>> model = Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
        >>> model.output_shape
        (None, 1)
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name, trainable=trainable)
        self._stack = []
        self._input = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        return [layer for layer in self._stack if not isinstance(layer, InputLayer)]

    def _sublayers(self):
        return self.layers

    @property
    def fixed_last_axis(self):
        """Whether inputs must keep the last axis the model was built with: as its first layer
        (not for an Embedding of token ids or a pooling layer, say)."""
        return self.layers[0].fixed_last_axis if self.layers else True

    def add(self, layer, rebuild=True):
        """Append a layer (or an `Input`, which sets the input shape); `rebuild=False` leaves the
        graph to be rebuilt later (by the next `add`, `build` or call), as when adding many layers."""
        if isinstance(layer, KerasTensor):
            layer = layer.history[0].layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a Layer, got {layer!r}")
        if isinstance(layer, InputLayer):
            if self._stack:
                raise ValueError("Sequential.add: an Input must come first")
            self._input = layer.output
        elif not self._stack and layer._input_shape_arg is not None:
            self._input = Input(shape=layer._input_shape_arg, batch_size=layer._batch_size_arg)
        self._stack.append(layer)
        if self._input is not None:
            self._rebuild(rebuild)

    def pop(self, rebuild=True):
        """Remove and return the last layer; `rebuild=False` leaves the graph to be rebuilt later."""
        if not self.layers:
            raise ValueError("Sequential.pop: the model has no layers")
        layer = self._stack.pop()
        if self._input is not None and self.layers:
            self._rebuild(rebuild)
        return layer

    def _rebuild(self, now):
        if now:
            self._build_graph()
        else:
            self.built = False  # the next build or call rebuilds the graph

    def _build_graph(self):
        """The model's one functional graph, from its input through every layer; `call` runs
        the layers in order, and the graph serves shapes, saving and introspection."""
        for node in self._graph.nodes if self._graph is not None else []:  # the last build's calls, now stale
            if not isinstance(node.layer, InputLayer):
                node.layer._inbound_nodes = [n for n in node.layer._inbound_nodes if n is not node]
        x = self._input
        with name_scope(self.name, caller=self):  # layers built here get the model's name in their paths, as Keras
            for layer in self.layers:
                x = layer(x)
        self._set_structure(self._input, x)
        self._graph = Graph(self._input, x) if self.layers else None
        self.built = True
        self._build_shape = self._input.shape

    def build(self, input_shape=None):
        if self._input is None:
            if input_shape is None:
                raise ValueError("Sequential.build: the model has no Input yet; pass input_shape, e.g. (None, 784)")
            self._input = Input(shape=tuple(input_shape[1:]), batch_size=None)
        self._build_graph()

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        for layer in self.layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    @property
    def input_shape(self):
        return None if self._input is None else self._input.shape

    @property
    def output_shape(self):
        return None if self._input is None else self.output.shape

    def get_config(self):
        """Keras 3's schema: the layers (an `InputLayer` first when the input is known)."""
        stack = list(self._stack)
        if self._input is not None and not (stack and isinstance(stack[0], InputLayer)):
            stack.insert(0, self._input.history[0].layer)
        config = {"name": self.name, "trainable": self.trainable, "dtype": Layer.get_config(self)["dtype"],
                  "layers": [serialization.serialize(layer) for layer in stack]}
        if self._input is not None:
            config["build_input_shape"] = list(self._input.shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """From Keras's config, or nablanet's older one (`input_shape` beside the layers)."""
        with serialization.custom_object_scope(custom_objects or {}):
            model = cls(name=config.get("name"), trainable=config.get("trainable", True))
            if config.get("input_shape") is not None:
                model.add(Input(shape=tuple(config["input_shape"]), dtype=config.get("input_dtype")))
            for entry in config["layers"]:
                model.add(serialization.deserialize(entry, kind="layers"))
            shape = config.get("build_input_shape")
            if not model.built and shape is not None and model.layers:
                model.build(tuple(shape))
        return model
