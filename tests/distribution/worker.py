"""A training job the data-parallel tests run in one process and under `mpirun -n N`, then compare.

Usage: python worker.py <out folder> <json options>. Each rank writes `rank<r>.npz`: its final
weights, predictions, History and evaluation.
"""

import json
import os
import signal
import sys

import numpy as np

import nablanet as keras


def build(options):
    keras.utils.set_random_seed(options.get("seed", 1))
    layers = [keras.layers.Input(shape=(6,)), keras.layers.Dense(16, activation="tanh")]
    if options.get("batch_norm"):
        layers.append(keras.layers.BatchNormalization(synchronized=options["batch_norm"] == "synchronized"))
    if options.get("dropout"):
        layers.append(keras.layers.Dropout(options["dropout"]))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    model = keras.Sequential(layers)
    kind = options.get("optimizer", "sgd")
    optimizer = keras.optimizers.Adam(0.01) if kind == "adam" else keras.optimizers.SGD(0.1, momentum=0.9)
    if kind == "loss_scale":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2.0**10)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data(n):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")
    return x, y


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, i):
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]


class Crash(keras.callbacks.Callback):
    """Ends this process at a given global step: by a signal, or by an exception."""

    def __init__(self, rank, step, how):
        super().__init__()
        self.rank, self.step, self.how, self.seen = rank, step, how, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        replica = keras.backend.replica()
        if self.seen == self.step and (replica.rank if replica else 0) == self.rank:
            if self.how == "raise":
                raise RuntimeError("this rank fails on purpose")
            os.kill(os.getpid(), signal.SIGKILL)


def main(folder, options):
    model = build(options) if options.get("model_first") else None
    if options.get("distributed"):
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    model = model or build(options)
    x, y = data(options.get("samples", 96))
    callbacks = []
    if options.get("csv"):
        callbacks.append(keras.callbacks.CSVLogger(os.path.join(folder, "log.csv")))
    if options.get("early_stopping"):
        callbacks.append(keras.callbacks.EarlyStopping(monitor="loss", min_delta=options["early_stopping"],
                                                       patience=0))
    if options.get("backup"):
        callbacks.append(keras.callbacks.BackupAndRestore(options["backup"], save_freq=options.get("backup_freq",
                                                                                                   "epoch")))
    if options.get("crash"):
        callbacks.append(Crash(**options["crash"]))
    batch_size = options.get("batch_size", 16)
    if options.get("pydataset"):  # every rank reads each whole batch and keeps its share
        x, y = Batches(x, y, batch_size), None
    history = model.fit(x, y, batch_size=None if y is None else batch_size, epochs=options.get("epochs", 3),
                        validation_split=options.get("validation_split", 0.0), shuffle=options.get("shuffle", True),
                        verbose=options.get("verbose", 0), callbacks=callbacks)
    if y is None:
        x, y = data(options.get("samples", 96))
    predictions = np.concatenate([model.predict(x, batch_size=20, verbose=0),
                                  model.predict(x[:1], verbose=0)])  # one sample: ranks with no share skip it
    evaluation = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    evaluation.update({f"one_{k}": v for k, v in model.evaluate(x[:1], y[:1], verbose=0, return_dict=True).items()})
    replica = keras.backend.replica()
    rank = 0 if replica is None else replica.rank
    np.savez(os.path.join(folder, f"rank{rank}.npz"), *[np.asarray(w) for w in model.get_weights()],
             predictions=predictions, history=json.dumps(history.history), evaluation=json.dumps(evaluation))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
