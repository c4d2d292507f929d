"""TerminateOnNaN, CSVLogger and LambdaCallback."""

import csv
import math
import os

import numpy as np

from nablanet.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite, and put back the weights from
    before the step that produced it, so the model keeps its last finite weights; with
    `raise_error=True`, raise a RuntimeError there instead."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error
        self._saved = None

    def on_train_batch_begin(self, batch, logs=None):
        weights = self.model.weights
        if self._saved is None or len(self._saved) != len(weights):
            self._saved = [w.numpy().copy() for w in weights]
        else:
            for saved, w in zip(self._saved, weights):
                np.copyto(saved, w.numpy())

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"TerminateOnNaN: the loss is {loss} at batch {batch}; training stops here "
                                   "(raise_error=True)")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
            for saved, w in zip(self._saved, self.model.weights):
                w.assign(saved)


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (columns: epoch, then the log names)."""

    chief_only = True

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self._file = self._writer = self._keys = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self._keys = None
        self._header_written = exists

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self._keys,
                                          delimiter=self.separator)
            if not self._header_written:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self._keys}})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LambdaCallback(Callback):
    """A callback from functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **hooks):
        super().__init__()
        hooks.update(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end)
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: {name!r} is not a callback hook")
            if fn is not None:
                setattr(self, name, fn)
