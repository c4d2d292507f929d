"""GradientMonitor: watch convergence layer by layer, and warn when it goes wrong."""

import math
import warnings

import numpy as np

from nablanet.callbacks.base import Callback


def _owner(weight):
    """The name of the layer that made `weight` (the part of its path before its name)."""
    parts = weight.path.split("/")
    return parts[-2] if len(parts) > 1 else parts[0]


class ConvergenceWarning(UserWarning):
    """Vanishing or exploding gradients, or a diverging loss."""


class GradientMonitor(Callback):
    """Log, per layer and per epoch, the mean gradient norm, the weight norm and the ratio of
    the epoch's update to the weights, as `grad_norm/<layer>`, `weight_norm/<layer>` and
    `update_ratio/<layer>` in the logs (and so in `history`); warn about trouble.

    Args:
        vanishing: Warn when a layer's mean gradient norm falls below this.
        exploding: Warn when a layer's mean gradient norm exceeds this.
        divergence: Warn when the loss is not finite, or exceeds `divergence` times the first
            epoch's loss, or has risen for `patience` epochs in a row.
        patience: Epochs of rising loss before warning.
    """

    def __init__(self, vanishing=1e-7, exploding=1e3, divergence=10.0, patience=3):
        super().__init__()
        self.vanishing, self.exploding, self.divergence, self.patience = vanishing, exploding, divergence, patience

    def _layers(self):
        groups = {}
        for w in self.model.trainable_weights:
            groups.setdefault(_owner(w), []).append(w)
        return groups

    def on_train_begin(self, logs=None):
        self.first_loss, self.previous_loss, self.rising = None, None, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.sums, self.steps = {}, 0
        self.start = {id(w): w.numpy().copy() for w in self.model.trainable_weights}

    def on_train_batch_end(self, batch, logs=None):
        grads = self.model.last_gradients
        if not grads:
            return
        self.steps += 1
        for w, g in zip(self.model.trainable_weights, grads):
            layer = _owner(w)
            self.sums[layer] = self.sums.get(layer, 0.0) + float(np.vdot(g, g))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        for layer, weights in self._layers().items():
            if self.steps:
                grad_norm = math.sqrt(self.sums.get(layer, 0.0) / self.steps)
                logs[f"grad_norm/{layer}"] = grad_norm
                if grad_norm < self.vanishing:
                    warnings.warn(f"GradientMonitor: epoch {epoch + 1}: the gradients of {layer!r} are "
                                  f"vanishing (norm {grad_norm:.2e})", ConvergenceWarning, stacklevel=2)
                elif grad_norm > self.exploding or not math.isfinite(grad_norm):
                    warnings.warn(f"GradientMonitor: epoch {epoch + 1}: the gradients of {layer!r} are "
                                  f"exploding (norm {grad_norm:.2e})", ConvergenceWarning, stacklevel=2)
            norm = math.sqrt(sum(float(np.vdot(w.numpy(), w.numpy())) for w in weights))
            moved = math.sqrt(sum(float(np.sum((w.numpy() - self.start[id(w)]) ** 2))
                                  for w in weights if id(w) in self.start))
            logs[f"weight_norm/{layer}"] = norm
            logs[f"update_ratio/{layer}"] = moved / norm if norm else 0.0
        self._check_loss(epoch, logs.get("loss"))

    def _check_loss(self, epoch, loss):
        if loss is None:
            return
        if not math.isfinite(loss):
            warnings.warn(f"GradientMonitor: epoch {epoch + 1}: the loss is {loss}", ConvergenceWarning, stacklevel=3)
            return
        if self.first_loss is None:
            self.first_loss = loss
        self.rising = self.rising + 1 if self.previous_loss is not None and loss > self.previous_loss else 0
        self.previous_loss = loss
        if loss > self.divergence * self.first_loss or self.rising >= self.patience:
            warnings.warn(f"GradientMonitor: epoch {epoch + 1}: the loss is diverging ({loss:.4g}, first "
                          f"epoch {self.first_loss:.4g}, rising for {self.rising} epochs); lower the learning "
                          "rate", ConvergenceWarning, stacklevel=3)
