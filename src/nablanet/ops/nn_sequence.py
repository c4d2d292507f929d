"""`keras.ops.nn`'s sequence ops: scaled dot-product attention, and CTC's loss and decoders."""

import math

import numpy as np

from nablanet.autodiff import ops as _ops
from nablanet.autodiff.ops.attention import attention_op
from nablanet.autodiff.ops.ctc import ctc_loss_op
from nablanet.autodiff.primitive import in_transform
from nablanet.autodiff.tensor import Tensor, as_array
from nablanet.ops import array_inputs


def _shape(x):
    return np.shape(as_array(x))


def _repeat_heads(x, heads):
    """Repeat each of the K key/value heads `heads // K` times (grouped-query attention)."""
    k = _shape(x)[2]
    if k == heads:
        return x
    return _ops.getitem(x, (slice(None), slice(None), np.repeat(np.arange(k), heads // k)))


def _check_attention_shapes(query, key, value, bias, mask):
    """The logits' shape `(batch, heads, query_seq, key_seq)`, after checking every input against it."""
    name = "dot_product_attention"
    shapes = {"query": _shape(query), "key": _shape(key), "value": _shape(value)}
    for label, shape in shapes.items():
        if len(shape) != 4:
            raise ValueError(f"{name}: expected 4-D (batch, seq, heads, dim) {label}, got {label} shape {shape}")
    (batch, query_seq, heads, dim), k_shape, v_shape = shapes.values()
    if k_shape[0] != batch or v_shape[0] != batch:
        raise ValueError(f"{name}: expected query, key and value of one batch size, got shapes "
                         f"{shapes['query']}, {k_shape} and {v_shape}")
    if k_shape[3] != dim:
        raise ValueError(f"{name}: expected key's head dimension to equal query's ({dim}), got query shape "
                         f"{shapes['query']} and key shape {k_shape}")
    if v_shape[1:3] != k_shape[1:3]:
        raise ValueError(f"{name}: expected value with key's sequence length and heads, got key shape {k_shape} "
                         f"and value shape {v_shape}")
    if k_shape[2] < 1 or heads % k_shape[2]:
        raise ValueError(f"{name}: {heads} query heads cannot share {k_shape[2]} key/value heads evenly "
                         f"(query shape {shapes['query']}, key shape {k_shape})")
    logits = (batch, heads, query_seq, k_shape[1])
    for label, x in (("bias", bias), ("mask", mask)):
        shape = None if x is None else _shape(x)
        if shape is not None and (len(shape) > 4 or _broadcast(shape, logits) != logits):
            raise ValueError(f"{name}: expected {label} broadcastable to (batch, heads, query_seq, key_seq) = "
                             f"{logits}, got {label} shape {shape}")
    return logits


def _broadcast(shape, target):
    try:
        return np.broadcast_shapes(shape, target)
    except ValueError:
        return None


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False, flash_attention=None,
                          attn_logits_soft_cap=None):
    """`softmax(q k^T * scale + bias) v` per head, in Keras's `(batch, seq, heads, dim)` layout.

    `mask` (True where a query may attend) broadcasts to `(batch, heads, query_seq, key_seq)`, as does
    `bias`; `is_causal` lets query i see keys up to i; `scale` is `1 / sqrt(dim)` when None;
    `attn_logits_soft_cap` bounds the logits with `cap * tanh(logits / cap)`. Key and value may have
    fewer heads than the query, each shared by a group of query heads. There is no flash kernel
    here: `flash_attention=True` is refused, None and False compute the same thing. Outside the
    calculus transforms this is one fused first-order kernel; inside them, a composite of
    differentiable ops, so that it can be differentiated again.

    >>> q = np.ones((2, 3, 4, 8), "float32")
    >>> dot_product_attention(q, q[:, :, :2], q[:, :, :2], is_causal=True).shape
    (2, 3, 4, 8)
    """
    name = "dot_product_attention"
    if flash_attention:
        raise ValueError(f"{name}: flash_attention=True needs a GPU kernel; nablanet has none. Pass None or False")
    query, key, value = array_inputs.promoted(
        array_inputs.as_floating(query), array_inputs.as_floating(key), array_inputs.as_floating(value))
    if bias is not None and mask is not None:
        raise ValueError(f"{name}: expected one of bias and mask, got both")
    logits_shape = _check_attention_shapes(query, key, value, bias, mask)
    if bias is not None:
        bias = array_inputs.cast_to(array_inputs.as_floating(bias), query.dtype)
    scale = 1 / math.sqrt(_shape(query)[3]) if scale is None else float(scale)
    allowed = None if mask is None else np.asarray(as_array(mask)).astype(bool)
    if is_causal:
        causal = np.tril(np.ones(logits_shape[-2:], dtype=bool))
        allowed = causal if allowed is None else allowed & causal
    if attn_logits_soft_cap is None and not in_transform():
        inputs = (query, key, value) if bias is None else (query, key, value, bias)
        blocked = None if allowed is None else ~allowed
        dead = None if blocked is None else np.all(blocked, axis=-1, keepdims=True)
        dead = dead if dead is not None and dead.any() else None
        return attention_op(*inputs, blocked=blocked, dead=dead, scale=scale)
    return _composite_attention(query, key, value, bias, allowed, scale, attn_logits_soft_cap)


def _composite_attention(query, key, value, bias, allowed, scale, soft_cap):
    """The attention of differentiable ops, for second derivatives and the soft cap."""
    heads = _shape(query)[2]
    key, value = _repeat_heads(key, heads), _repeat_heads(value, heads)
    q = _ops.transpose(query, (0, 2, 1, 3))
    k = _ops.transpose(key, (0, 2, 3, 1))
    logits = _ops.matmul(q, k) * scale  # (batch, heads, query_seq, key_seq)
    if bias is not None:
        logits = logits + bias
    if soft_cap is not None:
        logits = soft_cap * _ops.tanh(logits / soft_cap)
    if allowed is not None:  # a large negative, not -inf: a row with nothing allowed stays finite
        dtype = as_array(logits).dtype
        logits = _ops.where(allowed, logits, np.asarray(-0.7 * np.finfo(dtype).max, dtype))
    with np.errstate(under="ignore"):  # masked logits vanish in exp, as intended
        weights = _ops.softmax(logits, axis=-1)
    out = _ops.matmul(weights, _ops.transpose(value, (0, 2, 1, 3)))
    return _ops.transpose(out, (0, 2, 1, 3))


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """CTC's negative log-likelihood of `target` (batch, max_label) under logits `output` (batch, frames, classes).

    `output` is normalized with a log-softmax over classes; `mask_index` is the blank class. A
    target no alignment can produce (too long for its frames) has an infinite loss.
    """
    output = array_inputs.as_floating(output)
    labels = np.asarray(as_array(target)).astype(np.int64)
    label_lengths = np.asarray(as_array(target_length)).astype(np.int64).reshape(-1)
    input_lengths = np.asarray(as_array(output_length)).astype(np.int64).reshape(-1)
    shape = _shape(output)
    if len(shape) != 3 or labels.ndim != 2 or labels.shape[0] != shape[0]:
        raise ValueError(f"ctc_loss: expected target (batch, max_label) and output (batch, frames, classes), got "
                         f"shapes {labels.shape} and {shape}")
    if label_lengths.shape != (shape[0],) or input_lengths.shape != (shape[0],):
        raise ValueError(f"ctc_loss: expected one target_length and one output_length per sample ({shape[0]}), got "
                         f"{label_lengths.shape} and {input_lengths.shape}")
    if np.any(input_lengths > shape[1]) or np.any(input_lengths < 1) or np.any(label_lengths > labels.shape[1]):
        raise ValueError(f"ctc_loss: expected output_length in [1, {shape[1]}] and target_length <= {labels.shape[1]}, "
                         f"got {input_lengths.tolist()} and {label_lengths.tolist()}")
    log_probs = _ops.log_softmax(output, axis=-1)
    return ctc_loss_op(log_probs, labels=labels, label_lengths=label_lengths, input_lengths=input_lengths,
                       blank=int(mask_index))


def _greedy(scores, lengths, merge_repeated, blank):
    batch, frames, _ = scores.shape
    best = np.argmax(scores, axis=-1).astype(np.int32)
    total = np.max(scores, axis=-1)
    beyond = np.arange(frames)[None] >= lengths[:, None]
    best = np.where(beyond, blank, best)
    total = np.where(beyond, 0, total)
    if merge_repeated:
        repeat = np.zeros_like(beyond)
        repeat[:, 1:] = best[:, 1:] == best[:, :-1]
        best = np.where(repeat, blank, best)
    dropped = best == blank
    order = np.argsort(np.where(dropped, frames, np.arange(frames)[None]), axis=-1, kind="stable")
    decoded = np.take_along_axis(np.where(dropped, -1, best), order, axis=-1)
    return decoded[None], -np.sum(total, axis=1, keepdims=True)


def _accumulator(table):
    """`add(prefix, emit, rest)`: log-add both scores into `table[prefix]`."""
    def add(prefix, emit, rest):
        old_emit, old_rest = table.get(prefix, (-np.inf, -np.inf))
        table[prefix] = (np.logaddexp(old_emit, emit), np.logaddexp(old_rest, rest))

    return add


def _beam_one(log_probs, length, beam_width, top_paths, blank):
    """Prefix beam search for one sequence: each prefix keeps the log-probability of its alignments that end
    in a label (`emit`) and in a blank (`rest`)."""
    beams = {(): (-np.inf, 0.0)}  # the empty prefix, reached by "no frame yet"
    for t in range(length):
        y = log_probs[t]
        grown = {}
        add = _accumulator(grown)

        for prefix, (emit, rest) in beams.items():
            total = np.logaddexp(emit, rest)
            add(prefix, -np.inf, total + y[blank])
            for c in range(len(y)):
                if c == blank:
                    continue
                if prefix and prefix[-1] == c:
                    add(prefix, emit + y[c], -np.inf)  # a repeat without a blank collapses
                    add(prefix + (c,), rest + y[c], -np.inf)
                else:
                    add(prefix + (c,), total + y[c], -np.inf)
        ranked = sorted(grown.items(), key=lambda item: -np.logaddexp(*item[1]))
        beams = dict(ranked[:beam_width])
    ranked = sorted(beams.items(), key=lambda item: -np.logaddexp(*item[1]))[:top_paths]
    return [(prefix, float(np.logaddexp(*scores))) for prefix, scores in ranked]


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1, merge_repeated=True,
               mask_index=0):
    """Decode CTC outputs (batch, frames, classes): `(decoded, scores)`.

    `decoded` is `(top_paths, batch, frames)`, each label sequence left-aligned and padded with -1.
    Greedy decoding takes each frame's best class (on the inputs as given), merges repeats when
    `merge_repeated` and drops blanks; its score is minus the sum of the best values. Beam search
    normalizes with a log-softmax and keeps the `beam_width` most probable label prefixes; its
    scores, `(batch, top_paths)`, are the log-probabilities of the decoded sequences.
    """
    scores = np.asarray(as_array(inputs))
    scores = scores.astype(np.result_type(scores.dtype, np.float32))
    lengths = np.asarray(as_array(sequence_lengths)).astype(np.int64).reshape(-1)
    if scores.ndim != 3 or lengths.shape != (scores.shape[0],):
        raise ValueError(f"ctc_decode: expected inputs (batch, frames, classes) and one length per sample, got "
                         f"shapes {scores.shape} and {lengths.shape}")
    blank = scores.shape[2] - 1 if mask_index is None else int(mask_index)
    if strategy not in ("greedy", "beam_search"):
        raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search', got {strategy!r}")
    if strategy == "greedy":
        decoded, totals = _greedy(scores, lengths, merge_repeated, blank)
    else:
        decoded, totals = _beam_search(scores, lengths, beam_width, top_paths, blank)
    if isinstance(inputs, Tensor):
        return Tensor._wrap(decoded), Tensor._wrap(totals)
    return decoded, totals


def _beam_search(scores, lengths, beam_width, top_paths, blank):
    shift = np.max(scores, axis=-1, keepdims=True)
    log_probs = scores - shift - np.log(np.sum(np.exp(scores - shift), axis=-1, keepdims=True))
    batch, frames, _ = scores.shape
    decoded = np.full((top_paths, batch, frames), -1, dtype=np.int32)
    totals = np.full((batch, top_paths), -np.inf, dtype=scores.dtype)
    for b in range(batch):
        for rank, (prefix, score) in enumerate(_beam_one(log_probs[b], lengths[b], beam_width, top_paths, blank)):
            decoded[rank, b, :len(prefix)] = prefix
            totals[b, rank] = score
    return decoded, totals
