"""Score metrics over every batch seen: `FBetaScore`/`F1Score` (per class, or micro-, macro- or
weighted-averaged), the coefficient of determination `R2Score`, and the per-sample correlations
`PearsonCorrelation` and `ConcordanceCorrelation` with their function forms.

>>> m = F1Score(average="micro", threshold=0.5)
>>> m.update_state(np.array([[1, 0], [0, 1]]), np.array([[0.9, 0.2], [0.6, 0.7]]))
>>> round(float(m.result()), 6)
0.8
"""

import warnings

import numpy as np

from nablanet import losses, ops
from nablanet.autodiff.tensor import Tensor, as_array
from nablanet.backend import epsilon
from nablanet.losses import wrapper_class
from nablanet.metrics.base import MeanMetricWrapper, Metric


def _zeros(shape):
    return np.zeros(shape, np.float64)


class FBetaScore(Metric):
    """`(1 + beta**2) p r / (beta**2 p + r)` of precision `p` and recall `r` over every batch, for
    multi-label or one-hot data of shape (batch, classes).

    Args:
        average: None (one score per class), "micro" (counts pooled over classes), "macro"
            (the mean of the per-class scores) or "weighted" (their mean weighted by each
            class's number of true labels).
        beta: The weight of recall against precision, a float > 0.
        threshold: Scores above it are positive; None takes each row's highest score.
    """

    direction = "up"

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        owner = type(self).__name__
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"{owner}: average must be one of None, 'micro', 'macro', 'weighted', got {average!r}")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{owner}: beta must be a Python float > 0, got {beta!r} ({type(beta).__name__})")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{owner}: threshold must be None or a Python float in (0, 1], got {threshold!r} "
                             f"({type(threshold).__name__})")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self.reset_state()

    def reset_state(self):
        self._state = None  # tp, fp, fn, label weight: built from the first batch's number of classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(as_array(y_true), np.float64), np.asarray(as_array(y_pred), np.float64)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(f"{type(self).__name__}: expected 2-D inputs of shape (batch_size, output_dim), got "
                             f"y_true {y_true.shape} and y_pred {y_pred.shape}")
        if self.threshold is None:  # each row's best score, unless it is 0
            y_pred = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(np.float64)
        weight = None if sample_weight is None else np.asarray(as_array(sample_weight), np.float64)[:, None]

        def weighted_sum(values):
            return np.sum(values if weight is None else values * weight, axis=self.axis)

        counts = np.stack([weighted_sum(y_pred * y_true), weighted_sum(y_pred * (1 - y_true)),
                           weighted_sum((1 - y_pred) * y_true), weighted_sum(y_true)])
        self._state = counts if self._state is None else self._state + counts

    def result(self):
        if self._state is None:
            return np.float64(0.0)
        tp, fp, fn, label_weight = self._state
        precision = tp / (tp + fp + epsilon())
        recall = tp / (tp + fn + epsilon())
        score = precision * recall / (self.beta ** 2 * precision + recall + epsilon()) * (1 + self.beta ** 2)
        if self.average == "weighted":
            return np.float64(np.sum(score * label_weight / (np.sum(label_weight) + epsilon())))
        if self.average is not None:
            return np.float64(np.mean(score))
        return score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """`FBetaScore` with `beta = 1`: the harmonic mean of precision and recall."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """The coefficient of determination `1 - sum((y - y_pred)**2) / sum((y - mean(y))**2)` per
    output column of (batch, outputs) data, over every batch.

    Args:
        class_aggregation: "uniform_average" (the mean over columns), "variance_weighted_average"
            (weighted by each column's variance) or None (one score per column).
        num_regressors: For the adjusted R2 `1 - (1 - R2) (n - 1) / (n - p - 1)`, `p`, the
            number of independent variables (0: plain R2).
    """

    direction = "up"

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        allowed = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in allowed:
            raise ValueError(f"R2Score: class_aggregation must be one of {allowed}, got {class_aggregation!r}")
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, got {num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.reset_state()

    def reset_state(self):
        self.num_samples = 0.0
        if getattr(self, "_sums", None) is not None:  # built: zeros of the same width, as Keras's variables
            self._sums = np.zeros_like(self._sums)
        else:
            self._sums = None  # sum, sum of squares, squared residuals, weight per column

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = losses.same_rank(np.asarray(as_array(y_true), np.float64),
                                          np.asarray(as_array(y_pred), np.float64))
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(f"R2Score: expected 2-D inputs of shape (batch_size, output_dim), got y_true "
                             f"{y_true.shape} and y_pred {y_pred.shape}")
        weight = np.float64(1.0) if sample_weight is None else np.asarray(as_array(sample_weight), np.float64)
        weight = np.broadcast_to(weight[:, None] if weight.ndim == 1 else weight, y_true.shape)
        sums = np.stack([np.sum(y_true * weight, axis=0), np.sum(y_true * y_true * weight, axis=0),
                         np.sum((y_true - y_pred) ** 2 * weight, axis=0), np.sum(weight, axis=0)])
        self._sums = sums if self._sums is None else self._sums + sums
        self.num_samples += y_true.size

    def result(self):
        if self._sums is None:
            return np.float64(0.0)
        total, squares, residual, count = self._sums
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = squares - total * (total / count)
            scores = 1 - residual / variance
        scores = np.where(np.isinf(scores), 0.0, scores)
        if self.class_aggregation == "uniform_average":
            score = np.mean(scores)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(variance * scores) / np.sum(variance)
        else:
            score = scores
        n, p = self.num_samples, self.num_regressors
        if p and p > n - 1:
            warnings.warn("R2Score: more independent predictors than data points for the adjusted R2; the plain R2 "
                          "is returned", stacklevel=2)
        elif p and p == n - 1:
            warnings.warn("R2Score: the adjusted R2 divides by zero with num_regressors = samples - 1; the plain R2 "
                          "is returned", stacklevel=2)
        elif p:
            score = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
        return np.float64(score) if np.ndim(score) == 0 else score

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation of `y_true` and `y_pred` along `axis` (population standard deviations).

    >>> round(float(pearson_correlation(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0]))), 6)
    0.993399
    """
    y_true, y_pred = losses.same_rank(*_floats(y_true, y_pred))
    true_centred = y_true - ops.mean(y_true, axis=axis, keepdims=True)
    pred_centred = y_pred - ops.mean(y_pred, axis=axis, keepdims=True)
    true_centred = true_centred / ops.std(true_centred, axis=axis, keepdims=True)
    pred_centred = pred_centred / ops.std(pred_centred, axis=axis, keepdims=True)
    return ops.mean(true_centred * pred_centred, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along `axis`: `2 cov / (var_true + var_pred + (mean_true -
    mean_pred)**2 + epsilon)`, the covariance term centred as Keras centres it (both factors on the
    predictions' mean), so that results agree.

    >>> round(float(concordance_correlation(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))), 6)
    1.0
    """
    y_true, y_pred = losses.same_rank(*_floats(y_true, y_pred))
    true_mean = ops.mean(y_true, axis=axis, keepdims=True)
    pred_mean = ops.mean(y_pred, axis=axis, keepdims=True)
    true_var = ops.var(y_true - true_mean, axis=axis, keepdims=True)
    pred_var = ops.var(y_pred - pred_mean, axis=axis, keepdims=True)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + ops.square(true_mean - pred_mean)
    return ops.mean(2 * covariance / (norm + epsilon()), axis=axis)


def _floats(y_true, y_pred):
    y_pred = y_pred if isinstance(y_pred, Tensor) else np.asarray(y_pred)
    if not np.issubdtype(y_pred.dtype, np.floating):
        y_pred = ops.cast(y_pred, "float32")
    return ops.cast(y_true if isinstance(y_true, Tensor) else np.asarray(y_true), y_pred.dtype), y_pred


_UP = {"direction": "up"}
PearsonCorrelation = wrapper_class(MeanMetricWrapper, "PearsonCorrelation", pearson_correlation,
                                   "Pearson's correlation per sample, averaged over every sample seen.",
                                   attributes=_UP, axis=-1)
ConcordanceCorrelation = wrapper_class(MeanMetricWrapper, "ConcordanceCorrelation", concordance_correlation,
                                       "Lin's concordance correlation per sample, averaged over every sample seen.",
                                       attributes=_UP, axis=-1)
