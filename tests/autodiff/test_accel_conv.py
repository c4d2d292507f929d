"""The accelerator's C kernels (`accel_conv`: convolutions, tiled max pooling) against the NumPy
reference, and how they are built: compiled once into the cache folder, announced once, and NumPy
when nothing compiles.

The kernels take float32 only; float64 convolutions (the gradient checks') stay on NumPy, which a
test below holds them to.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from nablanet import grad
from nablanet.autodiff import no_grad
from nablanet.autodiff import accel
from nablanet.autodiff.ops import nn

rng = np.random.default_rng(7)

if accel.kernels("conv") is None:  # CI has a C compiler: a machine without one must not pass silently
    pytest.fail("accel_conv did not build: the C kernels need a C compiler", pytrace=False)
conv_kernels = accel.kernels("conv")

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}

DIRECT = [  # input shape, kernel shape, strides, padding, dilation: up to 4 input channels
    ((2, 9, 8, 1), (3, 3, 1, 32), 1, "valid", 1),  # W3's first layer, an even output row
    ((3, 10, 11, 3), (3, 3, 3, 13), (2, 1), ((1, 1), (0, 2)), (1, 2)),  # 13 channels: the scalar remainder
    ((2, 7, 7, 2), (5, 5, 2, 40), 1, "same", 1),  # 32 + 8 channels, odd output rows
    ((1, 6, 5, 4), (2, 2, 4, 8), 2, "valid", 1),
    ((2, 12, 12, 3), (7, 7, 3, 16), 3, "same", 1),  # a 147-entry patch
]

WINOGRAD = [  # 3x3 kernels at stride 1, channels in multiples of 8
    ((2, 13, 13, 32), (3, 3, 32, 64), "valid"),  # W3's second layer: an odd output, cropped tiles
    ((3, 8, 9, 16), (3, 3, 16, 24), "same"),
    ((1, 5, 6, 8), (3, 3, 8, 8), ((0, 1), (2, 0))),
    ((2, 3, 3, 8), (3, 3, 8, 16), "valid"),  # a single output pixel
    ((19, 13, 13, 8), (3, 3, 8, 8), "same"),  # 49 tiles an image: batches of 11 images and a last of 8
]


def both_paths(x, w, b, relu, **geometry):
    """The convolution's output and its gradients with respect to x, w and b, NumPy's then the
    accelerator's (its numba kernels, the fold and relu's gradient, are held to NumPy in test_accel.py)."""
    conv = lambda x, w, b: nn.conv2d(x, w, bias=b, relu=relu, **geometry)
    results = []
    for on in (False, True):
        accel.set_enabled(on)
        try:
            value = conv(x, w, b)
            cotangent = np.linspace(-1.0, 2.0, value.size).reshape(value.shape).astype(np.float32)
            grads = [grad(lambda *a, c=cotangent: (conv(*a) * c).sum(), argnums=i)(x, w, b) for i in range(3)]
        finally:
            accel.set_enabled(None)
        results.append([np.asarray(value)] + grads)
    return results


def check(shape, kshape, relu, **geometry):
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(kshape).astype(np.float32)
    b = rng.standard_normal(kshape[-1]).astype(np.float32)
    reference, ours = both_paths(x, w, b, relu, **geometry)
    with no_grad():  # nothing kept for a backward: the forward reuses its buffers
        ours.append(nn.conv2d(x, w, bias=b, relu=relu, **geometry))
    np.testing.assert_array_equal(ours.pop(), ours[0])
    for name, mine, theirs in zip(("output", "dx", "dw", "db"), ours, reference):
        assert mine.dtype == theirs.dtype == np.float32, name
        scale = max(1.0, float(np.abs(theirs).max()))  # long float32 sums: relative to the largest entry
        np.testing.assert_allclose(mine / scale, theirs / scale, err_msg=name, **TOLERANCE)


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("shape, kshape, strides, padding, dilation", DIRECT)
def test_the_direct_kernel_matches_numpy(shape, kshape, strides, padding, dilation, relu):
    check(shape, kshape, relu, strides=strides, padding=padding, dilation_rate=dilation)


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("shape, kshape, padding", WINOGRAD)
def test_winograd_matches_numpy(shape, kshape, padding, relu):
    check(shape, kshape, relu, padding=padding)


def test_which_kernel_takes_a_convolution():
    x1, x32 = np.ones((1, 6, 6, 1), np.float32), np.ones((1, 6, 6, 32), np.float32)
    take = lambda x, kshape, strides=(1, 1), dilation=(1, 1): conv_kernels.conv2d(
        x, np.ones(kshape, x.dtype), None, (4, 4), strides, ((0, 0), (0, 0)), dilation, False)
    assert take(x1, (3, 3, 1, 8)) is not None  # direct
    assert take(x32, (3, 3, 32, 8)) is not None  # Winograd
    assert take(x32, (3, 3, 32, 12)) is None  # output channels not a multiple of 8
    assert take(x32, (3, 3, 32, 8), strides=(2, 2)) is None
    assert take(x32, (3, 3, 32, 8), dilation=(2, 1)) is None
    assert take(x32.astype(np.float64), (3, 3, 32, 8)) is None  # float64 stays NumPy's
    assert conv_kernels.conv2d_kernel_gradient(x32, np.ones((1, 4, 4, 8), np.float32), None, (3, 3, 32, 8),
                                               (1, 1), ((0, 0), (0, 0)), (1, 1), True) is None


def test_relu_keeps_nan_as_numpy():
    x = rng.standard_normal((1, 6, 6, 8)).astype(np.float32)
    x[0, 2, 3, :] = np.nan
    for kshape in ((3, 3, 8, 8), (3, 3, 1, 8)):
        xs = x[..., :kshape[2]]
        outputs = []
        for on in (False, True):
            accel.set_enabled(on)
            outputs.append(nn.conv2d(xs, np.ones(kshape, np.float32), relu=True))
        accel.set_enabled(None)
        np.testing.assert_array_equal(np.isnan(outputs[1]), np.isnan(outputs[0]))
        assert np.isnan(outputs[1]).any()


def run_python(code, **environment):
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(nn.__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src] + sys.path), NABLANET_ACCEL="1", **environment)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)


CONVOLVE = (
    "import numpy as np\n"
    "from nablanet.autodiff import accel\n"
    "from nablanet.autodiff.ops import nn\n"
    "y = nn.conv2d(np.ones((1, 5, 5, 1), 'float32'), np.ones((3, 3, 1, 8), 'float32'))\n"
    "assert np.allclose(y, 9)\n"
    "print(accel.kernels('conv') is not None)\n"
)


def test_the_kernels_compile_once_into_the_cache_folder(tmp_path):
    first = run_python(CONVOLVE, NABLANET_CACHE_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.strip() == "True"
    assert first.stderr.count("compiling the accelerator's C kernels") == 1
    assert [p.suffix for p in tmp_path.iterdir()] == [".so"]  # no partial file left behind
    second = run_python(CONVOLVE, NABLANET_CACHE_DIR=str(tmp_path))
    assert second.returncode == 0 and second.stdout.strip() == "True"
    assert "compiling" not in second.stderr


def test_without_a_compiler_convolutions_run_on_numpy(tmp_path):
    missing = run_python(CONVOLVE, NABLANET_CACHE_DIR=str(tmp_path), CC="no-such-compiler", PATH=str(tmp_path))
    assert missing.returncode == 0, missing.stderr[-3000:]
    assert missing.stdout.strip() == "False" and missing.stderr == ""
    (tmp_path / "broken-cc").write_text("#!/bin/sh\necho 'cc: out of order' >&2\nexit 1\n")
    (tmp_path / "broken-cc").chmod(0o755)
    failing = run_python(CONVOLVE, NABLANET_CACHE_DIR=str(tmp_path), CC=str(tmp_path / "broken-cc"))
    assert failing.returncode == 0, failing.stderr[-3000:]
    assert failing.stdout.strip() == "False"
    assert "could not compile the accelerator's C kernels" in failing.stderr and "out of order" in failing.stderr
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".so"]


TILED_POOLS = [  # input shape, pool: windows that tile the input (strides = pool, no padding)
    ((2, 7, 9, 16), (2, 2)),  # an odd row and column outside every window
    ((1, 6, 6, 13), (3, 3)),  # 8 channels in a vector and 5 past them
    ((2, 5, 8, 8), (2, 3)),
]


@pytest.mark.parametrize("shape, pool", TILED_POOLS)
def test_tiled_max_pooling_matches_numpy(shape, pool):
    x = rng.standard_normal(shape).astype(np.float32)
    x[0, 0, 0, :] = x[0, 0, 1, :] = x[0, 1, 0, :] = 4  # a three-way tie: the first in row-major order takes it
    x[-1, 1, 1, 3] = np.nan  # a NaN window: its maximum is NaN and nobody gets its gradient
    x[-1, -1, -1, :] = -np.inf
    results = []
    for on in (False, True):
        accel.set_enabled(on)
        try:
            out = nn.max_pool(x, pool)
            cotangent = np.linspace(-1.0, 2.0, out.size).reshape(out.shape).astype(np.float32)
            dx = grad(lambda x, c=cotangent: (nn.max_pool(x, pool) * c).sum())(x)
        finally:
            accel.set_enabled(None)
        results.append((np.asarray(out), dx))
    (out, dx), (fast_out, fast_dx) = results
    np.testing.assert_array_equal(fast_out, out)  # NaN in the same places too
    np.testing.assert_array_equal(fast_dx, dx)  # a routed gradient is exact
    assert np.isnan(fast_out).any() and fast_dx.dtype == np.float32


def test_other_windows_are_not_taken():
    x = np.ones((1, 6, 6, 8), np.float32)
    assert conv_kernels.max_pool(x, (2, 2), (1, 1), ((0, 0), (0, 0))) is None  # overlapping windows
    assert conv_kernels.max_pool(x, (2, 2), (2, 2), ((0, 1), (0, 1))) is None  # padding
    assert conv_kernels.max_pool(x.astype(np.float64), (2, 2), (2, 2), ((0, 0), (0, 0))) is None


def test_a_damaged_library_falls_back_to_numpy(tmp_path):
    warm = run_python(CONVOLVE, NABLANET_CACHE_DIR=str(tmp_path))
    assert warm.returncode == 0 and warm.stdout.strip() == "True", warm.stderr[-3000:]
    (library,) = tmp_path.iterdir()
    library.write_bytes(b"not a shared library")
    damaged = run_python(CONVOLVE, NABLANET_CACHE_DIR=str(tmp_path))
    assert damaged.returncode == 0, damaged.stderr[-3000:]
    assert damaged.stdout.strip() == "False" and "could not load the accelerator's C kernels" in damaged.stderr
