"""The symbolic tensors of the functional API and the graph nodes that link them.

`Input()` makes a `KerasTensor`; calling a layer on one records a `Node` (the call: its layer,
inputs, arguments and outputs) and returns new KerasTensors whose `history` points back at it.
`Model(inputs, outputs)` walks these nodes back from its outputs.

Python operators and `nablanet.ops` functions on KerasTensors record nodes too. This module sits
below both, so it reaches them through two tables filled on import: `OPS` (the ops, by name,
filled by `nablanet.ops`) and `HANDLERS["op"]` (the function that records an op's node, filled
by `nablanet.layers`).
"""

import collections
import numbers

import numpy as np

from nablanet import backend
from nablanet.tree import flatten

OPS = {}  # op name -> the op, filled by nablanet.ops
HANDLERS = {}  # "op" -> record_op(name, fn, args, kwargs), filled by nablanet.layers


KerasHistory = collections.namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])


class SymbolicInput(TypeError):
    """A KerasTensor reached code that needs data (NumPy, a float, a length)."""


class KerasTensor:
    """A symbolic tensor of the functional API: a shape (None for the batch and any unknown
    dimension), a dtype, and the layer call that produced it.

    Example:
        >>> KerasTensor((None, 3)).shape
        (None, 3)
    """

    __array_ufunc__ = None  # NumPy's operators defer to ours
    sparse = ragged = False  # Keras's flags: only dense tensors exist here

    def __init__(self, shape, dtype=None, name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype or backend.floatx())
        self.name = name
        self.history = history  # (node, index in the node's outputs), None for an Input

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def _keras_history(self):
        """Keras's `(operation, node_index, tensor_index)` of the call that made this tensor."""
        if self.history is None:
            return None
        node, index = self.history
        position = next(k for k, other in enumerate(node.layer._inbound_nodes) if other is node)
        return KerasHistory(node.layer, position, index)

    def reshape(self, newshape):
        return _call("reshape", self, newshape)

    def squeeze(self, axis=None):
        return _call("squeeze", self, axis)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _no_data(self, *args, **kwargs):
        raise SymbolicInput(
            f"KerasTensor {self.name!r}: a symbolic tensor (shape {self.shape}) stands for data that does not "
            "exist yet, so it has no values. Apply nablanet.ops functions, operators or layers to it to build "
            "the model's graph, and call the model on data."
        )

    __array__ = __float__ = __int__ = __index__ = __complex__ = __len__ = __iter__ = __bool__ = _no_data
    __setitem__ = _no_data
    __hash__ = object.__hash__

    def __getitem__(self, key):
        return _call("getitem", self, key)

    def __neg__(self):
        return _call("negative", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _call("absolute" if "absolute" in OPS else "abs", self)

    def __invert__(self):
        return _call("logical_not", self)

    def __round__(self, ndigits=None):
        return _call("round", self, ndigits or 0)


def _binary(name, reflected=False, symbol=""):
    def operator(self, other):
        _check_operand(self, other, symbol)
        return _call(name, other, self) if reflected else _call(name, self, other)

    operator.__name__ = f"__{'r' if reflected else ''}{name}__"
    return operator


_OPERATORS = [("add", "+", "add"), ("sub", "-", "subtract"), ("mul", "*", "multiply"), ("truediv", "/", "divide"),
              ("floordiv", "//", "floor_divide"), ("mod", "%", "mod"), ("pow", "**", "power"),
              ("matmul", "@", "matmul"), ("and", "&", "logical_and"), ("or", "|", "logical_or"),
              ("xor", "^", "logical_xor")]
for _dunder, _symbol, _op in _OPERATORS:
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op, symbol=_symbol))
    setattr(KerasTensor, f"__r{_dunder}__", _binary(_op, reflected=True, symbol=_symbol))
for _dunder, _symbol, _op in [("lt", "<", "less"), ("le", "<=", "less_equal"), ("gt", ">", "greater"),
                              ("ge", ">=", "greater_equal"), ("ne", "!=", "not_equal")]:  # == stays identity, as Keras
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op, symbol=_symbol))


def _check_operand(tensor, other, symbol):
    """Refuse an operand that cannot be a tensor: it names both operands and what would do."""
    if isinstance(other, (KerasTensor, numbers.Number, np.ndarray, np.generic)) or hasattr(other, "data"):
        return
    try:
        kind = np.asarray(other).dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind not in "biufc":
        raise TypeError(
            f"KerasTensor {symbol}: cannot combine {tensor!r} with {other!r} ({type(other).__name__}); expected "
            "another symbolic tensor, a Tensor, a NumPy array, a number, or a (nested) list of numbers"
        )


def _call(name, *args):
    if name not in OPS:
        raise TypeError(f"KerasTensor: the op {name!r} is not available (import nablanet.ops to use operators)")
    return OPS[name](*args)


def record_op(name, fn, args, kwargs):
    """A node of the functional graph for `fn(*args, **kwargs)`, an op called on KerasTensors."""
    if "op" not in HANDLERS:
        raise TypeError(f"{name}: symbolic tensors need nablanet.layers, which records ops as graph nodes; "
                        "import nablanet")
    return HANDLERS["op"](name, fn, args, kwargs)


def holds_symbolic(value):
    """Whether `value` (a nested structure) holds a KerasTensor."""
    return any(isinstance(t, KerasTensor) for t in flatten(value))


class Node:
    """One call of a layer in a functional graph: its symbolic inputs, arguments and outputs."""

    def __init__(self, layer, inputs, args, kwargs, outputs):
        self.layer, self.inputs, self.args, self.kwargs = layer, inputs, args, kwargs
        self.outputs = outputs

    def input_tensors(self):
        """The symbolic tensors the call reads: in its inputs, and in its other arguments (an
        RNN's `initial_state=[h, c]` from an encoder, a `mask=`)."""
        reads = flatten(self.inputs) + flatten(list(self.args)) + flatten(list(self.kwargs.values()))
        return [t for t in reads if isinstance(t, KerasTensor)]
