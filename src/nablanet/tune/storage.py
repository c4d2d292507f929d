"""Where a search lives: Optuna storages and studies, and how many trials a budget has spent.

- No `directory` and no `storage`: Optuna's in-memory storage (one process).
- A `directory`: an SQLite file, `directory/project_name/study.db`.
- A `storage` URL: any SQLAlchemy database (`postgresql+psycopg://user@host:port/db`) that
  processes on many machines share; or an Optuna storage object, used as it is.

A database storage gets Optuna's heartbeat: a running trial writes a heartbeat every
`heartbeat_interval` seconds, and a trial whose heartbeat stopped (its process was killed) is
marked FAIL by the next worker that looks, then queued again with the same parameters. Trials
that finished are never run again.
"""

import contextlib
import inspect
import os
import time
import warnings

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState

COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
MAX_RETRIES = 2  # a trial whose process dies again and again is given up after this many reruns


def open_storage(storage, directory, project_name, heartbeat_interval):
    """Return `(optuna storage, description)` for the tuner's arguments."""
    if storage is None and directory is None:
        return optuna.storages.InMemoryStorage(), "memory"
    if storage is None:
        folder = os.path.abspath(os.path.join(os.fspath(directory), project_name))
        os.makedirs(folder, exist_ok=True)
        storage = f"sqlite:///{os.path.join(folder, 'study.db')}"
    if not isinstance(storage, str):
        return storage, type(storage).__name__
    return database_storage(storage, heartbeat_interval), _without_password(storage)


def database_storage(url, heartbeat_interval):
    """An RDBStorage with heartbeats, stale trials retried, and SQLite made safe for processes."""
    from sqlalchemy.exc import SQLAlchemyError

    sqlite = url.startswith("sqlite")
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    retry = retry or optuna.storages.RetryFailedTrialCallback  # its name in older Optuna
    parameters = inspect.signature(optuna.storages.RDBStorage).parameters
    callback_name = "heartbeat_stale_trial_callback"
    if callback_name not in parameters:
        callback_name = "failed_trial_callback"  # older Optuna
    for attempt in range(3):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeats: "experimental"
                storage = optuna.storages.RDBStorage(
                    url, engine_kwargs={"connect_args": {"timeout": 60}} if sqlite else None,
                    heartbeat_interval=heartbeat_interval,
                    **{callback_name: retry(max_retry=MAX_RETRIES)})
            break
        except SQLAlchemyError:  # workers starting together race to create the tables
            if attempt == 2:
                raise
            time.sleep(0.5 + attempt)
    if sqlite:
        _begin_immediate(storage.engine)
    return storage


def _begin_immediate(engine):
    """Make every SQLite transaction take the write lock when it begins, and commits cheap.

    Python's sqlite3 starts a transaction only at the first write, so two processes can both
    read a waiting trial and both move it to RUNNING (Optuna's row lock, SELECT ... FOR UPDATE,
    is a no-op in SQLite). With BEGIN IMMEDIATE the read and the write are one locked step, as
    they are in PostgreSQL. SQLAlchemy documents this recipe for pysqlite.

    A trial commits some twenty times, and in SQLite's default mode each waits for a disk flush.
    In WAL mode with synchronous=NORMAL a commit survives the process being killed, and a power
    cut loses at most the last commits without corrupting the file. WAL needs a local disk, not NFS.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None  # let the hook below emit BEGIN
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections made before the hooks existed would bypass them


def _without_password(url):
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':')[0]}@{tail}"


def open_study(storage, study_name, objective, pruner, overwrite):
    """Create the study, or load it when it exists; return `(study, created)`. The tuner sets
    `study.sampler` once it knows how many trials the study already holds."""
    sampler = optuna.samplers.RandomSampler()
    if overwrite:
        try:
            optuna.delete_study(study_name=study_name, storage=storage)
        except KeyError:
            pass
    direction = "maximize" if objective.direction == "max" else "minimize"
    try:
        with quiet_optuna():
            study = optuna.create_study(storage=storage, study_name=study_name, direction=direction,
                                        sampler=sampler, pruner=pruner)
        study.set_user_attr("objective", objective.name)
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler,
                                  pruner=pruner)
    stored = study.user_attrs.get("objective", objective.name)
    if study.direction.name.lower() != direction or stored != objective.name:
        raise ValueError(
            f"tuner: the study {study_name!r} in this storage optimizes {stored!r} "
            f"({study.direction.name.lower()}), not {objective.name!r} ({direction}); "
            "pick another project_name/study_name or pass overwrite=True")
    return study, False


@contextlib.contextmanager
def quiet_optuna():
    """Optuna's INFO lines off (the tuner prints its own); its warnings stay."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def is_counted(trial):
    """Whether a trial spent budget: it finished, or its training raised. A trial failed by
    the heartbeat (its process died) is rerun instead, and a skipped one never trained."""
    if trial.user_attrs.get("skipped"):
        return False
    raised = trial.state == TrialState.FAIL and "error" in trial.user_attrs
    return trial.state in COUNTED or raised


def tally(study):
    """`(counted, running, waiting)` trials of the study, as lists."""
    trials = study.get_trials(deepcopy=False)
    counted = [t for t in trials if is_counted(t)]
    running = [t for t in trials if t.state == TrialState.RUNNING]
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    return counted, running, waiting


def ended(study):
    """The trials that spent budget, in the order they ended (across every worker)."""
    trials = [t for t in study.get_trials(deepcopy=False) if is_counted(t)]
    return sorted(trials, key=lambda t: (t.datetime_complete, t.number))


def fail_stale_trials(study):
    """Mark trials whose heartbeat stopped as FAIL and queue their reruns (without heartbeats,
    nothing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def has_heartbeat(storage):
    return getattr(storage, "heartbeat_interval", None) is not None


def last_error(ended):
    """The error of the last trial that raised, among trials in the order they ended."""
    trial = next(t for t in reversed(ended) if t.state == TrialState.FAIL)
    return f"the last, trial {trial.number}, raised {trial.user_attrs['error']}"
