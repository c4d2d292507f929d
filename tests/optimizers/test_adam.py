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
