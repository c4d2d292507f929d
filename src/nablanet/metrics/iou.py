"""Intersection-over-union metrics for segmentation and classification, from a confusion matrix
of class ids accumulated over every batch: `IoU` (chosen classes), `MeanIoU` (all of them),
`BinaryIoU` (thresholded scores) and the one-hot forms `OneHotIoU` and `OneHotMeanIoU`.

As in Keras, the state is an integer matrix by default (`dtype="int32"`): sample weights are
truncated to integers then (Keras warns, and so does nablanet); pass a float `dtype` for
fractional weights.

>>> m = MeanIoU(num_classes=2)
>>> m.update_state(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
>>> round(float(m.result()), 6)
0.333333
"""

import warnings

import numpy as np

from nablanet.autodiff.tensor import as_array
from nablanet.backend import epsilon
from nablanet.metrics.base import Metric


class _IoUBase(Metric):
    """The confusion-matrix state and its update; subclasses read it in `result`."""

    direction = "up"

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
                 axis=-1):
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes, self.ignore_class, self.axis = num_classes, ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.reset_state()

    def reset_state(self):
        self.total_cm = np.zeros((self.num_classes, self.num_classes), dtype=self.dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = np.asarray(as_array(y_true)), np.asarray(as_array(y_pred))
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        y_true, y_pred = y_true.astype(self.dtype).reshape(-1), y_pred.astype(self.dtype).reshape(-1)
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{type(self).__name__}: expected as many labels as predictions, got {y_true.size} "
                             f"and {y_pred.size}")
        if sample_weight is None:
            weight = np.ones(y_true.shape, self.dtype)
        else:
            weight = np.asarray(as_array(sample_weight))
            if np.issubdtype(weight.dtype, np.floating) and np.issubdtype(np.dtype(self.dtype), np.integer):
                warnings.warn(f"{type(self).__name__}: float sample weights are truncated to the metric's integer "
                              f"dtype {self.dtype}; pass integer weights or a float dtype", stacklevel=2)
            weight = np.broadcast_to(weight.astype(self.dtype).reshape(-1) if weight.ndim > 1
                                     else weight.astype(self.dtype), y_true.shape)
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        rows, columns = y_true[valid].astype(np.int64), y_pred[valid].astype(np.int64)
        np.add.at(self.total_cm, (rows, columns), weight[valid])

    def _iou(self, target_class_ids):
        cm = self.total_cm.astype(np.float64)
        true_positives = np.diag(cm)
        denominator = (cm.sum(axis=0) + cm.sum(axis=1) - true_positives)[list(target_class_ids)]
        true_positives = true_positives[list(target_class_ids)]
        valid = denominator > 1e-9  # classes never seen in labels nor predictions count for nothing
        iou = np.where(valid, true_positives / (denominator + epsilon()), 0.0)
        return np.float64(np.sum(iou) / (np.sum(valid) + epsilon()))


class IoU(_IoUBase):
    """Mean over `target_class_ids` of `tp / (tp + fp + fn)` per class, for integer class ids
    (or, with `sparse_y_true`/`sparse_y_pred` False, scores whose arg-max along `axis` is the id).

    Labels outside [0, num_classes) and `ignore_class` count for nothing.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"{type(self).__name__}: target class id {max(target_class_ids)} is out of range "
                             f"[0, {num_classes})")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        return self._iou(self.target_class_ids)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary labels and scores thresholded at `threshold` (`y_pred >= threshold` is 1),
    averaged over `target_class_ids` (both classes by default)."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        predicted = (np.asarray(as_array(y_pred), np.float32) >= self.threshold).astype(self.dtype)
        super().update_state(np.asarray(as_array(y_true)).astype(self.dtype), predicted, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over every class."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True, sparse_y_pred=True,
                 axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU of one-hot labels and scores (the arg-max of each along `axis`)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """Mean IoU over every class of one-hot labels and scores."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
