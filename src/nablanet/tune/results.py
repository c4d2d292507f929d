"""A tuner's results: its best trials, their hyperparameters and models, as text (the trials
table, the search space, one line per trial) and as Optuna's matplotlib plots."""

import os
import warnings

import numpy as np
from optuna.trial import TrialState

from nablanet.tune import storage as storage_module
from nablanet.tune import trials as trials_module
from nablanet.tune import weights as weights_module
from nablanet.tune.hyperparameters import HyperParameters
from nablanet.tune.storage import is_counted

_ORDER = {TrialState.COMPLETE: 0, TrialState.PRUNED: 1, TrialState.FAIL: 2}
_STATE = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}


def best_trials(tuner, n):
    """The `n` best completed trials, best first."""
    done = [t for t in tuner.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    sign = -1 if tuner.objective.direction == "max" else 1
    return sorted(done, key=lambda t: sign * t.value)[:n]


def hyperparameters(tuner, trial):
    """The HyperParameters a trial's models used."""
    values = trial.user_attrs.get("hyperparameters", trial.params)
    return HyperParameters._from(tuner.space, values=values)


def completed(tuner, num, where):
    """The `num` best completed trials; RuntimeError, saying why, when there is none."""
    best = best_trials(tuner, num)
    if best:
        return best
    ended = storage_module.ended(tuner.study)
    failed = sum(t.state == TrialState.FAIL for t in ended)
    if failed:
        why = f"{failed} failed, {storage_module.last_error(ended)}"
    elif ended:
        why = f"all {len(ended)} were pruned"
    else:
        why = "run search first"
    raise RuntimeError(f"{where}: the study {tuner.study_name!r} has no completed trials; {why}")


def best_models(tuner, num_models):
    """The best trials' models: loaded from their saved weights, or trained again (see
    `Tuner.get_best_models`)."""
    models = []
    for trial in completed(tuner, num_models, "get_best_models"):
        hp = hyperparameters(tuner, trial)
        stored = trial.user_attrs.get("weights")
        path = weights_module.path(tuner._folder, stored) if stored else None
        if path and os.path.exists(path):
            model = tuner._build(hp)
            _build_for_data(tuner, model)
            model.load_weights(path)
        elif tuner._fit_args is not None:
            seed = trial.user_attrs["seed"] + trial.user_attrs.get("best_execution", 0)
            model, reporter = trials_module.train(tuner, hp, seed, keep_weights=True)
            model.set_weights(reporter.best_weights)
        else:
            worker = trial.user_attrs.get("worker")
            where = f"at {path} (saved by {worker})" if path else "saved"
            raise FileNotFoundError(
                f"get_best_models: trial {trial.number}'s weights are not {where}; call search "
                "in this process first (it then trains the model again) or copy the file here")
        models.append(model)
    return models


def _build_for_data(tuner, model):
    if getattr(model, "built", True) or not tuner._fit_args:
        return
    x = tuner._fit_args[0]
    if isinstance(x, np.ndarray):
        model.predict(x[:1], verbose=0)


def _format(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _ranked(tuner):
    """The trials that spent budget, best completed first, then pruned, then failed."""
    sign = -1 if tuner.objective.direction == "max" else 1
    trials = [t for t in tuner.study.get_trials(deepcopy=False) if is_counted(t)]
    return sorted(trials, key=lambda t: (_ORDER[t.state], sign * t.value if t.value is not None
                                         else float("inf"), t.number))


def summary(tuner, num_trials, print_fn):
    trials = _ranked(tuner)
    counts = {state: sum(t.state == state for t in trials) for state in _STATE}
    names = [spec.name for spec in tuner.space]
    for t in trials:
        names += [n for n in t.user_attrs.get("hyperparameters", t.params) if n not in names]
    header = ["trial", "state", *names, tuner.objective.name, "note"]
    rows = []
    for t in trials[:num_trials]:
        values = t.user_attrs.get("hyperparameters", t.params)
        note = t.user_attrs.get("error", "")
        if t.state == TrialState.PRUNED:
            note = f"stopped after epoch {t.last_step + 1}" if t.last_step is not None else ""
        rows.append([str(t.number), _STATE[t.state], *(_format(values.get(n)) for n in names),
                     _format(t.value), note[:60]])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print_fn("Results summary")
    print_fn(f"Results in {tuner._where} (study {tuner.study_name!r})")
    print_fn(f"{tuner.objective!r}")
    print_fn(f"{len(trials)} trials: {counts[TrialState.COMPLETE]} complete, "
             f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed; "
             f"showing {len(rows)}, best first")
    for row in [header, *rows]:
        print_fn("  ".join(cell.rjust(w) if i < len(row) - 1 else cell for i, (cell, w)
                           in enumerate(zip(row, widths))).rstrip())


def space_summary(tuner, print_fn):
    print_fn("Search space summary")
    print_fn(f"Default search space size: {len(tuner.space)}")
    for spec in tuner.space:
        print_fn(f"{spec.name} ({spec.kind})")
        print_fn(str({k: v for k, v in spec.get_config().items() if k != "name"}))


def print_trial(tuner, trial):
    name = tuner.objective.name
    if trial.user_attrs.get("skipped"):
        return
    used = trial.user_attrs.get("hyperparameters", {})
    values = ", ".join(f"{k}={_format(v)}" for k, v in used.items())
    seconds = trial.duration.total_seconds() if trial.duration is not None else 0.0
    if trial.state == TrialState.COMPLETE:
        best = best_trials(tuner, 1)
        so_far = f"; best so far {best[0].value:.4g} (trial {best[0].number})" if best else ""
        print(f"Trial {trial.number} complete in {seconds:.1f} s: {name}={trial.value:.4g}"
              f"{so_far}; {values}")
    elif trial.state == TrialState.PRUNED:
        print(f"Trial {trial.number} pruned after epoch {(trial.last_step or 0) + 1} "
              f"in {seconds:.1f} s; {values}")
    else:
        error = trial.user_attrs.get("error", "see the log")
        print(f"Trial {trial.number} failed: {error}; {values}")


def plot(tuner, name, path):
    try:
        from matplotlib import pyplot as plt
        from optuna.visualization import matplotlib as optuna_plots
    except ImportError:
        raise ImportError(f"{name} needs matplotlib, which is not installed: "
                          "pip install 'nablanet[plot]'") from None
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)  # Optuna marks its matplotlib plots so
        axes = getattr(optuna_plots, name)(tuner.study)
    if path is None:
        return axes
    axes.figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(axes.figure)
    return path
