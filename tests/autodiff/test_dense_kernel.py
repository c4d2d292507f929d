"""The fused dense primitive's first-order VJP: the relu's derivative compiled (the accelerator) and in
NumPy give the same gradients, and the bias's gradient is the column sums, float32 and float64."""

import numpy as np
import pytest

from nablanet.autodiff import accel
from nablanet.autodiff.ops import nn

rng = np.random.default_rng(5)


def _gradients(x, w, b, g, compiled):
    accel.set_enabled(compiled)
    try:
        out = nn._dense(x, w, b, relu=True)
        return [f() for f in nn._dense_vjp(g, out, x, w, b, relu=True)]
    finally:
        accel.set_enabled(None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_relu_gradients_compiled_and_numpy_agree_with_the_formulas(dtype):
    pytest.importorskip("numba")
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((37, 6), (6, 9), (9,)))
    x[0] = 0  # a row whose pre-activations are the bias alone
    b[2] = 0  # with a zero bias: an exact 0 at relu's kink, whose derivative is 0
    g = rng.standard_normal((37, 9)).astype(dtype)
    numpy_path, compiled = _gradients(x, w, b, g, False), _gradients(x, w, b, g, True)
    masked = g * (np.maximum(x @ w + b, 0) > 0)
    expected = [masked @ w.T, x.T @ masked, masked.sum(axis=0)]
    tolerance = {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5}
    for name, ours, theirs, reference in zip(["x", "kernel", "bias"], numpy_path, compiled, expected):
        assert ours.dtype == theirs.dtype == dtype, name
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
        np.testing.assert_allclose(ours, reference, err_msg=name, **tolerance)
