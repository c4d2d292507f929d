"""The compiled kernels against the NumPy reference, and the package without numba.

Every kernel `accel_nn` puts behind a primitive runs both ways on the same inputs, forward and
backward, float32 and float64, over odd shapes, strides, padding and dilation.
"""

import os
import subprocess
import sys
import types

import numpy as np
import pytest

from nablanet import grad
from nablanet.autodiff.ops import nn
from nablanet.autodiff import accel

pytest.importorskip("numba")  # the test extra installs it: CI tests both paths

rng = np.random.default_rng(0)

TOLERANCES = {np.float32: {"rtol": 1e-5, "atol": 1e-5}, np.float64: {"rtol": 1e-12, "atol": 1e-12}}

CONVOLUTIONS = [  # input shape, kernel shape, strides, padding, dilation, bias, relu
    ((3, 7, 9, 2), (3, 2, 2, 5), 1, "same", 1, True, True),
    ((2, 11, 8, 3), (3, 3, 3, 4), 2, "valid", 1, True, False),
    ((2, 10, 9, 3), (3, 3, 3, 4), (2, 1), "same", 2, False, True),
    ((2, 10, 9, 1), (2, 3, 1, 4), 1, ((1, 2), (0, 3)), (1, 2), True, True),
    ((1, 5, 5, 17), (1, 1, 17, 3), 1, "valid", 1, False, False),
    ((2, 6, 7, 5), (5, 4, 5, 2), 3, "same", 1, True, True),
]

POOLS = [  # input shape, pool, strides, padding
    ((3, 7, 9, 2), 2, None, "valid"),
    ((2, 6, 9, 3), 3, None, "valid"),
    ((2, 9, 9, 3), 3, 2, "same"),
    ((2, 8, 7, 3), (2, 3), (1, 2), "same"),
    ((1, 5, 6, 4), (3, 2), 1, "valid"),
]


def both_paths(f, *arrays):
    """f's value and its gradient with respect to every input, NumPy's then the accelerator's."""
    results = []
    for on in (False, True):
        accel.set_enabled(on)
        try:
            value = f(*arrays)
            cotangent = weights(value)
            grads = [grad(lambda *a, c=cotangent: (f(*a) * c).sum(), argnums=i)(*arrays)
                     for i in range(len(arrays))]
        finally:
            accel.set_enabled(None)
        results.append([np.asarray(value)] + grads)
    return results


def weights(value):
    """A fixed, uneven cotangent, so no gradient can be right by symmetry."""
    return np.linspace(-1.0, 2.0, np.size(value)).reshape(np.shape(value)).astype(np.asarray(value).dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kshape, strides, padding, dilation, bias, relu", CONVOLUTIONS)
def test_conv2d_matches_numpy(dtype, shape, kshape, strides, padding, dilation, bias, relu):
    x, w = rng.standard_normal(shape).astype(dtype), rng.standard_normal(kshape).astype(dtype)
    b = rng.standard_normal(kshape[-1]).astype(dtype)
    conv = lambda x, w, b: nn.conv2d(x, w, strides, padding, dilation, bias=b if bias else None, relu=relu)
    reference, compiled = both_paths(conv, x, w, b)
    for name, ours, theirs in zip(("output", "dx", "dw", "db"), compiled, reference):
        assert ours.dtype == theirs.dtype, name
        np.testing.assert_allclose(ours, theirs, err_msg=name, **TOLERANCES[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, pool, strides, padding", POOLS)
def test_max_pool_matches_numpy(dtype, shape, pool, strides, padding):
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 1, 1, 0] = x[0, 1, 2, 0] = x[0, 2, 1, 0] = 5  # a tie: the gradient goes to the first maximum
    x[-1, 0, 0, -1] = -np.inf  # a window corner that padding ties with
    reference, compiled = both_paths(lambda x: nn.max_pool(x, pool, strides, padding), x)
    np.testing.assert_array_equal(compiled[0], reference[0])  # a maximum is exact
    assert compiled[1].dtype == reference[1].dtype
    np.testing.assert_allclose(compiled[1], reference[1], **TOLERANCES[dtype])  # overlapping windows add in turn


def test_max_pool_propagates_nan_as_numpy():
    x = rng.standard_normal((1, 4, 4, 2)).astype(np.float32)
    x[0, 1, 0, 1] = np.nan
    outputs = []
    for on in (False, True):
        accel.set_enabled(on)
        outputs.append(nn.max_pool(x, 2))
    accel.set_enabled(None)
    np.testing.assert_array_equal(outputs[1], outputs[0])
    assert np.isnan(outputs[1][0, 0, 0, 1])


def test_the_switch_and_the_environment(monkeypatch):
    assert accel.kernels("nn") is not None
    accel.set_enabled(False)
    assert accel.kernels("nn") is None and not accel.enabled()
    accel.set_enabled(None)
    monkeypatch.setitem(accel._state, "environment", None)
    monkeypatch.setenv("NABLANET_ACCEL", "0")
    assert not accel.enabled()
    monkeypatch.setitem(accel._state, "environment", None)
    monkeypatch.setenv("NABLANET_ACCEL", "1")
    assert accel.enabled()
    with pytest.raises(ValueError, match="accel.set_enabled"):
        accel.set_enabled("yes")
    with pytest.raises(ValueError, match="no kernel module 'nope'"):
        accel.kernels("nope")


def test_a_first_compile_is_announced_once(monkeypatch, capsys, tmp_path):
    dispatcher = types.SimpleNamespace(py_func=None, _cache=types.SimpleNamespace(
        _cache_file=types.SimpleNamespace(_index_path=str(tmp_path / "kernel.nbi"))))
    module = types.SimpleNamespace(kernel=dispatcher)
    monkeypatch.setitem(accel._state, "announced", False)
    accel._announce_compiling(module)
    accel._announce_compiling(module)
    assert capsys.readouterr().err.count("compiling the accelerator's kernels") == 1
    (tmp_path / "kernel.nbi").write_bytes(b"")
    monkeypatch.setitem(accel._state, "announced", False)
    accel._announce_compiling(module)
    assert capsys.readouterr().err == ""


def test_the_package_imports_and_trains_without_numba():
    code = (
        "import sys\n"
        "sys.modules['numba'] = None\n"  # import numba now raises ImportError
        "import numpy as np\n"
        "import nablanet as keras\n"
        "from nablanet.autodiff import accel\n"
        "model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, activation='relu'),\n"
        "    keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(2)])\n"
        "model.compile(optimizer='adam', loss='mse')\n"
        "history = model.fit(np.ones((4, 8, 8, 1), 'float32'), np.zeros((4, 2), 'float32'), verbose=0)\n"
        "assert np.isfinite(history.history['loss'][0])\n"
        "assert not accel.enabled() and accel.kernels('nn') is None\n"
        "assert 'numba' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(nn.__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src] + sys.path), NABLANET_ACCEL="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
