"""`nablanet.ops.nn` against `keras.ops.nn` on the torch backend, gradients against central differences
(float64) and against torch for the kernels torch has (conv, pooling, attention, CTC)."""

import inspect

import numpy as np
import pytest

from nablanet import Tensor, gradcheck
from nablanet.ops import nn

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
knn = keras.ops.nn

rng = np.random.default_rng(0)


def normal(*shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


def away(*shape):
    return (rng.uniform(0.2, 2.5, shape) * rng.choice([-1.0, 1.0], shape)).astype("float64")


def probabilities(*shape):
    p = rng.uniform(0.05, 1.0, shape)
    return (p / p.sum(-1, keepdims=True)).astype("float32")


X = normal(3, 4)
EDGE = np.array([-np.inf, -5.0, -1.0, -0.25, 0.0, 0.25, 1.0, 5.0, np.inf, np.nan], dtype="float32")
IMAGE = normal(2, 6, 7, 3)

# (op name, positional args, keyword args)
CASES = [
    *[(name, (x,), {}) for name in (
        "relu", "relu6", "sigmoid", "softplus", "softsign", "silu", "swish", "log_sigmoid", "elu", "selu", "celu",
        "gelu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink",
        "squareplus", "sparse_plus", "sparse_sigmoid",
    ) for x in (X, EDGE, normal(0, 3), normal(2, 3, dtype="float64"))],
    ("relu", (np.array([1, -2, 3]),), {}),
    ("relu6", (np.array([1, -2, 9]),), {}),
    ("hard_tanh", (np.array([1, -2, 3]),), {}),
    ("sigmoid", (np.array([1, -2, 3]),), {}),
    ("softsign", (np.array([1, -2, 3]),), {}),
    ("elu", (X,), {"alpha": 0.5}),
    ("celu", (X,), {"alpha": 2.0}),
    ("gelu", (X,), {"approximate": False}),
    ("leaky_relu", (X,), {}),
    ("leaky_relu", (X,), {"negative_slope": 0.01}),
    ("hard_shrink", (X,), {"threshold": 1.0}),
    ("soft_shrink", (X,), {"threshold": 0.2}),
    ("squareplus", (X,), {"b": 1}),
    ("threshold", (X, 0.3, -2.0), {}),
    ("glu", (normal(3, 4),), {}),
    ("glu", (normal(4, 3),), {"axis": 0}),
    ("softmax", (X,), {}),
    ("softmax", (X,), {"axis": 0}),
    ("softmax", (normal(2, 3, 4),), {"axis": (1, 2)}),
    ("log_softmax", (X,), {"axis": -2}),
    ("sparsemax", (normal(4, 5),), {}),
    ("sparsemax", (normal(4, 5, dtype="float64"),), {"axis": 0}),
    ("moments", (normal(3, 4, 5),), {"axes": (0, 2)}),
    ("moments", (normal(3, 4),), {"axes": [-1], "keepdims": True}),
    ("batch_normalization", (normal(2, 3, 4), normal(3), np.abs(normal(3)), 1), {}),
    ("batch_normalization", (normal(2, 3, 4), normal(4), np.abs(normal(4)), -1),
     {"offset": normal(4), "scale": normal(4), "epsilon": 0.1}),
    ("layer_normalization", (normal(2, 3, 4),), {}),
    ("layer_normalization", (normal(2, 3, 4), normal(4), normal(4)), {"epsilon": 1e-5}),
    ("layer_normalization", (normal(2, 3, 4), normal(3, 4), normal(3, 4)), {"axis": (1, 2)}),
    ("rms_normalization", (normal(2, 3, 4),), {}),
    ("rms_normalization", (normal(2, 3, 4), normal(4)), {"epsilon": 1e-3}),
    ("normalize", (normal(3, 4),), {}),
    ("normalize", (normal(3, 4),), {"axis": 0, "order": 1}),
    ("normalize", (normal(3, 4),), {"order": 3}),
    ("binary_crossentropy", (rng.integers(0, 2, (3, 4)).astype("float32"), probabilities(3, 4)), {}),
    ("binary_crossentropy", (rng.uniform(0, 1, (3, 4)).astype("float32"), X), {"from_logits": True}),
    ("categorical_crossentropy", (probabilities(3, 4), probabilities(3, 4)), {}),
    ("categorical_crossentropy", (probabilities(3, 4), X), {"from_logits": True}),
    ("categorical_crossentropy", (probabilities(4, 3), X.T), {"from_logits": True, "axis": 0}),
    ("sparse_categorical_crossentropy", (np.array([0, 3, 1]), probabilities(3, 4)), {}),
    ("sparse_categorical_crossentropy", (np.array([0, 3, 1]), X), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (np.array([[0], [3], [1]]), X), {"from_logits": True}),
    ("one_hot", (np.array([0, 2, -1]), 3), {}),
    ("one_hot", (np.array([[0.0, 2.7], [1.2, 1.0]]), 3), {"axis": 0}),
    ("one_hot", (np.array([1, 2]), 4), {"dtype": "int32"}),
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 3), {}),
    ("multi_hot", (np.array([0, 2]), 4), {}),
    ("psnr", (normal(2, 4, 4, 3), normal(2, 4, 4, 3), 1.0), {}),
    ("polar", (np.abs(normal(5)), normal(5)), {}),
    # convolutions: 1-D, 2-D, 3-D; paddings, strides, dilation, groups, both data formats
    ("conv", (normal(2, 9, 3), normal(3, 3, 4)), {}),
    ("conv", (normal(2, 9, 3), normal(3, 3, 4)), {"strides": 2, "padding": "same"}),
    ("conv", (normal(2, 9, 4), normal(2, 2, 6)), {"dilation_rate": 2}),
    ("conv", (IMAGE, normal(3, 2, 3, 5)), {}),
    ("conv", (IMAGE, normal(3, 2, 3, 5)), {"strides": (2, 1), "padding": "same"}),
    ("conv", (IMAGE, normal(2, 2, 3, 4)), {"dilation_rate": (2, 3), "padding": "same"}),
    ("conv", (normal(2, 3, 6, 7), normal(3, 3, 3, 4)), {"data_format": "channels_first", "padding": "same"}),
    ("conv", (normal(2, 6, 5, 4), normal(3, 3, 2, 6)), {}),
    ("conv", (normal(2, 5, 6, 4, 3), normal(2, 3, 2, 3, 4)), {}),
    ("conv", (normal(2, 5, 6, 4, 3), normal(3, 3, 2, 3, 4)), {"strides": 2, "padding": "same"}),
    ("conv", (normal(2, 7, 6, 5, 4), normal(2, 2, 2, 2, 6)), {"dilation_rate": 2}),
    ("conv", (normal(1, 3, 5, 6, 4), normal(2, 3, 2, 3, 2)), {"data_format": "channels_first"}),
    ("depthwise_conv", (IMAGE, normal(3, 3, 3, 2)), {}),
    ("depthwise_conv", (IMAGE, normal(3, 3, 3, 1)), {"strides": 2, "padding": "same"}),
    ("depthwise_conv", (normal(2, 9, 3), normal(3, 3, 2)), {"dilation_rate": 2}),
    ("depthwise_conv", (normal(1, 5, 6, 4, 3), normal(2, 3, 2, 3, 2)), {"padding": "same"}),
    ("separable_conv", (IMAGE, normal(3, 3, 3, 2), normal(1, 1, 6, 4)), {"padding": "same"}),
    ("separable_conv", (normal(2, 9, 3), normal(3, 3, 2), normal(1, 6, 5)), {"strides": 2}),
    ("conv_transpose", (normal(2, 5, 3), normal(3, 4, 3)), {}),
    ("conv_transpose", (normal(2, 5, 3), normal(3, 4, 3)), {"strides": 2}),
    ("conv_transpose", (normal(2, 5, 3), normal(4, 4, 3)), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (IMAGE, normal(3, 3, 2, 3)), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (IMAGE, normal(3, 2, 4, 3)), {"strides": (2, 3)}),
    ("conv_transpose", (IMAGE, normal(3, 3, 2, 3)), {"strides": 2, "output_padding": 1}),
    ("conv_transpose", (IMAGE, normal(2, 2, 2, 3)), {"dilation_rate": 2}),
    ("conv_transpose", (normal(2, 3, 6, 7), normal(3, 3, 2, 3)), {"strides": 2, "data_format": "channels_first"}),
    ("conv_transpose", (normal(1, 3, 4, 3, 2), normal(2, 3, 2, 4, 2)), {"strides": 2}),
    ("conv_transpose", (normal(1, 3, 4, 3, 2), normal(3, 3, 3, 4, 2)), {"strides": 2, "padding": "same"}),
    # pooling
    ("max_pool", (normal(2, 9, 3), 2), {}),
    ("max_pool", (normal(2, 9, 3), 3), {"strides": 2, "padding": "same"}),
    ("max_pool", (IMAGE, 2), {}),
    ("max_pool", (IMAGE, (2, 3)), {"strides": 1, "padding": "same"}),
    ("max_pool", (normal(2, 3, 6, 7), 2), {"data_format": "channels_first"}),
    ("max_pool", (normal(2, 5, 6, 7, 3), 2), {}),
    ("max_pool", (normal(2, 5, 6, 7, 3), (3, 2, 2)), {"strides": 2, "padding": "same"}),
    ("average_pool", (normal(2, 9, 3), 2), {}),
    ("average_pool", (normal(2, 9, 3), 3), {"strides": 2, "padding": "same"}),
    ("average_pool", (IMAGE, 2), {}),
    ("average_pool", (IMAGE, 3), {"strides": 1, "padding": "same"}),  # equal padding on both sides: see below
    ("average_pool", (normal(2, 5, 6, 7, 3), 2), {}),
    ("average_pool", (normal(2, 5, 7, 9, 3), 3), {"strides": 2, "padding": "same"}),
    ("average_pool", (normal(2, 3, 5, 6, 7), 2), {"data_format": "channels_first"}),
    ("adaptive_average_pool", (normal(2, 9, 3), 4), {}),
    ("adaptive_average_pool", (IMAGE, (4, 3)), {}),
    ("adaptive_average_pool", (normal(2, 3, 7, 5), 3), {"data_format": "channels_first"}),
    ("adaptive_average_pool", (normal(1, 5, 6, 7, 2), (2, 3, 4)), {}),
    ("adaptive_max_pool", (normal(2, 9, 3), 4), {}),
    ("adaptive_max_pool", (IMAGE, (4, 3)), {}),
    ("adaptive_max_pool", (normal(1, 5, 6, 7, 2), 3), {}),
    # rearrangements
    ("depth_to_space", (normal(2, 3, 4, 8), 2), {}),
    ("depth_to_space", (normal(2, 8, 3, 4), 2), {"data_format": "channels_first"}),
    ("space_to_depth", (normal(2, 4, 6, 3), 2), {}),
    ("space_to_depth", (normal(2, 3, 4, 6), 2), {"data_format": "channels_first"}),
    ("unfold", (normal(2, 3, 6, 7), 3), {}),
    ("unfold", (normal(2, 3, 6, 7), (2, 3)), {"dilation": 2, "padding": 1, "stride": (2, 1)}),
    ("fold", (normal(2, 12, 30), (6, 7), 2), {}),
    ("fold", (normal(2, 12, 16), (6, 7), (2, 3)), {"padding": 1, "stride": 2}),
    # attention
    ("dot_product_attention", (normal(2, 5, 3, 4), normal(2, 6, 3, 4), normal(2, 6, 3, 4)), {}),
    ("dot_product_attention", (normal(2, 5, 4, 4), normal(2, 5, 2, 4), normal(2, 5, 2, 4)), {"is_causal": True}),
    ("dot_product_attention", (normal(2, 5, 3, 4), normal(2, 6, 3, 4), normal(2, 6, 3, 4)),
     {"bias": normal(2, 3, 5, 6), "scale": 0.3}),
    ("dot_product_attention", (normal(2, 5, 3, 4), normal(2, 6, 3, 4), normal(2, 6, 3, 4)),
     {"mask": rng.random((2, 1, 5, 6)) > 0.3}),
    # CTC
    ("ctc_loss", (np.array([[1, 2, 2], [3, 1, 0]]), normal(2, 8, 5), np.array([3, 2]), np.array([8, 6])), {}),
    ("ctc_loss", (np.array([[1, 2, 2], [3, 1, 0]]), normal(2, 8, 5), np.array([3, 2]), np.array([8, 6])),
     {"mask_index": 4}),
    ("ctc_decode", (probabilities(3, 7, 5), np.array([7, 5, 3])), {}),
    ("ctc_decode", (probabilities(3, 7, 5), np.array([7, 5, 3])), {"merge_repeated": False, "mask_index": 2}),
    ("ctc_decode", (normal(3, 7, 5), np.array([7, 5, 3])), {"strategy": "beam_search", "beam_width": 4}),
    ("ctc_decode", (probabilities(2, 6, 4), np.array([6, 4])), {"mask_index": None}),
    ("ctc_decode", (normal(3, 7, 5), np.array([7, 5, 3])), {"strategy": "beam_search", "top_paths": 3}),
]


def _numpy(value):
    if isinstance(value, (tuple, list)):
        return [_numpy(v) for v in value]
    return np.asarray(keras.ops.convert_to_numpy(value))


def _compare(ours, theirs, name):
    if isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _compare(a, b, name)
        return
    ours = np.asarray(ours.numpy() if isinstance(ours, Tensor) else ours)
    assert ours.shape == theirs.shape, name
    assert ours.dtype == theirs.dtype, name
    if np.issubdtype(theirs.dtype, np.inexact):
        tolerance = 1e-5 if theirs.dtype in (np.float32, np.complex64) else 1e-10
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance, err_msg=name)
    else:
        np.testing.assert_array_equal(ours, theirs, err_msg=name)


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_values_match_keras(name, args, kwargs):
    if name in ("fold", "unfold"):  # Keras's torch backend takes only torch tensors for these
        theirs = _numpy(getattr(knn, name)(keras.ops.convert_to_tensor(args[0]), *args[1:], **kwargs))
    else:
        theirs = _numpy(getattr(knn, name)(*args, **kwargs))
    finite = all(np.isfinite(a).all() for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f")
    with np.errstate(all="warn" if finite else "ignore"):  # inf and nan inputs may make inf - inf, as in torch
        ours = getattr(nn, name)(*args, **kwargs)
    _compare(ours, theirs, name)


@pytest.mark.parametrize("name, args, kwargs", CASES[::7], ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES[::7])])
def test_tensors_in_tensors_out(name, args, kwargs):
    finite = all(np.isfinite(a).all() for a in args if isinstance(a, np.ndarray) and a.dtype.kind == "f")
    with np.errstate(all="warn" if finite else "ignore"):
        out = getattr(nn, name)(*[Tensor(a) if isinstance(a, np.ndarray) else a for a in args], **kwargs)
    for piece in out if isinstance(out, tuple) else (out,):
        assert isinstance(piece, Tensor), name


def test_average_pool_leaves_uneven_same_padding_out_of_the_averages():
    # Keras on torch repeats the edge into uneven padding; nablanet keeps TensorFlow's and JAX's rule.
    x = np.arange(6.0).reshape(1, 6, 1)
    np.testing.assert_allclose(nn.average_pool(x, 3, strides=2, padding="same")[0, :, 0], [1.0, 3.0, 4.5])


def test_layer_normalization_rms_scaling_warns_and_matches_keras():
    x, gamma = normal(2, 3, 4), normal(4)
    with pytest.warns(UserWarning, match="rms_scaling"):
        theirs = _numpy(knn.layer_normalization(x, gamma, rms_scaling=True))
    with pytest.warns(UserWarning, match="layer_normalization: rms_scaling"):
        ours = nn.layer_normalization(x, gamma, rms_scaling=True)
    _compare(ours, theirs, "layer_normalization")


def test_every_keras_nn_name_exists_with_keras_signature():
    for name in dir(knn):
        if name.startswith("_") or not callable(getattr(knn, name)):
            continue
        assert name in nn.__all__, name
        assert inspect.signature(getattr(nn, name)) == inspect.signature(getattr(knn, name)), name


# -- gradients: float64 central differences ------------------------------------------------------

GRADIENTS = [
    ("elu", (away(3, 4),), {}), ("selu", (away(3, 4),), {}), ("celu", (away(3, 4),), {"alpha": 1.5}),
    ("gelu", (away(3, 4),), {}), ("gelu", (away(3, 4),), {"approximate": False}), ("silu", (away(3, 4),), {}),
    ("log_sigmoid", (away(3, 4),), {}), ("softsign", (away(3, 4),), {}), ("glu", (away(3, 4),), {}),
    ("hard_sigmoid", (away(3, 4),), {}), ("hard_silu", (away(3, 4),), {}), ("hard_tanh", (away(3, 4) / 2,), {}),
    ("relu6", (away(3, 4) * 3,), {}), ("hard_shrink", (away(3, 4),), {}), ("soft_shrink", (away(3, 4),), {}),
    ("tanh_shrink", (away(3, 4),), {}), ("squareplus", (away(3, 4),), {}), ("sparse_plus", (away(3, 4) * 0.7,), {}),
    ("sparse_sigmoid", (away(3, 4) * 0.7,), {}), ("threshold", (away(3, 4), 0.1, 2.0), {}),
    ("softmax", (away(3, 4),), {}), ("log_softmax", (away(3, 4),), {"axis": 0}),
    ("sparsemax", (np.array([[1.0, 0.5, -1.0, 0.8], [0.1, 0.3, 0.2, -0.4]]),), {}),
    ("leaky_relu", (away(3, 4),), {}),
    ("layer_normalization", (away(2, 5), away(5), away(5)), {}),
    ("rms_normalization", (away(2, 5), away(5)), {}),
    ("batch_normalization", (away(2, 3), away(3), np.abs(away(3)), 1, away(3), away(3)), {}),
    ("normalize", (away(3, 4),), {}), ("normalize", (away(3, 4),), {"order": 3}),
    ("binary_crossentropy", (rng.uniform(0, 1, (3, 4)), rng.uniform(0.1, 0.9, (3, 4))), {}),
    ("binary_crossentropy", (rng.uniform(0, 1, (3, 4)), away(3, 4)), {"from_logits": True}),
    ("categorical_crossentropy", (rng.uniform(0, 1, (3, 4)), rng.uniform(0.1, 0.9, (3, 4))), {}),
    ("sparse_categorical_crossentropy", (np.array([1, 0, 3]), away(3, 4)), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (np.array([1, 0, 3]), rng.uniform(0.1, 0.9, (3, 4))), {}),
    ("psnr", (away(2, 3), away(2, 3), 2.0), {}),
    ("dot_product_attention", (away(2, 3, 2, 2), away(2, 4, 2, 2), away(2, 4, 2, 2)), {"is_causal": True}),
    ("depth_to_space", (away(1, 2, 2, 4), 2), {}), ("space_to_depth", (away(1, 4, 2, 2), 2), {}),
    ("unfold", (away(1, 2, 4, 4), 2), {"stride": 2, "padding": 1}),
    ("fold", (away(1, 8, 9), 4, 2), {"padding": 1, "stride": 2}),
    ("adaptive_average_pool", (away(1, 5, 7, 2), (2, 3)), {}),
    ("conv", (away(1, 5, 4, 3, 2), away(2, 2, 2, 2, 3)), {"strides": 2, "padding": "same"}),
    ("conv", (away(2, 7, 2), away(3, 2, 3)), {"dilation_rate": 2}),
    ("conv_transpose", (away(1, 3, 3, 2), away(3, 3, 2, 2)), {"strides": 2, "padding": "same"}),
    ("depthwise_conv", (away(1, 4, 3, 3, 2), away(2, 2, 2, 2, 2)), {}),
    ("separable_conv", (away(1, 5, 2), away(3, 2, 2), away(1, 4, 3)), {"padding": "same"}),
    ("average_pool", (away(1, 4, 5, 3, 2), 2), {"strides": 1, "padding": "same"}),
    ("max_pool", (np.arange(60.0).reshape(1, 5, 4, 3, 1) * rng.permutation(60).reshape(1, 5, 4, 3, 1), 2), {}),
    ("ctc_loss", (np.array([[1, 2, 2], [3, 1, 0]]), away(2, 7, 4), np.array([3, 2]), np.array([7, 5])), {}),
]


@pytest.mark.parametrize("name, args, kwargs", GRADIENTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(GRADIENTS)])
def test_gradient_matches_central_differences(name, args, kwargs):
    differentiable = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype == np.float64]
    if name == "ctc_loss":
        differentiable = [1]

    def f(*xs):
        full = list(args)
        for i, x in zip(differentiable, xs):
            full[i] = x
        out = getattr(nn, name)(*full, **kwargs)
        return out * np.arange(1.0, out.size + 1).reshape(out.shape) if out.ndim else out

    gradcheck(f, *[args[i] for i in differentiable])


SECOND_ORDER = ["sparse_categorical_crossentropy", "elu", "gelu", "silu", "softsign", "glu", "log_sigmoid",
                "squareplus", "tanh_shrink", "layer_normalization", "rms_normalization", "normalize", "softmax",
                "dot_product_attention"]


@pytest.mark.parametrize("name, args, kwargs", [c for c in GRADIENTS if c[0] in SECOND_ORDER],
                         ids=lambda c: c if isinstance(c, str) else None)
def test_composites_have_second_derivatives(name, args, kwargs):
    from nablanet import grad

    i = next(i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype == np.float64)

    def f(x):
        return (getattr(nn, name)(*args[:i], x, *args[i + 1:], **kwargs) ** 2).sum()

    gradcheck(grad(f), args[i])


# -- gradients against torch ---------------------------------------------------------------------


def _torch_grads(fn, *arrays):
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    weights = torch.tensor(rng.standard_normal(out.shape))
    (out * weights).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts], weights.numpy()


def _our_grads(fn, weights, *arrays):
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    (out * weights).sum().backward()
    return out.numpy(), [t.grad for t in ts]


def _check_against_torch(ours, theirs, *arrays):
    expected, expected_grads, weights = _torch_grads(theirs, *arrays)
    got, got_grads = _our_grads(ours, weights, *arrays)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    for a, b in zip(got_grads, expected_grads):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def _to_first(x):
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def _to_last(x):
    return x.permute(0, *range(2, x.ndim), 1)


@pytest.mark.parametrize("rank, stride, dilation, groups", [(1, 2, 1, 1), (2, 1, 2, 1), (2, 2, 1, 2), (3, 1, 1, 1),
                                                            (3, 2, 2, 2)])
def test_conv_gradients_match_torch(rank, stride, dilation, groups):
    x = rng.standard_normal((2,) + (7,) * rank + (4,))
    w = rng.standard_normal((3,) * rank + (4 // groups, 6))
    functional = getattr(torch.nn.functional, f"conv{rank}d")
    kernel_to_torch = lambda k: k.permute(rank + 1, rank, *range(rank))  # noqa: E731
    _check_against_torch(
        lambda x, w: nn.conv(x, w, strides=stride, dilation_rate=dilation),
        lambda x, w: _to_last(functional(_to_first(x), kernel_to_torch(w), stride=stride, dilation=dilation,
                                         groups=groups)),
        x, w)


@pytest.mark.parametrize("rank, stride", [(1, 2), (2, 2), (3, 2), (2, 1)])
def test_conv_transpose_gradients_match_torch(rank, stride):
    x = rng.standard_normal((2,) + (4,) * rank + (3,))
    w = rng.standard_normal((3,) * rank + (5, 3))
    functional = getattr(torch.nn.functional, f"conv_transpose{rank}d")
    kernel_to_torch = lambda k: k.permute(rank + 1, rank, *range(rank))  # noqa: E731 -- (in, out, spatial...)
    _check_against_torch(
        lambda x, w: nn.conv_transpose(x, w, strides=stride),
        lambda x, w: _to_last(functional(_to_first(x), kernel_to_torch(w), stride=stride,
                                         output_padding=max(stride - 3, 0))),
        x, w)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_gradients_match_torch(rank, kind):
    x = rng.permutation(2 * 6 ** rank * 3).reshape((2,) + (6,) * rank + (3,)) * 0.01
    functional = getattr(torch.nn.functional, f"{kind}_pool{rank}d")
    ours = nn.max_pool if kind == "max" else nn.average_pool
    _check_against_torch(lambda x: ours(x, 2, strides=2), lambda x: _to_last(functional(_to_first(x), 2, 2)), x)


def test_attention_matches_torch_sdpa_in_float64():
    q, k, v = rng.standard_normal((2, 5, 3, 4)), rng.standard_normal((2, 6, 3, 4)), rng.standard_normal((2, 6, 3, 4))
    mask = rng.random((2, 3, 5, 6)) > 0.3
    mask[..., 0] = True
    sdpa = torch.nn.functional.scaled_dot_product_attention
    swap = lambda t: t.transpose(1, 2)  # noqa: E731
    _check_against_torch(
        lambda q, k, v: nn.dot_product_attention(q, k, v, mask=mask),
        lambda q, k, v: swap(sdpa(swap(q), swap(k), swap(v), attn_mask=torch.tensor(mask))),
        q, k, v)
    _check_against_torch(
        lambda q, k, v: nn.dot_product_attention(q, k, v, is_causal=True, scale=0.7),
        lambda q, k, v: swap(sdpa(swap(q), swap(k), swap(v), is_causal=True, scale=0.7)),
        q, k, v)


def test_ctc_loss_gradient_matches_torch():
    labels = np.array([[1, 2, 2, 3], [3, 1, 0, 0], [2, 2, 0, 0]])
    label_lengths, frames = np.array([4, 2, 2]), np.array([9, 6, 4])
    logits = rng.standard_normal((3, 9, 5))

    def theirs(z):
        log_probs = torch.log_softmax(z, -1).transpose(0, 1)
        return torch.nn.functional.ctc_loss(log_probs, torch.tensor(labels), torch.tensor(frames),
                                            torch.tensor(label_lengths), blank=0, reduction="none")

    _check_against_torch(lambda z: nn.ctc_loss(labels, z, label_lengths, frames), theirs, logits)


def test_ctc_loss_of_an_impossible_target_is_infinite():
    loss = nn.ctc_loss(np.array([[1, 1, 1]]), np.zeros((1, 4, 3)), np.array([3]), np.array([4]))
    assert np.isinf(loss).all()


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda: nn.conv(np.ones((2, 5)), np.ones((3, 5, 1))), "conv: expected a 3-D, 4-D or 5-D input"),
    (lambda: nn.conv(np.ones((1, 5, 3)), np.ones((3, 2, 4))), "conv: the input has 3 channels"),
    (lambda: nn.conv(np.ones((1, 5, 2)), np.ones((3, 2, 4)), padding="full"), "conv: padding must be"),
    (lambda: nn.conv(np.ones((1, 5, 2)), np.ones((3, 2, 4)), data_format="nhwc"), "conv: expected data_format"),
    (lambda: nn.max_pool(np.ones((1, 2, 2, 1)), 3), "max_pool: the pool"),
    (lambda: nn.glu(np.ones((2, 3))), "glu: expected an even length"),
    (lambda: nn.moments(np.ones((2, 3)), axes=2), "moments: axis 2 is out of range"),
    (lambda: nn.categorical_crossentropy(np.ones((2, 3)), np.ones((3, 2))), "categorical_crossentropy: expected"),
    (lambda: nn.sparse_categorical_crossentropy(np.array([0, 5]), np.ones((2, 3))), "class indices in [0, 3)"),
    (lambda: nn.dot_product_attention(np.ones((2, 3, 4)), np.ones((2, 3, 4)), np.ones((2, 3, 4))), "4-D"),
    (lambda: nn.ctc_loss(np.ones((2, 3)), np.ones((2, 4, 5)), np.array([3, 3]), np.array([5, 4])), "output_length"),
    (lambda: nn.ctc_decode(np.ones((2, 4, 5)), np.array([4, 4]), strategy="best"), "ctc_decode: strategy"),
    (lambda: nn.one_hot(np.array([0, 3]), 3), "one_hot: labels must lie in [0, 3)"),
    (lambda: nn.depth_to_space(np.ones((1, 2, 2, 3)), 2), "depth_to_space: expected channels divisible by 4"),
])
def test_bad_input_names_the_op(call, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)").replace("(", r"\(")):
        call()
