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

A batch with enough work is split into slices that run on parallel threads (`backend.run_shards`), forward
and backward: every product above is within one batch element, so each slice writes its own rows.
"""

import numpy as np

from nablanet import backend
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


def _matmul_heads(a, b, seq, out):
    """`a @ b` for `a` of `(batch, kv_heads, groups * seq, n)` and `b` of `(batch, kv_heads, n, dim)`, written
    straight into `out`, `(batch, seq, heads, dim)` (the inverse layout of `_grouped`)."""
    batch, kv_heads, rows, _ = a.shape
    groups, dim = rows // seq, b.shape[-1]
    split = out.reshape(batch, seq, kv_heads, groups, dim).transpose(0, 2, 3, 1, 4)
    np.matmul(a.reshape(batch, kv_heads, groups, seq, -1), b[:, :, None], out=split)
    return out


def _matmul_keys(a, b, out):
    """`a @ b`, `(batch, kv_heads, key_seq, dim)`, written straight into `out`, `(batch, key_seq, kv_heads, dim)`."""
    np.matmul(a, b, out=out.transpose(0, 2, 1, 3))
    return out


def _rows(x, lo, hi):
    """Batch rows `lo:hi` of a bias or mask broadcastable to `(batch, heads, query_seq, key_seq)`."""
    if x is None:
        return None
    x = x.reshape((1,) * (4 - x.ndim) + x.shape)
    return x if x.shape[0] == 1 else x[lo:hi]


def _shards(q, k, v):
    """The batch slices to run in parallel, weighed by the two products' multiply-adds."""
    batch, query_seq, heads, dim = q.shape
    return backend.batch_shards(batch, batch * heads * query_seq * k.shape[1] * (dim + v.shape[-1]))


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
    (batch, query_seq, heads, _), kv_heads = q.shape, k.shape[2]
    out = np.empty((batch, query_seq, heads, v.shape[-1]), np.result_type(q.dtype, v.dtype))

    def shard(lo, hi):
        exp_scores, scaled = _exp_scores(q[lo:hi], k[lo:hi], _rows(bias, lo, hi), _rows(blocked, lo, hi), scale)
        inverse = np.reciprocal(np.ones(k.shape[1], exp_scores.dtype) @ exp_scores)
        weights = _matrices(exp_scores, hi - lo, kv_heads).transpose(0, 1, 3, 2)
        part = _matmul_heads(weights, v[lo:hi].transpose(0, 2, 1, 3), query_seq, out[lo:hi])
        part *= _ungrouped_rows(inverse, hi - lo, query_seq)[..., None]
        return exp_scores, inverse, scaled

    shards = _shards(q, k, v)
    _save(out, dict(zip(shards, backend.run_shards(shard, shards))))
    return out


def _attention_vjp(g, out, q, k, v, bias=None, *, blocked=None, dead=None, scale):
    saved = _load(out)
    (batch, query_seq, heads, _), (key_seq, kv_heads) = q.shape, k.shape[1:3]
    first = next(iter(saved.values()))
    dtype, scaled_dtype = first[0].dtype, first[2].dtype
    cache = {}  # per slice: g / sum(E) grouped, and dS (keys first), computed once for dQ, dK and dBias

    def g_scaled(lo, hi):  # (rows, kv_heads, groups * query_seq, dim)
        if ("g", lo) not in cache:
            grouped = _grouped(g[lo:hi], kv_heads)
            cache["g", lo] = np.multiply(grouped, saved[lo, hi][1].reshape(grouped.shape[:3] + (1,)), order="C")
        return cache["g", lo]

    def d_scores(lo, hi):
        if ("s", lo) not in cache:
            exp_scores, inverse, _ = saved[lo, hi]
            scaled_g = g_scaled(lo, hi)
            d = _scores(key_seq, hi - lo, kv_heads, scaled_g.shape[2], exp_scores.dtype)
            np.matmul(v[lo:hi].transpose(0, 2, 1, 3), scaled_g.transpose(0, 1, 3, 2),
                      out=_matrices(d, hi - lo, kv_heads))
            d -= _grouped_rows(np.einsum("bshd,bshd->bsh", g[lo:hi], out[lo:hi]), kv_heads) * inverse
            d *= exp_scores
            if dead is not None:  # a row with every key masked out does not depend on its logits
                np.copyto(_per_head(d, hi - lo, kv_heads, query_seq), 0,
                          where=_split_heads(_rows(dead, lo, hi), kv_heads))
            cache["s", lo] = d
        return cache["s", lo]

    results = {}

    def gradients():  # dQ, dK and dV together: one split of the batch for the three
        if not results:
            results.update(q=np.empty(q.shape[:3] + (k.shape[-1],), np.result_type(dtype, k.dtype)),
                           k=np.empty(k.shape, np.result_type(dtype, scaled_dtype)),
                           v=np.empty(v.shape, np.result_type(dtype, g.dtype)))

            def fill(lo, hi):
                scores = _matrices(d_scores(lo, hi), hi - lo, kv_heads)
                d_query = _matmul_heads(scores.transpose(0, 1, 3, 2), k[lo:hi].transpose(0, 2, 1, 3), query_seq,
                                        results["q"][lo:hi])
                d_query *= np.asarray(scale, d_query.dtype)
                _matmul_keys(scores, saved[lo, hi][2].transpose(0, 1, 3, 2), results["k"][lo:hi])
                _matmul_keys(_matrices(saved[lo, hi][0], hi - lo, kv_heads), g_scaled(lo, hi), results["v"][lo:hi])

            backend.run_shards(fill, list(saved))
        return results

    def dbias():
        bias_gradient = np.empty((batch, heads, query_seq, key_seq), dtype)

        def fill(lo, hi):
            part = bias_gradient[lo:hi]
            part[...] = _per_head(d_scores(lo, hi), hi - lo, kv_heads, query_seq).reshape(part.shape)

        backend.run_shards(fill, list(saved))
        return bias_gradient

    dq, dk, dv = (lambda: gradients()["q"]), (lambda: gradients()["k"]), (lambda: gradients()["v"])
    return (dq, dk, dv) if bias is None else (dq, dk, dv, dbias)


# fmt: off
attention_op = primitive("dot_product_attention", _attention, _attention_vjp, order=1)
# fmt: on
