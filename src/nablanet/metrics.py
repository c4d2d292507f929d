"""Metrics: stateful (update_state / result / reset_state), averaged over an epoch as Keras does.

Metrics never take part in gradients: they read the arrays behind Tensors and accumulate in
float64. Function metrics return one value per sample; `MeanMetricWrapper` averages them
(weighted by `sample_weight`) across every batch since the last reset.

>>> m = BinaryAccuracy()
>>> m.update_state(np.array([1, 0, 1]), np.array([0.9, 0.2, 0.3]))
>>> float(m.result())
0.6666666666666666
"""

import re

import numpy as np

from nablanet import losses, serialization
from nablanet.autodiff.tensor import Tensor
from nablanet.backend import epsilon
from nablanet.names import unknown


def _array(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _pair(y_true, y_pred):
    return losses.same_rank(_array(y_true), _array(y_pred))


# -- per-sample functions ---------------------------------------------------------------------

def accuracy(y_true, y_pred):
    """1 where `y_true == y_pred` exactly, else 0."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where `(y_pred > threshold) == y_true`, per element."""
    y_true, y_pred = _pair(y_true, y_pred)
    return ((y_pred > threshold) == (y_true != 0)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of `y_pred` is the arg-max of the one-hot `y_true`."""
    return (np.argmax(_array(y_true), axis=-1) == np.argmax(_array(y_pred), axis=-1)).astype(np.float64)


def _labels(y_true, y_pred):
    labels = _array(y_true)
    if labels.ndim == _array(y_pred).ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    return labels


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of `y_pred` equals the integer label."""
    return (_labels(y_true, y_pred) == np.argmax(_array(y_pred), axis=-1)).astype(np.float64)


def _in_top_k(labels, scores, k):
    scores = scores.reshape(-1, scores.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    target = scores[np.arange(len(labels)), labels]
    return (np.sum(scores > target[:, None], axis=-1) < k).astype(np.float64)  # ties count as in


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the true class (arg-max of one-hot `y_true`) is among the `k` top scores."""
    labels = np.argmax(_array(y_true), axis=-1)
    return _in_top_k(labels, _array(y_pred), k).reshape(labels.shape)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer label is among the `k` top scores."""
    labels = _labels(y_true, y_pred)
    return _in_top_k(labels, _array(y_pred), k).reshape(labels.shape)


# -- the stateful base classes ----------------------------------------------------------------

class Metric:
    """Base class: `update_state(...)`, `result()`, `reset_state()`; calling a metric updates it
    and returns the result. `direction` ("up" or "down") says which way is better."""

    direction = "down"

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        raise NotImplementedError(f"{type(self).__name__} must implement reset_state")

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _samplewise(values, sample_weight):
    """Weight `values` and reduce both to one number per sample, as Keras does."""
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is None:
        return values.reshape(len(values), -1).mean(axis=1) if values.ndim > 1 else values, None
    weight = np.asarray(_array(sample_weight), dtype=np.float64)
    values, weight = losses.same_rank(values, weight)
    if values.ndim > weight.ndim:
        values = values.mean(axis=tuple(range(weight.ndim, values.ndim)))
    weight = np.broadcast_to(weight, values.shape)
    values = values * weight
    if values.ndim > 1:
        axes = tuple(range(1, values.ndim))
        return values.mean(axis=axes), weight.mean(axis=axes)
    return values, weight


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        values, _ = _samplewise(np.atleast_1d(_array(values)), sample_weight)
        self.total += float(np.sum(values))

    def result(self):
        return np.float64(self.total)

    def reset_state(self):
        self.total = 0.0


class Mean(Metric):
    """The (weighted) mean of the values seen."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        values = np.atleast_1d(_array(values))
        values, weight = _samplewise(values, sample_weight)
        self.total += float(np.sum(values))
        self.count += float(np.sum(weight)) if weight is not None else float(len(values))

    def result(self):
        return np.float64(self.total / self.count if self.count else 0.0)

    def reset_state(self):
        self.total, self.count = 0.0, 0.0


class MeanMetricWrapper(Mean):
    """Averages a per-sample function `fn(y_true, y_pred, **kwargs)` over every sample seen."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = _array(self.fn(_array(y_true), _array(y_pred), **self._fn_kwargs))
        # masked steps of a sequence output (Embedding(mask_zero=True), Masking) count for nothing
        super().update_state(values, losses.masked_weight(sample_weight, y_pred, values, reduction="sum"))

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _wrapper(class_name, fn, default_name, doc, direction="down", **defaults):
    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{class_name}: unexpected argument(s) {sorted(unknown)}")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})

    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc, "direction": direction})


Accuracy = _wrapper("Accuracy", accuracy, "accuracy", "How often predictions equal labels.", direction="up")
BinaryAccuracy = _wrapper("BinaryAccuracy", binary_accuracy, "binary_accuracy",
                          "How often thresholded predictions match binary labels.", threshold=0.5, direction="up")
CategoricalAccuracy = _wrapper("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy",
                               "How often the arg-max matches one-hot labels.", direction="up")
SparseCategoricalAccuracy = _wrapper("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                     "sparse_categorical_accuracy",
                                     "How often the arg-max matches integer labels.", direction="up")
TopKCategoricalAccuracy = _wrapper("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   "top_k_categorical_accuracy",
                                   "How often one-hot labels are in the top k.", k=5, direction="up")
SparseTopKCategoricalAccuracy = _wrapper("SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
                                         "sparse_top_k_categorical_accuracy",
                                         "How often integer labels are in the top k.", k=5, direction="up")
MeanSquaredError = _wrapper("MeanSquaredError", losses.mean_squared_error, "mean_squared_error",
                            "Mean squared error.")
MeanAbsoluteError = _wrapper("MeanAbsoluteError", losses.mean_absolute_error, "mean_absolute_error",
                             "Mean absolute error.")
MeanAbsolutePercentageError = _wrapper("MeanAbsolutePercentageError", losses.mean_absolute_percentage_error,
                                       "mean_absolute_percentage_error", "Mean absolute percentage error.")
MeanSquaredLogarithmicError = _wrapper("MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error,
                                       "mean_squared_logarithmic_error", "Mean squared logarithmic error.")
CosineSimilarity = _wrapper("CosineSimilarity", lambda t, p, axis=-1: -losses.cosine_similarity(t, p, axis),
                            "cosine_similarity", "Cosine similarity (1 is best).", axis=-1, direction="up")
LogCoshError = _wrapper("LogCoshError", losses.log_cosh, "logcosh", "Log-cosh error.")
BinaryCrossentropy = _wrapper("BinaryCrossentropy", losses.binary_crossentropy, "binary_crossentropy",
                              "Binary cross-entropy.", from_logits=False, label_smoothing=0.0)
CategoricalCrossentropy = _wrapper("CategoricalCrossentropy", losses.categorical_crossentropy,
                                   "categorical_crossentropy", "Categorical cross-entropy.",
                                   from_logits=False, label_smoothing=0.0)
SparseCategoricalCrossentropy = _wrapper("SparseCategoricalCrossentropy", losses.sparse_categorical_crossentropy,
                                         "sparse_categorical_crossentropy",
                                         "Sparse categorical cross-entropy.", from_logits=False)
KLDivergence = _wrapper("KLDivergence", losses.kl_divergence, "kl_divergence", "KL divergence.")
Poisson = _wrapper("Poisson", losses.poisson, "poisson", "Poisson metric.")
Hinge = _wrapper("Hinge", losses.hinge, "hinge", "Hinge metric.")
SquaredHinge = _wrapper("SquaredHinge", losses.squared_hinge, "squared_hinge", "Squared hinge metric.")
CategoricalHinge = _wrapper("CategoricalHinge", losses.categorical_hinge, "categorical_hinge",
                            "Categorical hinge metric.")


class RootMeanSquaredError(Mean):
    """`sqrt(mean((y_true - y_pred) ** 2))` over every element seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _pair(y_true, y_pred)
        super().update_state(np.square(y_true - y_pred), sample_weight)

    def result(self):
        return np.sqrt(super().result())


# -- confusion-matrix metrics -----------------------------------------------------------------

def _confusion(y_true, y_pred, thresholds, sample_weight=None, class_id=None, top_k=None):
    """Weighted true/false positives/negatives of `y_pred > t` for every threshold t."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"confusion metrics (Precision, Recall, AUC): y_true {y_true.shape} and y_pred "
            f"{y_pred.shape} must have the same shape; one-hot encode integer labels first"
        )
    if top_k is not None:  # keep the k largest scores per row, push the rest below every threshold
        kth = -np.sort(-y_pred, axis=-1)[..., top_k - 1:top_k]
        y_pred = np.where(y_pred >= kth, y_pred, -np.inf)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    if sample_weight is None:
        weight = np.ones(y_pred.shape)
    else:  # one weight per sample, repeated along the remaining axes
        weight = np.asarray(_array(sample_weight), np.float64)
        weight = weight.reshape(weight.shape + (1,) * (y_pred.ndim - weight.ndim))
        weight = np.broadcast_to(weight, y_pred.shape)
    positive = (y_true != 0).ravel()
    scores, weight = y_pred.ravel(), np.asarray(weight, np.float64).ravel()
    order = np.argsort(scores, kind="stable")
    scores, positive, weight = scores[order], positive[order], weight[order]
    # above[i] = total weight of scores strictly greater than threshold i
    cut = np.searchsorted(scores, np.asarray(thresholds, np.float64), side="right")
    pos_tail = np.concatenate([np.cumsum((weight * positive)[::-1])[::-1], [0.0]])
    neg_tail = np.concatenate([np.cumsum((weight * ~positive)[::-1])[::-1], [0.0]])
    tp, fp = pos_tail[cut], neg_tail[cut]
    return tp, fp, pos_tail[0] - tp, neg_tail[0] - fp  # tp, fp, fn, tn


class _Thresholded(Metric):
    direction = "up"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name, dtype)
        self.init_thresholds = thresholds
        default = 0.5 if top_k is None else -np.inf  # with top_k, every kept score counts
        self.thresholds = np.atleast_1d(default if thresholds is None else thresholds).astype(np.float64)
        if thresholds is not None and np.any((self.thresholds < 0) | (self.thresholds > 1)):
            raise ValueError(f"{type(self).__name__}: thresholds must lie in [0, 1], got {thresholds}")
        self.top_k, self.class_id = top_k, class_id
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, fn, _ = _confusion(y_true, y_pred, self.thresholds, sample_weight, self.class_id, self.top_k)
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += fn

    def reset_state(self):
        zeros = np.zeros(len(self.thresholds))
        self.true_positives, self.false_positives, self.false_negatives = zeros, zeros.copy(), zeros.copy()

    def _value(self, ratio):
        return np.float64(ratio[0]) if self.init_thresholds is None or np.ndim(self.init_thresholds) == 0 else ratio

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


def _divide(a, b):
    return np.divide(a, b, out=np.zeros_like(np.asarray(a, np.float64)), where=np.asarray(b) != 0)


class Precision(_Thresholded):
    """`tp / (tp + fp)` of `y_pred > threshold` over everything seen (0.5 by default)."""

    def result(self):
        return self._value(_divide(self.true_positives, self.true_positives + self.false_positives))


class Recall(_Thresholded):
    """`tp / (tp + fn)` of `y_pred > threshold` over everything seen (0.5 by default)."""

    def result(self):
        return self._value(_divide(self.true_positives, self.true_positives + self.false_negatives))


class AUC(Metric):
    """Area under the ROC (or precision-recall) curve, from confusion counts at fixed thresholds.

    Args:
        num_thresholds: Thresholds evenly spaced in [0, 1] (with -epsilon and 1 + epsilon added).
        curve: "ROC" or "PR".
        summation_method: "interpolation" (trapezoids; for PR the Davis & Goadrich
            interpolation), "minoring" or "majoring".
        thresholds: Explicit thresholds instead of `num_thresholds`.
        multi_label: Treat each column as its own label and average the AUCs (weighted by
            `label_weights`).
        from_logits: Apply a sigmoid to the predictions first.
    """

    direction = "up"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        super().__init__(name or "auc", dtype)
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: summation_method must be interpolation, minoring or majoring, got {summation_method!r}")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.thresholds = np.array([-epsilon()] + inner + [1.0 + epsilon()])
        self.num_thresholds, self.curve, self.summation_method = len(self.thresholds), curve, summation_method
        self.multi_label, self.num_labels, self.from_logits = multi_label, num_labels, from_logits
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self._given_thresholds = thresholds
        self.reset_state()

    def reset_state(self):
        self._counts = None  # (4, thresholds[, labels]) once the first batch shows the labels

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _pair(y_true, y_pred)
        if self.from_logits:
            y_pred = 1 / (1 + np.exp(-y_pred))
        if self.multi_label:
            y_true, y_pred = y_true.reshape(-1, y_true.shape[-1]), y_pred.reshape(-1, y_pred.shape[-1])
            counts = np.stack([np.stack(_confusion(y_true[:, j], y_pred[:, j], self.thresholds, sample_weight))
                               for j in range(y_pred.shape[-1])], axis=-1)
        else:
            counts = np.stack(_confusion(y_true, y_pred, self.thresholds, sample_weight))
        self._counts = counts if self._counts is None else self._counts + counts

    def result(self):
        if self._counts is None:
            return np.float64(0.0)
        tp, fp, fn, tn = self._counts
        if self.curve == "PR" and self.summation_method == "interpolation":
            areas = self._interpolated_pr(tp, fp, fn)
        else:
            recall = _divide(tp, tp + fn)
            x, y = (_divide(fp, fp + tn), recall) if self.curve == "ROC" else (recall, _divide(tp, tp + fp))
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            areas = np.sum((x[:-1] - x[1:]) * heights, axis=0)
        if not self.multi_label:
            return np.float64(areas)
        if self.label_weights is None:
            return np.float64(np.mean(areas))
        return np.float64(_divide(np.sum(areas * self.label_weights), np.sum(self.label_weights)))

    @staticmethod
    def _interpolated_pr(tp, fp, fn):
        """Davis & Goadrich (2006): precision interpolated between thresholds, integrated in recall."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, _divide(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increments = _divide(slope * (dtp + intercept * np.log(np.where(ratio > 0, ratio, 1.0))),
                             np.maximum(tp[1:] + fn[1:], 0))
        return np.sum(increments, axis=0)

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "multi_label": self.multi_label,
                "from_logits": self.from_logits}


# -- lookup -----------------------------------------------------------------------------------

FUNCTIONS = {f.__name__: f for f in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
)}
FUNCTIONS.update(losses.FUNCTIONS)
FUNCTIONS.update(losses.ALIASES)

CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity,
    LogCoshError, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, Precision, Recall, AUC,
)}


def _snake(name):
    return "auc" if name == "AUC" else re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()


SNAKE_CLASSES = {_snake(name): cls for name, cls in CLASSES.items() if _snake(name) not in FUNCTIONS}
serialization.register_table("metrics", {**FUNCTIONS, **CLASSES, **SNAKE_CLASSES}, "keras.metrics")


def get(identifier):
    """A metric from a function name ('binary_accuracy', 'mse': the function), a class name
    ('AUC') or its snake case ('auc', 'precision': an instance), a config dict, a `Metric`
    or a callable. ('accuracy' as compile resolves it: see `resolve`.)"""
    if isinstance(identifier, str):
        if identifier in FUNCTIONS:
            return FUNCTIONS[identifier]
        if identifier in CLASSES:
            return CLASSES[identifier]()
        if identifier in SNAKE_CLASSES:
            return SNAKE_CLASSES[identifier]()
        found = serialization.get_registered_object(identifier)
        if found is not None:
            return found() if isinstance(found, type) else found
        known = sorted(set(FUNCTIONS) | set(SNAKE_CLASSES) | set(CLASSES))
        raise unknown("metrics.get", "metric", identifier, known, listed=known)
    if isinstance(identifier, dict):
        return serialization.deserialize(identifier, kind="metrics")
    if callable(identifier):
        return identifier
    raise TypeError(f"metrics.get: expected a name, a config dict, a Metric or a callable, got {identifier!r}")


def resolve(identifier, y_true_shape, y_pred_shape):
    """The `Metric` that `compile(metrics=[identifier])` uses for an output with these shapes.

    "accuracy"/"acc" become binary accuracy for one-unit outputs, sparse categorical accuracy
    when the labels have fewer dimensions (or a trailing 1), else categorical accuracy; the
    metric keeps the name it was asked for, which is its `history` key.
    """
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        is_binary = y_pred_shape[-1] == 1
        sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
        cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if sparse else CategoricalAccuracy
        return cls(name=identifier)
    metric = get(identifier)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric, name=identifier if isinstance(identifier, str) else None)
    elif isinstance(identifier, str):
        metric.name = identifier
    return metric
