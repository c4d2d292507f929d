"""Searches shared by separate processes (SQLite, PostgreSQL), and a search killed and resumed."""

import collections
import json
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

WORKER = os.path.join(os.path.dirname(__file__), "worker.py")
GRID = [{"activation": a, "units": u} for u in (2, 4, 6, 8) for a in ("relu", "tanh")]


@pytest.fixture
def start():
    """`start(kind, storage, study, log, *options)` starts a worker; every worker still running
    when the test ends (an assertion or a timeout came first) is killed, and each is reaped."""
    workers = []

    def start_worker(kind, storage, study, log, *options):
        command = [sys.executable, WORKER, kind, storage, study, str(log), *options]
        workers.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True))
        return workers[-1]

    try:
        yield start_worker
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stdout.close()
            process.stderr.close()


def finish(process, timeout=120):
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]


def read_log(path):
    """[(event, pid, values as a sorted-items tuple)] from a worker log."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = f.read().split("\n")[:-1]  # a line still being written has no newline yet
    return [(e, int(p), tuple(sorted(json.loads(v).items())))
            for e, p, v in (line.split(" ", 2) for line in lines)]


def load(url, study):
    storage = optuna.storages.RDBStorage(url)
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials()
    finally:
        storage.engine.dispose()  # close its connections now, not when the garbage collector runs


def check_two_workers_share_a_grid(start, storage, study, log):
    workers = [start("grid", storage, study, log, "--seed", str(seed), "--sleep", "0.15") for seed in (0, 1)]
    for process in workers:
        finish(process)
    done = [(pid, values) for event, pid, values in read_log(log) if event == "done"]
    trained = collections.Counter(values for _, values in done)
    assert trained == collections.Counter(tuple(sorted(p.items())) for p in GRID), "each point once"
    assert len({pid for pid, _ in done}) == 2, "both workers trained"
    trials = load(storage, study)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(sorted(t.params.items()) for t in complete) == sorted(sorted(p.items()) for p in GRID)
    assert all(t.user_attrs.get("skipped") for t in trials if t.state != TrialState.COMPLETE)


def check_two_workers_share_a_random_budget(start, storage, study, log):
    workers = [start("random", storage, study, log, "--max-trials", "7", "--seed", str(seed),
                     "--sleep", "0.15") for seed in (0, 1)]
    for process in workers:
        finish(process)
    done = [(pid, values) for event, pid, values in read_log(log) if event == "done"]
    assert len(done) == 7 and len({values for _, values in done}) == 7, "7 trials, none trained twice"
    assert len({pid for pid, _ in done}) == 2
    complete = [t for t in load(storage, study) if t.state == TrialState.COMPLETE]
    assert len(complete) == 7


def test_two_processes_share_an_sqlite_grid_without_duplicates(start, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    check_two_workers_share_a_grid(start, storage, "grid", tmp_path / "log")


def test_two_processes_share_an_sqlite_random_budget(start, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    check_two_workers_share_a_random_budget(start, storage, "random", tmp_path / "log")


def test_two_processes_share_a_postgresql_grid_without_duplicates(start, postgres_url, tmp_path):
    study = f"grid_{os.getpid()}_{time.time_ns()}"  # the CI server outlives one test run
    check_two_workers_share_a_grid(start, postgres_url, study, tmp_path / "log")


def test_a_killed_search_resumes_without_losing_or_rerunning_trials(start, tmp_path):
    storage, log = f"sqlite:///{tmp_path / 'study.db'}", tmp_path / "log"
    options = ("--max-trials", "5", "--seed", "0", "--sleep", "0.15")
    first = start("random", storage, "resume", log, *options)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it once two trials are done and a third is training
        events = [e for e, _, _ in read_log(log)]
        if events.count("done") >= 2 and events.count("train") > events.count("done"):
            break
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    before = {t.number: t for t in load(storage, "resume")}
    finished = {n: t for n, t in before.items() if t.state == TrialState.COMPLETE}
    killed = [t for t in before.values() if t.state == TrialState.RUNNING]
    assert len(finished) >= 2 and len(killed) == 1
    trained_before = len(read_log(log))

    finish(start("random", storage, "resume", log, *options))
    after = {t.number: t for t in load(storage, "resume")}
    for number, trial in finished.items():  # kept as they were
        assert after[number].state == TrialState.COMPLETE and after[number].value == trial.value
        assert after[number].params == trial.params
    rerun = [values for event, _, values in read_log(log)[trained_before:] if event == "train"]
    assert not set(rerun) & {tuple(sorted(t.user_attrs["hyperparameters"].items())) for t in finished.values()}
    stale = after[killed[0].number]
    assert stale.state == TrialState.FAIL and "error" not in stale.user_attrs
    retries = [t for t in after.values() if t.system_attrs.get("failed_trial") == stale.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == stale.params  # the killed trial's values, trained again
    assert sum(t.state == TrialState.COMPLETE for t in after.values()) == 5
