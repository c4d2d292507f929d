"""Data-parallel training over MPI ranks: N ranks with global batch B train exactly as one process
with batch B, every rank logs the job's values, only rank 0 writes, a failing rank ends the job,
and a backup resumes with any number of ranks. Each job runs under `mpirun` with a timeout."""

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

if importlib.util.find_spec("mpi4py") is None:  # not imported here: importing it would start MPI in pytest itself
    pytest.skip("mpi4py is missing: pip install 'nablanet[mpi]'", allow_module_level=True)

WORKER = os.path.join(os.path.dirname(__file__), "worker.py")
SOURCE = os.path.dirname(os.path.dirname(__import__("nablanet").__file__))


def _mpirun():
    found = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")
    if found is None:
        pytest.fail("mpirun is missing: pip install 'nablanet[mpi]' installs Open MPI with mpi4py")
    return found


def run(folder, ranks, timeout=120, check=True, **options):
    """Run the worker on `ranks` MPI ranks (None: one plain process); returns the finished process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SOURCE, os.environ.get("PYTHONPATH", "")]),
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [sys.executable, WORKER, str(folder), json.dumps({**options, "distributed": ranks is not None})]
    if ranks is not None:
        command = [_mpirun(), "-n", str(ranks), "--oversubscribe"] + command
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def result(folder, rank=0):
    with np.load(os.path.join(folder, f"rank{rank}.npz")) as data:
        weights = [data[f"arr_{i}"] for i in range(len([k for k in data.files if k.startswith("arr_")]))]
        return (weights, data["predictions"], json.loads(str(data["history"])), json.loads(str(data["evaluation"])))


def assert_same_training(one, many, atol=1e-5):
    (w1, p1, h1, e1), (w2, p2, h2, e2) = one, many
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_allclose(a, b, atol=atol)
    np.testing.assert_allclose(p1, p2, atol=atol)
    assert sorted(h1) == sorted(h2)
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], atol=atol, err_msg=key)
    for key in e1:
        np.testing.assert_allclose(e1[key], e2[key], atol=atol, err_msg=key)


@pytest.mark.parametrize("ranks, options", [
    (2, {"optimizer": "sgd"}),
    (2, {"optimizer": "adam", "validation_split": 0.25}),
    (3, {"optimizer": "sgd", "batch_size": 15}),  # uneven shards of 5 and of 2/2/2 in the last batch
    (2, {"optimizer": "adam", "batch_norm": "synchronized", "batch_size": 15}),
    (2, {"optimizer": "sgd", "pydataset": True, "batch_size": 15}),
    (2, {"optimizer": "loss_scale"}),
], ids=["sgd-momentum", "adam-validation", "three-ranks-uneven", "synchronized-batch-norm", "pydataset",
        "loss-scale"])
def test_ranks_train_as_one_process_with_the_global_batch(tmp_path, ranks, options):
    (tmp_path / "one").mkdir()
    (tmp_path / "many").mkdir()
    run(tmp_path / "one", None, **options)
    run(tmp_path / "many", ranks, **options)
    one = result(tmp_path / "one")
    assert_same_training(one, result(tmp_path / "many"))
    for rank in range(1, ranks):  # every rank ends with the same model and the same logs
        assert_same_training(one, result(tmp_path / "many", rank))


def test_local_batch_norm_statistics_are_averaged_so_replicas_agree(tmp_path):
    run(tmp_path, 2, batch_norm="local")
    rank0, rank1 = result(tmp_path, 0), result(tmp_path, 1)
    assert_same_training(rank0, rank1, atol=1e-6)


def test_each_rank_draws_its_own_dropout_and_runs_repeat(tmp_path):
    first, second, single = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for folder in (first, second, single):
        folder.mkdir()
    run(first, 2, dropout=0.5)
    run(second, 2, dropout=0.5)
    run(single, None, dropout=0.5)
    assert_same_training(result(first), result(second), atol=0)
    assert not np.allclose(result(first)[0][0], result(single)[0][0], atol=1e-4)  # other masks than one process


def test_only_rank_zero_prints_and_writes_and_callbacks_stop_all_ranks(tmp_path):
    done = run(tmp_path, 2, verbose=2, csv=True, early_stopping=10.0, epochs=5)
    assert done.stdout.count("Epoch 1/5") == 1
    with open(tmp_path / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2  # EarlyStopping(min_delta=10) stops after the second epoch, on both ranks
    for rank in (0, 1):
        assert len(result(tmp_path, rank)[2]["loss"]) == 2


@pytest.mark.parametrize("how", ["signal", "raise"])
def test_a_failing_rank_ends_the_job(tmp_path, how):
    began = time.monotonic()
    done = run(tmp_path, 2, timeout=90, check=False, epochs=50, crash={"rank": 1, "step": 3, "how": how})
    assert done.returncode != 0
    assert time.monotonic() - began < 60
    if how == "raise":
        assert "this rank fails on purpose" in done.stderr


def test_a_killed_job_resumes_from_its_backup_with_any_number_of_ranks(tmp_path):
    options = {"optimizer": "adam", "epochs": 4, "backup_freq": 4}
    whole = tmp_path / "whole"
    whole.mkdir()
    run(whole, 2, **options)
    for resumed_ranks in (2, None):
        folder = tmp_path / f"resumed-{resumed_ranks}"
        folder.mkdir()
        backup = str(folder / "backup")
        # 96 samples in batches of 16: six steps an epoch; the job dies in its third epoch
        killed = run(folder, 2, check=False, backup=backup, crash={"rank": 0, "step": 15, "how": "signal"},
                     **options)
        assert killed.returncode != 0 and os.path.exists(os.path.join(backup, "latest.nbz"))
        run(folder, resumed_ranks, backup=backup, **options)
        weights, predictions, _, _ = result(folder)
        whole_weights, whole_predictions, _, _ = result(whole)
        for a, b in zip(weights, whole_weights, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(predictions, whole_predictions, atol=1e-5)


def test_a_model_made_before_set_distribution_warns_once_and_trains_exactly(tmp_path):
    (tmp_path / "one").mkdir()
    run(tmp_path / "one", None)
    done = run(tmp_path, 2, model_first=True)
    assert done.stderr.count("was created before set_distribution()") == 1
    assert_same_training(result(tmp_path / "one"), result(tmp_path))


def test_a_batch_too_small_for_the_ranks_is_named(tmp_path):
    done = run(tmp_path, 3, check=False, samples=97, batch_size=16)  # the last batch holds one sample
    assert done.returncode != 0
    assert "a batch of 1 samples cannot give each of 3 ranks a sample" in done.stderr
