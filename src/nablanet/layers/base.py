"""The Layer base class: Keras's contract.

`__init__` stores configuration, `build(input_shape)` creates weights with `add_weight`,
`call(inputs, training=None)` holds the math, `get_config()` returns the constructor arguments.
`__call__` converts inputs, builds once, checks the input against what the layer was built
for, and calls. Called on a `KerasTensor` (from `Input`), a layer records a node of the
functional graph instead (`nablanet.symbolic`), with shapes from `compute_output_shape`.
"""

import functools
import inspect

import numpy as np

from nablanet import backend, initializers, serialization
from nablanet.autodiff.tensor import Tensor
from nablanet.autodiff.variable import Variable, name_scope
from nablanet.compat import warn_ignored
from nablanet.layers.input_spec import check_input_spec
from nablanet.layers.probe import probe_mask, probe_outputs
from nablanet.names import snake_case, unique_name
from nablanet.symbolic import KerasTensor, Node
from nablanet.tree import flatten, map_shape_structure, map_structure, pack_sequence_as


def _required(method, argument):
    try:
        parameter = inspect.signature(method).parameters.get(argument)
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.default is inspect.Parameter.empty


def _accepts(method, argument):
    try:
        parameters = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return argument in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


_ACTIVE_CALLS = [0]  # how many eager layer calls are running; 0 between top-level calls


class Layer:
    """Base class of all layers.

    Args:
        trainable: Whether the layer's weights are updated in training.
        name: A name; unique by default (`dense`, `dense_1`, ...).
        dtype: The dtype of the weights (floatx by default).
        input_shape: Keras's shortcut for the first layer of a `Sequential` model.
        input_dim: Legacy shortcut for `input_shape=(input_dim,)`.
        activity_regularizer: A penalty on the layer's outputs, added to the loss.

    Optional traits, class attributes that a subclass sets when they apply:

    - `accepts_integer_inputs`: integer and boolean inputs reach `call` as they are (token ids
      for `Embedding`); otherwise they are cast to the layer's dtype. A user's layer built on
      `Layer` alone gets True, Keras's rule (only float inputs are cast).
    - `fixed_last_axis`: once built, inputs must keep the last axis the layer was built with;
      False for layers that take any length there (pooling, `Embedding`, `Reshape`).
    - `fixed_rank`: once built, inputs must also keep their rank; False for layers that, like
      Keras's `Dense`, apply to the last axis of inputs of any rank.
    - `keeps_shape`: the output has the input's shape, which `compute_output_shape`'s default
      then gives for functional calls; a layer that neither sets this nor overrides
      `compute_output_shape` is run on zeros to learn its outputs (see `layers.probe`).
    - `output_dtype`: the dtype of its symbolic outputs in a functional graph (None: floatx).
    - `supports_masking` (Keras's): `__call__` passes masks on through `compute_mask`. By
      Keras's rule a layer that overrides `compute_mask` supports masking; a layer that passes
      the mask through unchanged sets it (a custom layer may also set it in `__init__`).

    Example:
        >>> class Double(Layer):
        ...     keeps_shape = True
        ...     def call(self, inputs):
        ...         return inputs * 2
        >>> Double()(np.ones((1, 2))).numpy()
        array([[2., 2.]], dtype=float32)
    """

    accepts_integer_inputs = False
    fixed_last_axis = True
    fixed_rank = True
    keeps_shape = False
    output_dtype = None
    input_spec = None  # an `InputSpec` (or a list of them) that every call checks, as Keras's
    _graph = None  # a model's functional graph (models set it)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in vars(cls):  # build runs in the layer's name scope however it is called, as Keras's
            cls.build = _in_name_scope(cls.build)
        ours = [base for base in cls.__mro__[1:] if base.__module__.startswith("nablanet.") and base is not Layer]
        if "accepts_integer_inputs" not in vars(cls) and not ours and not cls.__module__.startswith("nablanet."):
            cls.accepts_integer_inputs = True

    def __init__(self, activity_regularizer=None, trainable=True, dtype=None, autocast=True, name=None,
                 input_shape=None, input_dim=None, batch_input_shape=None, batch_size=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        if isinstance(dtype, dict):  # Keras 3's DTypePolicy config
            dtype = dtype.get("config", {}).get("name")
        self.dtype = np.dtype(dtype or backend.floatx()).name
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape, batch_size = tuple(batch_input_shape[1:]), batch_input_shape[0]
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._batch_size_arg = batch_size
        self._weights = []
        self._trainable = bool(trainable)
        self.built = False
        self._build_shape = None
        self._inbound_nodes = []
        self._losses = []
        self.activity_regularizer = None
        if activity_regularizer is not None:
            from nablanet import regularizers

            self.activity_regularizer = regularizers.get(activity_regularizer)
        self.autocast = autocast
        if not autocast:
            warn_ignored(f"{type(self).__name__}", "autocast", autocast,
                         "inputs are always computed in the layer's dtype", default=True)
        self._accepts_training = _accepts(self.call, "training")
        self._needs_training = _required(self.call, "training")  # Keras then passes None
        self._accepts_mask = _accepts(self.call, "mask")
        self._supports_masking = None  # set by assigning supports_masking; None: Keras's rule

    @property
    def supports_masking(self):
        """Whether `__call__` passes masks on through `compute_mask` (see the class's traits)."""
        if self._supports_masking is None:
            return type(self).compute_mask is not Layer.compute_mask
        return self._supports_masking

    @supports_masking.setter
    def supports_masking(self, value):
        self._supports_masking = bool(value)

    # -- weights ---------------------------------------------------------------------------------

    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, regularizer=None,
                   constraint=None, name=None):
        """Create a weight, track it, and return it (a `Variable`)."""
        shape = () if shape is None else tuple(int(s) for s in shape)
        if initializer is None:
            initializer = "glorot_uniform" if len(shape) > 1 else "zeros"
        init = initializers.get(initializer)
        dtype = dtype or self.dtype
        serialization.check_allocation(self, name, shape, dtype)
        with name_scope(self.name, caller=self):
            variable = Variable(init(shape, dtype=dtype), dtype=dtype, trainable=trainable and self._trainable,
                                name=name or unique_name("variable"))
        variable.regularizer = regularizer
        variable.constraint = constraint
        variable._layer_trainable = trainable  # the weight's own flag, kept when the layer freezes
        self._weights.append(variable)
        return variable

    def _sublayers(self):
        """Layers held in attributes (and lists, tuples and dicts of them), in assignment order."""
        found = []
        for value in vars(self).values():
            if isinstance(value, dict):
                items = value.values()
            else:
                items = value if isinstance(value, (list, tuple)) else [value]
            found.extend(item for item in items if isinstance(item, Layer) and item is not self)
        unique = []
        for layer in found:
            if not any(layer is seen for seen in unique):
                unique.append(layer)
        return unique

    @property
    def weights(self):
        """Every weight of this layer and its sublayers, trainable ones first (as Keras)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        own = [w for w in self._weights if w.trainable]
        return _unique_variables(own + [w for layer in self._sublayers() for w in layer.trainable_weights])

    @property
    def non_trainable_weights(self):
        own = self._weights if not self.trainable else [w for w in self._weights if not w.trainable]
        nested = [w for layer in self._sublayers() for w in
                  (layer.weights if not self.trainable else layer.non_trainable_weights)]
        return _unique_variables(own + nested)

    trainable_variables = property(lambda self: self.trainable_weights)
    non_trainable_variables = property(lambda self: self.non_trainable_weights)
    variables = property(lambda self: self.weights)

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """Freeze or unfreeze this layer and every layer inside it."""
        self._trainable = bool(value)
        for w in self._weights:
            w.trainable = self._trainable and w._layer_trainable
        for layer in self._sublayers():
            layer.trainable = value

    def get_weights(self):
        """The weights' values as NumPy arrays (copies), in `weights` order."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Set the weights from a list of arrays, in `weights` order, shapes checked."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected {len(mine)} weight arrays, got "
                f"{len(weights)}"
            )
        for variable, value in zip(mine, weights):
            value = np.asarray(value)
            if value.shape != variable.shape:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: weight {variable.path!r} has shape "
                    f"{variable.shape}, got an array of shape {value.shape}"
                )
            variable.assign(value)

    def count_params(self):
        """The number of scalars in all weights."""
        return int(sum(w.size for w in self.weights))

    @property
    def losses(self):
        """Losses added while calling this layer (and its sublayers), with weight penalties."""
        penalties = [w.regularizer(w) for w in self._weights if getattr(w, "regularizer", None)]
        nested = [loss for layer in self._sublayers() for loss in layer.losses]
        return list(self._losses) + penalties + nested

    def add_loss(self, loss):
        """Add a loss term (a scalar Tensor) to be minimized with the model's loss."""
        self._losses.append(loss)

    # -- calling ---------------------------------------------------------------------------------

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def compute_output_shape(self, input_shape):
        """The output shape for an input shape (None for unknown dimensions). This default keeps
        the shape, which is right for elementwise layers; others override it."""
        return input_shape

    def __call__(self, inputs, *args, **kwargs):
        if not self.built:  # weights made while building (this layer's or sublayers') get its name in their path
            with name_scope(self.name, caller=self):
                return self._dispatch_call(inputs, args, kwargs)
        return self._dispatch_call(inputs, args, kwargs)

    def _dispatch_call(self, inputs, args, kwargs):
        if any(isinstance(t, KerasTensor) for t in flatten(inputs)):
            return self._symbolic_call(inputs, args, kwargs)
        if not _ACTIVE_CALLS[0]:  # the outermost call: `losses` then holds this call's losses only, as Keras
            self._clear_losses()
        _ACTIVE_CALLS[0] += 1
        try:
            return self._eager_call(inputs, args, kwargs)
        finally:
            _ACTIVE_CALLS[0] -= 1

    def _clear_losses(self):
        """Forget the losses added by the last call, in this layer and the layers inside it."""
        self._losses = []
        for layer in self._sublayers():
            layer._clear_losses()

    def _eager_call(self, inputs, args, kwargs):
        masks = map_structure(keras_mask, inputs)
        inputs = map_structure(self._convert, inputs)
        if self._graph is not None:  # a model: data one axis short of an Input's trailing 1 (Keras's rule)
            inputs = self._graph.adjust_input_rank(inputs)
        if self.input_spec is not None:
            check_input_spec(self.input_spec, inputs, self.name)
        shapes = map_structure(lambda t: t.shape, inputs)
        if not self.built:
            self._build_once(shapes)
        else:
            self._check_input(shapes)
        if kwargs.get("mask") is not None:
            masks = kwargs["mask"]
        elif self._accepts_mask and any(m is not None for m in flatten(masks)):
            kwargs["mask"] = masks
        outputs = self.call(inputs, *args, **self._call_kwargs(kwargs))
        if self.activity_regularizer is not None:
            for output in flatten(outputs):  # each output's penalty over its own batch, as Keras
                self._losses.append(self.activity_regularizer(output) / output.shape[0])
        if self.supports_masking:
            self._set_output_masks(inputs, outputs, masks)
        return outputs

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs, from the inputs and their mask (Keras's rule: a layer
        that supports masking passes the mask through unchanged unless it overrides this)."""
        return previous_mask

    def _set_output_masks(self, inputs, outputs, masks):
        if all(keras_mask(t) is not None for t in flatten(outputs)):
            return
        out_masks = self.compute_mask(inputs, masks)
        if out_masks is None:
            return
        for tensor, mask in zip(flatten(outputs), flatten(out_masks)):
            if isinstance(tensor, Tensor) and mask is not None and keras_mask(tensor) is None:
                tensor._keras_mask = mask

    def _call_kwargs(self, kwargs):
        """`training` and `mask` as `call` takes them: dropped if it has no such argument, None
        when it requires one that was not given (as Keras passes)."""
        kwargs = dict(kwargs)
        if not self._accepts_training:
            kwargs.pop("training", None)
        elif self._needs_training:
            kwargs.setdefault("training", None)
        if not self._accepts_mask:
            kwargs.pop("mask", None)
        return kwargs

    def _convert(self, x):
        if isinstance(x, Tensor):
            if x.dtype.kind in "iub" and not self.accepts_integer_inputs:
                return x.astype(self.dtype)
            return x
        x = np.asarray(x)
        if x.dtype.kind == "f" and x.dtype != self.dtype and self.dtype in ("float32", "float64", "float16"):
            x = x.astype(self.dtype)
        elif x.dtype.kind in "iub" and not self.accepts_integer_inputs:
            x = x.astype(self.dtype)
        return Tensor._wrap(x)

    def _build_once(self, shapes):
        self.build(shapes)
        self.built = True
        self._build_shape = shapes

    def _check_input(self, shapes):
        """Refuse inputs whose feature dimensions differ from those the layer was built for."""
        expected = self._build_shape
        if expected is None or not isinstance(expected, tuple) or not isinstance(shapes, tuple):
            return
        other_rank = len(expected) != len(shapes) and (self.fixed_rank or len(shapes) < 2)
        if other_rank or (expected and expected[-1] is not None and shapes and shapes[-1] != expected[-1]):
            if self.fixed_last_axis:
                raise ValueError(
                    f"{type(self).__name__} {self.name!r}: expected inputs of shape "
                    f"{(None,) + tuple(expected[1:])}, got shape {tuple(shapes)}. The layer was built "
                    f"for that shape; check the input width (input_shape) of the data."
                )

    def _symbolic_call(self, inputs, args, kwargs):
        shapes = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else np.shape(t), inputs)
        if self.input_spec is not None:
            check_input_spec(self.input_spec, inputs, self.name)
        if not self.built:
            self._build_once(shapes)
        else:
            self._check_input(shapes)
        masks = map_structure(lambda t: getattr(t, "_keras_mask", None), inputs)
        call_kwargs = self._call_kwargs(kwargs)
        if self._accepts_mask and call_kwargs.get("mask") is None and any(m is not None for m in flatten(masks)):
            call_kwargs["mask"] = masks  # call() sees the mask it will get on data (a stand-in of it)
        node = Node(self, inputs, args, kwargs, None)
        if type(self).compute_output_shape is Layer.compute_output_shape and not self.keeps_shape:
            specs = probe_outputs(self, inputs, args, call_kwargs)  # run it to learn its outputs
            outputs = [KerasTensor(spec.shape, spec.dtype, name=self.name, history=(node, i))
                       for i, spec in enumerate(flatten(specs))]  # numbered in flatten order, as the graph reads them
            node.outputs = pack_sequence_as(specs, outputs)
        else:
            out_shapes = self.compute_output_shape(shapes)
            count = iter(range(len(flatten(map_shape_structure(lambda s: 0, out_shapes)))))
            node.outputs = map_shape_structure(
                lambda shape: KerasTensor(shape, self.output_dtype, name=self.name, history=(node, next(count))),
                out_shapes)
        self._inbound_nodes.append(node)
        if self.supports_masking:
            self._set_symbolic_masks(inputs, node.outputs, masks)
        return node.outputs

    def _set_symbolic_masks(self, inputs, outputs, masks):
        """`_keras_mask` on symbolic outputs, as on data: what `compute_mask` gives for the inputs,
        a node of the graph when it is made of ops; when it needs values (NumPy on the ids), a
        KerasTensor of its shape and dtype found on stand-in data, outside the graph."""
        try:
            out_masks = self.compute_mask(inputs, masks)
        except Exception:  # noqa: BLE001 -- this mask is computed from values: describe it from a probe
            try:
                specs = probe_mask(self, inputs, masks)
            except Exception:  # noqa: BLE001 -- no mask to describe, as on data that the layer refuses
                return
            out_masks = map_structure(lambda spec: None if spec is None else KerasTensor(spec.shape, spec.dtype),
                                      specs)
        if out_masks is None:
            return
        out_masks = flatten(out_masks) if isinstance(out_masks, (list, tuple, dict)) else [out_masks]
        for tensor, mask in zip(flatten(outputs), out_masks):
            if isinstance(mask, KerasTensor):
                tensor._keras_mask = mask

    @property
    def input(self):
        """The symbolic input of the layer's first call in a functional graph (a list for several)."""
        return self._node_tensors("input")

    @property
    def output(self):
        """The symbolic output of the layer's first call in a functional graph (a list for several)."""
        return self._node_tensors("output")

    def _node_tensors(self, which):
        if self._graph is not None:  # a model: the structures it was built from, as Keras's
            return self._inputs_struct if which == "input" else self._outputs_struct
        if not self._inbound_nodes:
            raise AttributeError(f"{type(self).__name__} {self.name!r} has never been called on symbolic tensors "
                                 f"and thus has no defined {which}")
        node = self._inbound_nodes[0]
        tensors = node.input_tensors() if which == "input" else flatten(node.outputs)
        return tensors[0] if len(tensors) == 1 else tensors

    # -- configuration ---------------------------------------------------------------------------

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": {
            "module": "keras", "class_name": "DTypePolicy", "config": {"name": self.dtype}, "registered_name": None}}
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        return config

    def get_build_config(self):
        """`{"input_shape": ...}`: the shape the layer was built with (None before it is built)."""
        if not self.built or self._build_shape is None:
            return None
        return {"input_shape": serialization.serialize(self._build_shape)}

    def build_from_config(self, config):
        """Build the layer for the input shape `get_build_config` recorded."""
        shape = config.get("input_shape")
        if shape is not None and not self.built:
            self._build_once(_shape_tuple(shape))

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _in_name_scope(build):
    @functools.wraps(build)
    def scoped_build(self, *args, **kwargs):
        with name_scope(self.name, caller=self):
            result = build(self, *args, **kwargs)
        self.built = True  # a build called by hand counts, as Keras's: the first call must not build again
        return result

    return scoped_build


def _shape_tuple(shape):
    """A JSON shape (a list, or a list of lists) as the tuples `build` takes."""
    if isinstance(shape, dict):
        return {k: _shape_tuple(v) for k, v in shape.items()}
    if all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    return [_shape_tuple(s) for s in shape]


def keras_mask(x):
    """The boolean (batch, steps) mask attached to a Tensor by a masking layer, or None."""
    return getattr(x, "_keras_mask", None) if isinstance(x, Tensor) else None


def _unique_variables(variables):
    seen, unique = set(), []
    for v in variables:
        if id(v) not in seen:
            seen.add(id(v))
            unique.append(v)
    return unique
