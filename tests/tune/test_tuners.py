"""The tuners in one process: what they visit, what they report, what they keep, how they fail."""

import math
import os
import signal
import subprocess
import sys

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

import nablanet as nn
from nablanet.tune import (
    BayesianOptimization,
    GridSearch,
    HyperModel,
    Objective,
    RandomSearch,
    SearchError,
)
from nablanet.tune import results, weights
from nablanet.tune.objective import get as get_objective


def values_of(tuner, state=TrialState.COMPLETE):
    return [t.user_attrs["hyperparameters"] for t in tuner.study.get_trials(states=(state,))]


def test_grid_search_visits_every_combination_once(tiny, dense_model):
    def build_model(hp):
        hp.Choice("kind", ["narrow", "wide"])
        with hp.conditional_scope("kind", ["narrow"]):
            units = hp.Int("units", 1, 3, step=2)
        with hp.conditional_scope("kind", ["wide"]):
            activation = hp.Choice("activation", ["relu", "tanh", "sigmoid"])
        return dense_model(units or 8, activation=activation or "relu")

    tuner = GridSearch(build_model, objective="loss", pruner=None)
    assert tuner.max_trials == 5  # 2 narrow + 3 wide, not 2 * 2 * 3
    tuner.search(*tiny, epochs=1, verbose=0)
    visited = sorted(sorted(v.items()) for v in values_of(tuner))
    assert visited == sorted(sorted(p.items()) for p in [
        {"kind": "narrow", "units": 1}, {"kind": "narrow", "units": 3},
        {"kind": "wide", "activation": "relu"}, {"kind": "wide", "activation": "tanh"},
        {"kind": "wide", "activation": "sigmoid"}])
    assert len(tuner.study.trials) == 5
    tuner.search(*tiny, epochs=1, verbose=0)  # the grid is spent: nothing runs again
    assert len(tuner.study.trials) == 5


def test_grid_search_learns_which_hyperparameters_each_point_uses(tiny, dense_model):
    def build_model(hp):
        layers = [hp.Int(f"units_{i}", 2, 4, step=2) for i in range(hp.Int("layers", 1, 2))]
        if hp.Boolean("tanh"):  # a plain `if`, no conditional_scope
            hp.Choice("scale", [0.5, 2.0])
        return dense_model(sum(layers))

    tuner = GridSearch(build_model, objective="loss", pruner=None)
    assert tuner.max_trials == (2 + 4) * (1 + 2)  # units_1 only with 2 layers, scale only with tanh
    tuner.search(*tiny, epochs=1, verbose=0)
    visited = [v for v in values_of(tuner)]
    assert len(visited) == 18 and len({tuple(sorted(v.items())) for v in visited}) == 18
    assert {"layers": 1, "units_0": 4, "tanh": True, "scale": 0.5} in visited
    assert all(("units_1" in v) == (v["layers"] == 2) and ("scale" in v) == v["tanh"] for v in visited)


def test_grid_search_builds_each_point_about_once_while_listing(dense_model):
    builds = []

    def build_model(hp):  # each new layer count declares a new hyperparameter
        builds.append(dict(hp.values))
        units = [hp.Int(f"units_{i}", 2, 4, step=2) for i in range(hp.Int("layers", 1, 3))]
        hp.Choice("lr", [0.01, 0.1])
        return dense_model(sum(units))

    tuner = GridSearch(build_model, objective="loss")
    assert tuner.max_trials == (2 + 4 + 8) * 2
    # the default, each point once, and the two builds that found units_1 and units_2 once more
    # in the grown space; before, each newly found hyperparameter rebuilt every known point (71)
    assert len(builds) == 1 + tuner.max_trials + 2


def test_grid_search_refuses_what_it_cannot_list(tiny, dense_model):
    with pytest.raises(ValueError, match="Float 'lr' has no step, so its values cannot be listed"):
        GridSearch(lambda hp: dense_model(2, lr=hp.Float("lr", 1e-3, 1e-1, sampling="log")), objective="loss")

    class LateBatchSize(HyperModel):  # fit declares a hyperparameter the grid never saw
        def build(self, hp):
            return dense_model(hp.Int("units", 1, 2))

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.Choice("batch_size", [4, 8]), **kwargs)

    tuner = GridSearch(LateBatchSize(), objective="loss")
    with pytest.raises(SearchError, match="'batch_size' was not declared when the grid was listed"):
        tuner.search(*tiny, epochs=1, verbose=0)
    waiting = tuner.study.get_trials(states=(TrialState.WAITING,))
    assert len(waiting) == 2  # the failed trial's point was given back, the other never taken


def test_random_search_respects_bounds_steps_and_log_sampling(tiny, dense_model):
    def build_model(hp):
        hp.Int("units", 2, 11, step=3)
        hp.Int("width", 4, 64, step=2, sampling="log")
        hp.Int("depth", 1, 1000, sampling="log")
        hp.Float("dropout", 0.0, 0.5, step=0.1)
        hp.Float("lr", 1e-5, 1e-1, sampling="log")
        return dense_model(2)

    tuner = RandomSearch(build_model, objective="loss", max_trials=60, seed=0, pruner=None)
    tuner.search(tiny[0][:4], tiny[1][:4], epochs=1, verbose=0)
    drawn = {k: [v[k] for v in values_of(tuner)] for k in ("units", "width", "depth", "dropout", "lr")}
    assert len(drawn["units"]) == 60
    assert set(drawn["units"]) == {2, 5, 8, 11}
    assert set(drawn["width"]) == {4, 8, 16, 32, 64}
    assert all(1 <= d <= 1000 and isinstance(d, int) for d in drawn["depth"])
    assert all(round(d * 10) == pytest.approx(d * 10) and 0 <= d <= 0.5 for d in drawn["dropout"])
    assert all(1e-5 <= lr <= 1e-1 for lr in drawn["lr"])
    # log sampling: half the draws below the geometric middle 1e-3 (uniform sampling: 1%)
    assert 0.3 < np.mean(np.array(drawn["lr"]) < 1e-3) < 0.7
    assert 0.3 < np.mean(np.array(drawn["depth"]) < math.sqrt(1000)) < 0.7


def test_a_seed_makes_a_search_repeatable(tiny, dense_model):
    def run():
        tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 1, 16), lr=hp.Float("lr", 1e-3, 0.1)),
                             objective="loss", max_trials=3, seed=7)
        tuner.search(*tiny, epochs=2, verbose=0)
        return [(t.params, t.value) for t in tuner.study.trials]

    assert run() == run()


def test_the_objective_direction_is_inferred_or_given():
    assert get_objective("val_loss") == Objective("val_loss", "min")
    assert get_objective("val_accuracy").direction == "max"
    assert get_objective("sparse_categorical_accuracy").direction == "max"
    assert get_objective("val_mean_absolute_error").direction == "min"
    assert get_objective("auc").direction == "max"
    for name in ("sensitivity_at_specificity", "val_specificity_at_sensitivity", "iou",
                 "val_mean_iou", "binary_iou"):
        assert get_objective(name).direction == "max", name
    for name in ("log_cosh", "logcosh", "val_poisson", "kld"):
        assert get_objective(name).direction == "min", name
    with pytest.raises(ValueError, match=r"cannot tell whether 'val_f' .*Objective\('val_f', 'max'\)"):
        get_objective("val_f")
    with pytest.raises(ValueError, match="expected direction 'min' or 'max', got 'up'"):
        Objective("val_f", "up")


def test_an_objective_fit_never_logs_names_what_it_does_log(tiny, dense_model):
    tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 1, 4)), objective="val_loss", max_trials=2)
    with pytest.raises(SearchError, match=r"'val_loss' is not logged by fit; logged: loss\. "
                                          r"Pass validation_data"):
        tuner.search(*tiny, epochs=2, verbose=0)
    tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 1, 4)), max_trials=2,
                         objective=Objective("val_r", "max"))
    with pytest.raises(SearchError, match=r"'val_r' is not logged by fit; logged: loss, val_loss\.$"):
        tuner.search(*tiny, epochs=2, validation_data=tiny, verbose=0)


def test_a_failing_trial_is_recorded_and_the_search_goes_on(tiny, dense_model, capsys):
    def build_model(hp):
        if hp.Choice("units", [2, 3, 4]) == 3:
            raise RuntimeError("no model with 3 units")
        return dense_model(hp["units"])

    tuner = GridSearch(build_model, objective="loss")
    tuner.search(*tiny, epochs=1, verbose=0)
    failed = tuner.study.get_trials(states=(TrialState.FAIL,))
    assert [t.user_attrs["error"] for t in failed] == ["RuntimeError: no model with 3 units"]
    assert sorted(v["units"] for v in values_of(tuner)) == [2, 4]
    tuner.results_summary()
    out = capsys.readouterr().out
    assert "3 trials: 2 complete, 0 pruned, 1 failed" in out
    assert "failed" in out.splitlines()[-1] and "RuntimeError: no model with 3 units" in out


def test_the_median_pruner_stops_a_hopeless_trial(tiny, dense_model):
    # the grid's order: two trials that learn, then one whose learning rate cannot
    tuner = GridSearch(lambda hp: dense_model(4, lr=hp.Choice("lr", [0.05, 0.04, 1e-7])), objective="loss",
                       seed=0, pruner=optuna.pruners.MedianPruner(n_startup_trials=2))
    tuner.search(*tiny, epochs=6, batch_size=4, verbose=0)
    complete = tuner.study.get_trials(states=(TrialState.COMPLETE,))
    [pruned] = tuner.study.get_trials(states=(TrialState.PRUNED,))
    assert pruned.params["lr"] == 1e-7 and all(len(t.intermediate_values) == 6 for t in complete)
    step = pruned.last_step
    assert step < 5  # stopped early, at a step where it was worse than the others' median
    assert pruned.intermediate_values[step] > np.median([t.intermediate_values[step] for t in complete])


def test_hyperband_pruning_is_offered(tiny, dense_model):
    tuner = RandomSearch(lambda hp: dense_model(4, lr=hp.Float("lr", 1e-6, 0.1, sampling="log")),
                         objective="loss", max_trials=6, seed=1, pruner="hyperband")
    assert isinstance(tuner.study.pruner, optuna.pruners.HyperbandPruner)
    tuner.search(*tiny, epochs=4, verbose=0)
    assert {t.state for t in tuner.study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}


@pytest.mark.parametrize("saved", [True, False], ids=["loaded-from-weights", "trained-again"])
def test_best_models_reproduce_their_trials_objective(tiny, dense_model, tmp_path, saved):
    directory = tmp_path if saved else None
    tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 2, 16), lr=hp.Float("lr", 1e-3, 0.1)),
                         objective="val_loss", max_trials=3, seed=3, directory=directory)
    x, y = tiny
    tuner.search(x[:24], y[:24], epochs=4, validation_data=(x[24:], y[24:]), verbose=0)
    best = sorted(tuner.study.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: t.value)
    models = tuner.get_best_models(2)
    for model, trial in zip(models, best):
        assert model.evaluate(x[24:], y[24:], verbose=0) == pytest.approx(trial.value, rel=1e-5)
        assert ("weights" in trial.user_attrs) == saved
    assert [hp.values for hp in tuner.get_best_hyperparameters(2)] == [
        t.user_attrs["hyperparameters"] for t in best[:2]]


def test_studies_sharing_a_folder_keep_their_own_weights(tiny, dense_model, tmp_path):
    x, y = tiny

    def search(study, seed, epochs, **kwargs):
        build = lambda hp: dense_model(4, lr=hp.Float("lr", 1e-3, 0.1, sampling="log"))
        tuner = RandomSearch(build, objective="val_loss", max_trials=2, seed=seed, directory=tmp_path,
                             project_name="p", study_name=study, **kwargs)
        tuner.search(x[:24], y[:24], epochs=epochs, validation_data=(x[24:], y[24:]), verbose=0)
        return tuner

    a = search("a", 0, 5)
    search("b", 1, 1)  # its trials have the same numbers as a's
    best = results.best_trials(a, 1)[0]
    assert best.user_attrs["weights"] == f"a/trial_{best.number:04d}.weights.safetensors"
    [model] = a.get_best_models()
    assert model.evaluate(x[24:], y[24:], verbose=0) == pytest.approx(best.value, rel=1e-5)
    search("b", 1, 1, overwrite=True)  # deletes b's weights, not a's
    assert sorted(p.name for p in (tmp_path / "p" / "a").iterdir()) == [
        "trial_0000.weights.safetensors", "trial_0001.weights.safetensors"]
    assert [weights.folder_name(n) for n in ("a/b", "a%2Fb", "..", "study.db")] == [
        "a%2Fb", "a%252Fb", "%2E%2E", "study%2Edb"]  # one folder per study, inside the project


def test_saved_weights_are_found_from_another_working_directory(tiny, dense_model, tmp_path,
                                                                monkeypatch):
    def tuner(directory):
        return RandomSearch(lambda hp: dense_model(hp.Int("units", 2, 8)), objective="loss",
                            max_trials=2, seed=0, directory=directory, project_name="p")

    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    first = tuner("runs")
    first.search(*tiny, epochs=1, verbose=0)
    expected = first.get_best_models()[0].get_weights()
    monkeypatch.chdir(tmp_path / "elsewhere")
    [model] = tuner("../runs").get_best_models()  # no search in this tuner: the weights are loaded
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_array_equal(a, b)


def test_executions_per_trial_average_their_best_epochs(tiny, dense_model):
    tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 2, 8)), objective="loss", max_trials=2,
                         executions_per_trial=3, seed=0)
    tuner.search(*tiny, epochs=2, verbose=0)
    for trial in tuner.study.trials:
        runs = trial.user_attrs["executions"]
        assert len(runs) == 3 and len(set(runs)) == 3  # three seeds, three different models
        assert trial.value == pytest.approx(np.mean(runs))


def test_trials_that_keep_failing_stop_the_search(dense_model):
    x, y = np.ones((8, 5), "float32"), np.ones((8, 1), "float32")  # the models want 3 features
    build = lambda hp: dense_model(hp.Int("units", 1, 8))
    tuner = RandomSearch(build, objective="loss", max_trials=20)
    for get in (tuner.get_best_models, tuner.get_best_hyperparameters):
        with pytest.raises(RuntimeError, match="the study 'untitled_project' has no completed "
                                               "trials; run search first"):
            get()
    with pytest.raises(RuntimeError, match=r"stopped after 3 trials in a row failed \(max_consec"
                                           r"utive_failed_trials=3\); the last, trial 2, raised "
                                           r"ValueError: "):
        tuner.search(x, y, epochs=1, verbose=0)
    assert [t.state for t in tuner.study.trials] == [TrialState.FAIL] * 3
    for get in (tuner.get_best_models, tuner.get_best_hyperparameters):
        with pytest.raises(RuntimeError, match="no completed trials; 3 failed, the last, trial 2, "
                                               "raised ValueError: Sequential"):
            get()
    patient = RandomSearch(build, objective="loss", max_trials=4, max_consecutive_failed_trials=None)
    patient.search(x, y, epochs=1, verbose=0)
    assert len(patient.study.trials) == 4


def test_a_rerun_trial_does_not_inherit_its_skip(tiny, dense_model):
    from optuna.distributions import IntDistribution

    tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 1, 8)), objective="loss",
                         max_trials=2, seed=0, pruner=None)
    # what Optuna's retry queues for a trial killed right after it was marked skipped
    tuner.study.add_trial(optuna.create_trial(
        state=TrialState.WAITING, params={"units": 3},
        distributions={"units": IntDistribution(1, 8)},
        user_attrs={"skipped": "max_trials=2 already reached"}, system_attrs={"failed_trial": 0}))
    tuner.search(*tiny, epochs=1, verbose=0)  # the rerun counts: two trials, not three
    trials = tuner.study.trials
    assert [(t.state, t.user_attrs.get("skipped")) for t in trials] == [
        (TrialState.COMPLETE, None)] * 2
    assert trials[0].params == {"units": 3}


def test_a_search_resumes_from_its_directory(tiny, dense_model, tmp_path):
    def tuner(max_trials, **kwargs):
        return RandomSearch(lambda hp: dense_model(hp.Int("units", 1, 64)), objective="loss",
                            max_trials=max_trials, seed=0, directory=tmp_path, project_name="p", **kwargs)

    first = tuner(2)
    first.search(*tiny, epochs=1, verbose=0)
    kept = [(t.number, t.params, t.value) for t in first.study.trials]
    again = tuner(4)
    again.search(*tiny, epochs=1, verbose=0)
    trials = again.study.trials
    assert [(t.number, t.params, t.value) for t in trials[:2]] == kept and len(trials) == 4
    assert sorted(p.name for p in (tmp_path / "p" / "p").iterdir()) == [  # the study's folder
        f"trial_{n:04d}.weights.safetensors" for n in range(4)]
    assert len(tuner(4, overwrite=True).study.trials) == 0
    assert not (tmp_path / "p" / "p").exists()
    with pytest.raises(ValueError, match="optimizes 'loss' \\(minimize\\), not 'val_loss'"):
        RandomSearch(lambda hp: dense_model(2), objective="val_loss", directory=tmp_path, project_name="p")


def test_worker_processes_on_one_machine_split_the_trials(tiny, dense_model, tmp_path):
    tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 1, 64), lr=hp.Float("lr", 1e-3, 0.1)),
                         objective="loss", max_trials=6, seed=0, directory=tmp_path)
    # slow epochs leave the second worker time to start, even on a loaded machine
    slow = nn.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: __import__("time").sleep(0.25))
    tuner.search(*tiny, epochs=2, verbose=0, callbacks=[slow], n_jobs=2)
    trials = tuner.study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 6 and len({t.user_attrs["worker"] for t in trials}) == 2
    with pytest.raises(ValueError,
                       match="n_jobs > 1 runs worker processes that reconnect to the study; pass directory="):
        RandomSearch(lambda hp: dense_model(2), objective="loss").search(*tiny, n_jobs=2)


def test_forked_workers_do_not_wait_for_the_parents_threads(tmp_path):
    # Adam updates a 360k-element kernel on nablanet's thread pool; a forked worker inherited the
    # pool without its threads and waited for them forever (backend.py now drops it in a child)
    script = """if True:
        import sys, numpy as np, nablanet as nn
        from nablanet import backend, tune
        def build_model(hp):
            model = nn.Sequential([nn.layers.Dense(hp.Int("units", 600, 601), input_shape=(600,)),
                                   nn.layers.Dense(1)])
            model.compile(optimizer=nn.optimizers.Adam(1e-3), loss="mse")
            return model
        x, y = np.ones((8, 600), "float32"), np.ones((8, 1), "float32")
        build_model(tune.HyperParameters()).fit(x, y, epochs=1, verbose=0)
        assert backend._pool[0] is not None, "the update ran without the thread pool"
        tuner = tune.RandomSearch(build_model, objective="loss", max_trials=2,
                                  directory=sys.argv[1])
        tuner.search(x, y, epochs=1, verbose=0, n_jobs=2)
    """
    process = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], text=True,
                               env={**os.environ, "NABLANET_NUM_THREADS": "2"},
                               start_new_session=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the search and its forked worker
            process.communicate()


def test_bayesian_search_beats_the_median_random_trial_on_digits(digits):
    x, y, x_val, y_val = digits

    def build_model(hp):
        model = nn.Sequential([
            nn.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu", input_shape=(64,)),
            nn.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1)),
            nn.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=nn.optimizers.Adam(hp.Float("learning_rate", 1e-4, 0.1, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    found = {}
    for cls, kwargs in ((RandomSearch, {}), (BayesianOptimization, {"num_initial_points": 4})):
        tuner = cls(build_model, objective="val_accuracy", max_trials=10, seed=0, pruner=None, **kwargs)
        tuner.search(x, y, epochs=3, batch_size=32, validation_data=(x_val, y_val), verbose=0)
        found[cls.__name__] = [t.value for t in tuner.study.trials]
    assert max(found["BayesianOptimization"]) >= np.median(found["RandomSearch"])
    assert max(found["BayesianOptimization"]) > 0.8


def test_the_gaussian_process_sampler_needs_torch(tiny, dense_model, monkeypatch):
    tuner = BayesianOptimization(lambda hp: dense_model(2, lr=hp.Float("lr", 1e-3, 0.1, sampling="log")),
                                 objective="loss", max_trials=3, num_initial_points=2, sampler="gp", seed=0)
    assert isinstance(tuner.study.sampler, optuna.samplers.GPSampler)
    tuner.search(*tiny, epochs=1, verbose=0)
    assert len(tuner.study.get_trials(states=(TrialState.COMPLETE,))) == 3
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"GPSampler, which needs PyTorch .* use sampler='tpe'"):
        BayesianOptimization(lambda hp: dense_model(2), objective="loss", sampler="gp")


def test_the_benchmark_runs_the_gaussian_process_only_with_torch(monkeypatch):
    from benchmarks.tune import default_samplers

    assert default_samplers() == "tpe,gp"
    monkeypatch.setitem(sys.modules, "torch", None)
    assert default_samplers() == "tpe"


def test_summaries_and_plots(tiny, dense_model, tmp_path, capsys):
    tuner = RandomSearch(lambda hp: dense_model(hp.Int("units", 1, 8), lr=hp.Float("lr", 1e-3, 0.1)),
                         objective="loss", max_trials=4, seed=0, project_name="demo")
    tuner.search_space_summary()
    tuner.search(*tiny, epochs=2)  # verbose: fit's progress and one line per trial
    tuner.results_summary(num_trials=2)
    out = capsys.readouterr().out
    assert "Default search space size: 2\nunits (Int)\n{'default': 1, 'conditions': []" in out
    assert "Trial 3 complete in" in out and "best so far" in out
    table = out[out.index("Results summary"):].splitlines()
    assert table[1:4] == ["Results in memory (study 'demo')", "Objective(name='loss', direction='min')",
                          "4 trials: 4 complete, 0 pruned, 0 failed; showing 2, best first"]
    assert table[4].split() == ["trial", "state", "units", "lr", "loss", "note"]
    best = min(tuner.study.trials, key=lambda t: t.value)
    assert table[5].split()[:3] == [str(best.number), "complete", str(best.params["units"])]
    for name in ("plot_optimization_history", "plot_param_importances"):
        path = getattr(tuner, name)(tmp_path / f"{name}.png")
        assert path.stat().st_size > 1000


def test_bad_tuner_arguments_say_what_was_expected(dense_model):
    build = lambda hp: dense_model(hp.Int("units", 1, 4))
    for kwargs, message in [
        ({"max_trials": 0}, "expected max_trials as a positive integer, got 0"),
        ({"executions_per_trial": 1.5}, "expected executions_per_trial as a positive integer"),
        ({"pruner": "patient"}, "expected pruner 'median', 'hyperband', None or an Optuna pruner"),
        ({"seed": -1}, "expected seed as a non-negative integer or None"),
        ({"objective": 3}, "expected objective as a metric name or Objective"),
    ]:
        with pytest.raises(ValueError, match=message):
            RandomSearch(build, **{"objective": "loss", **kwargs})
    with pytest.raises(ValueError, match="expected sampler 'tpe' or 'gp', got 'cma'"):
        BayesianOptimization(build, objective="loss", sampler="cma")
    with pytest.raises(TypeError, match=r"build_model\(hp\) must return a compiled model"):
        RandomSearch(lambda hp: nn.Sequential([nn.layers.Dense(1)]), objective="loss")
    with pytest.raises(TypeError, match=r"expected build_model\(hp\) or a HyperModel, got 3"):
        RandomSearch(3)


def test_a_hypermodel_can_tune_how_it_trains(tiny, dense_model):
    class Batches(HyperModel):
        def build(self, hp):
            return dense_model(2)

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.Choice("batch_size", [4, 16]), **kwargs)

    tuner = RandomSearch(Batches(), objective="loss", max_trials=6, seed=0, pruner=None)
    tuner.search(*tiny, epochs=1, verbose=0)
    assert {t.params["batch_size"] for t in tuner.study.trials} == {4, 16}
    assert tuner.get_best_hyperparameters()[0].values["batch_size"] in (4, 16)


def test_tune_is_optional():
    check = ("import sys, nablanet; assert 'optuna' not in sys.modules\n"
             "sys.modules['optuna'] = None\n"
             "try:\n    import nablanet.tune\nexcept ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "nablanet.tune runs on Optuna, which is not installed: pip install 'nablanet[tune]'" in done.stdout
