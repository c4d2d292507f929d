"""The compiled layer-norm kernels (`accel_norm`) against the NumPy path of the `normalize_last` primitive:
output, saved statistics and the three gradients, float32 and float64, with and without scale and shift,
over 2-D, 3-D and non-contiguous inputs."""

import numpy as np
import pytest

from nablanet.autodiff import accel
from nablanet.autodiff.ops import nn

pytest.importorskip("numba")  # the test extra installs it: CI tests both paths

rng = np.random.default_rng(9)
TOLERANCES = {np.float32: {"rtol": 2e-5, "atol": 2e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}


def _both_ways(x, gamma, beta, g, compiled):
    accel.set_enabled(compiled)
    try:
        out = nn._normalize_last(x, gamma, beta, epsilon=1e-3)
        grads = nn._normalize_last_vjp(g, out, x, gamma, beta, epsilon=1e-3)
        return [out] + [c() if callable(c) else c for c in grads]
    finally:
        accel.set_enabled(None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale, center", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 9), "strided"])
def test_compiled_layer_norm_equals_the_numpy_path(dtype, scale, center, shape):
    if shape == "strided":  # a transposed view: the kernels get a contiguous copy
        x = (rng.standard_normal((6, 4, 3)) * 3 + 1).astype(dtype).transpose(1, 0, 2)
    else:
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    n = x.shape[-1]
    gamma = rng.standard_normal(n).astype(dtype) if scale else None
    beta = rng.standard_normal(n).astype(dtype) if center else None
    g = rng.standard_normal(x.shape).astype(dtype)
    numpy_path, compiled = _both_ways(x, gamma, beta, g, False), _both_ways(x, gamma, beta, g, True)
    assert accel.kernels("norm") is not None
    for name, ours, theirs in zip(["out", "x", "gamma", "beta"], numpy_path, compiled):
        if ours is None:
            assert theirs is None, name
            continue
        assert ours.dtype == theirs.dtype == dtype and ours.shape == theirs.shape, name
        np.testing.assert_allclose(theirs, ours, err_msg=name, **TOLERANCES[dtype])
