"""The ONNX graph under construction, and the table of layer converters.

A converter turns one layer call into ONNX nodes: `fn(g, layer, x)` gets the graph builder, the
layer and its input (a `Value`, or a list of them for merging layers) and returns the output
names (one, or a list for several outputs), or `Masked(outputs, mask)` when it decides the
output mask itself. A new layer family needs one `@converter(LayerClass)` function.
"""

import hashlib
import itertools

import numpy as np

CONVERTERS = {}  # layer class -> fn(g, layer, x)
CALL_ARGUMENTS = set()  # layer classes whose converter gets all of a call's arguments (see `converter`)


def converter(*classes, call_arguments=False):
    """Register `fn(g, layer, x)` as the ONNX form of `classes`, matched exactly (not subclasses,
    which may change `call`); it replaces nablanet's own. Without `Masked`, its outputs keep the
    input's mask when the layer supports masking, as the layer's own outputs do. With
    `call_arguments=True`, `x` is instead the dict of the call's arguments by the names of the
    layer's `call` (tensors as `Value`s), for a layer called on several tensors or with options
    (`MultiHeadAttention(query, value, use_causal_mask=True)`).

    Example:
        >>> from nablanet import layers
        >>> class Double(layers.Layer):
        ...     def call(self, inputs):
        ...         return inputs * 2
        >>> @converter(Double)
        ... def _double(g, layer, x):
        ...     return g.op("Add", [x.name, x.name])
        >>> CONVERTERS.pop(Double) is _double
        True
    """

    def register(fn):
        builtin = fn.__module__.startswith("nablanet.export.")
        for cls in classes:
            if not (builtin and cls in CONVERTERS):  # a user's converter wins whenever it was registered
                CONVERTERS[cls] = fn
                (CALL_ARGUMENTS.add if call_arguments else CALL_ARGUMENTS.discard)(cls)
        return fn

    return register


class Value:
    """One tensor of the graph: its ONNX name, Keras shape (None: unknown), dtype and mask name."""

    def __init__(self, name, shape, dtype="float32", mask=None):
        self.name, self.shape, self.dtype, self.mask = name, tuple(shape), np.dtype(dtype), mask

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"Value({self.name!r}, shape={self.shape}, mask={self.mask!r})"


class Masked:
    """A converter's outputs together with the mask it gives them (None: no mask)."""

    def __init__(self, outputs, mask):
        self.outputs, self.mask = outputs, mask


class ExportError(ValueError):
    """A model that cannot be written as ONNX (a layer without an ONNX form, say)."""


class GraphBuilder:
    """Nodes and initializers of one ONNX graph, with unique names.

    A subgraph (the body of a Scan) shares the parent's names and puts its constants in the
    parent's initializers, which ONNX lets a subgraph read.

    Example:
        >>> import onnx
        >>> g = GraphBuilder(onnx, opset=18)
        >>> g.op("Relu", [g.op("Add", ["x", g.const(np.ones(3))])])
        'relu_3'
        >>> [node.op_type for node in g.nodes], len(g.initializers)
        (['Add', 'Relu'], 1)
    """

    def __init__(self, onnx, opset, parent=None, options=None):
        self.onnx, self.opset, self.parent = onnx, opset, parent
        self.options = parent.options if parent is not None else dict(options or {})  # export_onnx's choices
        self.nodes, self.initializers = [], []
        self._counter = parent._counter if parent is not None else itertools.count()
        self._constants = parent._constants if parent is not None else {}
        self.reserved = parent.reserved if parent is not None else set()  # the graph's input and output names

    def fresh(self, hint):
        """A name no other value of the model has."""
        name = f"{hint}_{next(self._counter)}"
        return name if name not in self.reserved else self.fresh(hint)

    def const(self, array, hint="const", dtype=None):
        """An initializer holding `array` (float arrays are stored as float32)."""
        array = np.asarray(array)
        if dtype is not None:
            array = array.astype(dtype)
        elif array.dtype.kind == "f":
            array = array.astype(np.float32)
        elif array.dtype.kind in "iu":
            array = array.astype(np.int64)
        if self.parent is not None:
            return self.parent.const(array, hint)
        key = (array.dtype.str, array.shape, hashlib.sha256(np.ascontiguousarray(array).tobytes()).digest())
        if key in self._constants:
            return self._constants[key]  # one copy of each value: a shared layer's weights, axes, 0 and 1
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name))
        self._constants[key] = name
        return name

    def op(self, op_type, inputs, outputs=1, hint=None, **attributes):
        """Add a node; returns its output name, or a list of `outputs` names when that is > 1
        (a list of hints names them)."""
        hints = outputs if isinstance(outputs, list) else [hint or op_type.lower()] * outputs
        names = [self.fresh(h) for h in hints]
        inputs = ["" if name is None else name for name in inputs]
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, names, name=self.fresh(op_type),
                                                     **attributes))
        return names[0] if len(names) == 1 and not isinstance(outputs, list) else names

    # -- a few composites every converter needs --------------------------------------------------

    def reduce(self, op_type, x, axes, keepdims=True):
        """ReduceMean/ReduceMax/ReduceSum over `axes` (attribute or input, by opset)."""
        axes = [int(a) for a in axes]
        takes_input = op_type == "ReduceSum" and self.opset >= 13 or self.opset >= 18
        if takes_input:
            return self.op(op_type, [x, self.const(np.array(axes, np.int64), "axes")], keepdims=int(keepdims))
        return self.op(op_type, [x], axes=axes, keepdims=int(keepdims))

    def unsqueeze(self, x, axes):
        return self.op("Unsqueeze", [x, self.const(np.array(axes, np.int64), "axes")])

    def squeeze(self, x, axes):
        return self.op("Squeeze", [x, self.const(np.array(axes, np.int64), "axes")])

    def transpose(self, x, perm):
        perm = [int(p) for p in perm]
        return x if perm == sorted(perm) else self.op("Transpose", [x], perm=perm)

    def reshape(self, x, shape):
        """Reshape to `shape`; 0 copies the input's dimension (the dynamic batch), -1 is inferred."""
        return self.op("Reshape", [x, self.const(np.array(shape, np.int64), "shape")])

    def slice(self, x, starts, ends, axes, steps=None):
        inputs = [x, self.const(np.array(starts, np.int64), "starts"), self.const(np.array(ends, np.int64), "ends"),
                  self.const(np.array(axes, np.int64), "axes")]
        if steps is not None:
            inputs.append(self.const(np.array(steps, np.int64), "steps"))
        return self.op("Slice", inputs)

    def reverse(self, x, axis):
        """`x` reversed along `axis`, whatever its (dynamic) length."""
        return self.slice(x, [-1], [np.iinfo(np.int64).min], [axis], [-1])

    def dims(self, x, start, end):
        """The 1-D int64 tensor of `x`'s dimensions `start:end` (known only when the model runs)."""
        return self.op("Shape", [x], start=start, end=end)

    def zeros(self, like, width):
        """Zeros of shape (batch of `like`, width)."""
        shape = self.op("Concat", [self.dims(like, 0, 1), self.const(np.array([width], np.int64), "width")], axis=0)
        return self.op("ConstantOfShape", [shape], value=self.onnx.numpy_helper.from_array(np.zeros(1, np.float32)))
