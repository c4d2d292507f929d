"""Losses: Keras's functions (per-sample values) and classes (weighted, reduced), with Keras's
formulas and fuzz factors, composed from differentiable ops.

A function returns one value per sample (the last axis averaged or summed away). A `Loss`
instance also applies `sample_weight` and a `reduction`: "sum_over_batch_size" (the default:
the weighted sum divided by the number of values), "sum", "mean_with_sample_weight" (divided by
the sum of the weights) or "none".

>>> float(mean_squared_error(np.array([1.0, 2.0]), np.array([1.0, 4.0])))
2.0
"""

import inspect

import numpy as np

from nablanet import ops, serialization
from nablanet.autodiff.ops.crossentropy import (
    softmax_cross_entropy_op,
    softmax_logits,
    sparse_softmax_cross_entropy_op,
)
from nablanet.autodiff.tensor import Tensor
from nablanet.backend import epsilon
from nablanet.names import snake_case, unknown


def _shape(x):
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _pair(y_true, y_pred):
    """Convert, cast y_true to y_pred's dtype, and align ranks that differ by a trailing 1."""
    y_pred = y_pred if isinstance(y_pred, Tensor) else np.asarray(y_pred)
    if not np.issubdtype(y_pred.dtype, np.floating):
        y_pred = ops.cast(y_pred, "float32")
    # a Tensor y_true stays on the tape: a teacher's soft targets (distillation) get gradients, as in Keras
    y_true = ops.cast(y_true if isinstance(y_true, Tensor) else np.asarray(y_true), y_pred.dtype)
    return same_rank(y_true, y_pred)


def same_rank(x1, x2):
    """Keras's rule: when ranks differ by one and the longer ends in 1, expand a rank-1 operand
    (else squeeze the trailing 1), so (N,) labels meet (N, 1) predictions as (N, 1)."""
    r1, r2 = len(_shape(x1)), len(_shape(x2))
    if r1 == r2 + 1 and _shape(x1)[-1] == 1:
        return (x1, ops.expand_dims(x2, -1)) if r2 == 1 else (ops.squeeze(x1, -1), x2)
    if r2 == r1 + 1 and _shape(x2)[-1] == 1:
        return (ops.expand_dims(x1, -1), x2) if r1 == 1 else (x1, ops.squeeze(x2, -1))
    return x1, x2


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
    squared_hinge, categorical_hinge,
)}
ALIASES = {"mse": mean_squared_error, "mae": mean_absolute_error,
           "mape": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
           "bce": binary_crossentropy, "kld": kl_divergence, "kullback_leibler_divergence": kl_divergence}


# -- classes: weighting and reduction ---------------------------------------------------------

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Loss:
    """Base class: `call(y_true, y_pred)` gives per-sample values; `__call__` weights and
    reduces them.

    Args:
        reduction: One of "sum_over_batch_size", "sum", "mean", "mean_with_sample_weight",
            "none" or None.
        name: A name for the loss.
        dtype: Unused; accepted for Keras compatibility.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return reduce_weighted(values, masked_weight(sample_weight, y_pred, values, self.reduction), self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def masked_weight(sample_weight, y_pred, values, reduction="sum_over_batch_size"):
    """`sample_weight` with the mask a masking layer attached to `y_pred` folded in, by Keras's
    rule: masked steps weigh 0, and under a mean the others weigh total / unmasked, so the loss
    is the mean over the unmasked steps. Unchanged when there is no mask of the values' shape."""
    mask = getattr(y_pred, "_keras_mask", None) if isinstance(y_pred, Tensor) else None
    if mask is None or np.shape(mask) != tuple(_shape(values)):
        return sample_weight
    weight = np.asarray(mask, dtype=np.float64)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = weight.sum()
        weight = weight * (weight.size / valid) if valid else weight
    if sample_weight is not None:
        given = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight, np.float64)
        weight = weight * given.reshape(given.shape + (1,) * (weight.ndim - given.ndim))
    return weight


def reduce_weighted(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Multiply per-sample `values` by `sample_weight` (broadcast) and reduce them."""
    if sample_weight is not None:
        weight = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight)
        dtype = values.dtype if isinstance(values, (Tensor, np.ndarray)) else np.float64
        values, weight = same_rank(values, weight.astype(dtype))
        values = values * weight
    if reduction in (None, "none") or _shape(values) in ((), (0,)):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(np.sum(weight))
    else:
        divisor = float(np.prod(_shape(values)))
    return total / divisor if divisor else total * 0.0


class LossFunctionWrapper(Loss):
    """A `Loss` around a per-sample function and its keyword arguments."""

    function_arguments_first = True  # Keras's loss classes: `Huber(delta, reduction, name, dtype)`

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def wrapper_class(base, class_name, fn, doc, name=None, attributes=None, order=None, **defaults):
    """A class around the per-sample function `fn`, as Keras's `MeanSquaredError` wraps
    `mean_squared_error`: a subclass of `base` (`LossFunctionWrapper`, or metrics'
    `MeanMetricWrapper`) whose constructor takes `base`'s own arguments and `fn`'s keyword
    arguments `defaults`, and names instances `name` (`fn`'s name by default).

    The constructor's parameters come in Keras's order, so positional calls mean what they mean
    in Keras: `order` when given, else a loss's function arguments before its own (`Huber(delta,
    reduction, name, dtype)`) and a metric's own arguments first (`BinaryAccuracy(name, dtype,
    threshold)`), as `base.function_arguments_first` says.

    Args:
        base: The wrapper class, constructed as `base(fn, *own_arguments, **fn_kwargs)`.
        class_name: The new class's name.
        fn: The per-sample function `fn(y_true, y_pred, **kwargs)`.
        doc: The new class's docstring.
        name: The default name of instances.
        attributes: Class attributes of the new class (a metric's `direction`).
        order: Every constructor parameter's name, in Keras's order, when it is neither convention.
        **defaults: `fn`'s keyword arguments the constructor accepts, with their defaults.

    >>> Scaled = wrapper_class(LossFunctionWrapper, "Scaled", lambda t, p, k=2.0: k * (p - t), "k(p - t)",
    ...                        name="scaled", k=2.0)
    >>> loss = Scaled(3.0)
    >>> loss.name, float(loss(np.zeros(2), np.ones(2)))
    ('scaled', 3.0)
    """
    parameters = list(inspect.signature(base.__init__).parameters.values())[2:]  # after self and fn
    own = {p.name: p.default for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD}
    default_name = name or fn.__name__
    own["name"] = default_name
    if order is None:
        order = [*defaults, *own] if base.function_arguments_first else [*own, *defaults]
    if sorted(order) != sorted({**own, **defaults}):
        raise ValueError(f"wrapper_class: {class_name}'s order {order} must name each of {sorted({**own, **defaults})}")

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{class_name}: expected at most {len(order)} positional arguments ({', '.join(order)}), "
                            f"got {len(args)}")
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"{class_name}: got multiple values for argument {key!r}")
            kwargs[key] = value
        unexpected = set(kwargs) - set(order)
        if unexpected:
            raise TypeError(f"{class_name}: unexpected argument(s) {sorted(unexpected)}; it takes {', '.join(order)}")
        kwargs["name"] = kwargs.get("name") or default_name
        base.__init__(self, fn, **{**defaults, **kwargs})

    shown = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]  # what help() and inspect show
    shown += [inspect.Parameter(key, inspect.Parameter.POSITIONAL_OR_KEYWORD, default={**own, **defaults}[key])
              for key in order]
    __init__.__signature__ = inspect.Signature(shown)
    return type(class_name, (base,), {"__init__": __init__, "__doc__": doc, **(attributes or {})})


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
