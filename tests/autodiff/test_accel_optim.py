"""The compiled optimizer updates (`accel_optim`) against the NumPy reference path.

Each kernel does the reference's IEEE operations in the same order in the variable's dtype (no
fused multiply-add: numba contracts only under fastmath), so several steps agree to the last bit.
Arrays that do not suit the kernels (strided, float16) take the NumPy path.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import nablanet as nn
from nablanet.autodiff import accel

pytest.importorskip("numba")  # the test extra installs it: CI tests both paths

OPTIMIZERS = {
    "adam": lambda: nn.optimizers.Adam(learning_rate=0.01),
    "amsgrad": lambda: nn.optimizers.Adam(learning_rate=0.01, amsgrad=True),
    "adamw": lambda: nn.optimizers.AdamW(learning_rate=0.01, weight_decay=0.1),
    "sgd": lambda: nn.optimizers.SGD(learning_rate=0.1),
    "momentum": lambda: nn.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    "nesterov": lambda: nn.optimizers.SGD(learning_rate=0.1, momentum=0.8, nesterov=True),
    "rmsprop": lambda: nn.optimizers.RMSprop(learning_rate=0.01),
    "rmsprop_momentum": lambda: nn.optimizers.RMSprop(learning_rate=0.01, momentum=0.5),
    "rmsprop_centered": lambda: nn.optimizers.RMSprop(learning_rate=0.01, centered=True),
    "rmsprop_both": lambda: nn.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
}
KERNELS = {"adam": "adam", "amsgrad": "adam_amsgrad", "adamw": "adam", "sgd": "sgd", "momentum": "sgd_momentum",
           "nesterov": "sgd_momentum"}


@pytest.fixture
def calls(monkeypatch):
    """Count the calls of each compiled kernel (the real kernels still run)."""
    accel.set_enabled(True)
    kernels = accel.kernels("optim")
    assert kernels is not None, "the optim kernels did not load with numba installed"
    counted = {}

    def spy(name, kernel):
        def counting(*args):
            counted[name] = counted.get(name, 0) + 1
            return kernel(*args)

        return counting

    for name in ("adam", "adam_amsgrad", "sgd", "sgd_momentum", "rmsprop"):
        monkeypatch.setattr(kernels, name, spy(name, getattr(kernels, name)))
    yield counted
    accel.set_enabled(None)


def gradients(size, dtype, steps=3):
    """Gradients over many magnitudes, so that epsilon's placement shows in the results."""
    rng = np.random.default_rng(size)
    scale = 10.0 ** rng.integers(-6, 2, size)
    return [(rng.standard_normal(size) * scale).astype(dtype) for _ in range(steps)]


def train(make, start, grads, accelerated, gradient_view=lambda g: g):
    """The variable and every state array after one `apply` per gradient, with the accelerator on or off."""
    accel.set_enabled(accelerated)
    try:
        variable = nn.Variable(start.copy())
        optimizer = make()
        for g in grads:
            optimizer.apply([gradient_view(g)], [variable])
    finally:
        accel.set_enabled(True)
    return [variable.numpy()] + [np.array(slot) for slot in optimizer.variables]


def assert_identical(compiled, reference):
    assert len(compiled) == len(reference)
    for got, want in zip(compiled, reference):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("size", [1, 7, 100_003])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_compiled_steps_equal_the_numpy_steps(calls, name, dtype, size):
    start = np.random.default_rng(1).standard_normal(size).astype(dtype)
    grads = gradients(size, dtype)
    kernel_calls = {KERNELS.get(name, "rmsprop"): len(grads)}
    compiled = train(OPTIMIZERS[name], start, grads, True)
    assert calls == kernel_calls
    reference = train(OPTIMIZERS[name], start, grads, False)
    assert calls == kernel_calls  # the NumPy path called no kernel
    assert_identical(compiled, reference)
    assert not np.array_equal(compiled[0], start)


def test_chunks_on_threads_equal_one_pass(calls, monkeypatch):
    start = np.random.default_rng(2).standard_normal(300_007).astype(np.float32)
    grads = gradients(300_007, np.float32, steps=2)
    monkeypatch.setenv("NABLANET_NUM_THREADS", "2")
    threaded = train(OPTIMIZERS["amsgrad"], start, grads, True)
    assert calls["adam_amsgrad"] == 4  # two chunks a step
    monkeypatch.setenv("NABLANET_NUM_THREADS", "1")
    assert_identical(threaded, train(OPTIMIZERS["amsgrad"], start, grads, True))
    assert_identical(threaded, train(OPTIMIZERS["amsgrad"], start, grads, False))


@pytest.mark.parametrize("name", ["adam", "momentum", "rmsprop_both"])
def test_strided_gradients_take_the_numpy_path(calls, name):
    start = np.random.default_rng(3).standard_normal((5, 3))
    grads = [g.reshape(3, 5).T for g in gradients(15, np.float64)]  # Fortran-ordered views
    compiled = train(OPTIMIZERS[name], start, grads, True)
    assert calls == {}
    assert_identical(compiled, train(OPTIMIZERS[name], start, [np.ascontiguousarray(g) for g in grads], False))


def test_a_strided_variable_and_float16_take_the_numpy_path(calls):
    variable = nn.Variable(np.zeros((4, 6)))
    variable.data = np.ones((4, 12))[:, ::2]  # a view over every other column
    optimizer = nn.optimizers.Adam(learning_rate=0.5)
    optimizer.apply([np.ones((4, 6))], [variable])
    half = nn.Variable(np.ones(5, np.float16))
    nn.optimizers.SGD(learning_rate=0.5, momentum=0.5).apply([np.ones(5, np.float16)], [half])
    assert calls == {}
    np.testing.assert_allclose(variable.numpy(), 0.5, rtol=1e-5)
    np.testing.assert_array_equal(half.numpy(), np.full(5, 0.5, np.float16))


def test_kernels_a_program_never_calls_do_not_bring_the_compile_notice_back(monkeypatch, capsys, tmp_path):
    import types

    def dispatcher(index):
        return types.SimpleNamespace(py_func=None, _cache=types.SimpleNamespace(
            _cache_file=types.SimpleNamespace(_index_path=str(tmp_path / index))))

    module = types.SimpleNamespace(adam=dispatcher("adam.nbi"), rmsprop=dispatcher("rmsprop.nbi"))
    monkeypatch.setitem(accel._state, "announced", False)
    accel._announce_compiling(module)
    assert capsys.readouterr().err.count("compiling the accelerator's kernels") == 1
    (tmp_path / "adam.nbi").write_bytes(b"")  # Adam's kernel compiled and cached; RMSprop's never used
    monkeypatch.setitem(accel._state, "announced", False)
    accel._announce_compiling(module)
    assert capsys.readouterr().err == ""


def test_a_small_model_does_not_import_numba_for_its_updates_and_a_big_variable_does():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import nablanet as nn\n"
        "small = [nn.Variable(np.ones((100, 60), np.float32)), nn.Variable(np.ones(60, np.float32))]\n"
        "optimizer = nn.optimizers.Adam()\n"
        "optimizer.apply([np.ones((100, 60), np.float32), np.ones(60, np.float32)], small)\n"
        "assert sys.modules.get('numba') is None, 'numba imported for a small update'\n"
        "big = nn.Variable(np.ones(1 << 16, np.float32))\n"
        "nn.optimizers.SGD(momentum=0.5).apply([np.ones(1 << 16, np.float32)], [big])\n"
        "assert sys.modules.get('numba') is not None, 'numba not imported for a big update'\n"
        "optimizer.apply([np.ones((100, 60), np.float32), np.ones(60, np.float32)], small)\n"
        "from nablanet.autodiff import accel\n"
        "assert accel.kernels('optim') is not None\n"
    )
    src = os.path.dirname(os.path.dirname(nn.__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src] + sys.path), NABLANET_ACCEL="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
