"""Keras's specialized losses: focal cross-entropies (Lin et al., 2017), generalized cross-entropy
(Zhang & Sabuncu, 2018), CTC, the overlap losses Dice and Tversky (Salehi et al., 2017) and the
Circle loss for embeddings (Sun et al., 2020), with Keras's formulas, fuzz factors and defaults.

>>> round(float(dice(np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]))), 6)
0.333333
"""

import warnings

import numpy as np

from nablanet import ops
from nablanet.autodiff.tensor import Tensor, as_array
from nablanet.backend import epsilon
from nablanet.losses.base import LossFunctionWrapper, _pair, _shape, wrapper_class


def _check_axis(name, axis):
    if isinstance(axis, bool):
        raise ValueError(f"{name}: expected an integer axis, got axis={axis!r}")


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                              label_smoothing=0.0, axis=-1):
    """Binary cross-entropy scaled by `(1 - p_t) ** gamma`, `p_t` the probability of the true
    class, so easy examples weigh less; averaged over `axis`.

    With `apply_class_balancing`, positives are also weighted by `alpha` and negatives by
    `1 - alpha`. Logits go through a sigmoid first (then the clipped-probability formula, as Keras).

    >>> round(float(binary_focal_crossentropy(np.array([1.0]), np.array([0.5]))), 6)
    0.173287
    """
    _check_axis("binary_focal_crossentropy", axis)
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    p = ops.clip(y_pred, epsilon(), 1.0 - epsilon())
    bce = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = ops.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                                   axis=-1):
    """Categorical cross-entropy with each class's term scaled by `alpha * (1 - p) ** gamma`;
    `alpha` may be one number or one per class. Probabilities are renormalized and clipped to
    `[epsilon, 1 - epsilon]`; logits go through a softmax first.

    >>> round(float(categorical_focal_crossentropy(np.array([0.0, 1.0]), np.array([0.5, 0.5]))), 6)
    0.043322
    """
    _check_axis("categorical_focal_crossentropy", axis)
    y_true, y_pred = _pair(y_true, y_pred)
    if _shape(y_pred)[-1:] == (1,):
        warnings.warn(f"categorical_focal_crossentropy: expected y_pred of shape (batch_size, num_classes) with "
                      f"num_classes > 1, got {_shape(y_pred)}; binary_crossentropy suits two classes",
                      SyntaxWarning, stacklevel=2)  # Keras's warning category
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / _shape(y_true)[-1]
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    p = ops.clip(y_pred / ops.sum(y_pred, axis=axis, keepdims=True), epsilon(), 1.0 - epsilon())
    weight = ops.power(1.0 - p, gamma) * np.asarray(alpha, dtype=np.dtype(p.dtype))
    return ops.sum(weight * (-y_true * ops.log(p)), axis=axis)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """`(1 - p ** q) / q`, `p` the predicted probability of the integer label: cross-entropy as
    `q -> 0`, mean absolute error at `q = 1`, and robust to noisy labels in between.

    Labels of shape (batch,) or (batch, 1) (a trailing 1 is dropped).

    >>> round(float(categorical_generalized_cross_entropy(np.array([1]), np.array([[0.75, 0.25]]), 0.5)[0]), 6)
    1.0
    """
    y_pred = y_pred if isinstance(y_pred, Tensor) else np.asarray(y_pred)
    if not np.issubdtype(y_pred.dtype, np.floating):
        y_pred = ops.cast(y_pred, "float32")
    labels = np.asarray(as_array(y_true))
    if labels.ndim == len(_shape(y_pred)) and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != tuple(_shape(y_pred)[:-1]):
        raise ValueError(f"categorical_generalized_cross_entropy: expected integer labels of shape "
                         f"{tuple(_shape(y_pred)[:-1])} for predictions of shape {tuple(_shape(y_pred))}, "
                         f"got {labels.shape}")
    one_hot = np.eye(_shape(y_pred)[-1], dtype=np.dtype(y_pred.dtype))[labels.astype(np.int64)]
    p = ops.sum(y_pred * one_hot, axis=-1)
    return (1.0 - ops.power(p, q)) / q


def ctc(y_true, y_pred):
    """CTC loss of integer label sequences `y_true` (batch, max_length), 0 the blank and the
    padding, under logits `y_pred` (batch, frames, classes); every frame counts.

    >>> float(ctc(np.array([[1]]), np.zeros((1, 1, 2)))[0])  # one frame, one way to read label 1
    0.6931471805599453
    """
    labels = np.asarray(as_array(y_true))
    if labels.ndim != 2:
        raise ValueError(f"ctc: expected y_true of shape (batch_size, max_length) holding integer labels, "
                         f"got shape {labels.shape}")
    if len(_shape(y_pred)) != 3:
        raise ValueError(f"ctc: expected logits y_pred of shape (batch_size, max_length, num_classes), "
                         f"got shape {tuple(_shape(y_pred))}")
    batch, frames = _shape(y_pred)[:2]
    labels = labels.astype(np.int64)
    return ops.ctc_loss(labels, y_pred, np.sum(labels != 0, axis=-1), np.full(batch, frames), mask_index=0)


def dice(y_true, y_pred, axis=None):
    """`1 - 2 sum(y_true y_pred) / (sum(y_true) + sum(y_pred) + epsilon)`, summed over `axis`
    (every axis when None, giving one number)."""
    y_true, y_pred = _pair(y_true, y_pred)
    overlap = ops.sum(y_true * y_pred, axis=axis)
    total = ops.sum(y_true, axis=axis) + ops.sum(y_pred, axis=axis)
    return 1.0 - 2.0 * overlap / (total + epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """`1 - tp / (tp + alpha a + beta b + epsilon)` with `tp = sum(y_true y_pred)`,
    `a = sum(y_true (1 - y_pred))` and `b = sum(y_pred (1 - y_true))` over `axis`, as Keras
    weighs them; `alpha = beta = 0.5` gives Dice.

    >>> round(float(tversky(np.array([1.0, 1.0, 0.0]), np.array([1.0, 0.0, 0.0]))), 6)
    0.333333
    """
    y_true, y_pred = _pair(y_true, y_pred)
    overlap = ops.sum(y_true * y_pred, axis=axis)
    first = ops.sum((1.0 - y_pred) * y_true, axis=axis)
    second = ops.sum(y_pred * (1.0 - y_true), axis=axis)
    return 1.0 - overlap / (overlap + first * alpha + second * beta + epsilon())


_NO_PAIR = -1e30  # stands for -inf in a log-sum-exp, finite so that rows without pairs have zero gradients


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True, gamma=80, margin=0.4):
    """Circle loss of L2-normalized embeddings `y_pred` (batch, dim) with integer labels: pulls
    same-label pairs together and pushes the others apart, each pair weighted by how far it is
    from its optimum; one value per sample.

    The references default to the batch itself (without each sample's pair with itself when
    `remove_diagonal`). The result carries a mask of its positive entries, so a `Loss` averages
    over those only, as Keras does.
    """
    y_pred = y_pred if isinstance(y_pred, Tensor) else np.asarray(y_pred)
    if not np.issubdtype(y_pred.dtype, np.floating):
        y_pred = ops.cast(y_pred, "float32")
    labels = np.asarray(as_array(y_true)).astype(np.int64).reshape(-1, 1)
    references = y_pred if ref_embeddings is None else ref_embeddings
    ref = labels if ref_labels is None else np.asarray(as_array(ref_labels)).astype(np.int64).reshape(-1, 1)
    if len(_shape(y_pred)) != 2 or labels.shape[0] != _shape(y_pred)[0]:
        raise ValueError(f"circle: expected embeddings y_pred of shape (batch_size, dim) and one label per row, "
                         f"got y_pred {tuple(_shape(y_pred))} and y_true {np.shape(as_array(y_true))}")
    positive = labels == ref.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~np.eye(labels.size, ref.size, dtype=bool)
    dtype = np.dtype(y_pred.dtype)
    distance = ops.maximum(1.0 - ops.matmul(y_pred, ops.transpose(references)), 0.0)
    pos_weight = ops.maximum((margin + distance) * positive.astype(dtype), 0.0)
    neg_weight = ops.maximum((1.0 + margin - distance) * negative.astype(dtype), 0.0)
    pos_logits = -gamma * pos_weight * (margin - distance)
    neg_logits = gamma * neg_weight * ((1.0 - margin) - distance)
    pos_loss = ops.logsumexp(ops.where(positive, pos_logits, _NO_PAIR), axis=1)
    neg_loss = ops.logsumexp(ops.where(negative, neg_logits, _NO_PAIR), axis=1)
    values = ops.softplus(pos_loss + neg_loss)
    values = values if isinstance(values, Tensor) else Tensor(values)
    values._keras_mask = as_array(values) > 0
    return values


_W = LossFunctionWrapper
BinaryFocalCrossentropy = wrapper_class(
    _W, "BinaryFocalCrossentropy", binary_focal_crossentropy, "Binary focal cross-entropy.",
    apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalFocalCrossentropy = wrapper_class(
    _W, "CategoricalFocalCrossentropy", categorical_focal_crossentropy, "Categorical focal cross-entropy.",
    alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)
CTC = wrapper_class(_W, "CTC", ctc, "CTC loss of label sequences under per-frame logits.")
Dice = wrapper_class(_W, "Dice", dice, "Dice loss.", axis=None, order=("reduction", "name", "axis", "dtype"))
Tversky = wrapper_class(_W, "Tversky", tversky, "Tversky loss.", alpha=0.5, beta=0.5, axis=None,
                        order=("alpha", "beta", "reduction", "name", "axis", "dtype"))
Circle = wrapper_class(_W, "Circle", circle, "Circle loss of L2-normalized embeddings.", gamma=80.0, margin=0.4,
                       remove_diagonal=True)
_GeneralizedCrossEntropy = wrapper_class(_W, "CategoricalGeneralizedCrossEntropy",
                                         categorical_generalized_cross_entropy, "", q=0.5)


class CategoricalGeneralizedCrossEntropy(_GeneralizedCrossEntropy):
    """Generalized cross-entropy for integer labels, `q` in (0, 1)."""

    def __init__(self, q=0.5, reduction="sum_over_batch_size", name="categorical_generalized_cross_entropy",
                 dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: expected q in (0, 1), got {q!r}")
        super().__init__(q, reduction, name, dtype)

