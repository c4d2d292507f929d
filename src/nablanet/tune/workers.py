"""The search loop that each worker process runs, and the worker processes `search(n_jobs=...)`
forks on this machine.

Every worker takes trials from the shared study until `max_trials` are spent. A trial whose
process was killed is found by its stopped heartbeat, marked FAIL and queued again with the same
values (see `storage.py`); it does not count. A trial whose training raised counts, and
`max_consecutive_failed_trials` of them in a row stop the search.
"""

import functools
import multiprocessing
import os
import socket
import time
import warnings

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState

from nablanet.tune import arguments, results, trials
from nablanet.tune import storage as storage_module


def search(tuner, n_jobs):
    """Run the search loop here and in `n_jobs - 1` forked processes; wait for them all."""
    children = fork(tuner, n_jobs - 1) if n_jobs > 1 else []
    try:
        work(tuner)
    finally:
        for child in children:
            child.join()
    failed = [c.exitcode for c in children if c.exitcode != 0]
    if failed:
        raise RuntimeError(f"search: {len(failed)} worker process(es) failed (exit codes "
                           f"{failed}); their errors are printed above")


def work(tuner):
    """Run trials until the study has spent its budget and no other worker's trial is running."""
    with storage_module.quiet_optuna():
        while True:
            storage_module.fail_stale_trials(tuner.study)
            counted, running, waiting = storage_module.tally(tuner.study)
            if tuner._has_budget(counted, running, waiting):
                with warnings.catch_warnings():  # older Optuna warns on every trial
                    warnings.filterwarnings("ignore", "fail_stale_trials is experimental",
                                            ExperimentalWarning)
                    tuner.study.optimize(functools.partial(trials.objective, tuner),
                                         callbacks=[functools.partial(_after_trial, tuner)],
                                         catch=(trials.TrialFailed,))
            elif running and storage_module.has_heartbeat(tuner._storage):
                time.sleep(0.5)  # others' trials: they finish, or die and are queued again
            else:
                return


def _after_trial(tuner, study, trial):
    if tuner._verbose and trial.user_attrs.get("worker") == tuner._worker:
        results.print_trial(tuner, trial)
    if trial.state == TrialState.FAIL and storage_module.is_counted(trial):
        _check_failures(tuner, study)
    if not tuner._has_budget(*storage_module.tally(study)):
        study.stop()


def _check_failures(tuner, study):
    """Raise once the last `max_consecutive_failed_trials` trials to end all raised: a
    build_model or fit that always fails stops the search instead of spending its budget."""
    limit = tuner.max_consecutive_failed_trials
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
            f"(max_consecutive_failed_trials={limit}); {storage_module.last_error(ended)}")


def fork(tuner, count):
    """Start `count` worker processes that reconnect to the tuner's storage; return them."""
    # fork, not spawn or forkserver: a child needs this tuner, whose build_model may be a
    # lambda or a closure (which pickle cannot send), and the fit data (which it would copy).
    # A child drops the nablanet thread pool it inherits (backend.py); Python 3.12 and later
    # still warn (DeprecationWarning) when a process with threads forks, as that can deadlock
    # a child on a lock some other thread held.
    if tuner._url is None:
        raise ValueError("search: n_jobs > 1 runs worker processes that reconnect to the "
                         "study; pass directory= (SQLite) or a database URL as storage=")
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        raise ValueError("search: n_jobs > 1 needs fork (Linux, macOS); on this system start "
                         "the same script several times against one storage") from None
    children = [context.Process(target=_child, args=(tuner, worker))
                for worker in range(1, count + 1)]
    for child in children:
        child.start()
    return children


def _child(tuner, worker):
    tuner._storage.engine.dispose(close=False)  # the parent's connections stay the parent's
    tuner._storage = storage_module.database_storage(tuner._url, tuner._storage.heartbeat_interval)
    tuner.study = optuna.load_study(study_name=tuner.study_name, storage=tuner._storage,
                                    sampler=tuner._sampler(worker),
                                    pruner=arguments.pruner(tuner._pruner, "search"))
    tuner._worker = f"{socket.gethostname()}:{os.getpid()}"
    work(tuner)
