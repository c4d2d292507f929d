"""Hyperparameter search on scikit-learn's digits: twelve random trials against twelve Bayesian
(TPE) trials over an MLP's width, dropout and learning rate, with Optuna underneath; the
results tables and the optimization-history plots."""

import os
import tempfile
import time

import numpy as np

TRIALS = 12


def digits_split(seed=0):
    from sklearn.datasets import load_digits

    from nablanet.data import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    return train_test_split(x, data.target, train_size=600, test_size=400, random_state=seed,
                            stratify=data.target)


def build_model(hp):
    import nablanet as keras
    from nablanet import layers

    model = keras.Sequential([
        layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu", input_shape=(64,)),
        layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)),
        layers.Dense(10, activation="softmax"),
    ])
    learning_rate = hp.Float("learning_rate", 1e-4, 3e-2, sampling="log")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def search(kind, data, directory, trials=TRIALS, epochs=8, seed=0):
    """Run one search; return the tuner and the seconds it took."""
    from nablanet import tune

    x_train, x_val, y_train, y_val = data
    common = {"objective": "val_accuracy", "max_trials": trials, "seed": seed,
              "directory": directory, "project_name": kind, "overwrite": True}
    if kind == "random":
        tuner = tune.RandomSearch(build_model, **common)
    else:
        tuner = tune.BayesianOptimization(build_model, num_initial_points=max(2, trials // 3),
                                          **common)
    began = time.perf_counter()
    tuner.search(x_train, y_train, epochs=epochs, batch_size=32, validation_data=(x_val, y_val),
                 verbose=0)
    return tuner, time.perf_counter() - began


def run(out=print, directory=None, trials=TRIALS, epochs=8):
    try:
        import optuna  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        out("(the tuning demo needs Optuna and scikit-learn's digits: "
            "pip install 'nablanet[tune,datasets]')")
        return {}
    from optuna.trial import TrialState

    directory = directory or tempfile.mkdtemp(prefix="nablanet-tune-")
    data = digits_split()
    out("")
    out(f"Hyperparameter search: an MLP on digits ({len(data[0])} train / {len(data[1])} "
        "validation),")
    out(f"units 16-128, dropout 0-0.5, learning rate 1e-4-3e-2 (log); {trials} trials of {epochs} "
        "epochs each, the median pruner stopping hopeless ones")
    found = {}
    for kind, label in (("random", "Random search"), ("bayesian", "Bayesian optimization (TPE)")):
        tuner, seconds = search(kind, data, directory, trials, epochs)
        out("")
        out(f"{label}, {seconds:.1f} s:")
        tuner.results_summary(num_trials=5, print_fn=lambda line: out("  " + line))
        complete = [t.value for t in tuner.study.get_trials(states=(TrialState.COMPLETE,))]
        found[kind] = {"best": max(complete), "median": float(np.median(complete)),
                       "pruned": len(tuner.study.get_trials(states=(TrialState.PRUNED,))),
                       "seconds": seconds, "tuner": tuner}
        try:
            path = os.path.join(directory, f"{kind}_history.png")
            found[kind]["plot"] = tuner.plot_optimization_history(path)
        except ImportError:
            found[kind]["plot"] = None
    out("")
    out(f"  {'':<10}{'best val_accuracy':>19}{'median':>9}{'pruned':>8}")
    for kind, r in found.items():
        out(f"  {kind:<10}{r['best']:>19.4f}{r['median']:>9.4f}{r['pruned']:>8}")
    plots = [r["plot"] for r in found.values() if r["plot"]]
    out(f"  Optimization-history plots: {', '.join(plots)}" if plots else
        "  (no plots: matplotlib is not installed; pip install 'nablanet[plot]')")
    out("  (one seed and a few trials are a demo, not a verdict: benchmarks/tune.py averages "
        "seeds)")
    return found
