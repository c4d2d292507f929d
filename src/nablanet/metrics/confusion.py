"""Metrics built on a confusion matrix: true and false positives and negatives of `y_pred > t`
for each threshold `t` (`TruePositives` and its kin, `Precision`, `Recall`, `AUC`, and the best
value of one rate where another reaches a target: `PrecisionAtRecall` and its kin).

>>> m = Precision()
>>> m.update_state(np.array([1, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.7]))
>>> float(m.result())
0.6666666666666666
"""

import numpy as np

from nablanet.autodiff.tensor import as_array
from nablanet.backend import epsilon
from nablanet.compat import warn_ignored
from nablanet.metrics.base import Metric, pair


def evenly_spaced(thresholds):
    """Whether thresholds are `i / (n - 1)` for i in 0..n-1 (n >= 3), up to epsilon, as Keras asks:
    Keras then counts by buckets of predictions clipped to [0, 1]."""
    thresholds = np.asarray(thresholds, np.float64)
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n) / (n - 1), atol=epsilon())


def _confusion(y_true, y_pred, thresholds, sample_weight=None, class_id=None, top_k=None, clip=False):
    """Weighted true/false positives/negatives of `y_pred > t` for every threshold t (with `clip`,
    of the predictions clipped to [0, 1] first)."""
    y_true, y_pred = pair(y_true, y_pred)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"confusion metrics (Precision, Recall, AUC, TruePositives, ...): y_true {y_true.shape} and y_pred "
            f"{y_pred.shape} must have the same shape; one-hot encode integer labels first"
        )
    if class_id is not None and y_pred.ndim < 2:
        raise ValueError(f"confusion metrics: class_id needs y_pred of shape (num_samples, num_classes), "
                         f"got {y_pred.shape}")
    if clip:
        y_pred = np.clip(y_pred, 0.0, 1.0)
    if top_k is not None:  # keep the k largest scores per row, push the rest below every threshold
        kth = -np.sort(-y_pred, axis=-1)[..., top_k - 1:top_k]
        y_pred = np.where(y_pred >= kth, y_pred, -np.inf)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    if sample_weight is None:
        weight = np.ones(y_pred.shape)
    else:  # one weight per sample, repeated along the remaining axes
        weight = np.asarray(as_array(sample_weight), np.float64)
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
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        default = 0.5 if top_k is None else -np.inf  # with top_k, every kept score counts
        self.thresholds = np.atleast_1d(default if thresholds is None else thresholds).astype(np.float64)
        if thresholds is not None and np.any((self.thresholds < 0) | (self.thresholds > 1)):
            raise ValueError(f"{type(self).__name__}: thresholds must lie in [0, 1], got {thresholds}")
        self.top_k, self.class_id = top_k, class_id
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, fn, _ = _confusion(y_true, y_pred, self.thresholds, sample_weight, self.class_id, self.top_k,
                                   clip=evenly_spaced(self.thresholds))
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += fn

    def reset_state(self):
        zeros = np.zeros(len(self.thresholds))
        self.true_positives, self.false_positives, self.false_negatives = zeros, zeros.copy(), zeros.copy()

    def _value(self, ratio):
        return np.float64(ratio[0]) if len(self.thresholds) == 1 else ratio  # one threshold: a number, as Keras

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


def _divide(a, b):
    return np.divide(a, b, out=np.zeros_like(np.asarray(a, np.float64)), where=np.asarray(b) != 0)


def _parse_thresholds(owner, thresholds):
    values = np.atleast_1d(0.5 if thresholds is None else np.asarray(thresholds, dtype=object)).tolist()
    bad = [t for t in values if t is None or not 0 <= t <= 1]
    if bad:
        raise ValueError(f"{owner}: thresholds must lie in [0, 1], got {bad}")
    return np.asarray(values, np.float64)


class _ConfusionCount(Metric):
    """The weighted count of one cell of the confusion matrix, per threshold."""

    _cell = 0  # index into (tp, fp, fn, tn)

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(type(self).__name__, thresholds)
        self._clip = evenly_spaced(self.thresholds)
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.accumulator = self.accumulator + _confusion(y_true, y_pred, self.thresholds, sample_weight,
                                                         clip=self._clip)[self._cell]

    def result(self):
        return np.float64(self.accumulator[0]) if len(self.thresholds) == 1 else self.accumulator.copy()

    def reset_state(self):
        self.accumulator = np.zeros(len(self.thresholds))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The weighted count of positives predicted positive (`y_pred > threshold`, 0.5 by default).

    >>> m = TruePositives()
    >>> m.update_state(np.array([0, 1, 1, 1]), np.array([0.9, 0.8, 0.2, 0.7]))
    >>> float(m.result())
    2.0
    """

    direction = "up"
    _cell = 0


class FalsePositives(_ConfusionCount):
    """The weighted count of negatives predicted positive (`y_pred > threshold`)."""

    _cell = 1


class FalseNegatives(_ConfusionCount):
    """The weighted count of positives predicted negative (`y_pred <= threshold`)."""

    _cell = 2


class TrueNegatives(_ConfusionCount):
    """The weighted count of negatives predicted negative (`y_pred <= threshold`)."""

    direction = "up"
    _cell = 3


class _AtTarget(Metric):
    """The best value of one rate over the thresholds where another rate reaches `value`; the
    thresholds are `num_thresholds` evenly spaced in [0, 1] (0.5 alone when 1)."""

    direction = "up"
    _target = ""  # the constructor's name for `value`

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        if value < 0 or value > 1:
            raise ValueError(f"{owner}: {self._target} must lie in [0, 1], got {value}")
        if num_thresholds <= 0:
            raise ValueError(f"{owner}: num_thresholds must be an integer > 0, got {num_thresholds}")
        super().__init__(name=name, dtype=dtype)
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        setattr(self, self._target, value)
        if num_thresholds == 1:
            self.thresholds = np.array([0.5])
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds = np.array([0.0] + inner + [1.0])
        self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = _confusion(y_true, y_pred, self.thresholds, sample_weight, class_id=self.class_id,
                            clip=len(self.thresholds) > 1)
        self._counts = self._counts + np.stack(counts)

    def reset_state(self):
        self._counts = np.zeros((4, len(self.thresholds)))  # tp, fp, fn, tn

    def _rates(self):
        tp, fp, fn, tn = self._counts
        return {"recall": _divide(tp, tp + fn), "precision": _divide(tp, tp + fp), "specificity": _divide(tn, tn + fp)}

    def _best(self, constrained, dependent):
        return np.float64(np.max(np.where(constrained >= self.value, dependent, 0.0), initial=0.0))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._target: self.value}


class SensitivityAtSpecificity(_AtTarget):
    """The best sensitivity (recall) where specificity is at least `specificity`."""

    _target = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["specificity"], rates["recall"])


class SpecificityAtSensitivity(_AtTarget):
    """The best specificity where sensitivity (recall) is at least `sensitivity`."""

    _target = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["recall"], rates["specificity"])


class PrecisionAtRecall(_AtTarget):
    """The best precision where recall is at least `recall`.

    >>> m = PrecisionAtRecall(0.5, num_thresholds=3)
    >>> m.update_state(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.8]))
    >>> float(m.result())
    0.5
    """

    _target = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["recall"], rates["precision"])


class RecallAtPrecision(_AtTarget):
    """The best recall where precision is at least `precision`."""

    _target = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def result(self):
        rates = self._rates()
        return self._best(rates["precision"], rates["recall"])


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
        super().__init__(name=name or "auc", dtype=dtype)
        curve, summation_method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR', got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                f"AUC: summation_method must be interpolation, minoring or majoring, got {summation_method!r}")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1, got {num_thresholds}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.thresholds = np.array([-epsilon()] + inner + [1.0 + epsilon()])
        self.num_thresholds, self.curve, self.summation_method = len(self.thresholds), curve, summation_method
        warn_ignored("AUC", "num_labels", num_labels, "the labels are counted in the first batch")
        self.multi_label, self.num_labels, self.from_logits = multi_label, num_labels, from_logits
        self.label_weights = None if label_weights is None else np.asarray(label_weights, np.float64)
        self._given_thresholds = thresholds
        self.reset_state()

    def reset_state(self):
        self._counts = None  # (4, thresholds[, labels]) once the first batch shows the labels

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = pair(y_true, y_pred)
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
