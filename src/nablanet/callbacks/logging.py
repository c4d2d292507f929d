"""TerminateOnNaN, CSVLogger and LambdaCallback."""

import csv
import math
import os

import numpy as np

from nablanet.callbacks.base import Callback


class TerminateOnNaN(Callback):
    """Stop training when the loss becomes NaN or infinite, and put back the weights from
    before the step that produced it, so the model keeps its last finite weights."""

    def __init__(self):
        super().__init__()
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
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
            for saved, w in zip(self._saved, self.model.weights):
                w.assign(saved)


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (columns: epoch, then the log names)."""

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

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback: {name!r} is not a callback hook")
            setattr(self, name, fn)
