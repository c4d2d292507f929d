"""keras.ops' math ops: values and dtypes against keras.ops on the torch backend, float64 central
differences for every differentiable one, and errors that name the op."""

import numpy as np
import pytest

from nablanet import Tensor, grad, gradcheck, ops

keras = pytest.importorskip("keras")
K = keras.ops

rng = np.random.default_rng(0)  # module-level: parametrize needs the arrays at collection


def normal(*shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


SIGNAL = normal(2, 40, dtype="float32")
SPECTRUM = tuple(keras.ops.convert_to_numpy(v) for v in K.stft(SIGNAL, 16, 4, 16))
SPECTRUM_NC = tuple(keras.ops.convert_to_numpy(v) for v in K.stft(SIGNAL, 12, 4, 16, center=False))
SPECTRUM_12 = tuple(keras.ops.convert_to_numpy(v) for v in K.stft(SIGNAL, 12, 4, 16))
PAIR = (normal(3, 8, dtype="float32"), normal(3, 8, dtype="float32"))
IDS = np.array([0, 0, 2, 3, 3, 3])
FULL_IDS = np.array([0, 0, 1, 2, 2, 2])  # no empty segment: its -inf has no finite difference

# name, args, kwargs: each is run through nablanet.ops and keras.ops and compared
VALUE_CASES = [
    ("fft", (PAIR,), {}),
    ("fft", ((normal(2, 5), normal(2, 5)),), {}),
    ("cdist", (np.zeros((0, 3)), normal(2, 3)), {}),
    ("fft2", (PAIR,), {}),
    ("ifft2", (PAIR,), {}),
    ("rfft", (PAIR[0],), {}),
    ("rfft", (PAIR[0],), {"fft_length": 5}),
    ("rfft", (PAIR[0],), {"fft_length": 11}),
    ("rfft", (normal(7),), {}),
    ("irfft", (PAIR,), {}),
    ("irfft", (PAIR,), {"fft_length": 7}),
    ("irfft", (PAIR,), {"fft_length": 20}),
    ("stft", (SIGNAL, 16, 4, 16), {}),
    ("stft", (SIGNAL, 12, 5, 16), {"window": "hamming"}),
    ("stft", (SIGNAL, 16, 4, 32), {"center": False}),
    ("stft", (SIGNAL, 16, 4, 16), {"window": None}),
    ("stft", (SIGNAL[0], 8, 3, 8), {"window": np.linspace(0, 1, 8).astype("float32")}),
    ("istft", (SPECTRUM, 16, 4, 16), {}),
    ("istft", (SPECTRUM, 16, 4, 16), {"length": 30}),
    ("istft", (SPECTRUM, 16, 4, 16), {"window": None}),
    ("istft", (SPECTRUM_NC, 12, 4, 16), {"center": False}),
    ("istft", (SPECTRUM_12, 12, 4, 16), {}),
    ("cdist", (normal(2, 3, 4), normal(2, 5, 4)), {}),
    ("cdist", (normal(3, 2, dtype="float32"), normal(1, 2, dtype="float32")), {}),
    ("extract_sequences", (PAIR[0], 3, 2), {}),
    ("extract_sequences", (normal(2, 3, 10), 4, 4), {}),
    ("top_k", (np.array([[1.0, 3, 2], [4, 4, 1]]), 2), {}),
    ("top_k", (normal(4, 6, dtype="float32"), 6), {}),
    ("top_k", (np.array([5, 1, 9, 3]), 1), {}),
    ("in_top_k", (np.array([1, 0, 2]), np.array([[1.0, 3, 2], [4, 4, 1], [0, 1, 1]]), 1), {}),
    ("in_top_k", (np.array([1, 0, 2]), np.array([[1.0, 3, 2], [4, 4, 1], [0, 1, 1]]), 2), {}),
    ("segment_sum", (normal(6, 2), IDS), {}),
    ("segment_sum", (normal(6, 2), IDS), {"num_segments": 5}),
    ("segment_sum", (normal(6, 2), IDS), {"num_segments": 2}),
    ("segment_sum", (np.array([1, 2, 3]), np.array([0, 1, 1])), {}),
    ("segment_max", (normal(6, 2), IDS), {}),
    ("segment_max", (normal(6, 2, dtype="float32"), IDS), {"num_segments": 5}),
    ("segment_min", (normal(6, 2), IDS), {"num_segments": 5}),
    ("segment_prod", (normal(6, 2), IDS), {"num_segments": 5}),
    ("segment_prod", (normal(6), IDS), {"sorted": True}),
    ("rsqrt", (np.array([4.0, 2.0, np.inf, 0.0]),), {}),
    ("rsqrt", (np.array([4, 2]),), {}),
    ("rsqrt", (normal(3, dtype="float32") ** 2,), {}),
    ("erf", (np.array([-1.0, 0.0, 0.5, np.nan]),), {}),
    ("erfc", (np.array([-3.0, 0.5, 6.0, np.inf]),), {}),
    ("erfc", (np.array([1, 2]),), {}),
    ("erfinv", (np.array([0.5, -0.2, 0.999, 1.0, -1.0, 2.0]),), {}),
    ("erfinv", (np.array([0.5, -0.25], "float32"),), {}),
    ("logdet", (np.array([[2.0, 1], [1, 3]]),), {}),
    ("logdet", (normal(3, 3, 3),), {}),
    ("logsumexp", (PAIR[0],), {"axis": 1}),
    ("logsumexp", (np.array([[1000.0, 1000.0], [-np.inf, 0.0]]),), {"axis": -1, "keepdims": True}),
    ("logsumexp", (normal(2, 3, 4),), {"axis": (0, 2)}),
    ("rearrange", (normal(2, 3, 4, 5), "b h w c -> b (h w) c"), {}),
    ("rearrange", (normal(2, 12), "b (h w) -> b w h"), {"h": 3}),
    ("rearrange", (normal(2, 3, 4), "a b c -> c a b"), {}),
    ("view_as_real", (np.array([1 + 2j, 3j]),), {}),
    ("view_as_complex", (np.ones((2, 2), "float32"),), {}),
]


def as_list(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


@pytest.mark.parametrize("name, args, kwargs", VALUE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(VALUE_CASES)])
def test_values_and_dtypes_match_keras(name, args, kwargs):
    ours = as_list(getattr(ops, name)(*args, **kwargs))
    theirs = as_list(getattr(K, name)(*args, **kwargs))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = ops.convert_to_numpy(a), K.convert_to_numpy(b)
        assert a.shape == b.shape, name
        assert a.dtype == b.dtype, f"{name}: {a.dtype} vs Keras's {b.dtype}"
        # Keras's torch backend reduces segments in float32 whatever the input dtype
        tol = 1e-5 if a.dtype in (np.float32, np.complex64) or name.startswith("segment") else 1e-10
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True)


def test_on_tensors_ops_return_tensors_and_on_arrays_numpy():
    x = normal(3, 8)
    assert isinstance(ops.rfft(Tensor(x))[0], Tensor)
    assert isinstance(ops.rfft(x)[0], np.ndarray)
    values, indices = ops.top_k(Tensor(x), 2)
    assert isinstance(values, Tensor) and indices.dtype == np.int64


# -- gradients: float64 central differences ------------------------------------------------------

W = normal(2, 5)  # a fixed weighting makes a real function of a complex pair's two parts
GRAD_CASES = [
    ("fft", lambda a, b: ops.fft((a, b))[0] * 0.3 + ops.fft((a, b))[1] * W, (normal(2, 5), normal(2, 5))),
    ("fft2", lambda a, b: sum(ops.fft2((a, b))), (normal(3, 4), normal(3, 4))),
    ("ifft2", lambda a, b: ops.ifft2((a, b))[1] - ops.ifft2((a, b))[0] ** 2, (normal(3, 4), normal(3, 4))),
    ("rfft", lambda a: ops.rfft(a, fft_length=6)[0] + ops.rfft(a, fft_length=6)[1] ** 2, (normal(2, 5),)),
    ("irfft", lambda a, b: ops.irfft((a, b), fft_length=8) ** 2, (normal(2, 5), normal(2, 5))),
    ("irfft", lambda a, b: ops.irfft((a, b)), (normal(2, 4), normal(2, 4))),
    ("stft", lambda a: ops.stft(a, 8, 3, 8)[0] * ops.stft(a, 8, 3, 8)[1], (normal(2, 20),)),
    ("stft", lambda a: ops.stft(a, 6, 2, 8, window="hamming", center=False)[1], (normal(15),)),
    ("istft", lambda a, b: ops.istft((a, b), 8, 2, 8), (normal(6, 5), normal(6, 5))),
    ("istft", lambda a, b: ops.istft((a, b), 6, 2, 8, center=False), (normal(6, 5), normal(6, 5))),
    ("cdist", ops.cdist, (normal(2, 3, 4), normal(2, 5, 4))),
    ("extract_sequences", lambda a: ops.extract_sequences(a, 4, 3), (normal(2, 11),)),
    ("top_k", lambda a: ops.top_k(a, 3)[0], (normal(3, 6),)),
    ("segment_sum", lambda a: ops.segment_sum(a, IDS, num_segments=5), (normal(6, 2),)),
    ("segment_max", lambda a: ops.segment_max(a, FULL_IDS), (normal(6, 2),)),
    ("segment_min", lambda a: ops.segment_min(a, FULL_IDS), (normal(6, 2),)),
    ("segment_prod", lambda a: ops.segment_prod(a, IDS), (normal(6, 2),)),
    ("rsqrt", ops.rsqrt, (rng.uniform(0.5, 2, (3, 4)),)),
    ("erfc", ops.erfc, (normal(3, 4),)),
    ("erfinv", ops.erfinv, (rng.uniform(-0.9, 0.9, (3, 4)),)),
    ("logdet", ops.logdet, (normal(3, 3) + 4 * np.eye(3),)),
    ("logsumexp", lambda a: ops.logsumexp(a, axis=-1), (normal(3, 4),)),
    ("rearrange", lambda a: ops.rearrange(a, "b (h w) c -> c w (b h)", h=2), (normal(2, 6, 3),)),
]


@pytest.mark.parametrize("name, f, inputs", GRAD_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)])
def test_gradients_match_central_differences(name, f, inputs):
    gradcheck(f, *inputs)


def test_fft_has_second_derivatives():
    def energy(a):
        real, imag = ops.fft((a, a * 0))
        return ops.sum(real**2 * imag**2)

    gradcheck(grad(energy), normal(6))


def test_logdet_refuses_second_derivatives():
    with pytest.raises(NotImplementedError, match="logdet: second derivatives"):
        grad(lambda a: ops.sum(grad(lambda b: ops.logdet(b))(a) ** 2))(normal(3, 3) + 4 * np.eye(3))


# -- errors name the op, what it expected and what it got -------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: ops.fft(np.ones(4)), r"fft: expected a \(real, imag\) pair, got ndarray"),
    (lambda: ops.fft((np.ones(4), np.ones(3))), r"fft: real and imag must have the same shape, got \(4,\) and \(3,\)"),
    (lambda: ops.fft2((np.ones(4), np.ones(4))), r"fft2: expected at least 2 dimensions, got shape \(4,\)"),
    (lambda: ops.stft(np.ones(20, "int32"), 8, 2, 8), "stft: expected float32 or float64 input, got int32"),
    (lambda: ops.stft(np.ones(20), 8, 2, 4), r"stft: fft_length \(4\) must be at least sequence_length \(8\)"),
    (lambda: ops.stft(np.ones(20), 8, 2, 8, window="box"), "stft: window must be 'hann', 'hamming'"),
    (lambda: ops.cdist(np.ones(3), np.ones((2, 3))), r"cdist: inputs must have rank >= 2, got shapes \(3,\)"),
    (lambda: ops.cdist(np.ones((2, 3)), np.ones((2, 4))), "cdist: the last axes must match"),
    (lambda: ops.top_k(np.ones((2, 3)), 4), r"top_k: k=4 must be between 0 and the last axis' length"),
    (lambda: ops.segment_sum(np.ones(3), np.array([0.0, 1, 1])), "segment_sum: segment_ids must be 1-D integers"),
    (lambda: ops.segment_max(np.ones(3), np.array([0, 1])), r"segment_max: .* got int64 \(2,\) for data of shape"),
    (lambda: ops.logdet(np.ones((2, 3))), r"logdet: expected square matrices .* got shape \(2, 3\)"),
    (lambda: ops.extract_sequences(np.ones(3), 4, 1), "extract_sequences: need 0 < sequence_length <= 3"),
    (lambda: ops.in_top_k(np.array([0]), np.ones(3), 1), "in_top_k: expected targets"),
    (lambda: ops.rearrange(np.ones((2, 3)), "a b c -> a b c"), r"rearrange: .* names 3 axes, the input has shape"),
    (lambda: ops.rearrange(np.ones((2, 3)), "a b -> a c"), "rearrange: both sides of 'a b -> a c' must name"),
    (lambda: ops.rearrange(np.ones((2, 7)), "a (b c) -> a b c", b=2), "rearrange: cannot split an axis of length 7"),
    (lambda: ops.view_as_real(np.ones(2)), "view_as_real: expected a complex array, got dtype float64"),
    (lambda: ops.view_as_complex(np.ones((2, 3))), r"view_as_complex: expected floats with a last axis of 2"),
])
def test_bad_input_names_the_op(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
