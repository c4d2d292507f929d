"""Initializers: the variance-scaling rules, truncation, orthogonality, seeds and names."""

import math

import numpy as np
import pytest

from nablanet import initializers, utils


@pytest.mark.parametrize("name, variance", [
    ("glorot_uniform", 2 / (300 + 200)), ("glorot_normal", 2 / (300 + 200)),
    ("he_uniform", 2 / 300), ("he_normal", 2 / 300),
    ("lecun_uniform", 1 / 300), ("lecun_normal", 1 / 300),
])
def test_variance_scaling_rules(name, variance):
    w = initializers.get(name)((300, 200))
    assert w.dtype == np.float32 and w.shape == (300, 200)
    assert w.var() == pytest.approx(variance, rel=0.03)
    assert abs(w.mean()) < 4 * math.sqrt(variance / w.size)
    if name.endswith("uniform"):
        assert np.abs(w).max() <= math.sqrt(3 * variance)
    else:  # truncated at two standard deviations of the untruncated normal
        assert np.abs(w).max() <= 2 * math.sqrt(variance) / 0.87962566103423978 + 1e-7


def test_conv_kernel_fans_count_the_receptive_field():
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)
    assert initializers.compute_fans((5,)) == (5, 5)
    w = initializers.HeNormal(seed=1)((3, 3, 64, 64))
    assert w.var() == pytest.approx(2 / (9 * 64), rel=0.03)


def test_plain_distributions():
    assert np.all(initializers.Zeros()((2, 3)) == 0) and np.all(initializers.Ones()((2,)) == 1)
    assert np.all(initializers.Constant(2.5)((2, 2)) == 2.5)
    t = initializers.TruncatedNormal(mean=1.0, stddev=0.1, seed=0)((10000,))
    assert np.abs(t - 1.0).max() <= 0.2 and t.std() == pytest.approx(0.088, rel=0.05)
    u = initializers.RandomUniform(seed=0)((10000,))
    assert u.min() >= -0.05 and u.max() < 0.05
    assert initializers.RandomNormal(stddev=2.0, seed=0)((10000,)).std() == pytest.approx(2.0, rel=0.03)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (2, 3, 5)])
def test_orthogonal_is_orthogonal(shape):
    raw = initializers.Orthogonal(gain=2.0, seed=0)(shape, dtype="float64")
    assert raw.flags.c_contiguous  # row-major, as every weight: NumPy walks mixed layouts ~8x slower
    w = raw.reshape(-1, shape[-1])
    small = min(w.shape)
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-12)


def test_identity_and_shape_errors():
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((2, 3)), 3.0 * np.eye(2, 3))
    with pytest.raises(ValueError, match=r"Identity: expected a 2-D shape, got \(2, 2, 2\)"):
        initializers.Identity()((2, 2, 2))


def test_seeds_make_weights_repeatable():
    a = initializers.GlorotUniform(seed=42)((3, 3))
    np.testing.assert_array_equal(a, initializers.GlorotUniform(seed=42)((3, 3)))
    utils.set_random_seed(7)
    b = initializers.get("he_normal")((3, 3))
    utils.set_random_seed(7)
    np.testing.assert_array_equal(b, initializers.get("he_normal")((3, 3)))


def test_names_configs_and_errors():
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    config = initializers.serialize(initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=3))
    again = initializers.deserialize(config)
    assert again.get_config() == {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 3,
                                  "input_axes": None, "output_axes": None}  # Keras 3's keys
    with pytest.raises(ValueError, match="unknown initializer 'glorot'. Did you mean"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="mode must be one of"):
        initializers.VarianceScaling(mode="fan_sum")


def test_configs_match_keras():
    keras = pytest.importorskip("keras")
    for name in ["glorot_uniform", "he_normal", "orthogonal", "truncated_normal", "random_uniform",
                 "identity", "variance_scaling"]:  # keras.initializers.get("constant") fails
        ours = initializers.get(name).get_config()
        theirs = keras.initializers.get(name).get_config()
        theirs = {k: v for k, v in theirs.items() if k not in ("input_axes", "output_axes")}
        assert {key: ours.get(key) for key in theirs} == theirs, name  # Keras's Identity drops gain


@pytest.mark.parametrize("kwargs", [{}, {"side": "imag"},
                                    {"window": "hamming", "scaling": "spectrum", "periodic": True}, {"window": None},
                                    {"window": "blackman", "scaling": None},
                                    {"window": [0.1, 0.5, 1.0, 0.5, 0.2, 0.1, 0.0, 0.3]}])
def test_stft_kernels_match_keras(kwargs):
    keras = pytest.importorskip("keras")
    ours = initializers.STFT(**kwargs)
    theirs = keras.initializers.STFT(**kwargs)
    expected = keras.ops.convert_to_numpy(theirs((8, 1, 5), dtype="float64"))
    np.testing.assert_allclose(ours((8, 1, 5), dtype="float64"), expected, rtol=1e-12, atol=1e-14)
    assert ours((8, 1, 5)).dtype == np.float32
    assert ours.get_config() == theirs.get_config()
    assert initializers.stft is initializers.STFTInitializer is initializers.STFT


def test_windows_match_scipy_and_errors_name_the_window():
    signal = pytest.importorskip("scipy.signal")
    for window in ("hann", "hamming", "blackman", "bartlett", "boxcar"):
        for length in (1, 2, 7):
            for periodic in (False, True):
                np.testing.assert_allclose(initializers.get_window(window, length, periodic),
                                           signal.get_window(window, length, fftbins=periodic), atol=1e-14)
    with pytest.raises(ValueError, match="side must be 'real' or 'imag', got 'both'"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="window must have shape \\(8,\\)"):
        initializers.STFT(window=[1.0, 2.0])((8, 1, 5))
