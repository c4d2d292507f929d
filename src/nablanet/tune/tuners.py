"""Keras Tuner's tuners on Optuna: `RandomSearch`, `BayesianOptimization` and the `Tuner` they
share with `GridSearch` (grid.py).

A tuner is a thin adapter. Optuna's study holds the trials (in memory, in SQLite, or in a
database that many machines share), its samplers choose the values, its pruners stop hopeless
trials; the tuner builds and trains one model per trial (trials.py), reports the objective after
every epoch (objective.py), and counts the budget so that several processes share `max_trials`
between them (workers.py). Trials' best weights are saved as weights.py describes; results.py
reads the results back.
"""

import os
import socket
import warnings

import numpy as np
import optuna
from optuna.exceptions import ExperimentalWarning

from nablanet.tune import arguments, results, workers
from nablanet.tune import hypermodel as hypermodel_module
from nablanet.tune import objective as objective_module
from nablanet.tune import storage as storage_module
from nablanet.tune import weights as weights_module
from nablanet.tune.hypermodel import HyperModel
from nablanet.tune.hyperparameters import HyperParameters

__all__ = ["BayesianOptimization", "HyperModel", "RandomSearch", "Tuner"]


class Tuner:
    """What the three tuners share; they differ in the Optuna sampler they choose values with.

    Args:
        hypermodel: `build_model(hp)` returning a compiled model, or a `HyperModel`.
        objective: A logged metric name ("val_loss", "val_accuracy": the direction is inferred
            as Keras Tuner does) or an `Objective(name, direction)`.
        max_trials: How many trials the search runs, across every worker process.
        executions_per_trial: Models trained per trial; the objective is the mean over them of
            each one's best epoch (the pruner sees the first one's epochs).
        seed: Seeds the sampler and each trial's training (`seed`, trial number, execution), so
            a one-process search is reproducible. Give each worker of a shared study its own seed.
        directory, project_name: With a directory, the study is the SQLite file
            `directory/project_name/study.db` and each trial's best weights are saved beside it,
            in a folder named after the study.
        overwrite: Delete the study with this name (and its saved weights, not other studies')
            first; otherwise a search resumes where the stored study stopped. Only for one
            process: it deletes what the other workers of a shared study are using.
        storage: A SQLAlchemy URL shared by many processes or machines (for example
            "postgresql+psycopg://user@host:5432/db"), or an Optuna storage object.
        study_name: The study's name in the storage (project_name by default).
        pruner: "median" (Optuna's MedianPruner), "hyperband", None, or an Optuna pruner.
        heartbeat_interval: Seconds between a running trial's heartbeats in a database storage;
            a trial silent for twice this long is taken for dead and rerun.
        max_consecutive_failed_trials: Stop the search with a RuntimeError (naming the last
            error) once this many trials in a row have raised, as Keras Tuner does; None never
            stops. Trials of every worker count, in the order they ended.
    """

    def __init__(self, hypermodel, objective="val_loss", max_trials=10, executions_per_trial=1,
                 seed=None, directory=None, project_name="untitled_project", overwrite=False,
                 storage=None, study_name=None, pruner="median", heartbeat_interval=10,
                 max_consecutive_failed_trials=3):
        name = type(self).__name__
        self.hypermodel = hypermodel_module.get(hypermodel, name)
        self.objective = objective_module.get(objective)
        self.executions_per_trial = arguments.positive_int(executions_per_trial,
                                                           "executions_per_trial", name)
        self.seed = arguments.seed(seed, name)
        # trials train from seeds drawn from this; each trial records its own, to train again
        self._base_seed = seed if seed is not None else np.random.SeedSequence().entropy % 2**31
        arguments.positive_int(heartbeat_interval, "heartbeat_interval", name)
        if max_consecutive_failed_trials is not None:
            arguments.positive_int(max_consecutive_failed_trials, "max_consecutive_failed_trials", name)
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.space = self._discover()
        self.max_trials = self._budget(max_trials)
        self.project_name, self.study_name = project_name, study_name or project_name
        self._folder = self._study_folder = None
        if directory is not None:
            self._folder = os.path.join(os.fspath(directory), project_name)
            self._study_folder = weights_module.folder_name(self.study_name)  # relative to self._folder
        self._url = storage if isinstance(storage, str) else None
        self._pruner = pruner
        self._storage, self._where = storage_module.open_storage(
            storage, directory, project_name, heartbeat_interval)
        if self._url is None and isinstance(self._storage, optuna.storages.RDBStorage):
            self._url = self._storage.url
        if overwrite and self._folder is not None:
            weights_module.remove(os.path.join(self._folder, self._study_folder))
        self.study, created = storage_module.open_study(
            self._storage, self.study_name, self.objective, arguments.pruner(pruner, name), overwrite)
        self._trials_at_start = len(self.study.get_trials(deepcopy=False))
        self.study.sampler = self._sampler(0)
        self._prepare(created)
        self._worker = f"{socket.gethostname()}:{os.getpid()}"
        self._fit_args, self._fit_kwargs, self._verbose = None, {}, False

    # -- what subclasses choose ---------------------------------------------------------------

    def _sampler(self, worker):
        raise NotImplementedError

    def _worker_seed(self, worker):
        """The sampler's seed, from `seed`, the worker and the trials the study held when this
        tuner opened it: a resumed search or a second worker does not draw the same values."""
        if self.seed is None:
            return None
        state = np.random.SeedSequence([self.seed, worker, self._trials_at_start]).generate_state(1)
        return int(state[0])

    def _budget(self, max_trials):
        return arguments.positive_int(max_trials, "max_trials", type(self).__name__)

    def _prepare(self, created):
        """Set the study up before the first trial (GridSearch queues its points)."""

    def _has_budget(self, counted, running, waiting):
        return len(counted) + len(running) < self.max_trials

    def _skip_reason(self, trial, counted, running):
        ahead = len(counted) + sum(1 for t in running if t.number < trial.number)
        return f"max_trials={self.max_trials} already reached" if ahead >= self.max_trials else None

    def _source(self, trial):
        return lambda spec: spec.suggest(trial)

    # -- building -----------------------------------------------------------------------------

    def _build(self, hp):
        model = self.hypermodel.build(hp)
        if not getattr(model, "compiled", False):
            raise TypeError(f"{type(self).__name__}: build_model(hp) must return a compiled model "
                            f"(call model.compile), got {model!r}")
        return model

    def _discover(self):
        """Build once with the defaults, as Keras Tuner does: it declares the search space and
        checks build_model before any trial."""
        hp = HyperParameters()
        self._build(hp)
        return hp.space

    def _learn(self, hp):
        known = {spec.name for spec in self.space}
        self.space.extend(spec for spec in hp.space if spec.name not in known)

    # -- searching ----------------------------------------------------------------------------

    def search(self, *fit_args, n_jobs=1, **fit_kwargs):
        """Run trials until the study has spent `max_trials`; arguments go to `model.fit`.

        Args:
            *fit_args, **fit_kwargs: Passed to every trial's `fit` (x, y, epochs,
                validation_data, callbacks, ...).
            n_jobs: Worker processes on this machine (forked, sharing the storage: needs
                `directory` or `storage`; on Python 3.12+ forking a process that runs threads
                warns with a DeprecationWarning). On many machines, run the same script on
                each against one database URL instead.

        Raises:
            RuntimeError: `max_consecutive_failed_trials` trials in a row raised, or a worker
                process failed.
        """
        n_jobs = arguments.positive_int(n_jobs, "n_jobs", "search")
        self._fit_args, self._fit_kwargs = fit_args, fit_kwargs
        self._verbose = fit_kwargs.get("verbose", "auto") != 0
        workers.search(self, n_jobs)

    # -- results ------------------------------------------------------------------------------

    def get_best_hyperparameters(self, num_trials=1):
        """The HyperParameters of the best completed trials, best first (fewer when fewer have
        completed). Raises RuntimeError, with the last trial's error, when none has."""
        return [results.hyperparameters(self, t)
                for t in results.completed(self, num_trials, "get_best_hyperparameters")]

    def get_best_models(self, num_models=1):
        """The best trials' models, best first: loaded from the trial's saved weights (the best
        epoch of its best execution), or, without them, trained again with the trial's seed.

        With `executions_per_trial` > 1 the trials are ranked by the mean over their
        executions, but the model returned is the trial's best execution, so it usually
        evaluates better than the trial's value. Raises RuntimeError, with the last trial's
        error, when no trial has completed.
        """
        return results.best_models(self, num_models)

    def results_summary(self, num_trials=10, print_fn=print):
        """Print a table of the trials: best completed first, then pruned, then failed."""
        results.summary(self, num_trials, print_fn)

    def search_space_summary(self, print_fn=print):
        """Print the hyperparameters declared so far, with their ranges and conditions."""
        results.space_summary(self, print_fn)

    def plot_optimization_history(self, path=None):
        """Optuna's optimization-history plot (matplotlib): saved to `path`, else returned."""
        return results.plot(self, "plot_optimization_history", path)

    def plot_param_importances(self, path=None):
        """Optuna's hyperparameter-importance plot (matplotlib): saved to `path`, else returned."""
        return results.plot(self, "plot_param_importances", path)


class RandomSearch(Tuner):
    """Values drawn at random within each hyperparameter's bounds, steps and sampling.

    Example:
        >>> import nablanet
        >>> def build_model(hp):
        ...     model = nablanet.Sequential([nablanet.layers.Dense(1, input_shape=(2,))])
        ...     lr = hp.Float("lr", 1e-4, 1e-1, sampling="log")
        ...     model.compile(optimizer=nablanet.optimizers.Adam(lr), loss="mse")
        ...     return model
        >>> tuner = RandomSearch(build_model, objective="loss", max_trials=2, seed=0)
        >>> tuner.search(np.ones((8, 2)), np.ones(8), epochs=1, verbose=0)
        >>> len(tuner.get_best_hyperparameters(2))
        2
    """

    def _sampler(self, worker):
        return optuna.samplers.RandomSampler(seed=self._worker_seed(worker))


class BayesianOptimization(Tuner):
    """Bayesian optimization: Optuna's TPE (the default) or its Gaussian-process sampler.

    Args:
        num_initial_points: Random trials before the model of the objective takes over
            (Optuna's default, 10, when None).
        sampler: "tpe" (multivariate TPE, which handles conditional hyperparameters) or "gp"
            (Optuna's GPSampler, which needs PyTorch and SciPy).
        **kwargs: As for `Tuner` (objective, max_trials, seed, directory, storage, ...).

    Example:
        >>> import nablanet
        >>> def build_model(hp):
        ...     units = hp.Int("units", 1, 8)
        ...     model = nablanet.Sequential([nablanet.layers.Dense(units, input_shape=(2,))])
        ...     model.compile(optimizer="adam", loss="mse")
        ...     return model
        >>> tuner = BayesianOptimization(build_model, objective="loss", num_initial_points=2)
        >>> type(tuner.study.sampler).__name__
        'TPESampler'
    """

    def __init__(self, hypermodel, objective="val_loss", max_trials=10, num_initial_points=None,
                 sampler="tpe", **kwargs):
        if sampler not in ("tpe", "gp"):
            raise ValueError(f"BayesianOptimization: expected sampler 'tpe' or 'gp', "
                             f"got {sampler!r}")
        if sampler == "gp":
            arguments.require_gp()
        if num_initial_points is not None:
            arguments.positive_int(num_initial_points, "num_initial_points", "BayesianOptimization")
        self.num_initial_points, self.sampler_name = num_initial_points, sampler
        super().__init__(hypermodel, objective, max_trials, **kwargs)

    def _sampler(self, worker):
        startup = {}
        if self.num_initial_points is not None:
            startup["n_startup_trials"] = self.num_initial_points
        seed = self._worker_seed(worker)
        with warnings.catch_warnings():
            # TPE's `group`, and GPSampler in older Optuna, are marked "experimental"
            warnings.simplefilter("ignore", ExperimentalWarning)
            if self.sampler_name == "gp":
                return optuna.samplers.GPSampler(seed=seed, **startup)
            # constant_liar: a running trial counts as a bad result, so workers spread out
            return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True,
                                              constant_liar=True, **startup)
