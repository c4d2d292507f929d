"""The compiled recurrent gate kernels (`accel_rnn`) against the NumPy reference path: the fused LSTM
and GRU primitives forward and backward, float32 and float64, masks, last-step-only outputs, odd
sizes, and the layers with go_backwards and return_sequences."""

import os
import subprocess
import sys

import numpy as np
import pytest

from nablanet import Tensor, layers, ops
from nablanet.autodiff import accel
from nablanet.autodiff.ops import rnn

pytest.importorskip("numba")

TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-12, "atol": 1e-13}}


@pytest.fixture(autouse=True)
def accelerator_on():
    accel.set_enabled(True)
    assert accel.kernels("rnn") is not None, "the rnn kernels did not load with numba installed"
    yield
    accel.set_enabled(None)


def both_paths(run):
    """run() with the compiled kernels, then on the NumPy path: both results."""
    compiled = run()
    accel.set_enabled(False)
    try:
        reference = run()
    finally:
        accel.set_enabled(True)
    return compiled, reference


def assert_same(compiled, reference, dtype):
    assert len(compiled) == len(reference)
    for got, want in zip(compiled, reference):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **TOLERANCE[dtype])


def primitive_case(cell, dtype, n, steps, d, u, *, bias=True, masked=False, **options):
    """A function that runs the fused primitive forward and backward on fixed random inputs and
    returns its output and every gradient."""
    rng = np.random.default_rng(1)
    gates = 4 if cell == "lstm" else 3
    x = rng.standard_normal((n, steps, d)).astype(dtype)
    w = (rng.standard_normal((d, gates * u)) * 0.5).astype(dtype)
    r = (rng.standard_normal((u, gates * u)) * 0.5).astype(dtype)
    b_shape = (gates * u,) if cell == "lstm" else (2, gates * u)
    b = rng.standard_normal(b_shape).astype(dtype) if bias else None
    states = [rng.standard_normal((n, u)).astype(dtype) for _ in range(2 if cell == "lstm" else 1)]
    if masked:
        mask = rng.random((n, steps)) < 0.7
        mask[0] = False  # a sequence with every step masked
        options["mask"] = mask
    forward, backward = (rnn._lstm, rnn._lstm_vjp) if cell == "lstm" else (rnn._gru, rnn._gru_vjp)

    def run():
        out = forward(x, w, r, b, *states, **options)
        g = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
        grads = backward(g, out, x, w, r, b, *states, **options)
        return [np.array(out)] + [np.asarray(grad() if callable(grad) else grad) for grad in grads if grad is not None]

    return run


CASES = [
    ({}, (4, 6, 3, 5)),
    ({"last_only": True}, (4, 6, 3, 5)),
    ({"masked": True}, (5, 7, 3, 4)),
    ({"masked": True, "zero_output": True}, (5, 7, 3, 4)),
    ({"masked": True, "last_only": True}, (3, 4, 2, 3)),
    ({"bias": False}, (1, 3, 1, 1)),
    ({}, (7, 1, 9, 11)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("options, sizes", CASES)
def test_the_compiled_primitive_matches_the_numpy_path(cell, dtype, options, sizes):
    compiled, reference = both_paths(primitive_case(cell, dtype, *sizes, **options))
    assert_same(compiled, reference, dtype)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("layer", [
    lambda: layers.LSTM(5, go_backwards=True, return_sequences=True, return_state=True),
    lambda: layers.GRU(5, go_backwards=True, return_sequences=True),
    lambda: layers.GRU(5, return_state=True),
    lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
])
def test_layers_give_the_same_outputs_and_gradients_on_both_paths(layer, masked):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 6, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 1, 1, 0]], bool) if masked else None
    model = layer()
    model(x)

    def run():
        inputs = Tensor(x, requires_grad=True)
        outs = model(inputs, mask=mask)
        outs = outs if isinstance(outs, list) else [outs]
        total = ops.sum(ops.stack([ops.sum(o * (k + 1.5)) for k, o in enumerate(outs)]))
        total.backward()
        return [o.numpy() for o in outs] + [inputs.grad] + [w.grad for w in model.trainable_weights]

    for w in model.trainable_weights:
        w.grad = None
    compiled = run()
    for w in model.trainable_weights:
        w.grad = None
    accel.set_enabled(False)
    try:
        reference = run()
    finally:
        accel.set_enabled(True)
    assert_same(compiled, reference, np.float32)


def test_only_float32_and_float64_with_the_accelerator_on_take_the_kernels():
    assert rnn._compiled(np.dtype(np.float16)) is None
    assert rnn._compiled(np.dtype(np.float32)) is not None
    accel.set_enabled(False)
    assert rnn._compiled(np.dtype(np.float32)) is None


def test_recurrent_layers_train_without_numba():
    code = (
        "import sys\n"
        "sys.modules['numba'] = None\n"  # import numba now raises ImportError
        "import numpy as np\n"
        "import nablanet as keras\n"
        "from nablanet.autodiff import accel\n"
        "model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, return_sequences=True),\n"
        "    keras.layers.GRU(3), keras.layers.Dense(2)])\n"
        "model.compile(optimizer='adam', loss='mse')\n"
        "history = model.fit(np.ones((4, 5, 3), 'float32'), np.zeros((4, 2), 'float32'), verbose=0)\n"
        "assert np.isfinite(history.history['loss'][0])\n"
        "assert accel.kernels('rnn') is None\n"
    )
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(rnn.__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src] + sys.path), NABLANET_ACCEL="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
