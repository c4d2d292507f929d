"""ONNX forms of the attention layers and their parts: EinsumDense, RMSNormalization, MultiHeadAttention,
GroupQueryAttention, Attention and AdditiveAttention.

The multi-head layers are written as their projections (EinsumDense's Einsum), the attention of
`ops.dot_product_attention` (`export.ops.attend`) and the output projection, with the masks their
`call` combines: the query's and value's Keras masks, `attention_mask`, the causal mask and the
sliding window, all by AND.
"""

import numpy as np

from nablanet import layers
from nablanet.export.activations import activation
from nablanet.export.graph import ExportError, Masked, Value, converter
from nablanet.export.ops import attend, causal_mask


def _einsum_dense(g, layer, x):
    y = g.op("Einsum", [x, g.const(layer.kernel.numpy(), "kernel")], equation=layer.equation)
    if layer.bias is not None:
        y = g.op("Add", [y, g.const(layer.bias.numpy(), "bias")])
    return activation(g, layer.activation, y, layer)


@converter(layers.EinsumDense)
def _einsum_dense_layer(g, layer, x):
    return _einsum_dense(g, layer, x.name)


@converter(layers.RMSNormalization)
def _rms_normalization(g, layer, x):
    axes = sorted(a % x.ndim for a in (layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]))
    mean_square = g.reduce("ReduceMean", g.op("Mul", [x.name, x.name]), axes)
    y = g.op("Div", [x.name, g.op("Sqrt", [g.op("Add", [mean_square, g.const(float(layer.epsilon))])])])
    shape = [x.shape[i] if i in axes else 1 for i in range(x.ndim)]
    return g.op("Mul", [y, g.const(layer.scale.numpy().reshape(shape), "scale")])


def _boolean(g, mask):
    """The graph name of a mask: a Value's own mask (a name), an argument (a Value) or a constant, as booleans."""
    if isinstance(mask, str):
        return mask
    if not isinstance(mask, Value):
        return g.const(np.asarray(mask).astype(bool), "mask", dtype=np.bool_)
    if mask.dtype == np.bool_:
        return mask.name
    return g.op("Cast", [mask.name], to=g.onnx.TensorProto.BOOL)


def _allowed(g, layer, arguments, query, value, key, query_mask, window):
    """The AND of the masks a multi-head layer's `call` combines, `(batch, 1, query_seq, key_seq)`, or None;
    the causal mask is left to `attend`."""
    value_mask = arguments.get("value_mask")
    value_mask = value.mask if value_mask is None else value_mask
    key_mask = arguments.get("key_mask")
    if key is not value and key_mask is None:
        key_mask = key.mask
    pieces = []
    if query_mask is not None:
        pieces.append(g.unsqueeze(_boolean(g, query_mask), [2]))
    for mask in (value_mask, key_mask):
        if mask is not None:
            pieces.append(g.unsqueeze(_boolean(g, mask), [1]))
    if window is not None:
        lengths = query.shape[1], value.shape[1]
        if None in lengths:
            raise ExportError(f"export: MultiHeadAttention {layer.name!r} with a sliding window needs known "
                              f"sequence lengths, got query {query.shape} and value {value.shape}")
        distance = np.abs(np.arange(lengths[0])[:, None] - np.arange(lengths[1])[None])
        pieces.append(g.const((distance < window)[None], "window", dtype=np.bool_))
    if arguments.get("attention_mask") is not None:
        pieces.append(_boolean(g, arguments["attention_mask"]))
    if not pieces:
        return None
    combined = pieces[0]
    for piece in pieces[1:]:
        combined = g.op("And", [combined, piece])
    return g.unsqueeze(combined, [1])  # the heads' axis


def _key_of(arguments):
    query, value = arguments["query"], arguments["value"]
    key = arguments.get("key")
    if arguments.get("return_attention_scores"):
        raise ExportError("export: an attention layer that returns its attention scores is not exported (the "
                          "output only); call it without return_attention_scores to export it")
    return query, value, value if key is None else key


@converter(layers.MultiHeadAttention, call_arguments=True)
def _multi_head_attention(g, layer, arguments):
    query, value, key = _key_of(arguments)
    if query.ndim != 3 or tuple(layer.attention_axes) != (1,):
        raise ExportError(f"export: MultiHeadAttention {layer.name!r} is exported for (batch, seq, features) inputs "
                          f"attending over the sequence; got query {query.shape} and attention_axes "
                          f"{layer.attention_axes}")
    allowed = _allowed(g, layer, arguments, query, value, key, query.mask, layer._sliding_window)
    q = _einsum_dense(g, layer.query_dense, query.name)
    k = _einsum_dense(g, layer.key_dense, key.name)
    v = _einsum_dense(g, layer.value_dense, value.name)
    heads = layer.num_heads
    out = attend(g, q, k, v, heads, heads, (layer.key_dim, layer.value_dim), 1 / np.sqrt(float(layer.key_dim)),
                 allowed=allowed, is_causal=bool(arguments.get("use_causal_mask")), zero_masked=layer.dropout > 0)
    if layer._use_gate:
        out = g.op("Mul", [out, _einsum_dense(g, layer._gate_dense, query.name)])
    return Masked(_einsum_dense(g, layer.output_dense, out), query.mask)


@converter(layers.GroupedQueryAttention, call_arguments=True)
def _grouped_query_attention(g, layer, arguments):
    query, value, key = _key_of(arguments)
    query_mask = arguments.get("query_mask")
    query_mask = query.mask if query_mask is None else query_mask  # this layer reads the argument too
    allowed = _allowed(g, layer, arguments, query, value, key, query_mask, layer.sliding_window)
    q = _einsum_dense(g, layer._query_dense, query.name)
    k = _einsum_dense(g, layer._key_dense, key.name)
    v = _einsum_dense(g, layer._value_dense, value.name)
    dim = layer.head_dim
    out = attend(g, q, k, v, layer.num_query_heads, layer.num_key_value_heads, (dim, dim), 1 / np.sqrt(float(dim)),
                 allowed=allowed, is_causal=bool(arguments.get("use_causal_mask")), zero_masked=layer.dropout > 0)
    if layer.use_gate:
        out = g.op("Mul", [out, _einsum_dense(g, layer._gate_dense, query.name)])
    return Masked(_einsum_dense(g, layer._output_dense, out), query.mask)


def _scores(g, layer, query, key):
    """Attention's and AdditiveAttention's `(batch, Tq, Tv)` scores, as their `_calculate_scores`."""
    if isinstance(layer, layers.AdditiveAttention) or layer.score_mode == "concat":
        summed = g.op("Add", [g.unsqueeze(query, [2]), g.unsqueeze(key, [1])])
        if isinstance(layer, layers.AdditiveAttention):
            summed = g.op("Tanh", [summed])
            if layer.scale is not None:
                summed = g.op("Mul", [g.const(layer.scale.numpy(), "scale"), summed])
            return g.reduce("ReduceSum", summed, [-1], keepdims=False)
        if layer.scale is not None:
            summed = g.op("Mul", [g.const(layer.scale.numpy(), "scale"), summed])
        summed = g.reduce("ReduceSum", g.op("Tanh", [summed]), [-1], keepdims=False)
        return g.op("Mul", [g.const(layer.concat_score_weight.numpy(), "concat_score_weight"), summed])
    scores = g.op("MatMul", [query, g.transpose(key, [0, 2, 1])])
    return scores if layer.scale is None else g.op("Mul", [scores, g.const(layer.scale.numpy(), "scale")])


@converter(layers.Attention, layers.AdditiveAttention, call_arguments=True)
def _attention(g, layer, arguments):
    inputs = arguments["inputs"]
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) > 2 else value
    if arguments.get("return_attention_scores"):
        raise ExportError(f"export: {type(layer).__name__} {layer.name!r} returns its attention scores; export "
                          "writes the output only. Call it without return_attention_scores to export it")
    masks = arguments.get("mask") or [query.mask, value.mask]
    query_mask, value_mask = masks[0], masks[1]
    scores = _scores(g, layer, query.name, key.name)
    allowed = None if value_mask is None else g.unsqueeze(_boolean(g, value_mask), [1])
    if arguments.get("use_causal_mask"):
        causal = causal_mask(g, scores, rank=3)
        allowed = causal if allowed is None else g.op("And", [allowed, causal])
    if allowed is not None:  # Keras's rule: masked values get score - 1e9
        scores = g.op("Where", [allowed, scores, g.op("Sub", [scores, g.const(np.array(1e9, np.float32))])])
    out = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), value.name])
    if query_mask is not None:
        out = g.op("Where", [g.unsqueeze(_boolean(g, query_mask), [2]), out, g.const(np.zeros((), np.float32))])
    return Masked(out, query.mask if query_mask is None else _boolean(g, query_mask))
