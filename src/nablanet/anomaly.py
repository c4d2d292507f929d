"""Anomaly detection by reconstruction error, and the metrics detectors are judged by.

An autoencoder trained on normal data reconstructs normal inputs well and anomalies badly, so
the per-sample reconstruction error is an anomaly score. This module turns scores into decisions
(a threshold chosen on validation data) and measures them (ROC-AUC, PR-AUC, precision, recall
and F1), as plain functions over NumPy arrays, usable with any model or none.

>>> import numpy as np
>>> normal = np.array([0.1, 0.2, 0.15, 0.3])
>>> threshold = percentile_threshold(normal, 75)
>>> scores = np.array([0.1, 0.9, 0.2, 0.8])
>>> labels = np.array([0, 1, 0, 1])          # 1 marks an anomaly
>>> roc_auc(labels, scores), f1_at_threshold(labels, scores, threshold)
(1.0, 1.0)
"""

import numpy as np

__all__ = [
    "average_precision", "best_f1_threshold", "f1_at_threshold", "percentile_threshold",
    "precision_at_threshold", "precision_recall_curve", "pr_auc", "recall_at_threshold",
    "reconstruction_error", "roc_auc", "roc_curve",
]


def _values(x, name):
    x = np.asarray(x.numpy() if hasattr(x, "numpy") else x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
    return x


def reconstruction_error(x, reconstruction, kind="mse"):
    """Per-sample error over every axis but the first: 'mse' (mean squared) or 'mae' (mean absolute).

    >>> reconstruction_error(np.zeros((2, 2, 2)), np.array([[[1, 1], [1, 1]], [[0, 0], [0, 2]]]))
    array([1., 1.])
    """
    x, reconstruction = _values(x, "x"), _values(reconstruction, "reconstruction")
    if x.shape != reconstruction.shape:
        raise ValueError(f"x has shape {x.shape} but reconstruction has shape {reconstruction.shape}: "
                         "they must match")
    if x.ndim == 0:
        raise ValueError("reconstruction_error needs a batch axis: got a scalar")
    difference = x.astype(np.float64) - reconstruction
    if kind == "mse":
        return np.square(difference).reshape(len(x), -1).mean(axis=1)
    if kind == "mae":
        return np.abs(difference).reshape(len(x), -1).mean(axis=1)
    raise ValueError(f"kind must be 'mse' or 'mae', got {kind!r}")


def _labels_scores(y_true, scores):
    y_true, scores = _values(y_true, "y_true").ravel(), _values(scores, "scores").ravel()
    if y_true.shape != scores.shape:
        raise ValueError(f"y_true has {y_true.size} values but scores has {scores.size}: one score per label")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError(f"y_true must hold 0 (normal) and 1 (anomaly) only, got {np.unique(y_true)[:5]}")
    if not np.isfinite(scores.astype(np.float64)).all():
        raise ValueError("scores contain NaN or infinity: a diverged model or a bad input upstream")
    return y_true.astype(bool), scores.astype(np.float64)


def _counts_by_threshold(y_true, scores):
    """True and false positives when flagging `score >= t`, for each distinct score t, highest first."""
    order = np.argsort(-scores, kind="stable")
    y_true, scores = y_true[order], scores[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # ties share a threshold
    true_positives = np.cumsum(y_true)[last_of_each]
    false_positives = (last_of_each + 1) - true_positives
    return true_positives, false_positives, scores[last_of_each]


def _both_classes(y_true, what):
    if y_true.all() or not y_true.any():
        raise ValueError(f"{what} needs both normal (0) and anomalous (1) samples in y_true")


def roc_curve(y_true, scores):
    """False-positive rates, true-positive rates and the thresholds between them (from (0, 0))."""
    y_true, scores = _labels_scores(y_true, scores)
    _both_classes(y_true, "roc_curve")
    tp, fp, thresholds = _counts_by_threshold(y_true, scores)
    fpr = np.r_[0.0, fp / fp[-1]]
    tpr = np.r_[0.0, tp / tp[-1]]
    return fpr, tpr, np.r_[np.inf, thresholds]


def roc_auc(y_true, scores):
    """Area under the ROC curve: the chance that an anomaly outscores a normal sample (ties count half).

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    fpr, tpr, _ = roc_curve(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def precision_recall_curve(y_true, scores):
    """Precisions, recalls and thresholds, from the highest threshold down."""
    y_true, scores = _labels_scores(y_true, scores)
    if not y_true.any():
        raise ValueError("precision_recall_curve needs at least one anomalous (1) sample in y_true")
    tp, fp, thresholds = _counts_by_threshold(y_true, scores)
    return tp / (tp + fp), tp / tp[-1], thresholds


def average_precision(y_true, scores):
    """Precision averaged over the recall steps, sum of (R_k - R_k-1) * P_k: the PR curve's area
    without interpolation, as scikit-learn's `average_precision_score` defines it.

    >>> average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.8333333333333333
    """
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


pr_auc = average_precision


def _confusion_at(y_true, scores, threshold):
    y_true, scores = _labels_scores(y_true, scores)
    flagged = scores >= threshold
    tp = int(np.sum(flagged & y_true))
    return tp, int(np.sum(flagged & ~y_true)), int(np.sum(~flagged & y_true))


def precision_at_threshold(y_true, scores, threshold):
    """Share of flagged samples (score >= threshold) that are anomalies; 0 when none is flagged."""
    tp, fp, _ = _confusion_at(y_true, scores, threshold)
    return tp / (tp + fp) if tp + fp else 0.0


def recall_at_threshold(y_true, scores, threshold):
    """Share of anomalies flagged (score >= threshold); 0 when there are none."""
    tp, _, fn = _confusion_at(y_true, scores, threshold)
    return tp / (tp + fn) if tp + fn else 0.0


def f1_at_threshold(y_true, scores, threshold):
    """Harmonic mean of precision and recall at the threshold; 0 when both are 0."""
    tp, fp, fn = _confusion_at(y_true, scores, threshold)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def percentile_threshold(normal_scores, percentile=95.0):
    """The score below which `percentile` % of normal validation samples fall: flagging at it
    accepts about (100 - percentile) % false alarms."""
    normal_scores = _values(normal_scores, "normal_scores").ravel().astype(np.float64)
    if normal_scores.size == 0:
        raise ValueError("percentile_threshold needs at least one validation score")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {percentile}")
    return float(np.percentile(normal_scores, percentile))


def best_f1_threshold(y_true, scores):
    """The threshold (one of the scores) with the highest F1 on labelled validation data, and that F1."""
    precision, recall, thresholds = precision_recall_curve(y_true, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])
