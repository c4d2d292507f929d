"""What `compile`'s arguments mean for a model's outputs: one loss, loss weight and list of
metrics per output, from a single spec, a list (one per output) or a dict (by output name), and
compile arguments rebuilt from their saved configs."""

import numpy as np

from nablanet import losses as losses_module
from nablanet import metrics as metrics_module
from nablanet import serialization
from nablanet.tree import flatten


def per_output(spec, n, names, what):
    """`spec` spread over `n` outputs named `names` (None for a model with one output)."""
    if isinstance(spec, dict):
        if names is None:
            return [spec] if n == 1 else [spec.get(i) for i in range(n)]
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} names unknown outputs {sorted(unknown)}; outputs are {names}")
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)) and n > 1 and what == "loss":
        if len(spec) != n:
            raise ValueError(f"compile: {n} outputs need {n} losses, got {len(spec)}")
        return list(spec)
    if what != "loss" and isinstance(spec, (list, tuple)) and n > 1 and spec and all(
            isinstance(s, (list, tuple)) or s is None for s in spec):
        return list(spec)
    return [spec] * n


def losses_per_output(loss, loss_weights, n, names):
    """`(losses, weights)`: each output's loss (None: no loss) and its weight in the total."""
    losses = [None if spec is None else losses_module.get(spec) for spec in per_output(loss, n, names, "loss")]
    if loss_weights is None:
        weights = [1.0] * n
    elif isinstance(loss_weights, dict):
        weights = [loss_weights.get(name, 1.0) for name in names or []]
    else:
        weights = list(loss_weights)
    return losses, weights


def metrics_per_output(metrics, weighted_metrics, ys, preds, names):
    """`[(output index, Metric, weighted)]`: each metric resolved for its output's shapes and, with
    several outputs, named after its output as Keras names it. Only the `weighted_metrics` see
    sample weights; one that shares a name with a plain metric logs as `weighted_<name>`."""
    found, taken = [], set()
    for weighted, spec_all in ((False, metrics), (True, weighted_metrics)):
        for i, (spec, y_true, prediction) in enumerate(
                zip(per_output(spec_all, len(preds), names, "metrics"), ys, preds)):
            for identifier in (spec if isinstance(spec, (list, tuple)) else [spec] if spec else []):
                metric = metrics_module.resolve(identifier, np.shape(y_true), tuple(prediction.shape))
                prefix = f"{names[i]}_" if names is not None else ""
                name = prefix + metric.name
                if weighted and name in taken:
                    name = f"{prefix}weighted_{metric.name}"
                metric.name = _unique(name, taken)
                taken.add(metric.name)
                found.append((i, metric, weighted))
    return found


def _unique(name, taken):
    """`name`, or `name_1`, `name_2`, ... when it is taken (Keras's rule for repeated metrics)."""
    if name not in taken:
        return name
    index = 1
    while f"{name}_{index}" in taken:
        index += 1
    return f"{name}_{index}"


class CompileMetrics(metrics_module.Metric):
    """The metrics `compile` was given, as one entry of `Model.metrics` (Keras's "compile_metrics"):
    `update_state(y, y_pred, sample_weight)` updates each for its output (sample weights only for
    the weighted ones) and `result()` is a dict by metric name. It is built on the first batch it
    sees, or by the model before its first step."""

    def __init__(self, metrics, weighted_metrics, output_names, align_targets):
        super().__init__(name="compile_metrics")
        self._specs, self._output_names = (metrics, weighted_metrics), output_names
        self._align_targets = align_targets  # y as a list aligned with the outputs (a dict by output name)
        self.entries = None  # [(output index, Metric, weighted)] once built

    @property
    def built(self):
        return self.entries is not None

    @property
    def metrics(self):
        return [metric for _, metric, _ in self.entries or []]

    def build(self, y_true, y_pred):
        """Resolve the metrics for outputs shaped like `y_pred`, with targets `y_true`."""
        self.entries = metrics_per_output(*self._specs, self._align_targets(y_true), flatten(y_pred),
                                          self._output_names)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.built:
            self.build(y_true, y_pred)
        y_true, y_pred = self._align_targets(y_true), flatten(y_pred)
        for i, metric, weighted in self.entries:
            metric.update_state(y_true[i], y_pred[i], sample_weight=sample_weight if weighted else None)

    def result(self):
        return {metric.name: metric.result() for metric in self.metrics}

    def reset_state(self):
        for metric in self.metrics:
            metric.reset_state()


def revive(spec, kind):
    """A compile argument from its config: names stay names (they are the metrics' log keys)."""
    if isinstance(spec, dict) and "class_name" in spec:
        return serialization.deserialize(spec, kind=kind)
    if isinstance(spec, dict):
        return {k: revive(v, kind) for k, v in spec.items()}
    if isinstance(spec, list):
        return [revive(s, kind) for s in spec]
    return spec
