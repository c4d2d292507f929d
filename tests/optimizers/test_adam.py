"""Adam's update on big variables: split over threads, bit for bit the same."""

import numpy as np

import nablanet as nn


def test_big_variables_update_on_threads_exactly_as_on_one(monkeypatch):
    from nablanet import backend

    rng = np.random.default_rng(0)
    start = rng.standard_normal(600_000).astype(np.float32)
    grads = [rng.standard_normal(600_000).astype(np.float32) for _ in range(3)]
    results = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("NABLANET_NUM_THREADS", threads)
        variable = nn.Variable(start.copy())
        optimizer = nn.optimizers.Adam(learning_rate=0.01, amsgrad=True)
        for g in grads:
            optimizer.apply([g], [variable])
        results[threads] = variable.numpy()
    assert backend.num_threads() == 3
    np.testing.assert_array_equal(results["1"], results["3"])
    assert not np.array_equal(results["1"], start)


def test_a_forked_child_makes_its_own_threads():
    import os

    from nablanet import backend

    big = np.ones(600_000, np.float32)
    backend.parallel_chunks(lambda a: a.__imul__(2), [big])  # the parent's pool now exists
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: would wait forever on the parent's threads, which it does not have
        try:
            child = np.ones(600_000, np.float32)
            backend.parallel_chunks(lambda a: a.__imul__(3), [child])
            os.write(writer, b"ok" if child.min() == 3 else b"no")
        finally:
            os._exit(0)
    os.close(writer)
    import select
    import signal

    ready, _, _ = select.select([reader], [], [], 30)
    answer = os.read(reader, 2) if ready else b"timeout"
    if not ready:
        os.kill(pid, signal.SIGKILL)  # a hung child fails the test rather than hanging it
    os.waitpid(pid, 0)
    assert answer == b"ok" and big.min() == 2
