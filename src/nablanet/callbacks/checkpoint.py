"""ModelCheckpoint and BackupAndRestore: never lose a model, resume an interrupted fit."""

import json
import os

import numpy as np

from nablanet import backend
from nablanet.callbacks.base import Callback, is_chief
from nablanet.callbacks.monitor import MonitorCallback
from nablanet.compat import warn_ignored


class ModelCheckpoint(MonitorCallback):
    """Save the model (or its weights) every epoch or every `save_freq` batches.

    Args:
        filepath: May hold `{epoch:02d}` (1-based), `{batch}` and any logged value such as
            `{val_loss:.2f}`. The file is what `Model.save` writes for its name (`.h5`: Keras's
            HDF5 model format); with `save_weights_only`, safetensors.
        monitor, mode: The value that decides "best", and its direction.
        save_best_only: Save only when `monitor` improves.
        save_weights_only: Save the weights only.
        save_freq: "epoch", or a number of batches.
        initial_value_threshold: A value the first saved model must beat.
    """

    chief_only = True

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive int, got {save_freq!r}")
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only, self.save_freq = save_best_only, save_weights_only, save_freq
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches >= self.save_freq:
                self._batches = 0
                self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _path(self, epoch, batch, logs):
        values = {k: v for k, v in (logs or {}).items() if "/" not in k}
        try:
            if batch is None:
                return self.filepath.format(epoch=epoch + 1, **values)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **values)
        except (KeyError, IndexError) as error:
            raise KeyError(f"ModelCheckpoint: cannot format {self.filepath!r}: no logged value {error}") from None

    def _save(self, epoch, batch, logs):
        if self.monitor_op is None:
            self._set_monitor_op()
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            current = (logs or {}).get(self.monitor)
            if current is None:
                self._current(logs, "checkpointing")
                return
            if not self._is_improvement(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                previous = "inf" if self.best is None else f"{self.best:.5f}"
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {previous} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class BackupAndRestore(Callback):
    """Back up the model, its optimizer state, the epoch and the random generator's state at the
    end of every epoch (or every `save_freq` batches); when `fit` starts and a backup exists, restore
    it and continue from the next epoch, so an interrupted run ends where an uninterrupted one would.

    Args:
        backup_dir: The folder for the backup (one atomic archive, `latest.nbz`).
        save_freq: "epoch", or a number of batches (a mid-epoch backup resumes at the epoch's start).
        delete_checkpoint: Delete the backup when training finishes.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir is required")
        warn_ignored("BackupAndRestore", "double_checkpoint", double_checkpoint,
                     "the one backup is replaced atomically, never left half-written", default=False)
        self.backup_dir, self.save_freq, self.delete_checkpoint = os.fspath(backup_dir), save_freq, delete_checkpoint
        self.path = os.path.join(self.backup_dir, "latest.nbz")
        self._batches = 0
        self._epoch = 0

    def on_train_begin(self, logs=None):
        if not os.path.exists(self.path):
            return
        from nablanet.saving.archive import read_archive, restore_training_state

        entries = read_archive(self.path)
        state = json.loads(entries["training.json"])
        restore_training_state(self.model, entries, self.path)
        backend.generator().bit_generator.state = state["rng"]
        self.model.resume_epoch = state["epoch"] + (1 if state["epoch_complete"] else 0)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._rng_at_epoch_start = backend.generator().bit_generator.state

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq != "epoch":
            self._batches += 1
            if self._batches >= self.save_freq:
                self._batches = 0
                self._backup(self._epoch, complete=False, rng=self._rng_at_epoch_start)

    def on_epoch_end(self, epoch, logs=None):
        self._backup(epoch, complete=True, rng=backend.generator().bit_generator.state)

    def _backup(self, epoch, complete, rng):
        from nablanet.saving.archive import save_model

        if not is_chief():  # under data parallelism, rank 0 writes the one backup all ranks restore from
            return
        state = {"epoch": epoch, "epoch_complete": complete, "rng": _encode_state(rng)}
        save_model(self.model, self.path, extra={"training.json": json.dumps(state).encode("utf-8")})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and is_chief() and os.path.exists(self.path):
            os.remove(self.path)


def _encode_state(state):
    return json.loads(json.dumps(state, default=lambda v: v.tolist() if isinstance(v, np.ndarray) else str(v)))
