"""Every primitive's VJP against central differences in float64, to first and second order.

The table of cases is also the inventory: a registered primitive without a case fails
`test_every_primitive_has_a_case`, and every case must really go through its primitive.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nablanet import Tensor, grad, gradcheck, ops
from nablanet.autodiff import REGISTRY, accel, toposort

rng = np.random.default_rng(0)  # module-level: parametrize needs the arrays at collection


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)  # keeps log, sqrt and divide away from their poles


def away(*shape):
    return rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)  # away from kinks at 0


def inside(*shape):
    return rng.uniform(-0.8, 0.8, shape)  # the domain of arcsin, arccos and arctanh


def off_integers(*shape):
    return rng.integers(-3, 4, shape) + rng.uniform(0.1, 0.4, shape)  # away from rounding's jumps


def distinct(*shape):
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 + 0.1  # no ties for max


MASK = rng.random((3, 4)) > 0.5
EXPONENTS = rng.integers(-3, 4, (3, 4))
SCATTER = REGISTRY["scatter_add"]
MASK_OP = REGISTRY["mask"]
DENSE = REGISTRY["dense"]
NORMALIZE_LAST = REGISTRY["normalize_last"]
MSE = REGISTRY["mean_squared_error"]
LSTM, GRU, SIMPLE_RNN = REGISTRY["lstm"], REGISTRY["gru"], REGISTRY["simple_rnn"]
SPARSE_XENT, XENT = REGISTRY["sparse_softmax_cross_entropy"], REGISTRY["softmax_cross_entropy"]
CTC = REGISTRY["ctc_loss"]
ATTENTION = REGISTRY["dot_product_attention"]
BLOCKED = rng.random((2, 1, 3, 4)) > 0.6
BLOCKED[0, 0, 1] = True  # a query row with every key masked out
CTC_PARAMS = {"labels": np.array([[1, 2, 2], [3, 1, 0]]), "label_lengths": np.array([3, 2]),
              "input_lengths": np.array([7, 5]), "blank": 0}
LABELS = np.array([[0, 3, 1], [2, 2, 4]])
SOFT = rng.dirichlet(np.ones(5), size=4) * np.array([[1.0], [0.5], [2.0], [1.0]])  # rows need not sum to 1
STEPS_MASK = np.array([[True, True, False, True], [False, True, True, False], [True, False, False, False]])

# One row per case: the primitive it exercises, a function of the differentiable inputs, inputs.
CASES = [
    ("add", ops.add, (normal(3, 4), normal(4))),
    ("add", lambda x: x + 2.0, (normal(2, 3),)),
    ("subtract", ops.subtract, (normal(3, 1), normal(1, 4))),
    ("subtract", lambda x: 1.0 - x, (normal(3),)),
    ("multiply", ops.multiply, (normal(3, 1), normal(1, 4))),
    ("multiply", lambda x: 3.0 * x, (normal(5),)),
    ("divide", ops.divide, (normal(3, 4), positive(3, 4))),
    ("divide", lambda y: 2.0 / y, (positive(3, 4),)),
    ("negative", ops.negative, (normal(3, 4),)),
    ("power", ops.power, (positive(3, 4), normal(3, 4))),
    ("power", lambda x: x ** 3, (normal(4),)),
    ("power", lambda y: 2.0 ** y, (normal(4),)),
    ("exp", ops.exp, (normal(3, 4),)),
    ("log", ops.log, (positive(3, 4),)),
    ("log1p", ops.log1p, (positive(3, 4),)),
    ("expm1", ops.expm1, (normal(3, 4),)),
    ("erf", ops.erf, (2 * normal(3, 4),)),
    ("leaky_relu", ops.leaky_relu, (away(3, 4),)),
    ("leaky_relu", lambda x: ops.leaky_relu(x, negative_slope=-1.5), (away(3, 4),)),
    ("sqrt", ops.sqrt, (positive(3, 4),)),
    ("abs", ops.abs, (away(3, 4),)),
    ("sign", ops.sign, (away(3, 4),)),
    ("sin", ops.sin, (normal(3, 4),)),
    ("cos", ops.cos, (normal(3, 4),)),
    ("tanh", ops.tanh, (normal(3, 4),)),
    ("sigmoid", ops.sigmoid, (3 * normal(3, 4),)),
    ("relu", ops.relu, (away(3, 4),)),
    ("softplus", ops.softplus, (3 * normal(3, 4),)),
    ("maximum", ops.maximum, (normal(3, 4), normal(4))),
    ("maximum", lambda x: ops.maximum(x, 0.0), (away(5),)),
    ("minimum", ops.minimum, (normal(3, 1), normal(1, 4))),
    ("where", lambda x, y: ops.where(MASK, x, y), (normal(3, 4), normal(4))),
    ("mask", lambda g: MASK_OP(g, MASK), (normal(3, 4),)),
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), (np.array([-1.2, -0.3, 0.1, 0.4, 0.9]),)),
    ("clip", lambda x: ops.clip(x, None, 0.5), (np.array([-1.2, 0.1, 0.9]),)),
    ("tan", ops.tan, (inside(3, 4),)),
    ("sinh", ops.sinh, (normal(3, 4),)),
    ("cosh", ops.cosh, (normal(3, 4),)),
    ("arcsin", ops.arcsin, (inside(3, 4),)),
    ("arccos", ops.arccos, (inside(3, 4),)),
    ("arctan", ops.arctan, (normal(3, 4),)),
    ("arcsinh", ops.arcsinh, (normal(3, 4),)),
    ("arccosh", ops.arccosh, (1 + positive(3, 4),)),
    ("arctanh", ops.arctanh, (inside(3, 4),)),
    ("arctan2", ops.arctan2, (normal(3, 4), normal(4))),
    ("cbrt", ops.cbrt, (away(3, 4),)),
    ("exp2", ops.exp2, (normal(3, 4),)),
    ("multiply", lambda x: ops.ldexp(x, EXPONENTS), (normal(3, 4),)),
    ("log2", ops.log2, (positive(3, 4),)),
    ("log10", ops.log10, (positive(3, 4),)),
    ("logaddexp", ops.logaddexp, (5 * normal(3, 4), 5 * normal(4))),
    ("logaddexp2", ops.logaddexp2, (5 * normal(3, 1), 5 * normal(1, 4))),
    ("hypot", ops.hypot, (away(3, 4), away(3, 4))),
    ("sinc", ops.sinc, (away(3, 4),)),
    ("sinc", ops.sinc, (np.array([0.0, 0.5, -1.5]),)),
    ("i0", ops.i0, (3 * normal(3, 4),)),
    ("i1", REGISTRY["i1"], (3 * normal(3, 4),)),
    ("i1", REGISTRY["i1"], (np.array([0.0, 1e-3, 6.0, -9.0]),)),
    ("floor", ops.floor, (off_integers(3, 4),)),
    ("ceil", ops.ceil, (off_integers(3, 4),)),
    ("trunc", ops.trunc, (off_integers(3, 4),)),
    ("round", lambda x: ops.round(x, 1) * x, (off_integers(3, 4) + 0.02,)),
    ("mod", ops.mod, (off_integers(3, 4), away(4))),
    ("fmod", ops.fmod, (off_integers(3, 4), away(4))),
    ("nextafter", ops.nextafter, (normal(3, 4), normal(4))),
    ("copy", ops.copy, (normal(3, 4),)),
    ("sum", ops.sum, (normal(3, 4),)),
    ("sum", lambda x: ops.sum(x, axis=1), (normal(3, 4),)),
    ("sum", lambda x: ops.sum(x, axis=(0, 2), keepdims=True), (normal(2, 3, 4),)),
    ("sum", lambda x: ops.mean(x, axis=-1), (normal(3, 4),)),
    ("sum", lambda x: ops.var(x, axis=0, keepdims=True), (normal(5, 2),)),
    ("max", lambda x: ops.max(x, axis=1), (distinct(3, 4),)),
    ("max", ops.max, (distinct(3, 4),)),
    ("min", lambda x: ops.min(x, axis=0, keepdims=True), (distinct(3, 4),)),
    ("prod", lambda x: ops.prod(x, axis=1), (away(3, 4),)),
    ("prod", lambda x: ops.prod(x, axis=1), (np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 1.5]]),)),
    ("prod", ops.prod, (away(2, 3),)),
    ("logsumexp", lambda x: ops.logsumexp(x, axis=-1), (5 * normal(3, 4),)),
    ("logsumexp", ops.logsumexp, (normal(2, 3),)),
    ("logsumexp", lambda x: ops.log_softmax(x), (normal(2, 5),)),
    ("softmax", lambda x: ops.softmax(x), (5 * normal(3, 4),)),
    ("softmax", lambda x: ops.softmax(x, axis=(0, 2)), (normal(2, 3, 2),)),
    ("matmul", ops.matmul, (normal(3, 4), normal(4, 2))),
    ("matmul", ops.matmul, (normal(2, 1, 3, 4), normal(5, 4, 2))),  # batched, broadcast
    ("matmul", ops.matmul, (normal(4), normal(4, 2))),
    ("matmul", ops.matmul, (normal(3, 4), normal(4))),
    ("matmul", ops.matmul, (normal(4), normal(4))),
    ("inv", ops.linalg.inv, (normal(2, 3, 3) + 3 * np.eye(3),)),
    ("det", ops.linalg.det, (normal(3, 3),)),
    ("logabsdet", lambda x: ops.linalg.slogdet(x)[1], (normal(2, 3, 3) + 3 * np.eye(3),)),
    ("solve", ops.linalg.solve, (normal(3, 3) + 3 * np.eye(3), normal(2, 3, 2))),  # batched, broadcast
    ("solve", ops.linalg.solve, (normal(3, 3) + 3 * np.eye(3), normal(3))),
    ("solve_triangular", lambda a, b: ops.linalg.solve_triangular(a, b, lower=True),
     (normal(3, 3) + 3 * np.eye(3), normal(3, 2))),
    ("solve_triangular", ops.linalg.solve_triangular, (normal(2, 3, 3) + 3 * np.eye(3), normal(2, 3))),
    ("cholesky", lambda m: ops.linalg.cholesky(m @ ops.swapaxes(m, -1, -2) + 3 * np.eye(3, dtype=m.dtype)),
     (normal(2, 3, 3),)),
    ("cholesky", lambda m: ops.linalg.cholesky(m @ m.T + 3 * np.eye(3, dtype=m.dtype), upper=True), (normal(3, 3),)),
    ("eigh", lambda m: ops.linalg.eigh(m + ops.swapaxes(m, -1, -2))[0], (normal(2, 3, 3),)),
    ("eigh", lambda m: ops.abs(ops.linalg.eigh(m + m.T)[1]), (normal(3, 3),)),
    ("qr", lambda m: ops.concatenate(ops.linalg.qr(m), axis=0), (normal(4, 3),)),
    ("qr", lambda m: ops.concatenate(ops.linalg.qr(m), axis=1), (normal(3, 5),)),
    ("qr", lambda m: ops.linalg.qr(m, mode="complete")[0], (normal(2, 3, 3),)),
    ("svd", lambda m: ops.abs(ops.linalg.svd(m, full_matrices=False)[0]) * ops.linalg.svd(m)[1][..., None, :],
     (normal(2, 4, 3),)),
    ("svd", lambda m: ops.abs(ops.linalg.svd(m, full_matrices=False)[2]), (normal(3, 5),)),
    ("svd", lambda m: ops.abs(ops.linalg.svd(m)[0]), (normal(3, 3),)),
    ("pinv", ops.linalg.pinv, (normal(4, 3),)),
    ("pinv", ops.linalg.pinv, (normal(2, 3, 5),)),
    ("reshape", lambda x: ops.reshape(x, (4, -1)), (normal(2, 3, 2),)),
    ("reshape", lambda x: ops.expand_dims(ops.squeeze(x, 1), (0, -1)), (normal(3, 1, 2),)),
    ("transpose", ops.transpose, (normal(2, 3, 4),)),
    ("transpose", lambda x: ops.swapaxes(x, 0, -1), (normal(2, 3, 4),)),
    ("broadcast_to", lambda x: ops.broadcast_to(x, (2, 3, 4)), (normal(3, 1),)),
    ("concatenate", lambda x, y: ops.concatenate([x, y], axis=1), (normal(2, 3), normal(2, 2))),
    ("concatenate", lambda x, y: ops.stack([x, y], axis=-1), (normal(2, 3), normal(2, 3))),
    ("getitem", lambda x: x[1:, ::2], (normal(3, 4),)),
    ("getitem", lambda x: x[np.array([0, 2, 0, 0])], (normal(3, 2),)),  # repeats accumulate
    ("getitem", lambda x: x[MASK], (normal(3, 4),)),
    ("getitem", lambda x: ops.take(x, np.array([[1, 0], [2, 2]]), axis=1), (normal(2, 3),)),
    ("getitem", lambda x: ops.take(x, np.array([[1, -1], [0, 1]]), axis=0), (normal(3, 2, 2),)),  # rows
    ("getitem", lambda x: ops.take_along_axis(x, np.array([[2], [0]]), axis=1), (normal(2, 3),)),
    ("getitem", lambda x: ops.split(x, [1, 3], axis=1)[1] * ops.split(x, 2, axis=1)[0], (normal(2, 4),)),
    ("scatter_add", lambda g: SCATTER(g, shape=(4, 2), index=np.array([0, 3, 0])), (normal(3, 2),)),
    ("scatter_add", lambda g: SCATTER(g, shape=(3, 4), index=(slice(1, 3),)), (normal(2, 4),)),
    ("pad", lambda x: ops.pad(x, ((1, 0), (2, 1)), constant_values=0.5), (normal(2, 3),)),
    ("cumsum", lambda x: ops.cumsum(x, axis=1), (normal(3, 4),)),
    ("cumsum", ops.cumsum, (normal(2, 3),)),
    ("cumprod", lambda x: ops.cumprod(x, axis=0), (away(3, 4),)),
    ("cumprod", lambda x: ops.cumprod(x, axis=-1), (np.array([[0.5, 0.0, 2.0, 1.5], [0.0, 1.2, 0.0, 3.0]]),)),
    ("einsum", lambda x, y: ops.einsum("bij,bjk->bik", x, y), (normal(2, 3, 4), normal(2, 4, 2))),
    ("einsum", lambda x: ops.einsum("ii->i", x), (normal(3, 3),)),  # a repeated letter: the diagonal
    ("einsum", lambda x, y, z: ops.einsum("ij,jk,k->i", x, y, z), (normal(3, 4), normal(4, 2), normal(2))),
    ("einsum", lambda x, y: ops.einsum("...i,i", x, y), (normal(2, 3, 4), normal(4))),
    ("cast", lambda x: ops.cast(x, "float64") * x, (normal(3),)),
    ("conv2d", ops.conv2d, (normal(2, 5, 6, 3), normal(3, 2, 3, 4))),
    ("conv2d", lambda x, w, b: ops.conv2d(x, w, bias=b, padding="same"),
     (normal(2, 4, 5, 3), normal(3, 3, 3, 2), normal(2))),
    ("conv2d", lambda x, w, b: ops.conv2d(x, w, bias=b, relu=True),
     (normal(2, 5, 5, 2), normal(2, 2, 2, 3), normal(3))),
    ("conv2d", lambda x, w: ops.conv2d(x, w, strides=2, padding="same"), (normal(2, 7, 6, 3), normal(3, 3, 3, 2))),
    ("conv2d", lambda x, w: ops.conv2d(x, w, dilation_rate=(2, 1), padding="same"),
     (normal(1, 7, 5, 2), normal(3, 2, 2, 3))),
    ("conv2d", lambda x, w: ops.conv2d(x, w, groups=2, strides=(1, 2)), (normal(2, 5, 6, 4), normal(2, 3, 2, 6))),
    ("dense", lambda x, w: DENSE(x, w), (normal(4, 3), normal(3, 2))),
    ("normalize_last", lambda x: NORMALIZE_LAST(x, epsilon=1e-3), (normal(3, 5),)),
    ("normalize_last", lambda x: NORMALIZE_LAST(x, epsilon=0.5), (normal(2, 3, 4),)),
    ("normalize_last", lambda x, g, b: NORMALIZE_LAST(x, g, b, epsilon=1e-3), (normal(2, 3, 5), normal(5), normal(5))),
    ("normalize_last", lambda x, g: NORMALIZE_LAST(x, g, epsilon=0.5), (normal(3, 4), normal(4))),
    ("normalize_last", lambda x, b: NORMALIZE_LAST(x, None, b, epsilon=0.1), (normal(3, 4), normal(4))),
    ("dense", lambda x, w, b: DENSE(x, w, b), (normal(5, 3), normal(3, 4), normal(4))),
    ("dense", lambda x, w, b: DENSE(x, w, b, relu=True), (normal(6, 3), normal(3, 4), normal(4))),
    ("dense", lambda x, w, b: DENSE(x, w, b, sigmoid=True), (normal(6, 3), normal(3, 4), normal(4))),
    ("mean_squared_error", lambda p, t: MSE(p, t), (normal(4, 3), normal(4, 3))),
    ("mean_squared_error", lambda p, t: MSE(p, t), (normal(2, 3, 5), normal(3, 5))),  # broadcast y_true
    ("mean_squared_error", lambda p, t: MSE(p, t), (normal(4, 1), normal(4, 3))),  # and the averaged axis
    ("dense", lambda x, w, b: ops.dense(x, w, b, relu=True), (normal(2, 3, 4), normal(4, 2), normal(2))),
    ("dense", lambda x, w: ops.dense(x, w), (normal(3,), normal(3, 2))),
    ("dense", lambda x, w, b: ops.dense(x, w, b, sigmoid=True, axes=2),
     (normal(2, 3, 2, 2), normal(2, 2, 3), normal(3))),
    ("dense", lambda x, w, b: ops.dense(x, w, b, axes=1), (normal(2, 3, 4), normal(4, 2, 3), normal(2, 3))),
    ("max_pool", lambda x: ops.max_pool(x, 2), (distinct(2, 4, 6, 3),)),
    ("max_pool", lambda x: ops.max_pool(x, 3, strides=2, padding="same"), (distinct(2, 5, 7, 2),)),
    ("avg_pool", lambda x: ops.average_pool(x, 2), (normal(2, 4, 6, 3),)),
    ("avg_pool", lambda x: ops.average_pool(x, (2, 3), strides=1, padding="same"), (normal(1, 5, 4, 2),)),
    ("sparse_softmax_cross_entropy", lambda z: SPARSE_XENT(z, labels=LABELS[0]), (3 * normal(3, 5),)),
    ("sparse_softmax_cross_entropy", lambda z: SPARSE_XENT(z, labels=LABELS), (normal(2, 3, 5),)),
    ("ctc_loss", lambda z: CTC(ops.log_softmax(z), **CTC_PARAMS), (normal(2, 7, 4),)),
    ("ctc_loss", lambda lp: CTC(lp, **CTC_PARAMS), (normal(2, 7, 4),)),  # not normalized: still its gradient
    ("softmax_cross_entropy", lambda z: XENT(z, SOFT), (3 * normal(4, 5),)),
    # attention: q (batch, seq, heads, dim), k and v (batch, key_seq, kv_heads, dim), then a bias
    ("dot_product_attention", lambda q, k, v: ATTENTION(q, k, v, scale=0.5),
     (normal(2, 3, 2, 4), normal(2, 4, 2, 4), normal(2, 4, 2, 3))),
    ("dot_product_attention", lambda q, k, v, b: ATTENTION(q, k, v, b, scale=0.7),
     (normal(2, 3, 4, 2), normal(2, 4, 2, 2), normal(2, 4, 2, 3), normal(1, 4, 3, 4))),
    ("dot_product_attention", lambda q, k, v: ATTENTION(q, k, v, blocked=BLOCKED, dead=BLOCKED.all(-1, keepdims=True),
                                                        scale=1.0),
     (normal(2, 3, 2, 4), normal(2, 4, 1, 4), normal(2, 4, 1, 4))),
    # recurrent kernels: x (3, 4, 2), kernel, recurrent kernel, bias, initial states; units 3
    ("lstm", LSTM, (normal(3, 4, 2), normal(2, 12), normal(3, 12), normal(12), normal(3, 3), normal(3, 3))),
    ("lstm", lambda *a: LSTM(*a, mask=STEPS_MASK),
     (normal(3, 4, 2), normal(2, 12), normal(3, 12), normal(12), normal(3, 3), normal(3, 3))),
    ("lstm", lambda *a: LSTM(*a, mask=STEPS_MASK, zero_output=True),
     (normal(3, 4, 2), normal(2, 12), normal(3, 12), normal(12), normal(3, 3), normal(3, 3))),
    ("lstm", lambda *a: LSTM(*a, mask=STEPS_MASK, last_only=True),  # the last step's [out, h, c] only
     (normal(3, 4, 2), normal(2, 12), normal(3, 12), normal(12), normal(3, 3), normal(3, 3))),
    ("lstm", lambda x, w, r, h, c: LSTM(x, w, r, None, h, c, last_only=True),
     (normal(3, 4, 2), normal(2, 12), normal(3, 12), normal(3, 3), normal(3, 3))),
    ("gru", GRU, (normal(3, 4, 2), normal(2, 9), normal(3, 9), normal(2, 9), normal(3, 3))),
    ("gru", lambda *a: GRU(*a, mask=STEPS_MASK, last_only=True),
     (normal(3, 4, 2), normal(2, 9), normal(3, 9), normal(2, 9), normal(3, 3))),
    ("gru", lambda *a: GRU(*a, mask=STEPS_MASK),
     (normal(3, 4, 2), normal(2, 9), normal(3, 9), normal(2, 9), normal(3, 3))),
    ("gru", lambda *a: GRU(*a, reset_after=False),
     (normal(3, 4, 2), normal(2, 9), normal(3, 9), normal(9), normal(3, 3))),
    ("gru", lambda *a: GRU(*a, reset_after=False, mask=STEPS_MASK, zero_output=True),
     (normal(3, 4, 2), normal(2, 9), normal(3, 9), normal(9), normal(3, 3))),
    ("simple_rnn", SIMPLE_RNN, (normal(3, 4, 2), normal(2, 3), normal(3, 3), normal(3), normal(3, 3))),
    ("simple_rnn", lambda *a: SIMPLE_RNN(*a, mask=STEPS_MASK),
     (normal(3, 4, 2), normal(2, 3), normal(3, 3), normal(3), normal(3, 3))),
    ("simple_rnn", lambda *a: SIMPLE_RNN(*a, last_only=True),
     (normal(3, 4, 2), normal(2, 3), normal(3, 3), normal(3), normal(3, 3))),
    ("simple_rnn", lambda x, w, r, h: SIMPLE_RNN(x, w, r, None, h, activation="linear"),
     (normal(3, 4, 2), normal(2, 3), normal(3, 3), normal(3, 3))),
    ("simple_rnn", lambda x, w, r, b, h: SIMPLE_RNN(x, w, r, b, h, activation="relu"),
     (normal(3, 4, 2), normal(2, 3), 0.5 * normal(3, 3), normal(3), normal(3, 3))),
    ("fft", lambda a, b: REGISTRY["fft"](a, b, axes=(-1,), inverse=False), (normal(2, 5), normal(2, 5))),
    ("fft", lambda a, b: REGISTRY["fft"](a, b, axes=(-2, -1), inverse=True), (normal(3, 4), normal(3, 4))),
    ("fft", lambda a: REGISTRY["fft"](a, 0.0, axes=(0,), inverse=False), (normal(4, 2),)),
    ("erfc", ops.erfc, (normal(3, 4),)),
    ("erfinv", ops.erfinv, (rng.uniform(-0.9, 0.9, (3, 4)),)),
    ("logdet", ops.logdet, (normal(3, 3) + 4 * np.eye(3),)),
    ("logdet", ops.logdet, (normal(2, 3, 3) + 4 * np.eye(3),)),
]

IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


@pytest.fixture(autouse=True)
def numpy_kernels():
    """The gradient checks hold the reference to account: the NumPy kernels, not the accelerator's."""
    accel.set_enabled(False)
    yield
    accel.set_enabled(None)


@pytest.mark.parametrize("name, f, inputs", CASES, ids=IDS)
def test_vjp_matches_central_differences(name, f, inputs):
    gradcheck(f, *inputs)  # float64, eps=1e-6, rtol=1e-6, atol=1e-8


@pytest.mark.parametrize("name, f, inputs", CASES, ids=IDS)
def test_case_goes_through_its_primitive(name, f, inputs):
    out = f(*[Tensor(x, requires_grad=True) for x in inputs])
    assert name in {t.node.op.name for t in toposort(out) if t.node is not None}


SMOOTH = [(name, f, inputs) for name, f, inputs in CASES if REGISTRY[name].order is None]
FUSED = [(name, f, inputs) for name, f, inputs in CASES if REGISTRY[name].order == 1]


@pytest.mark.parametrize("name, f, inputs", SMOOTH, ids=[f"{c[0]}-{i}" for i, c in enumerate(SMOOTH)])
def test_second_derivative_matches_central_differences(name, f, inputs):
    gradcheck(second_order_fixed(f, len(inputs), inputs), *inputs, rtol=1e-5, atol=1e-7)


def second_order_fixed(f, n, inputs):
    """`second_order` with v and w drawn once, so every evaluation sees the same ones."""
    seeded = np.random.default_rng(1)
    v = seeded.standard_normal(np.shape(f(*inputs)))
    ws = [seeded.standard_normal(np.shape(x)) for x in inputs]

    def h(*xs):
        gs = grad(lambda *ys: ops.sum(f(*ys) * v), argnums=tuple(range(n)))(*xs)
        return sum(ops.sum(g * w) for g, w in zip(gs, ws))

    return h


@pytest.mark.parametrize("name, f, inputs", FUSED, ids=[f"{c[0]}-{i}" for i, c in enumerate(FUSED)])
def test_fused_kernels_refuse_second_derivatives(name, f, inputs):
    with pytest.raises(NotImplementedError, match=f"{name}: second derivatives are not available"):
        grad(second_order_fixed(f, len(inputs), inputs), argnums=tuple(range(len(inputs))))(*inputs)


def test_every_primitive_has_a_case():
    missing = set(REGISTRY) - {name for name, _, _ in CASES}
    assert not missing, f"primitives without a gradient check: {sorted(missing)}"


# -- random shapes and values ------------------------------------------------------------------

BINARY = [ops.add, ops.subtract, ops.multiply, ops.maximum, ops.minimum]


@settings(max_examples=30, deadline=None)
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    op=st.sampled_from(BINARY),
    seed=st.integers(0, 2**16),
)
def test_binary_ops_broadcast_gradients_back_to_each_shape(shapes, op, seed):
    r = np.random.default_rng(seed)
    x, y = (r.standard_normal(s) for s in shapes.input_shapes)
    gradcheck(lambda a, b: op(a, b), x, y)
    gx, gy = grad(lambda a, b: ops.sum(op(a, b)), argnums=(0, 1))(x, y)
    assert np.shape(gx) == np.shape(x) and np.shape(gy) == np.shape(y)


@settings(max_examples=30, deadline=None)
@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                 elements=st.floats(-3, 3)),
    reduction=st.sampled_from([ops.sum, ops.mean, ops.var, ops.logsumexp]),
    keepdims=st.booleans(),
    data=st.data(),
)
def test_reductions_over_random_axes(x, reduction, keepdims, data):
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    gradcheck(lambda a: reduction(a, axis=axis, keepdims=keepdims), x)


# -- dtypes: float32 stays float32, forward and backward ---------------------------------------

FLOAT32_CASES = [(name, f, inputs) for name, f, inputs in CASES if name not in ("cast",)]


@pytest.mark.parametrize("name, f, inputs", FLOAT32_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FLOAT32_CASES)])
def test_float32_in_float32_out_and_gradients(name, f, inputs):
    xs = [Tensor(x.astype(np.float32), requires_grad=True) for x in inputs]
    out = f(*xs)
    assert out.dtype == np.float32, f"{name}: forward gave {out.dtype}"
    ops.sum(out * out).backward()
    for x in xs:
        assert x.grad.dtype == np.float32


def test_a_relu_layer_has_exact_hessians_and_double_backward():
    from nablanet import Tensor, hessian, layers

    x, b = normal(5, 3), normal(2)

    def loss(w):  # a relu layer's loss as a function of its kernel
        return ops.sum(ops.square(ops.dense(x, ops.reshape(w, (3, 2)), b, relu=True)))

    w = normal(6)
    gradcheck(lambda v: grad(loss)(v), w)
    h = hessian(loss)(w)
    np.testing.assert_allclose(h, h.T, atol=1e-10)
    out = x @ w.reshape(3, 2) + b
    active = (out > 0).astype(float)  # d2/dW2 of sum(relu(xW + b)^2) is 2 x^T diag(active) x per column
    for j in range(2):
        block = 2 * x.T @ (x * active[:, j:j + 1])
        np.testing.assert_allclose(h[j::2, j::2], block, rtol=1e-10, atol=1e-12)

    # a gradient penalty, PyTorch-style: backward with create_graph, then backward again
    inputs = Tensor(normal(4, 3), requires_grad=True)
    layer = layers.Dense(2, activation="relu", dtype="float64")
    ops.sum(layer(inputs) ** 2).backward(create_graph=True)
    penalty = ops.sum(inputs.grad * inputs.grad)
    kernel = layer.kernel
    kernel.grad = None
    penalty.backward()

    def penalty_of(w):  # the same penalty as a function of the kernel, through nested transforms
        gx = grad(lambda xs: ops.sum(ops.dense(xs, w, layer.bias.numpy(), relu=True) ** 2))(inputs.numpy())
        return ops.sum(gx * gx)

    gradcheck(penalty_of, kernel.numpy())
    np.testing.assert_allclose(kernel.grad, grad(penalty_of)(kernel.numpy()), rtol=1e-10)
