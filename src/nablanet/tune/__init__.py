"""Hyperparameter search with Keras Tuner's API on Optuna: grid, random and Bayesian search
that resumes after a crash and spreads over many processes or machines.

    import nablanet as keras
    from nablanet import tune

    def build_model(hp):
        model = keras.Sequential([
            keras.layers.Dense(hp.Int("units", 32, 256, step=32), activation="relu"),
            keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)),
            keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    tuner = tune.BayesianOptimization(build_model, objective="val_accuracy", max_trials=20,
                                      directory="runs", project_name="digits")
    tuner.search(x, y, epochs=10, validation_data=(x_val, y_val))
    tuner.results_summary()
    model = tuner.get_best_models()[0]

Optuna is an optional dependency: `pip install 'nablanet[tune]'`. `tuner.study` is the
`optuna.Study` underneath, for everything Optuna offers beyond this API.
"""

try:
    import optuna  # noqa: F401
except ImportError:
    raise ImportError(
        "nablanet.tune runs on Optuna, which is not installed: pip install 'nablanet[tune]' "
        "(or pip install optuna)") from None

from nablanet.tune.grid import GridSearch  # noqa: E402
from nablanet.tune.hypermodel import HyperModel  # noqa: E402
from nablanet.tune.hyperparameters import (  # noqa: E402
    Boolean, Choice, Fixed, Float, HyperParameter, HyperParameters, Int,
)
from nablanet.tune.objective import Objective, SearchError  # noqa: E402
from nablanet.tune.tuners import BayesianOptimization, RandomSearch, Tuner  # noqa: E402

__all__ = [
    "BayesianOptimization", "Boolean", "Choice", "Fixed", "Float", "GridSearch", "HyperModel",
    "HyperParameter", "HyperParameters", "Int", "Objective", "RandomSearch", "SearchError", "Tuner",
]
