"""Shared logic of callbacks that watch a logged value: which direction is better."""

import warnings

import numpy as np

from nablanet.callbacks.base import Callback

_HIGHER_IS_BETTER = ("acc", "accuracy", "auc", "precision", "recall", "cosine_similarity", "r2")


class MonitorCallback(Callback):
    """Resolves `mode` ("auto" reads the metric's direction) and tests for improvement:
    `monitor_op(value - min_delta, best)`, with `min_delta` signed by the direction."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__}: mode {mode!r} is unknown, falling back to 'auto'",
                          stacklevel=2)
            mode = "auto"
        self.monitor, self.mode, self.baseline = monitor, mode, baseline
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            name = self.monitor.removeprefix("val_")
            direction = None
            if name == "loss" or name.endswith("_loss"):
                direction = "down"
            for metric in getattr(self.model, "metrics", []) if self.model is not None else []:
                if metric.name == name:
                    direction = getattr(metric, "direction", direction)
            if direction is None and any(name == n or name.endswith("_" + n) for n in _HIGHER_IS_BETTER):
                direction = "up"
            if direction is None and any(s in name for s in ("error", "crossentropy", "hinge", "divergence")):
                direction = "down"
            if direction is None:
                raise ValueError(
                    f"{type(self).__name__}: cannot tell whether {self.monitor!r} should go up or down; "
                    "pass mode='max' or mode='min'"
                )
            self.monitor_op = np.greater if direction == "up" else np.less
        if self.monitor_op is np.less:
            self.min_delta = -abs(self.min_delta)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))

    def _current(self, logs, what):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"{type(self).__name__}: {what} is conditioned on {self.monitor!r}, which is not "
                f"available; available: {', '.join(logs or {})}", stacklevel=3)
        return value
