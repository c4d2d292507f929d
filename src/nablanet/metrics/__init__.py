"""Metrics: stateful (update_state / result / reset_state), averaged over an epoch as Keras does.

Metrics never take part in gradients: they read the arrays behind Tensors and accumulate in
float64. Function metrics return one value per sample; `MeanMetricWrapper` averages them
(weighted by `sample_weight`) across every batch since the last reset. The confusion-matrix
metrics are in `confusion`, the IoU family in `iou`, the F-scores, R2 and correlations in `scores`.

>>> m = BinaryAccuracy()
>>> m.update_state(np.array([1, 0, 1]), np.array([0.9, 0.2, 0.3]))
>>> float(m.result())
0.6666666666666666
"""

import numpy as np

from nablanet import losses, serialization
from nablanet.autodiff.tensor import as_array
from nablanet.losses import wrapper_class
from nablanet.metrics.base import Mean, MeanMetricWrapper, Metric, Sum, pair
from nablanet.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    PrecisionAtRecall,
    Recall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
    TrueNegatives,
    TruePositives,
)
from nablanet.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from nablanet.metrics.scores import (
    ConcordanceCorrelation,
    F1Score,
    FBetaScore,
    PearsonCorrelation,
    R2Score,
    concordance_correlation,
    pearson_correlation,
)
from nablanet.names import snake_case, unknown


# -- per-sample functions ---------------------------------------------------------------------

def accuracy(y_true, y_pred):
    """1 where `y_true == y_pred` exactly, else 0."""
    y_true, y_pred = pair(y_true, y_pred)
    return (y_true == y_pred).astype(np.float64)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where `(y_pred > threshold) == y_true`, per element."""
    y_true, y_pred = pair(y_true, y_pred)
    return ((y_pred > threshold) == (y_true != 0)).astype(np.float64)


def categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of `y_pred` is the arg-max of the one-hot `y_true`."""
    return (np.argmax(as_array(y_true), axis=-1) == np.argmax(as_array(y_pred), axis=-1)).astype(np.float64)


def _labels(y_true, y_pred):
    labels = as_array(y_true)
    if labels.ndim == as_array(y_pred).ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    return labels


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the arg-max of `y_pred` equals the integer label."""
    return (_labels(y_true, y_pred) == np.argmax(as_array(y_pred), axis=-1)).astype(np.float64)


def _in_top_k(labels, scores, k):
    scores = scores.reshape(-1, scores.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    target = scores[np.arange(len(labels)), labels]
    return (np.sum(scores > target[:, None], axis=-1) < k).astype(np.float64)  # ties count as in


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the true class (arg-max of one-hot `y_true`) is among the `k` top scores."""
    labels = np.argmax(as_array(y_true), axis=-1)
    return _in_top_k(labels, as_array(y_pred), k).reshape(labels.shape)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1 where the integer label is among the `k` top scores; with `from_sorted_ids`, `y_pred`
    holds the predicted class ids, best first, and the label must be among its first `k`."""
    if not from_sorted_ids:
        labels = _labels(y_true, y_pred)
        return _in_top_k(labels, as_array(y_pred), k).reshape(labels.shape)
    ids = as_array(y_pred)
    labels = as_array(y_true).reshape(ids.shape[:-1])
    return np.any(ids[..., :k] == labels[..., None], axis=-1).astype(np.float64)


_W, _UP = MeanMetricWrapper, {"direction": "up"}
Accuracy = wrapper_class(_W, "Accuracy", accuracy, "How often predictions equal labels.", attributes=_UP)
BinaryAccuracy = wrapper_class(_W, "BinaryAccuracy", binary_accuracy,
                               "How often thresholded predictions match binary labels.", attributes=_UP, threshold=0.5)
CategoricalAccuracy = wrapper_class(_W, "CategoricalAccuracy", categorical_accuracy,
                                    "How often the arg-max matches one-hot labels.", attributes=_UP)
SparseCategoricalAccuracy = wrapper_class(_W, "SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                          "How often the arg-max matches integer labels.", attributes=_UP)
TopKCategoricalAccuracy = wrapper_class(_W, "TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                        "How often one-hot labels are in the top k.", attributes=_UP, k=5,
                                        order=("k", "name", "dtype"))
SparseTopKCategoricalAccuracy = wrapper_class(_W, "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy,
                                              "How often integer labels are in the top k.", attributes=_UP, k=5,
                                              from_sorted_ids=False, order=("k", "name", "dtype", "from_sorted_ids"))
MeanSquaredError = wrapper_class(_W, "MeanSquaredError", losses.mean_squared_error, "Mean squared error.")
MeanAbsoluteError = wrapper_class(_W, "MeanAbsoluteError", losses.mean_absolute_error, "Mean absolute error.")
MeanAbsolutePercentageError = wrapper_class(_W, "MeanAbsolutePercentageError", losses.mean_absolute_percentage_error,
                                            "Mean absolute percentage error.")
MeanSquaredLogarithmicError = wrapper_class(_W, "MeanSquaredLogarithmicError", losses.mean_squared_logarithmic_error,
                                            "Mean squared logarithmic error.")
CosineSimilarity = wrapper_class(_W, "CosineSimilarity", lambda t, p, axis=-1: -losses.cosine_similarity(t, p, axis),
                                 "Cosine similarity (1 is best).", name="cosine_similarity", attributes=_UP, axis=-1)
LogCoshError = wrapper_class(_W, "LogCoshError", losses.log_cosh, "Log-cosh error.", name="logcosh")
BinaryCrossentropy = wrapper_class(_W, "BinaryCrossentropy", losses.binary_crossentropy, "Binary cross-entropy.",
                                   from_logits=False, label_smoothing=0)
CategoricalCrossentropy = wrapper_class(_W, "CategoricalCrossentropy", losses.categorical_crossentropy,
                                        "Categorical cross-entropy.", from_logits=False, label_smoothing=0,
                                        axis=-1)
SparseCategoricalCrossentropy = wrapper_class(_W, "SparseCategoricalCrossentropy",
                                              losses.sparse_categorical_crossentropy,
                                              "Sparse categorical cross-entropy.", from_logits=False,
                                              ignore_class=None, axis=-1)
KLDivergence = wrapper_class(_W, "KLDivergence", losses.kl_divergence, "KL divergence.")
Poisson = wrapper_class(_W, "Poisson", losses.poisson, "Poisson metric.")
Hinge = wrapper_class(_W, "Hinge", losses.hinge, "Hinge metric.")
SquaredHinge = wrapper_class(_W, "SquaredHinge", losses.squared_hinge, "Squared hinge metric.")
CategoricalHinge = wrapper_class(_W, "CategoricalHinge", losses.categorical_hinge, "Categorical hinge metric.")


class RootMeanSquaredError(Mean):
    """`sqrt(mean((y_true - y_pred) ** 2))` over every element seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = pair(y_true, y_pred)
        super().update_state(np.square(y_true - y_pred), sample_weight)

    def result(self):
        return np.sqrt(super().result())


# -- the losses' functions Keras also exports as metrics (the same objects) --------------------

binary_crossentropy = losses.binary_crossentropy
binary_focal_crossentropy = losses.binary_focal_crossentropy
categorical_crossentropy = losses.categorical_crossentropy
categorical_focal_crossentropy = losses.categorical_focal_crossentropy
categorical_hinge = losses.categorical_hinge
hinge = losses.hinge
huber = losses.huber
kl_divergence = losses.kl_divergence
log_cosh = losses.log_cosh
mean_absolute_error = losses.mean_absolute_error
mean_absolute_percentage_error = losses.mean_absolute_percentage_error
mean_squared_error = losses.mean_squared_error
mean_squared_logarithmic_error = losses.mean_squared_logarithmic_error
poisson = losses.poisson
sparse_categorical_crossentropy = losses.sparse_categorical_crossentropy
squared_hinge = losses.squared_hinge

# -- lookup -----------------------------------------------------------------------------------

FUNCTIONS = {f.__name__: f for f in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, pearson_correlation, concordance_correlation,
)}
_NOT_METRICS = ("ctc", "dice", "tversky", "circle", "categorical_generalized_cross_entropy")  # not in keras.metrics
FUNCTIONS.update({name: fn for name, fn in losses.FUNCTIONS.items() if name not in _NOT_METRICS})
FUNCTIONS.update(losses.ALIASES)

CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity,
    LogCoshError, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge, Precision, Recall, AUC,
    TruePositives, TrueNegatives, FalsePositives, FalseNegatives, PrecisionAtRecall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU,
    F1Score, FBetaScore, R2Score, PearsonCorrelation, ConcordanceCorrelation,
)}


SNAKE_CLASSES = {snake_case(name): cls for name, cls in CLASSES.items() if snake_case(name) not in FUNCTIONS}
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


def serialize(metric):
    """A metric's config in Keras 3's schema (`{"module", "class_name", "config", ...}`); a
    function's by its name."""
    return serialization.serialize(metric)


def deserialize(config, custom_objects=None):
    """A metric from what `serialize` wrote, or from a name, from the allowlist."""
    if isinstance(config, str):
        with serialization.custom_object_scope(custom_objects or {}):
            return get(config)
    return serialization.deserialize(config, custom_objects, kind="metrics")


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
