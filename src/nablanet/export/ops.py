"""ONNX forms of op calls in functional graphs (`ops.dot_product_attention(q, k, v)` on KerasTensors).

Such a call is an `Operation` node holding the op's name and its static arguments; its tensor
arguments arrive as `Value`s, in the order of the op's parameters that are not static. Each op
with an ONNX form has a function in `OP_CONVERTERS`, registered with `@op_converter(name)`.
"""

import inspect
import math

import numpy as np

from nablanet.export.graph import ExportError, Value, converter
from nablanet.layers.operation import Operation

OP_CONVERTERS = {}  # op name -> fn(g, arguments): the op's arguments by parameter name


def op_converter(*names):
    """Register `fn(g, arguments)` as the ONNX form of the ops `names`; `arguments` maps each of the
    op's parameters to a `Value` (a tensor of the graph) or to its static value."""

    def register(fn):
        for name in names:
            OP_CONVERTERS[name] = fn
        return fn

    return register


@converter(Operation)
def _operation(g, layer, values):
    fn = OP_CONVERTERS.get(layer.op)
    if fn is None:
        raise ExportError(f"export: the op {layer.op!r} (node {layer.name!r}) has no ONNX converter. Ops with one: "
                          f"{', '.join(sorted(OP_CONVERTERS))}. Register one with "
                          "nablanet.export.ops.op_converter.")
    return fn(g, _arguments(layer, values if isinstance(values, list) else [values]))


def _arguments(layer, values):
    """The op's arguments by name: static ones from the node, the others filled in order from `values`."""
    arguments, values = dict(layer.static), list(values)
    for name, parameter in inspect.signature(layer.fn).parameters.items():
        if name in arguments or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if values:
            arguments[name] = values.pop(0)
        elif parameter.default is not parameter.empty:
            arguments[name] = parameter.default
    if values:
        raise ExportError(f"export: the op {layer.op!r} (node {layer.name!r}) got more tensors than it has parameters")
    return arguments


def _tensor(g, x, dtype=None):
    """The graph name of an op argument: a Value's own name, else a constant."""
    if isinstance(x, Value):
        if dtype is not None and x.dtype != np.dtype(dtype):
            to = g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
            return g.op("Cast", [x.name], to=to)
        return x.name
    return g.const(np.asarray(x), dtype=dtype)


def _repeat_heads(g, x, groups, heads, last_two):
    """`x` of `(batch, kv_heads, a, b)` with each head repeated `groups` times: `(batch, heads, a, b)`;
    `last_two` is the reshape's `(a, b)`, with -1 for the one that may be unknown."""
    if groups == 1:
        return x
    grown = g.op("Expand", [g.unsqueeze(x, [2]), g.const(np.array([1, 1, groups, 1, 1], np.int64), "shape")])
    return g.reshape(grown, [0, heads, *last_two])


def causal_mask(g, logits, rank=4):
    """Boolean, lower-triangular over the last two axes of `logits` of `rank` (query i sees keys j <= i),
    whatever their lengths."""
    ones = g.op("ConstantOfShape", [g.dims(logits, rank - 2, rank)],
                value=g.onnx.numpy_helper.from_array(np.ones(1, np.int64)))
    return g.op("Cast", [g.op("Trilu", [ones], upper=0)], to=g.onnx.TensorProto.BOOL)


def attend(g, query, key, value, heads, kv_heads, dims, scale, bias=None, allowed=None, is_causal=False, soft_cap=None,
           zero_masked=False):
    """`softmax(q k^T * scale + bias) v` for `(batch, seq, heads, dim)` names (`dims`: the key's and the
    value's head dimensions), as `ops.dot_product_attention`
    computes it: `allowed` (boolean, broadcasting to `(batch, heads, query_seq, key_seq)`) and the causal mask
    replace the logits they exclude by a large negative; `zero_masked` then zeroes the excluded weights (a
    row with nothing allowed gets zeros, as a masked softmax layer gives, instead of the mean)."""
    groups = heads // kv_heads
    q = g.transpose(query, [0, 2, 1, 3])
    k = _repeat_heads(g, g.transpose(key, [0, 2, 3, 1]), groups, heads, [dims[0], -1])
    v = _repeat_heads(g, g.transpose(value, [0, 2, 1, 3]), groups, heads, [-1, dims[1]])
    logits = g.op("Mul", [g.op("MatMul", [q, k]), g.const(np.array(scale, np.float32))])
    if bias is not None:
        logits = g.op("Add", [logits, bias])
    if soft_cap is not None:
        cap = g.const(np.array(soft_cap, np.float32))
        logits = g.op("Mul", [g.op("Tanh", [g.op("Div", [logits, cap])]), cap])
    if is_causal:
        causal = causal_mask(g, logits)
        allowed = causal if allowed is None else g.op("And", [allowed, causal])
    if allowed is not None:  # the large negative the op itself uses: a row with nothing allowed stays finite
        lowest = g.const(np.array(-0.7 * np.finfo(np.float32).max, np.float32))
        logits = g.op("Where", [allowed, logits, lowest])
    weights = g.op("Softmax", [logits], axis=-1)
    if zero_masked and allowed is not None:
        weights = g.op("Where", [allowed, weights, g.const(np.zeros((), np.float32))])
    return g.transpose(g.op("MatMul", [weights, v]), [0, 2, 1, 3])


@op_converter("dot_product_attention")
def _dot_product_attention(g, arguments):
    query, key, value = arguments["query"], arguments["key"], arguments["value"]
    if not all(isinstance(x, Value) for x in (query, key, value)):
        raise ExportError("export: dot_product_attention needs query, key and value from the graph's tensors")
    heads, dim, kv_heads = query.shape[2], query.shape[3], key.shape[2]
    if None in (heads, dim, kv_heads, value.shape[3]):
        raise ExportError(f"export: dot_product_attention needs known heads and head dimensions, got query "
                          f"{query.shape}, key {key.shape} and value {value.shape}")
    scale = 1 / math.sqrt(dim) if arguments["scale"] is None else float(arguments["scale"])
    bias = None if arguments["bias"] is None else _tensor(g, arguments["bias"], np.float32)
    allowed = None if arguments["mask"] is None else _tensor(g, arguments["mask"], np.bool_)
    return attend(g, query.name, key.name, value.name, heads, kv_heads, (dim, value.shape[3]), scale, bias=bias,
                  allowed=allowed, is_causal=arguments["is_causal"], soft_cap=arguments["attn_logits_soft_cap"])
