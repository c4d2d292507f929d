"""`nablanet.ops` calls on symbolic tensors, as nodes of the functional graph (Keras's `Operation`s).

`x + inputs`, `x[:, 0]` or `ops.mean(x, axis=1)` on KerasTensors record an `Operation`: a layer
without weights that holds the op's name and its static arguments (`axis=1`), while its tensor
arguments are the node's, as Keras writes them in `config.json` (`{"module": "keras.src.ops.numpy",
"class_name": "Mean", "config": {"name": "mean", "axis": 1, "keepdims": false}}`). Output shapes
come from running the op on stand-in arrays, twice, so that a dimension that follows an unknown one
is unknown too (as in `layers.probe`).
"""

import inspect
import math
import re

import numpy as np

from nablanet import ops, serialization, symbolic
from nablanet.autodiff import no_grad
from nablanet.autodiff.tensor import Tensor
from nablanet.layers.base import Layer
from nablanet.names import unique_name
from nablanet.symbolic import KerasTensor, Node, holds_symbolic
from nablanet.tree import flatten, map_structure, pack_sequence_as

_KERAS_NAMES = {"getitem": ("GetItem", "get_item")}  # nablanet's op -> Keras's class and instance name
# Arguments with no default that are tensors (when data is passed: `add(x, 2.0)`); the others with no
# default are static (`expand_dims(x, axis)`), as Keras's op classes take them in their constructor.
_TENSOR_NAMES = re.compile(r"x\d*|y|a|b|condition|condlist|choicelist|values|updates|inputs|operands|elements"
                           r"|targets|predictions|images|query|key|value|coordinates|target|output|weights")
_MAX_ELEMENTS = 2 ** 28  # per static argument of an op read from a file
_SUBMODULES = ("nn", "linalg", "image", "math", "core", "numpy")


class Operation(Layer):
    """One op call in a functional graph: the op (by name), its static arguments and no weights.

    Args:
        op: The name of the op in `nablanet.ops` (`"mean"`, `"getitem"`).
        static: Its non-tensor arguments, by name (`{"axis": 1}`).
        name: The node's name (the op's Keras name, made unique, by default).
    """

    accepts_integer_inputs = True
    fixed_last_axis = False

    def __init__(self, op, static=None, name=None):
        keras_class, prefix = _keras_names(op)
        super().__init__(name=name or unique_name(prefix))
        self.op = op
        self.fn = getattr(_resolve(op), "__wrapped__", _resolve(op))
        self.static = dict(static or {})
        self.built = True
        self._keras_class_name = keras_class
        self._keras_module = f"keras.src.ops.{_family(op)}"

    def __call__(self, *values, **kwargs):
        kwargs.pop("training", None)  # the graph passes it to every node; an op has no training mode
        if kwargs.pop("mask", None) is not None or kwargs:
            raise TypeError(f"{self.op}: a graph op takes its tensors positionally, got {sorted(kwargs)}")
        if holds_symbolic(values):
            return self._record(values)
        return self.call(*values)

    def call(self, *values):
        positional, keywords = self._arguments(values)
        return self.fn(*positional, **keywords)

    def _arguments(self, values):
        """The op's arguments: the node's tensors fill, in order, the parameters not in `static`."""
        if self.op == "getitem" and len(values) == 2 and isinstance(values[1], list):
            values = (values[0], tuple(values[1]))  # a JSON key was a tuple
        values, static = list(values), dict(self.static)
        positional, keywords = [], {}
        params = list(inspect.signature(self.fn).parameters.values())
        before_var = any(p.kind is p.VAR_POSITIONAL for p in params)
        for p in params:
            if p.kind is p.VAR_POSITIONAL:
                positional.extend(values)
                values, before_var = [], False
            elif p.kind is not p.VAR_KEYWORD:
                if p.name in static:
                    value = static.pop(p.name)
                elif values:
                    value = values.pop(0)
                else:
                    continue
                if before_var or p.kind is p.POSITIONAL_ONLY:
                    positional.append(value)
                else:
                    keywords[p.name] = value
        if values:
            raise TypeError(f"{self.op}: got {len(values)} tensor argument(s) more than its parameters take")
        keywords.update(static)  # for a **kwargs parameter
        return positional, keywords

    def _record(self, values):
        stand_ins = [_stand_in(values, fill, size) for fill in ("zeros", "ones", "normal") for size in (2, 3)]
        first_error = None
        for k in range(0, len(stand_ins), 2):
            try:
                with no_grad(), np.errstate(all="ignore"):
                    first, second = self.call(*stand_ins[k]), self.call(*stand_ins[k + 1])
                break
            except Exception as error:  # noqa: BLE001 -- another stand-in may suit it (inv of zeros)
                first_error = first_error or error
        else:
            shapes = [t.shape for t in flatten(values) if isinstance(t, KerasTensor)]
            raise type(first_error)(f"{self.op}: cannot apply to symbolic inputs of shapes {shapes}: {first_error}") \
                from first_error
        node = Node(self, values[0], tuple(values[1:]), {}, None)
        leaves = [KerasTensor(_unknown(a, b), np.asarray(_data(a)).dtype, name=self.name, history=(node, i))
                  for i, (a, b) in enumerate(zip(flatten(first), flatten(second)))]
        node.outputs = pack_sequence_as(first, leaves) if isinstance(first, (list, tuple, dict)) else leaves[0]
        self._inbound_nodes.append(node)
        return node.outputs

    def compute_output_shape(self, input_shape):
        node = self._inbound_nodes[-1] if self._inbound_nodes else None
        if node is None:
            raise ValueError(f"{self.op}: the output shape is known once the op is called on symbolic tensors")
        return map_structure(lambda t: t.shape, node.outputs)

    def get_config(self):
        return {"name": self.name, **serialization.serialize(self.static)}

    @classmethod
    def from_keras(cls, class_name, config):
        """The node Keras's (or nablanet's) `{"class_name": "Mean", "config": {...}}` describes."""
        config = dict(config)
        name = config.pop("name", None)
        config.pop("trainable", None)
        if isinstance(config.get("dtype"), dict):  # a layer's DTypePolicy, not an op's argument
            config.pop("dtype")
        op = _op_for_class(class_name)
        _check_sizes(op, config)
        params = inspect.signature(getattr(_resolve(op), "__wrapped__", _resolve(op))).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in params.values()):  # Keras's extra arguments, when unused
            config = {k: v for k, v in config.items() if k in params or v is not None}
        return cls(op, static=config, name=name)


def record_op(name, fn, args, kwargs):
    """The node for `fn(*args, **kwargs)` (the op `name`) on symbolic tensors: the tensor arguments
    become the node's, the others the op's static configuration."""
    raw = getattr(fn, "__wrapped__", fn)
    try:
        bound = inspect.signature(raw).bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{name}: {error}") from None
    bound.apply_defaults()
    values, static = [], {}
    params = inspect.signature(raw).parameters
    for position, (key, value) in enumerate(bound.arguments.items()):
        kind = params[key].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            values.extend(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            static.update(value)
        elif holds_symbolic(value) or (params[key].default is inspect.Parameter.empty and not isinstance(value, str)
                                       and (position == 0 or _TENSOR_NAMES.fullmatch(key))):
            values.append(value)
        else:
            static[key] = value
    if name == "getitem":
        values, static = values + [static.pop("index", None)], {}
    return Operation(name, static)(*values)


def _check_sizes(op, config):
    """Refuse static arguments from a file that could make an op allocate without bound (a shape,
    repeats or a class count), before the op runs on stand-ins."""
    for key, value in config.items():
        counts = [abs(v) for v in flatten(value) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v]
        if counts and math.prod(counts) > _MAX_ELEMENTS:
            raise serialization.SerializationError(
                f"Functional.from_config: the op {op!r} has {key}={value!r}, which could ask for more than "
                f"{_MAX_ELEMENTS} elements; nablanet refuses it rather than allocate it")


def _stand_in(values, fill, size):
    """`values` with each KerasTensor replaced by data of its shape (`size` for unknown dimensions)."""
    rng = np.random.default_rng(0)

    def replace(t):
        if not isinstance(t, KerasTensor):
            return t
        shape = tuple(size if d is None else d for d in t.shape)
        data = {"zeros": np.zeros, "ones": np.ones}[fill](shape) if fill != "normal" else rng.standard_normal(shape)
        return Tensor._wrap(data.astype(t.dtype))

    return [map_structure(replace, value) for value in values]


def _data(value):
    return value.data if isinstance(value, Tensor) else value


def _unknown(a, b):
    return tuple(d if d == e else None for d, e in zip(np.shape(_data(a)), np.shape(_data(b))))


def _resolve(op):
    fn = getattr(ops, op, None) if op in ops.__all__ else None
    if fn is None:
        raise serialization.SerializationError(f"Operation: there is no op named {op!r} in nablanet.ops")
    return fn


def _keras_names(op):
    if op in _KERAS_NAMES:
        return _KERAS_NAMES[op]
    return "".join(part.capitalize() for part in op.split("_")), op


def _family(op):
    for family in _SUBMODULES:
        if op in getattr(getattr(ops, family, None), "__all__", ()):
            return family
    return "numpy"


def _op_for_class(class_name):
    """The op a Keras op class names: `ExpandDims` -> `expand_dims`, `FFT2` -> `fft2`."""
    for op, (keras_class, _) in _KERAS_NAMES.items():
        if class_name == keras_class:
            return op
    wanted = class_name.lower()
    for op in ops.__all__:
        if op.replace("_", "").lower() == wanted and callable(getattr(ops, op, None)):
            return op
    raise serialization.SerializationError(
        f"Functional.from_config: the graph holds the op {class_name!r}, which nablanet.ops does not have")


symbolic.HANDLERS["op"] = record_op
