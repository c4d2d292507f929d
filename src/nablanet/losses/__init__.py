"""Losses: Keras's functions (per-sample values) and classes (weighted, reduced), with Keras's
formulas and fuzz factors, composed from differentiable ops.

A function returns one value per sample (the last axis averaged or summed away). A `Loss`
instance also applies `sample_weight` and a `reduction`: "sum_over_batch_size" (the default:
the weighted sum divided by the number of values), "sum", "mean_with_sample_weight" (divided by
the sum of the weights) or "none".

The machinery (`Loss`, `LossFunctionWrapper`, `wrapper_class`, reductions) is in `base`; the
focal, generalized, CTC, overlap (Dice, Tversky) and metric-learning (Circle) losses in `specialized`.

>>> float(mean_squared_error(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
2.0
"""

import numpy as np

from nablanet import ops, serialization
from nablanet.autodiff.ops.crossentropy import (
    softmax_cross_entropy_op,
    softmax_logits,
    sparse_softmax_cross_entropy_op,
)
from nablanet.autodiff.tensor import Tensor
from nablanet.backend import epsilon
from nablanet.losses.base import REDUCTIONS as REDUCTIONS  # the machinery is this namespace's too
from nablanet.losses.base import Loss as Loss
from nablanet.losses.base import LossFunctionWrapper, _pair, _shape, wrapper_class
from nablanet.losses.base import masked_weight as masked_weight
from nablanet.losses.base import reduce_weighted as reduce_weighted
from nablanet.losses.base import same_rank as same_rank
from nablanet.losses.specialized import (
    CTC,
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalGeneralizedCrossEntropy,
    Circle,
    Dice,
    Tversky,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    categorical_generalized_cross_entropy,
    circle,
    ctc,
    dice,
    tversky,
)
from nablanet.names import unknown


# -- regression -------------------------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """`mean((y_true - y_pred) ** 2)` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean_squared_error(y_true, y_pred)  # fused: see nablanet.autodiff.ops.nn


def mean_absolute_error(y_true, y_pred):
    """`mean(|y_true - y_pred|)` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """`100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), epsilon()))
    return 100.0 * ops.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """`mean((log(1 + y_pred) - log(1 + y_true)) ** 2)`, both floored at epsilon."""
    y_true, y_pred = _pair(y_true, y_pred)
    first = ops.log(ops.maximum(y_pred, epsilon()) + 1.0)
    second = ops.log(ops.maximum(y_true, epsilon()) + 1.0)
    return ops.mean(ops.square(first - second), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Quadratic for errors up to `delta`, linear beyond: `0.5 e**2` or `delta (|e| - delta/2)`."""
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = ops.abs(error)
    quadratic = 0.5 * ops.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return ops.mean(ops.where(abs_error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """`mean(log(cosh(y_pred - y_true)))`, as `x + softplus(-2x) - log 2` to avoid overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(-2.0 * x) - np.log(2.0), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Minus the cosine of the angle between `y_true` and `y_pred` along `axis` (-1 is best)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return -ops.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


def l2_normalize(x, axis=-1):
    """`x / max(||x||, epsilon)` along `axis`."""
    norm = ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return x / ops.maximum(norm, epsilon())


# -- probabilistic ----------------------------------------------------------------------------

def _check_probability_axis(name, y_true, y_pred, axis):
    if _shape(y_true) != _shape(y_pred):
        hint = ""
        if len(_shape(y_true)) < len(_shape(y_pred)) or (_shape(y_true)[-1:] == (1,)):
            hint = (" The labels look like integer class indices: use "
                    "sparse_categorical_crossentropy, or one-hot encode them with to_categorical.")
        raise ValueError(
            f"{name}: y_true and y_pred must have the same shape, got y_true {_shape(y_true)} and "
            f"y_pred {_shape(y_pred)}.{hint}"
        )


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """`-(y log p + (1 - y) log(1 - p))` averaged over `axis`.

    With probabilities, `p` is clipped to `[epsilon, 1 - epsilon]` as Keras does; with logits,
    the stable form `max(x, 0) - x y + log(1 + exp(-|x|))` is used.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if _shape(y_true) != _shape(y_pred):
        raise ValueError(
            f"binary_crossentropy: y_true and y_pred must have the same shape, got "
            f"{_shape(y_true)} and {_shape(y_pred)}"
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = ops.relu(y_pred) - y_pred * y_true + ops.softplus(-ops.abs(y_pred))
    else:
        p = ops.clip(y_pred, epsilon(), 1.0 - epsilon())
        values = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.mean(values, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """`-sum(y log p)` over `axis`, for one-hot (or soft) labels.

    Probabilities are renormalized to sum to 1 and clipped to `[epsilon, 1 - epsilon]`; logits
    go through `log_softmax`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    _check_probability_axis("categorical_crossentropy", y_true, y_pred, axis)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / _shape(y_true)[axis]
    # the fused kernel has no gradient for its labels: soft labels that need one take the general path
    differentiable_labels = isinstance(y_true, Tensor) and y_true.requires_grad
    recorded = None if from_logits or differentiable_labels else _softmax_logits(y_pred, axis)
    if recorded is not None:
        logits, softmax = recorded
        return softmax_cross_entropy_op(logits, y_true.data if isinstance(y_true, Tensor) else y_true,
                                        softmax=softmax)
    if from_logits:
        log_p = ops.log_softmax(y_pred, axis=axis)
    else:
        p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
        log_p = ops.log(ops.clip(p, epsilon(), 1.0 - epsilon()))
    return -ops.sum(y_true * log_p, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """`-log p[label]` for integer labels (class indices), one value per sample.

    `ignore_class` marks labels (e.g. padding) whose loss is 0.
    """
    y_pred = y_pred if isinstance(y_pred, Tensor) else np.asarray(y_pred)
    labels = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    pred_shape = _shape(y_pred)
    if labels.ndim == len(pred_shape) and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis=axis)
    axis = axis % len(pred_shape)
    expected = pred_shape[:axis] + pred_shape[axis + 1:]
    if labels.shape != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy: labels of shape {labels.shape} do not match "
            f"predictions of shape {pred_shape}; expected labels of shape {expected}"
        )
    if labels.size and not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError("sparse_categorical_crossentropy: labels must be integer class indices")
    labels = labels.astype(np.int64)
    valid = np.ones(labels.shape, bool) if ignore_class is None else labels != ignore_class
    n_classes = pred_shape[axis]
    bad = valid & ((labels < 0) | (labels >= n_classes))
    if bad.any():
        raise ValueError(
            f"sparse_categorical_crossentropy: labels must lie in [0, {n_classes}), got "
            f"{labels[bad].min() if (labels[bad] < 0).any() else labels[bad].max()}"
        )
    safe = np.where(valid, labels, 0)
    # the fused kernel has no gradient for its labels: soft labels that need one take the general path
    differentiable_labels = isinstance(y_true, Tensor) and y_true.requires_grad
    recorded = None if from_logits or differentiable_labels else _softmax_logits(y_pred, axis)
    if recorded is not None:
        logits, softmax = recorded
        values = sparse_softmax_cross_entropy_op(logits, labels=safe, softmax=softmax)
        return values if ignore_class is None else ops.where(valid, values, 0.0 * values)
    if from_logits:
        log_p = ops.log_softmax(y_pred, axis=axis)
    else:
        p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
        log_p = ops.log(ops.clip(p, epsilon(), 1.0 - epsilon()))
    picked = ops.take_along_axis(log_p, np.expand_dims(safe, axis), axis=axis)
    values = -ops.squeeze(picked, axis)
    return values if ignore_class is None else ops.where(valid, values, 0.0 * values)


def _softmax_logits(y_pred, axis):
    """The logits (with the probabilities and logsumexp) of probabilities a softmax over the last
    axis recorded, for the fused loss (see `softmax_logits`)."""
    if axis not in (-1, len(_shape(y_pred)) - 1):
        return None
    return softmax_logits(y_pred)


def kl_divergence(y_true, y_pred):
    """`sum(y_true log(y_true / y_pred))` over the last axis, both clipped to `[epsilon, 1]`."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = ops.clip(y_true, epsilon(), 1.0)
    y_pred = ops.clip(y_pred, epsilon(), 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """`mean(y_pred - y_true log(y_pred + epsilon))` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + epsilon()), axis=-1)


# -- margins ----------------------------------------------------------------------------------

def _to_signs(y_true):
    """Labels in {0, 1} become {-1, 1}; labels already in {-1, 1} stay."""
    data = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    return 2.0 * y_true - 1.0 if np.all((data == 0) | (data == 1)) else y_true


def hinge(y_true, y_pred):
    """`mean(max(1 - y_true * y_pred, 0))`, labels in {-1, 1} (or {0, 1}, converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.maximum(1.0 - _to_signs(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """`mean(max(1 - y_true * y_pred, 0) ** 2)`."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.square(ops.maximum(1.0 - _to_signs(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """`max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)` for one-hot labels."""
    y_true, y_pred = _pair(y_true, y_pred)
    positive = ops.sum(y_true * y_pred, axis=-1)
    negative = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(negative - positive + 1.0, 0.0)


FUNCTIONS = {f.__name__: f for f in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson, hinge,
    squared_hinge, categorical_hinge, binary_focal_crossentropy, categorical_focal_crossentropy,
    categorical_generalized_cross_entropy, ctc, dice, tversky, circle,
)}
ALIASES = {"mse": mean_squared_error, "mae": mean_absolute_error,
           "mape": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
           "bce": binary_crossentropy, "kld": kl_divergence, "kullback_leibler_divergence": kl_divergence}


_W = LossFunctionWrapper
MeanSquaredError = wrapper_class(_W, "MeanSquaredError", mean_squared_error, "Mean of squared errors.")
MeanAbsoluteError = wrapper_class(_W, "MeanAbsoluteError", mean_absolute_error, "Mean of absolute errors.")
MeanAbsolutePercentageError = wrapper_class(_W, "MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                            "Mean absolute percentage error.")
MeanSquaredLogarithmicError = wrapper_class(_W, "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                            "Mean squared logarithmic error.")
Huber = wrapper_class(_W, "Huber", huber, "Huber loss.", name="huber_loss", delta=1.0)
LogCosh = wrapper_class(_W, "LogCosh", log_cosh, "Logarithm of the hyperbolic cosine of the error.")
CosineSimilarity = wrapper_class(_W, "CosineSimilarity", cosine_similarity, "Negative cosine similarity.", axis=-1)
BinaryCrossentropy = wrapper_class(_W, "BinaryCrossentropy", binary_crossentropy, "Binary cross-entropy.",
                                   from_logits=False, label_smoothing=0.0, axis=-1)
CategoricalCrossentropy = wrapper_class(_W, "CategoricalCrossentropy", categorical_crossentropy,
                                        "Cross-entropy for one-hot labels.", from_logits=False,
                                        label_smoothing=0.0, axis=-1)
SparseCategoricalCrossentropy = wrapper_class(_W, "SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
                                              "Cross-entropy for integer labels.", from_logits=False,
                                              ignore_class=None, axis=-1,
                                              order=("from_logits", "ignore_class", "reduction", "axis", "name",
                                                     "dtype"))
KLDivergence = wrapper_class(_W, "KLDivergence", kl_divergence, "Kullback-Leibler divergence.")
Poisson = wrapper_class(_W, "Poisson", poisson, "Poisson negative log-likelihood (up to a constant).")
Hinge = wrapper_class(_W, "Hinge", hinge, "Hinge loss.")
SquaredHinge = wrapper_class(_W, "SquaredHinge", squared_hinge, "Squared hinge loss.")
CategoricalHinge = wrapper_class(_W, "CategoricalHinge", categorical_hinge, "Categorical hinge loss.")

CLASSES = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    Huber, LogCosh, CosineSimilarity, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy, CTC, Dice, Tversky,
    Circle,
)}


serialization.register_table("losses", {**FUNCTIONS, **ALIASES, **CLASSES}, "keras.losses")


def get(identifier):
    """A loss from a function name ('mse', 'binary_crossentropy': the function), a class name
    ('BinaryCrossentropy': an instance), a config dict, or a callable (returned as is)."""
    if isinstance(identifier, str):
        if identifier in FUNCTIONS or identifier in ALIASES:
            return FUNCTIONS.get(identifier) or ALIASES[identifier]
        if identifier in CLASSES:
            return CLASSES[identifier]()
        found = serialization.get_registered_object(identifier)
        if found is not None:
            return found() if isinstance(found, type) else found
        known = sorted(FUNCTIONS) + sorted(ALIASES) + sorted(CLASSES)
        raise unknown("losses.get", "loss", identifier, known, listed=known)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"losses.get: expected a name, a config dict or a callable, got {identifier!r}")


def serialize(loss):
    """A built-in loss function's name; anything else's config in Keras 3's schema."""
    for name, fn in FUNCTIONS.items():
        if fn is loss:
            return name
    return serialization.serialize(loss)


def deserialize(name, custom_objects=None):
    """A loss from a name or a config (either schema), from the allowlist."""
    if isinstance(name, str):
        return get(name)
    return serialization.deserialize(name, custom_objects, kind="losses")
