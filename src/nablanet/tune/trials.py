"""One trial of a search: skip it when the budget is spent, else build and train its models,
report the objective to Optuna, and keep the best weights.

A trial spends budget when it completes, is pruned, or its training raises. A process about to
train checks that the trials ahead of it leave room and otherwise records its trial as pruned
without training (user attribute "skipped"), so racing workers never train more than
`max_trials`. A trial whose training raised records its error and counts.
"""

import copy

import numpy as np
import optuna

from nablanet import backend
from nablanet.tune import storage as storage_module
from nablanet.tune import weights as weights_module
from nablanet.tune.hyperparameters import HyperParameters
from nablanet.tune.objective import ObjectiveReporter, SearchError


class TrialFailed(Exception):
    """A trial's own failure, recorded with its error; the search goes on."""


def objective(tuner, trial):
    """Optuna's objective for `tuner`: the trial's value, or TrialPruned, or TrialFailed."""
    if storage_module.has_heartbeat(tuner._storage):
        # Optuna's heartbeat thread writes its first beat a moment later, and it never calls
        # a trial without a beat stale: a process killed in between would leave the trial
        # RUNNING forever. So beat once now (Optuna has no public trial id).
        tuner._storage.record_heartbeat(trial._trial_id)
    trial.set_user_attr("worker", tuner._worker)
    counted, running, _ = storage_module.tally(tuner.study)
    frozen = next(t for t in running if t.number == trial.number)
    if frozen.user_attrs.get("skipped"):  # a rerun of a killed trial copies its attributes
        trial.set_user_attr("skipped", None)
    reason = tuner._skip_reason(frozen, counted, running)
    if reason:
        trial.set_user_attr("skipped", reason)
        raise optuna.TrialPruned(f"skipped: {reason}")
    try:
        return run(tuner, trial)
    except optuna.TrialPruned:
        raise
    except (SearchError, KeyboardInterrupt):
        if "fixed_params" in frozen.system_attrs:  # give a queued point back before stopping
            tuner.study.enqueue_trial(frozen.system_attrs["fixed_params"])
        raise
    except Exception as error:
        trial.set_user_attr("error", f"{type(error).__name__}: {error}"[:2000])
        raise TrialFailed(f"trial {trial.number}: {type(error).__name__}: {error}") from error


def run(tuner, trial):
    """Train the trial's `executions_per_trial` models; return the mean of their best epochs."""
    state = np.random.SeedSequence([tuner._base_seed, trial.number]).generate_state(1)
    seed = int(state[0] % 2**31)
    trial.set_user_attr("seed", seed)
    hp = HyperParameters._from(tuner.space, source=tuner._source(trial))
    values, best = [], None
    for execution in range(tuner.executions_per_trial):
        if execution:
            hp = HyperParameters._from(tuner.space, values=hp.values)
        model, reporter = train(tuner, hp, seed + execution, trial if execution == 0 else None,
                                keep_weights=tuner._folder is not None)
        if reporter.best is None:
            raise FloatingPointError(
                f"{tuner.objective.name} was NaN or infinite in every epoch")
        values.append(reporter.best)
        if best is None or tuner.objective.better_than(reporter.best, best[0]):
            best = (reporter.best, execution, model, reporter)
    trial.set_user_attr("executions", values)
    trial.set_user_attr("best_execution", best[1])
    trial.set_user_attr("best_epoch", best[3].best_epoch)
    if tuner._folder is not None:
        name = weights_module.save(best[2], best[3].best_weights, tuner._folder, tuner._study_folder,
                                   trial.number)
        trial.set_user_attr("weights", name)
    return float(np.mean(values))


def train(tuner, hp, seed, trial=None, keep_weights=False):
    """Build and fit one model for `hp` from `seed`; return `(model, reporter)`."""
    backend.set_random_seed(seed)
    model = tuner._build(hp)
    if trial is not None:  # now, for a failed fit, and again after fit, which may declare more
        trial.set_user_attr("hyperparameters", dict(hp.values))
    reporter = ObjectiveReporter(tuner.objective, trial, keep_weights)
    kwargs = dict(tuner._fit_kwargs)
    kwargs["callbacks"] = [*copy.deepcopy(list(kwargs.get("callbacks") or [])), reporter]
    tuner.hypermodel.fit(hp, model, *tuner._fit_args, **kwargs)
    tuner._learn(hp)
    if trial is not None:
        trial.set_user_attr("hyperparameters", dict(hp.values))
    return model, reporter
