"""What a search optimizes, and the callback that reports it to Optuna after every epoch."""

import math

import optuna

from nablanet.callbacks import Callback

# names whose larger values are better: Keras Tuner's (accuracies, AUC, precision, recall, true
# positives and negatives, sensitivity and specificity at the other), the scores Keras added
# since, and IoU (which Keras Tuner cannot infer); losses, errors and the other losses Keras logs
# as metrics (log-cosh, Poisson, KL divergence) are minimized, as Keras Tuner minimizes them
_MAXIMIZED = ("acc", "accuracy", "auc", "precision", "recall", "f1_score", "fbeta_score", "r2",
              "r2_score", "cosine_similarity", "true_positives", "true_negatives",
              "sensitivity_at_specificity", "specificity_at_sensitivity", "iou")
_MINIMIZED = ("loss", "error", "crossentropy", "hinge", "divergence", "mse", "mae", "mape", "msle",
              "false_positives", "false_negatives", "log_cosh", "logcosh", "poisson", "kld")


class SearchError(ValueError):
    """A search that cannot go on as configured (not one trial's failure)."""


class Objective:
    """The logged quantity a search optimizes, and whether larger or smaller is better.

    Args:
        name: A name `fit` logs, such as "val_loss" or "val_accuracy".
        direction: "min" or "max".

    Example:
        >>> Objective("val_accuracy", "max").better_than(0.9, 0.8)
        True
    """

    def __init__(self, name, direction):
        if not isinstance(name, str) or not name:
            raise ValueError(f"Objective: expected a metric name such as 'val_loss', got {name!r}")
        if direction not in ("min", "max"):
            raise ValueError(f"Objective: expected direction 'min' or 'max', got {direction!r}")
        self.name, self.direction = name, direction

    def better_than(self, a, b):
        return a > b if self.direction == "max" else a < b

    def __eq__(self, other):
        return (isinstance(other, Objective)
                and (self.name, self.direction) == (other.name, other.direction))

    def __repr__(self):
        return f"Objective(name={self.name!r}, direction={self.direction!r})"


def get(objective):
    """An Objective from a name (its direction inferred as Keras Tuner does) or an Objective.

    >>> get("val_loss"), get("accuracy").direction
    (Objective(name='val_loss', direction='min'), 'max')
    """
    if isinstance(objective, Objective):
        return objective
    if not isinstance(objective, str):
        raise ValueError(f"tuner: expected objective as a metric name or "
                         f"Objective(name, direction), got {objective!r}")
    base = objective.removeprefix("val_")
    if any(base == n or base.endswith("_" + n) for n in _MAXIMIZED):
        return Objective(objective, "max")
    if any(part in base for part in _MINIMIZED):
        return Objective(objective, "min")
    raise ValueError(f"tuner: cannot tell whether {objective!r} should be minimized or maximized; "
                     f"pass Objective({objective!r}, 'max') or Objective({objective!r}, 'min')")


class ObjectiveReporter(Callback):
    """Tracks the objective's best epoch; reports each epoch to an Optuna trial, which may prune.

    Raises `optuna.TrialPruned` when the trial's pruner says so, and `SearchError` when `fit`
    never logs the objective (with the names it does log).
    """

    def __init__(self, objective, trial=None, keep_weights=False):
        super().__init__()
        self.objective, self.trial, self.keep_weights = objective, trial, keep_weights
        self.best = self.best_epoch = self.best_weights = None
        self.logged = set()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.logged |= set(logs)
        name = self.objective.name
        if name not in logs:
            validated = any(k.startswith("val_") for k in logs)
            if validated or not name.startswith("val_"):  # it will never appear: stop now
                raise self._missing()
            return  # validation_freq skipped this epoch
        value = float(logs[name])
        improved = self.best is None or self.objective.better_than(value, self.best)
        if math.isfinite(value) and improved:
            self.best, self.best_epoch = value, epoch
            if self.keep_weights:
                self.best_weights = [w.copy() for w in self.model.get_weights()]
        if self.trial is not None:
            self.trial.report(value, epoch)
            if self.trial.should_prune():
                raise optuna.TrialPruned(f"pruned after epoch {epoch + 1} with {name}={value:.4g}")

    def on_train_end(self, logs=None):
        if self.best is None and self.objective.name not in self.logged:
            raise self._missing()

    def _missing(self):
        unvalidated = not any(k.startswith("val_") for k in self.logged)
        hint = (" Pass validation_data (or validation_split) to search to log val_ metrics."
                if self.objective.name.startswith("val_") and unvalidated else "")
        return SearchError(f"tuner: the objective {self.objective.name!r} is not logged by fit; "
                           f"logged: {', '.join(sorted(self.logged)) or 'nothing'}.{hint}")
