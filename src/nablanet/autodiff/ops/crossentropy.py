"""Fused softmax cross-entropy (first order only): the loss of a softmax layer from its logits.

A model whose last layer is `Dense(..., activation="softmax")` hands the loss probabilities; the
loss finds the logits they came from in the graph (`softmax_logits`) and computes
`logsumexp(z) - z[label]` from the softmax's own logsumexp and probabilities, whose gradient is
`softmax(z) - onehot`: one pass over the (batch, classes) array backward, where the composed
renormalization, clip and log take about twenty passes. It is also exact where the clipped
path saturates (a probability below epsilon), as Keras on TensorFlow computes it.
"""

import numpy as np

from nablanet.autodiff.primitive import in_transform, primitive
from nablanet.autodiff.primitive import save_for_backward as _save
from nablanet.autodiff.primitive import saved_for_backward as _load


def _softmax_and_lse(z):
    """softmax(z) along the last axis (a new array) and logsumexp(z) (rows, 1)."""
    shift = np.max(z, axis=-1, keepdims=True)
    p = np.subtract(z, shift)
    np.exp(p, out=p)
    total = np.sum(p, axis=-1, keepdims=True)
    p /= total
    return p, np.log(total) + shift


def _sparse_softmax_cross_entropy(z, *, labels, softmax=None):
    p, lse = _softmax_and_lse(z) if softmax is None else softmax
    picked = np.take_along_axis(z, labels[..., None], axis=-1)
    out = np.asarray((lse - picked)[..., 0])  # an array even for one sample: _save keeps a weakref
    _save(out, p)
    return out


def _sparse_softmax_cross_entropy_vjp(g, out, z, *, labels, softmax=None):
    p = _load(out)
    dz = p * g[..., None]
    rows = np.take_along_axis(dz, labels[..., None], axis=-1)
    np.put_along_axis(dz, labels[..., None], rows - g[..., None], axis=-1)
    return (dz,)


def _softmax_cross_entropy(z, y, *, softmax=None):
    y = np.asarray(y, dtype=z.dtype)  # labels take the logits' precision, as Keras casts them
    p, lse = _softmax_and_lse(z) if softmax is None else softmax
    out = np.asarray(np.sum(y, axis=-1) * lse[..., 0] - np.sum(y * z, axis=-1))  # an array, as above
    _save(out, p)
    return out


def _softmax_cross_entropy_vjp(g, out, z, y, *, softmax=None):
    p = _load(out)
    y = np.asarray(y, dtype=z.dtype)
    g = g[..., None]
    return (g * (p * np.sum(y, axis=-1, keepdims=True) - y), None)


# fmt: off
sparse_softmax_cross_entropy_op = primitive("sparse_softmax_cross_entropy", _sparse_softmax_cross_entropy,
                                            _sparse_softmax_cross_entropy_vjp, order=1)
softmax_cross_entropy_op        = primitive("softmax_cross_entropy", _softmax_cross_entropy,
                                            _softmax_cross_entropy_vjp, order=1)
# fmt: on


def softmax_logits(p):
    """`(z, (p, lse))` when the Tensor `p` was recorded as `softmax(z)` over its last axis: the
    logits, and the probabilities and logsumexp the softmax computed (the ops' `softmax=`, so
    they are not computed again); else None, and always None inside a calculus transform, which
    may differentiate again (the fused kernels are first order)."""
    if in_transform():
        return None
    node = getattr(p, "node", None)
    if node is None or node.op.name != "softmax" or node.params["axis"] != (np.ndim(p.data) - 1,):
        return None
    lse = _load(p.data)
    return None if lse is None else (node.inputs[0], (p.data, lse))
