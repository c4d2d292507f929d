"""Keras Tuner's tuners on Optuna: `RandomSearch`, `BayesianOptimization` and the `Tuner` they
share with `GridSearch` (grid.py).

A tuner is a thin adapter. Optuna's study holds the trials (in memory, in SQLite, or in a
database that many machines share), its samplers choose the values, its pruners stop hopeless
trials; the tuner builds and trains one model per trial, reports the objective after every
epoch, and counts the budget so that several processes share `max_trials` between them.

Budget and workers. A trial spends budget when it completes, is pruned, or its training raises;
`max_trials` counts those across every process on the study. A process about to train checks
that the trials ahead of it leave room and otherwise records its trial as pruned without
training (user attribute "skipped"), so racing workers never train more than `max_trials`.
A trial whose process was killed is found by its stopped heartbeat, marked FAIL and queued
again with the same values (see `storage.py`); it does not count. A trial whose training raised
counts, and `max_consecutive_failed_trials` of them in a row stop the search.

Saved weights. With a directory, each trial's best weights are
`directory/project_name/<study>/trial_NNNN.weights.safetensors`, one folder per study (many
studies may share a project's folder or database), and the trial records that path relative to
`directory/project_name`, so the folder can be moved or opened from another working directory.
"""

import copy
import multiprocessing
import os
import socket
import time
import urllib.parse
import warnings

import numpy as np
import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState

from nablanet import backend
from nablanet.tune import objective as objective_module
from nablanet.tune import results
from nablanet.tune import storage as storage_module
from nablanet.tune.hyperparameters import HyperParameters
from nablanet.tune.objective import ObjectiveReporter, SearchError


class HyperModel:
    """A search space as a class: override `build(hp)`, and `fit` to tune how a model trains.

    Example:
        >>> class Wide(HyperModel):
        ...     def build(self, hp):
        ...         return hp.Int("units", 8, 64)
        >>> Wide().build(HyperParameters())
        8
    """

    def build(self, hp):
        """Return a compiled model for the hyperparameters `hp`."""
        raise NotImplementedError(f"{type(self).__name__}.build(hp) must return a compiled model")

    def fit(self, hp, model, *args, **kwargs):
        """Train `model`; the tuner passes search's arguments and its own callback."""
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    def __init__(self, build_model):
        self.build = build_model


class _TrialFailed(Exception):
    """A trial's own failure, recorded with its error; the search goes on."""


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
        self.hypermodel = _as_hypermodel(hypermodel, name)
        self.objective = objective_module.get(objective)
        self.executions_per_trial = _positive_int(executions_per_trial, "executions_per_trial",
                                                  name)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"{name}: expected seed as a non-negative integer or None, "
                             f"got {seed!r}")
        self.seed = seed
        # trials train from seeds drawn from this; each trial records its own, to train again
        self._base_seed = seed if seed is not None else np.random.SeedSequence().entropy % 2**31
        _positive_int(heartbeat_interval, "heartbeat_interval", name)
        if max_consecutive_failed_trials is not None:
            _positive_int(max_consecutive_failed_trials, "max_consecutive_failed_trials", name)
        self.max_consecutive_failed_trials = max_consecutive_failed_trials
        self.space = self._discover()
        self.max_trials = self._budget(max_trials)
        self.project_name, self.study_name = project_name, study_name or project_name
        self._folder = self._study_folder = None
        if directory is not None:
            self._folder = os.path.join(os.fspath(directory), project_name)
            self._study_folder = _folder_name(self.study_name)  # relative to self._folder
        self._url = storage if isinstance(storage, str) else None
        self._pruner = pruner
        self._storage, self._where = storage_module.open_storage(
            storage, directory, project_name, heartbeat_interval)
        if self._url is None and isinstance(self._storage, optuna.storages.RDBStorage):
            self._url = self._storage.url
        if overwrite and self._folder is not None:
            _remove_weights(os.path.join(self._folder, self._study_folder))
        self.study, created = storage_module.open_study(
            self._storage, self.study_name, self.objective, _pruner(pruner, name), overwrite)
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
        return _positive_int(max_trials, "max_trials", type(self).__name__)

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
        n_jobs = _positive_int(n_jobs, "n_jobs", "search")
        self._fit_args, self._fit_kwargs = fit_args, fit_kwargs
        self._verbose = fit_kwargs.get("verbose", "auto") != 0
        children = self._fork(n_jobs - 1) if n_jobs > 1 else []
        try:
            self._work()
        finally:
            for child in children:
                child.join()
        failed = [c.exitcode for c in children if c.exitcode != 0]
        if failed:
            raise RuntimeError(f"search: {len(failed)} worker process(es) failed (exit codes "
                               f"{failed}); their errors are printed above")

    def _work(self):
        with storage_module.quiet_optuna():
            while True:
                storage_module.fail_stale_trials(self.study)
                counted, running, waiting = storage_module.tally(self.study)
                if self._has_budget(counted, running, waiting):
                    with warnings.catch_warnings():  # older Optuna warns on every trial
                        warnings.filterwarnings("ignore", "fail_stale_trials is experimental",
                                                ExperimentalWarning)
                        self.study.optimize(self._objective, callbacks=[self._after_trial],
                                            catch=(_TrialFailed,))
                elif running and storage_module.has_heartbeat(self._storage):
                    time.sleep(0.5)  # others' trials: they finish, or die and are queued again
                else:
                    return

    def _objective(self, trial):
        if storage_module.has_heartbeat(self._storage):
            # Optuna's heartbeat thread writes its first beat a moment later, and it never calls
            # a trial without a beat stale: a process killed in between would leave the trial
            # RUNNING forever. So beat once now (Optuna has no public trial id).
            self._storage.record_heartbeat(trial._trial_id)
        trial.set_user_attr("worker", self._worker)
        counted, running, _ = storage_module.tally(self.study)
        frozen = next(t for t in running if t.number == trial.number)
        if frozen.user_attrs.get("skipped"):  # a rerun of a killed trial copies its attributes
            trial.set_user_attr("skipped", None)
        reason = self._skip_reason(frozen, counted, running)
        if reason:
            trial.set_user_attr("skipped", reason)
            raise optuna.TrialPruned(f"skipped: {reason}")
        try:
            return self._run_trial(trial)
        except optuna.TrialPruned:
            raise
        except (SearchError, KeyboardInterrupt):
            if "fixed_params" in frozen.system_attrs:  # give a queued point back before stopping
                self.study.enqueue_trial(frozen.system_attrs["fixed_params"])
            raise
        except Exception as error:
            trial.set_user_attr("error", f"{type(error).__name__}: {error}"[:2000])
            raise _TrialFailed(f"trial {trial.number}: {type(error).__name__}: {error}") from error

    def _run_trial(self, trial):
        state = np.random.SeedSequence([self._base_seed, trial.number]).generate_state(1)
        seed = int(state[0] % 2**31)
        trial.set_user_attr("seed", seed)
        hp = HyperParameters._from(self.space, source=self._source(trial))
        values, best = [], None
        for execution in range(self.executions_per_trial):
            if execution:
                hp = HyperParameters._from(self.space, values=hp.values)
            model, reporter = self._train(hp, seed + execution, trial if execution == 0 else None,
                                          keep_weights=self._folder is not None)
            if reporter.best is None:
                raise FloatingPointError(
                    f"{self.objective.name} was NaN or infinite in every epoch")
            values.append(reporter.best)
            if best is None or self.objective.better_than(reporter.best, best[0]):
                best = (reporter.best, execution, model, reporter)
        trial.set_user_attr("executions", values)
        trial.set_user_attr("best_execution", best[1])
        trial.set_user_attr("best_epoch", best[3].best_epoch)
        if self._folder is not None:
            model, weights = best[2], best[3].best_weights
            model.set_weights(weights)
            name = f"{self._study_folder}/trial_{trial.number:04d}.weights.safetensors"
            model.save_weights(os.path.join(self._folder, name))  # atomic: temp file + rename
            trial.set_user_attr("weights", name)
        return float(np.mean(values))

    def _train(self, hp, seed, trial=None, keep_weights=False):
        backend.set_random_seed(seed)
        model = self._build(hp)
        if trial is not None:  # now, for a failed fit, and again after fit, which may declare more
            trial.set_user_attr("hyperparameters", dict(hp.values))
        reporter = ObjectiveReporter(self.objective, trial, keep_weights)
        kwargs = dict(self._fit_kwargs)
        kwargs["callbacks"] = [*copy.deepcopy(list(kwargs.get("callbacks") or [])), reporter]
        self.hypermodel.fit(hp, model, *self._fit_args, **kwargs)
        self._learn(hp)
        if trial is not None:
            trial.set_user_attr("hyperparameters", dict(hp.values))
        return model, reporter

    def _after_trial(self, study, trial):
        if self._verbose and trial.user_attrs.get("worker") == self._worker:
            results.print_trial(self, trial)
        if trial.state == TrialState.FAIL and storage_module.is_counted(trial):
            self._check_failures(study)
        if not self._has_budget(*storage_module.tally(study)):
            study.stop()

    def _check_failures(self, study):
        """Raise once the last `max_consecutive_failed_trials` trials to end all raised: a
        build_model or fit that always fails stops the search instead of spending its budget."""
        limit = self.max_consecutive_failed_trials
        if limit is None:
            return
        ended = storage_module.ended(study)
        failed = 0
        for trial in reversed(ended):
            if trial.state != TrialState.FAIL:
                break
            failed += 1
        if failed >= limit:
            raise RuntimeError(
                f"search: stopped after {failed} trials in a row failed "
                f"(max_consecutive_failed_trials={limit}); {_last_error(ended)}")

    def _fork(self, count):
        # fork, not spawn or forkserver: a child needs this tuner, whose build_model may be a
        # lambda or a closure (which pickle cannot send), and the fit data (which it would copy).
        # A child drops the nablanet thread pool it inherits (backend.py); Python 3.12 and later
        # still warn (DeprecationWarning) when a process with threads forks, as that can deadlock
        # a child on a lock some other thread held.
        if self._url is None:
            raise ValueError("search: n_jobs > 1 runs worker processes that reconnect to the "
                             "study; pass directory= (SQLite) or a database URL as storage=")
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:
            raise ValueError("search: n_jobs > 1 needs fork (Linux, macOS); on this system start "
                             "the same script several times against one storage") from None
        children = [context.Process(target=self._child, args=(worker,))
                    for worker in range(1, count + 1)]
        for child in children:
            child.start()
        return children

    def _child(self, worker):
        self._storage.engine.dispose(close=False)  # the parent's connections stay the parent's
        self._storage = storage_module.database_storage(self._url, self._storage.heartbeat_interval)
        self.study = optuna.load_study(study_name=self.study_name, storage=self._storage,
                                       sampler=self._sampler(worker),
                                       pruner=_pruner(self._pruner, "search"))
        self._worker = f"{socket.gethostname()}:{os.getpid()}"
        self._work()

    # -- results ------------------------------------------------------------------------------

    def _best_trials(self, n):
        done = [t for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        sign = -1 if self.objective.direction == "max" else 1
        return sorted(done, key=lambda t: sign * t.value)[:n]

    def _hyperparameters(self, trial):
        values = trial.user_attrs.get("hyperparameters", trial.params)
        return HyperParameters._from(self.space, values=values)

    def _completed(self, num, where):
        best = self._best_trials(num)
        if best:
            return best
        ended = storage_module.ended(self.study)
        failed = sum(t.state == TrialState.FAIL for t in ended)
        if failed:
            why = f"{failed} failed, {_last_error(ended)}"
        elif ended:
            why = f"all {len(ended)} were pruned"
        else:
            why = "run search first"
        raise RuntimeError(f"{where}: the study {self.study_name!r} has no completed trials; {why}")

    def get_best_hyperparameters(self, num_trials=1):
        """The HyperParameters of the best completed trials, best first (fewer when fewer have
        completed). Raises RuntimeError, with the last trial's error, when none has."""
        return [self._hyperparameters(t)
                for t in self._completed(num_trials, "get_best_hyperparameters")]

    def get_best_models(self, num_models=1):
        """The best trials' models, best first: loaded from the trial's saved weights (the best
        epoch of its best execution), or, without them, trained again with the trial's seed.

        With `executions_per_trial` > 1 the trials are ranked by the mean over their
        executions, but the model returned is the trial's best execution, so it usually
        evaluates better than the trial's value. Raises RuntimeError, with the last trial's
        error, when no trial has completed.
        """
        models = []
        for trial in self._completed(num_models, "get_best_models"):
            hp = self._hyperparameters(trial)
            stored = trial.user_attrs.get("weights")
            path = self._weights_path(stored) if stored else None
            if path and os.path.exists(path):
                model = self._build(hp)
                self._build_for_data(model)
                model.load_weights(path)
            elif self._fit_args is not None:
                seed = trial.user_attrs["seed"] + trial.user_attrs.get("best_execution", 0)
                model, reporter = self._train(hp, seed, keep_weights=True)
                model.set_weights(reporter.best_weights)
            else:
                worker = trial.user_attrs.get("worker")
                where = f"at {path} (saved by {worker})" if path else "saved"
                raise FileNotFoundError(
                    f"get_best_models: trial {trial.number}'s weights are not {where}; call search "
                    "in this process first (it then trains the model again) or copy the file here")
            models.append(model)
        return models

    def _weights_path(self, stored):
        """A trial's weights file: stored relative to the tuner's folder; older versions stored
        the path itself (absolute, or relative to the working directory of the search)."""
        if self._folder is None:
            return stored
        path = os.path.join(self._folder, stored)
        return stored if not os.path.exists(path) and os.path.exists(stored) else path

    def _build_for_data(self, model):
        if getattr(model, "built", True) or not self._fit_args:
            return
        x = self._fit_args[0]
        if isinstance(x, np.ndarray):
            model.predict(x[:1], verbose=0)

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
            _require_gp()
        if num_initial_points is not None:
            _positive_int(num_initial_points, "num_initial_points", "BayesianOptimization")
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


def _require_gp():
    try:
        import scipy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"BayesianOptimization(sampler='gp') runs Optuna's GPSampler, which needs PyTorch and "
            f"SciPy ({error.name} is missing): pip install torch scipy; or use sampler='tpe', "
            "which needs neither") from None


def _pruner(pruner, where):
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner()
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    raise ValueError(f"{where}: expected pruner 'median', 'hyperband', None or an Optuna pruner, "
                     f"got {pruner!r}")


def _as_hypermodel(hypermodel, where):
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return _FunctionHyperModel(hypermodel)
    raise TypeError(f"{where}: expected build_model(hp) or a HyperModel, got {hypermodel!r}")


def _positive_int(value, name, where):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: expected {name} as a positive integer, got {value!r}")
    return value


def _folder_name(study_name):
    """The folder of a study's weights: its name with every character that a path could misread
    escaped (`/`, `.`, `%`, ...), reversibly, so that two studies never share a folder."""
    return urllib.parse.quote(study_name, safe="").replace(".", "%2E")


def _remove_weights(folder):
    if os.path.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith("trial_") and name.endswith(".weights.safetensors"):
                os.remove(os.path.join(folder, name))
        if not os.listdir(folder):
            os.rmdir(folder)


def _last_error(ended):
    """The error of the last trial that raised, among trials in the order they ended."""
    trial = next(t for t in reversed(ended) if t.state == TrialState.FAIL)
    return f"the last, trial {trial.number}, raised {trial.user_attrs['error']}"


