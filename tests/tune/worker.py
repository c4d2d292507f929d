"""One search worker, started by the tests as its own process (as a second machine would be):

    python worker.py grid|random STORAGE_URL STUDY LOG [--max-trials N] [--seed S] [--sleep SECONDS]

Each model it trains appends `train <pid> <values>` to LOG when training begins and
`done <pid> <values>` when it ends, so a test can see who trained what, and how often.
"""

import argparse
import json
import os
import time

import numpy as np

CURRENT = {}  # the values of the model being built: trials run one at a time in a process
KIND = None  # "grid" or "random", from the command line


def build_model(hp):
    import nablanet as nn

    if KIND == "grid":
        units = hp.Int("units", 2, 8, step=2)
        activation = hp.Choice("activation", ["relu", "tanh"])
        lr = 0.01
    else:
        units, activation = hp.Int("units", 2, 8), "relu"
        lr = hp.Float("lr", 1e-3, 1e-1, sampling="log")  # continuous: a trial's fingerprint
    CURRENT.clear()
    CURRENT.update(hp.values)
    model = nn.Sequential([nn.layers.Dense(units, activation=activation, input_shape=(3,)),
                           nn.layers.Dense(1)])
    model.compile(optimizer=nn.optimizers.Adam(lr), loss="mse")
    return model


def make_log(path, sleep):
    from nablanet.callbacks import Callback

    class Log(Callback):
        def _write(self, event):
            with open(path, "a") as f:
                f.write(f"{event} {os.getpid()} {json.dumps(CURRENT, sort_keys=True)}\n")

        def on_train_begin(self, logs=None):
            self._write("train")

        def on_epoch_end(self, epoch, logs=None):
            time.sleep(sleep)

        def on_train_end(self, logs=None):
            self._write("done")

    return Log()


def main():
    global KIND
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["grid", "random"])
    parser.add_argument("storage")
    parser.add_argument("study")
    parser.add_argument("log")
    parser.add_argument("--max-trials", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--sleep", type=float, default=0.0)
    args = parser.parse_args()
    KIND = args.kind
    from nablanet import tune

    cls = tune.GridSearch if args.kind == "grid" else tune.RandomSearch
    kwargs = {} if args.max_trials is None else {"max_trials": args.max_trials}
    tuner = cls(build_model, objective="val_loss", storage=args.storage, study_name=args.study,
                seed=args.seed, pruner=None, heartbeat_interval=1, **kwargs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]])).astype("float32")
    tuner.search(x[:32], y[:32], epochs=2, validation_data=(x[32:], y[32:]), verbose=0,
                 callbacks=[make_log(args.log, args.sleep)])


if __name__ == "__main__":
    main()
