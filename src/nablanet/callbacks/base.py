"""Callbacks: the Keras hooks, `History` and `ProgbarLogger`.

A callback overrides any of `on_train_begin/end`, `on_epoch_begin/end`,
`on_{train,test,predict}_begin/end` and `on_{train,test,predict}_batch_begin/end`; it can read
`self.model` and `self.params` and stop training with `self.model.stop_training = True`.
"""

import numpy as np

from nablanet import backend
from nablanet.progbar import Progbar, print_msg


def is_chief():
    """Whether this process writes output: always, except under data-parallel training, where
    rank 0 alone prints and writes files."""
    replica = backend.replica()
    return replica is None or replica.is_chief


class Callback:
    """Base class: every hook does nothing. A callback whose only effect is output (printing,
    files, requests) sets `chief_only = True`: under data-parallel training only rank 0 runs it."""

    chief_only = False

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        """Calls `on_batch_begin`, Keras's older name for this hook."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Calls `on_batch_end`, Keras's older name for this hook."""
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...


_HOOKS = [
    "on_train_begin", "on_train_end", "on_test_begin", "on_test_end", "on_predict_begin",
    "on_predict_end",
]
_STEP_HOOKS = [
    "on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
    "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end",
]


class CallbackList:
    """Calls every hook on a list of callbacks, adding `History` and `ProgbarLogger` as fit does.

    `add_history=True` adds a `History` unless the list has one; `self.history` is the list's
    History (or None), and becomes `model.history`.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = list(callbacks or [])
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"callbacks: expected Callback instances, got {c!r}")
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if not is_chief():
            self.callbacks = [c for c in self.callbacks if not c.chief_only]
        self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        self.params = {"verbose": params.get("verbose", 1), "epochs": params.get("epochs", 1),
                       "steps": params.get("steps")}
        self.mode = params.get("mode", "train")
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(dict(self.params, mode=self.mode) if isinstance(c, ProgbarLogger) else dict(self.params))
        if model is not None and self.history is not None:
            model.history = self.history

    def _call(self, hook, *args):
        for c in self.callbacks:
            getattr(c, hook)(*args)


def pythonify_logs(logs):
    """Logs as Keras hands them to callbacks: sorted by name, nested dicts flattened, and each value a
    Python float where it is a number (a step may return Tensors or NumPy scalars)."""
    result = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
            continue
        try:
            value = float(np.asarray(getattr(value, "data", value)))
        except (TypeError, ValueError):
            pass  # not a number (predict's outputs): passed as it is
        result[key] = value
    return result


def _make_hook(name, with_step):
    # as Keras calls them: a dict (empty for a begin hook) every time, by keyword for the batch hooks
    if with_step == "epoch":
        def hook(self, epoch, logs=None):
            self._call(name, epoch, pythonify_logs(logs))
    elif with_step:
        def hook(self, batch, logs=None):
            logs = pythonify_logs(logs)
            for c in self.callbacks:
                getattr(c, name)(batch, logs=logs)
    else:
        def hook(self, logs=None):
            self._call(name, pythonify_logs(logs))
    hook.__name__ = name
    return hook


for _name in _HOOKS:
    setattr(CallbackList, _name, _make_hook(_name, False))
for _name in _STEP_HOOKS:
    setattr(CallbackList, _name, _make_hook(_name, "epoch" if "epoch" in _name else "batch"))


class History(Callback):
    """Records every epoch's logs: `history.history["loss"]` is the list of epoch losses."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value) if np.ndim(value) == 0 else value)

    def plot(self, directory=".", prefix="", metrics=None):
        """Save one PNG per logged quantity (with its val_ twin) against the epoch.

        Args:
            directory: The folder for the images (created if missing).
            prefix: Prepended to each file name (`{prefix}loss.png`, ...).
            metrics: The names to plot; by default every non-val_ name logged.

        Returns:
            The paths written.
        """
        try:
            import matplotlib

            matplotlib.use("Agg")
            from matplotlib import pyplot as plt
        except ImportError:
            raise ImportError(
                "History.plot needs matplotlib, which is not installed: pip install 'nablanet[plot]'"
            ) from None
        import os

        os.makedirs(directory, exist_ok=True)
        names = metrics or [k for k in self.history if not k.startswith("val_")]
        epochs = [e + 1 for e in self.epoch] or list(range(1, len(next(iter(self.history.values()), [])) + 1))
        paths = []
        for name in names:
            if name not in self.history:
                raise KeyError(f"History.plot: {name!r} was not logged; logged: {sorted(self.history)}")
            figure, axes = plt.subplots(figsize=(6, 4))
            axes.plot(epochs, self.history[name], marker="o", label=name)
            if f"val_{name}" in self.history:
                axes.plot(epochs, self.history[f"val_{name}"], marker="o", label=f"val_{name}")
            axes.set_xlabel("epoch")
            axes.set_ylabel(name)
            axes.legend()
            axes.grid(alpha=0.3)
            safe = name.replace("/", "_")
            path = os.path.join(directory, f"{prefix}{safe}.png")
            figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(figure)
            paths.append(path)
        return paths


class ProgbarLogger(Callback):
    """Prints "Epoch i/n" and a progress bar per epoch (verbose 1), or one line (verbose 2)."""

    chief_only = True

    def __init__(self):
        super().__init__()
        self.progbar = None

    def _start(self):
        # fit's logs are already running means: shown as given
        self.progbar = Progbar(self.params.get("steps"), verbose=self.params.get("verbose", 1), stateless_metrics=())
        self.seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        if self.params.get("verbose"):
            epochs = self.params.get("epochs")
            print_msg(f"Epoch {epoch + 1}/{epochs}")
        self._start()

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)

    def on_test_begin(self, logs=None):
        if self.params.get("mode") == "test":
            self._start()

    def on_test_batch_end(self, batch, logs=None):
        if self.params.get("mode") == "test":
            self.seen = batch + 1
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def on_test_end(self, logs=None):
        if self.params.get("mode") == "test":
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.progbar.update(self.seen, finalize=False)

    def on_predict_end(self, logs=None):
        self.progbar.update(self.seen, finalize=True)
