"""Fused scaled dot-product attention (first order only), in Keras's `(batch, seq, heads, dim)` layout.

The query heads that share a key/value head are grouped, so that every product is one batched
matmul over `(batch, kv_heads)`: grouped key/value heads are never repeated, and their gradients
come out summed over the group by the same matmuls. The scores live keys first, as one
`(key_seq, batch * kv_heads * groups * query_seq)` array that the matmuls write into through
strided views: the softmax's max and sum over keys are then elementwise work on whole rows (the
sum a matrix-vector product with ones), where a reduction along short rows would crawl. The
forward keeps the unnormalized weights `E = exp(S - max)` and `1 / sum(E)`, and normalizes only
the small output; with `P = E / sum(E)`:

    dV = P^T g    dP = g V^T    dS = P * (dP - rowsum(g * out))    dQ = scale dS K    dK = dS^T (scale Q)

where `rowsum(g * out)` equals `rowsum(P * dP)` at the cost of a `(query_seq, dim)` product.
"""

import numpy as np

from nablanet.autodiff.primitive import primitive
from nablanet.autodiff.primitive import save_for_backward as _save
from nablanet.autodiff.primitive import saved_for_backward as _load

_PAD = 16  # elements past each row of the scores, so that rows a power of two apart do not share cache sets


def _grouped(x, kv_heads):
    """`(batch, seq, heads, dim)` as `(batch, kv_heads, groups * seq, dim)`: a view when groups is 1."""
    batch, seq, heads, dim = x.shape
    x = x.reshape(batch, seq, kv_heads, heads // kv_heads, dim).transpose(0, 2, 3, 1, 4)
    return x.reshape(batch, kv_heads, heads // kv_heads * seq, dim)


def _ungrouped_rows(x, batch, seq):
    """One value per grouped query row, `(batch * kv_heads * groups * seq,)`, as `(batch, seq, heads)`."""
    x = x.reshape(batch, -1, seq)
    return x.transpose(0, 2, 1).reshape(batch, seq, -1)


def _grouped_rows(x, kv_heads):
    """The inverse of `_ungrouped_rows`: `(batch, seq, heads)` as `(batch * kv_heads * groups * seq,)`."""
    return x.transpose(0, 2, 1).reshape(-1)


def _scores(key_seq, batch, kv_heads, columns, dtype):
    """An empty keys-first scores array, `(key_seq, batch * kv_heads * columns)`, its rows padded."""
    n = batch * kv_heads * columns
    return np.empty((key_seq, n + _PAD), dtype)[:, :n]


def _matrices(scores, batch, kv_heads):
    """The keys-first scores as `(batch, kv_heads, key_seq, columns)` matrices: a strided view."""
    return scores.reshape(scores.shape[0], batch, kv_heads, -1).transpose(1, 2, 0, 3)


def _per_head(scores, batch, kv_heads, seq):
    """The keys-first scores as a `(batch, kv_heads, groups, seq, key_seq)` view, the layout `_split_heads` gives
    a bias or mask of `(batch, heads, query_seq, key_seq)`."""
    return scores.reshape(scores.shape[0], batch, kv_heads, -1, seq).transpose(1, 2, 3, 4, 0)


def _split_heads(x, kv_heads):
    """A bias or mask broadcastable to `(batch, heads, query_seq, key_seq)`, in `_per_head`'s 5-D layout."""
    x = x.reshape((1,) * (4 - x.ndim) + x.shape)
    heads = x.shape[1]
    return x.reshape(x.shape[0], *((kv_heads, heads // kv_heads) if heads > 1 else (1, 1)), *x.shape[2:])


def _matmul_heads(a, b, seq):
    """`a @ b` for `a` of `(batch, kv_heads, groups * seq, n)` and `b` of `(batch, kv_heads, n, dim)`, written
    straight into a new `(batch, seq, heads, dim)` array (the inverse layout of `_grouped`)."""
    batch, kv_heads, rows, _ = a.shape
    groups, dim = rows // seq, b.shape[-1]
    out = np.empty((batch, seq, kv_heads * groups, dim), np.result_type(a, b))
    split = out.reshape(batch, seq, kv_heads, groups, dim).transpose(0, 2, 3, 1, 4)
    np.matmul(a.reshape(batch, kv_heads, groups, seq, -1), b[:, :, None], out=split)
    return out


def _matmul_keys(a, b):
    """`a @ b`, `(batch, kv_heads, key_seq, dim)`, written straight into a new `(batch, key_seq, kv_heads, dim)`."""
    batch, kv_heads, key_seq, _ = a.shape
    out = np.empty((batch, key_seq, kv_heads, b.shape[-1]), np.result_type(a, b))
    np.matmul(a, b, out=out.transpose(0, 2, 1, 3))
    return out


def _max_over_keys(x):
    """The max over axis 0 as `(1, n)`, by halving: each step one elementwise maximum of two blocks of rows."""
    n = x.shape[0]
    top = x
    while n > 1:
        half = n // 2
        out = None if top is x else top[:half]  # the first step must not write into x
        rest = top[2 * half:n]
        top = np.maximum(top[:half], top[half:2 * half], out=out)
        if n % 2:
            np.maximum(top[:1], rest, out=top[:1])
        n = half
    return top[:1]


def _exp_scores(q, k, bias, blocked, scale):
    """`E`, the keys-first exponentiated scores, and the scaled query, grouped and transposed to
    `(batch, kv_heads, dim, groups * query_seq)`, as the backward uses it."""
    (batch, query_seq, heads, _), (key_seq, kv_heads) = q.shape, k.shape[1:3]
    scaled = np.multiply(_grouped(q, kv_heads).transpose(0, 1, 3, 2), np.asarray(scale, q.dtype), order="C")
    scores = _scores(key_seq, batch, kv_heads, heads // kv_heads * query_seq, scaled.dtype)
    np.matmul(np.ascontiguousarray(k.transpose(0, 2, 1, 3)), scaled, out=_matrices(scores, batch, kv_heads))
    if bias is not None:
        _per_head(scores, batch, kv_heads, query_seq)[...] += _split_heads(bias, kv_heads)
    if blocked is not None:  # a large negative, not -inf: a row with nothing allowed stays finite
        lowest = -0.7 * np.finfo(scores.dtype).max
        np.copyto(_per_head(scores, batch, kv_heads, query_seq), lowest, where=_split_heads(blocked, kv_heads))
    scores -= _max_over_keys(scores)
    with np.errstate(under="ignore"):  # masked logits vanish in exp, as intended
        np.exp(scores, out=scores)
    return scores, scaled


def _attention(q, k, v, bias=None, *, blocked=None, dead=None, scale):
    (batch, query_seq, _, _), kv_heads = q.shape, k.shape[2]
    exp_scores, scaled = _exp_scores(q, k, bias, blocked, scale)
    inverse = np.reciprocal(np.ones(k.shape[1], exp_scores.dtype) @ exp_scores)
    weights = _matrices(exp_scores, batch, kv_heads).transpose(0, 1, 3, 2)
    out = _matmul_heads(weights, v.transpose(0, 2, 1, 3), query_seq)
    out *= _ungrouped_rows(inverse, batch, query_seq)[..., None]
    _save(out, (exp_scores, inverse, scaled))
    return out


def _attention_vjp(g, out, q, k, v, bias=None, *, blocked=None, dead=None, scale):
    exp_scores, inverse, scaled = _load(out)
    (batch, query_seq, heads, _), (key_seq, kv_heads) = q.shape, k.shape[1:3]
    g_scaled = _grouped(g, kv_heads)  # g / sum(E), grouped: (batch, kv_heads, groups * query_seq, dim)
    g_scaled = np.multiply(g_scaled, inverse.reshape(g_scaled.shape[:3] + (1,)), order="C")
    scores = []  # dS, keys first, computed once for whichever of dQ, dK and dBias are asked for

    def d_scores():
        if not scores:
            d = _scores(key_seq, batch, kv_heads, g_scaled.shape[2], exp_scores.dtype)
            np.matmul(v.transpose(0, 2, 1, 3), g_scaled.transpose(0, 1, 3, 2), out=_matrices(d, batch, kv_heads))
            d -= _grouped_rows(np.einsum("bshd,bshd->bsh", g, out), kv_heads) * inverse
            d *= exp_scores
            if dead is not None:  # a row with every key masked out does not depend on its logits
                np.copyto(_per_head(d, batch, kv_heads, query_seq), 0, where=_split_heads(dead, kv_heads))
            scores.append(d)
        return scores[0]

    def dq():
        d_query = _matmul_heads(_matrices(d_scores(), batch, kv_heads).transpose(0, 1, 3, 2),
                                k.transpose(0, 2, 1, 3), query_seq)
        d_query *= np.asarray(scale, d_query.dtype)
        return d_query

    def dk():
        return _matmul_keys(_matrices(d_scores(), batch, kv_heads), scaled.transpose(0, 1, 3, 2))

    def dv():
        return _matmul_keys(_matrices(exp_scores, batch, kv_heads), g_scaled)

    def dbias():
        return _per_head(d_scores(), batch, kv_heads, query_seq).reshape(batch, heads, query_seq, key_seq)

    return (dq, dk, dv) if bias is None else (dq, dk, dv, dbias)


# fmt: off
attention_op = primitive("dot_product_attention", _attention, _attention_vjp, order=1)
# fmt: on
