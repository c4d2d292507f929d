"""`nablanet.ops.linalg` against `keras.ops.linalg` (torch backend) for values and dtypes, and against
`torch.linalg` for gradients in float64."""

import inspect

import numpy as np
import pytest

from nablanet import Tensor, grad, gradcheck, ops
from nablanet.ops import linalg

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def spd(*shape):
    m = rng.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


def lower(*shape):
    return np.tril(rng.standard_normal(shape)) + 3 * np.eye(shape[-1])


def as_numpy(value):
    if isinstance(value, (tuple, list)):
        return tuple(as_numpy(v) for v in value)
    return keras.ops.convert_to_numpy(value)


def test_signatures_match_keras():
    for name in dir(keras.ops.linalg):
        if not name.startswith("_"):
            assert inspect.signature(getattr(linalg, name)) == inspect.signature(getattr(keras.ops.linalg, name)), name
    assert inspect.signature(linalg.slogdet) == inspect.signature(keras.ops.slogdet)
    assert "slogdet" not in linalg.__all__


# name, arguments, keyword arguments; every output is compared as it comes (no sign ambiguity)
VALUE_CASES = [
    ("cholesky", (spd(3, 3),), {}),
    ("cholesky", (spd(2, 4, 4),), {"upper": True}),
    ("cholesky_inverse", (lower(3, 3),), {}),
    ("cholesky_inverse", (np.triu(normal(2, 3, 3)) + 3 * np.eye(3),), {"upper": True}),
    ("det", (normal(3, 3),), {}),
    ("det", (normal(2, 3, 4, 4),), {}),
    ("inv", (normal(2, 3, 3),), {}),
    ("solve", (normal(3, 3), normal(3, 2)), {}),
    ("solve", (normal(2, 3, 3), normal(2, 3, 4)), {}),
    ("solve_triangular", (normal(3, 3) + 3 * np.eye(3), normal(3, 2)), {"lower": True}),
    ("solve_triangular", (normal(2, 3, 3) + 3 * np.eye(3), normal(2, 3, 1)), {}),
    ("solve_triangular", (normal(3, 3) + 3 * np.eye(3), normal(3)), {}),
    ("pinv", (normal(4, 3),), {}),
    ("pinv", (normal(2, 3, 5),), {"rcond": 1e-3}),
    ("lstsq", (normal(5, 3), normal(5, 2)), {}),
    ("lstsq", (normal(4, 4), normal(4, 1)), {"rcond": 1e-6}),
    ("lu_factor", (normal(4, 4),), {}),
    ("lu_factor", (normal(2, 3, 3),), {}),
    ("matrix_rank", (np.array([[1.0, 2.0], [2.0, 4.0]]),), {}),
    ("matrix_rank", (normal(2, 4, 3),), {"tol": 0.5}),
    ("svd", (normal(4, 3),), {"compute_uv": False}),
    ("svd", (normal(2, 3, 5),), {"compute_uv": False}),
    ("eigh", (spd(3, 3),), {}),  # eigenvalues; vectors are checked up to sign below
    ("norm", (normal(5),), {}),
    ("norm", (normal(3, 4),), {}),
    ("norm", (normal(2, 3, 4),), {}),
    ("norm", (normal(2, 3, 4),), {"keepdims": True}),
    *[("norm", (normal(3, 4),), {"ord": o}) for o in ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]],
    *[("norm", (normal(2, 3, 4),), {"ord": o, "axis": (0, 2)}) for o in ["fro", "nuc", 1, -1, 2, -2, np.inf]],
    *[("norm", (normal(2, 3, 4),), {"ord": o, "axis": (-1, 0), "keepdims": True}) for o in ["nuc", 1, np.inf]],
    *[("norm", (normal(3, 4),), {"ord": o, "axis": -1}) for o in [None, 0, 1, 2, 3, 0.5, np.inf, -np.inf]],
    ("norm", (np.array([[1, 2], [3, 4]]),), {}),  # integers compute in floatx
    ("norm", (np.zeros((0, 3)),), {"axis": 0}),
    ("norm", (np.array([1.0, np.nan, 2.0]),), {}),
    ("norm", (np.array([1.0, np.inf]),), {"ord": 1}),
]


@pytest.mark.parametrize("name, args, kwargs", VALUE_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(VALUE_CASES)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_values_and_dtypes_match_keras(name, args, kwargs, dtype):
    args = tuple(a.astype(dtype) if np.issubdtype(a.dtype, np.floating) else a for a in args)
    expected = as_numpy(getattr(keras.ops.linalg, name)(*args, **kwargs))
    got = getattr(linalg, name)(*args, **kwargs)
    if name == "eigh":
        expected, got = expected[0], got[0]
    expected, got = (expected, got) if isinstance(expected, tuple) else ((expected,), (got,))
    for e, g in zip(expected, got):
        tolerance = 1e-10 if e.dtype == np.float64 else 1e-5
        assert np.asarray(g).dtype == e.dtype, f"{name}: dtype {np.asarray(g).dtype}, Keras gives {e.dtype}"
        np.testing.assert_allclose(g, e, rtol=tolerance, atol=tolerance)


def _unsign(q, r=None):
    """Fix each column's sign so that decompositions from different LAPACK calls compare."""
    signs = np.sign(np.sum(q, axis=-2, keepdims=True))
    return q * signs if r is None else (q * signs, r * np.swapaxes(signs, -1, -2))


@pytest.mark.parametrize("shape, mode", [((4, 3), "reduced"), ((3, 3), "reduced"), ((3, 5), "reduced"),
                                         ((4, 3), "complete"), ((2, 5, 3), "reduced")])
def test_qr_matches_keras_up_to_signs(shape, mode):
    x = normal(*shape)
    q, r = linalg.qr(x, mode=mode)
    eq, er = as_numpy(keras.ops.linalg.qr(x, mode=mode))
    assert q.shape == eq.shape and r.shape == er.shape
    np.testing.assert_allclose(q @ r, x, atol=1e-12)
    if mode == "reduced":
        for got, want in zip(_unsign(q, r), _unsign(eq, er)):
            np.testing.assert_allclose(got, want, atol=1e-10)


@pytest.mark.parametrize("shape, full", [((4, 3), True), ((4, 3), False), ((3, 5), False), ((2, 3, 3), True)])
def test_svd_matches_keras_up_to_signs(shape, full):
    x = normal(*shape)
    u, s, vh = linalg.svd(x, full_matrices=full)
    eu, es, evh = as_numpy(keras.ops.linalg.svd(x, full_matrices=full))
    assert (u.shape, s.shape, vh.shape) == (eu.shape, es.shape, evh.shape)
    np.testing.assert_allclose(s, es, atol=1e-12)
    k = s.shape[-1]
    np.testing.assert_allclose((u[..., :k] * s[..., None, :]) @ vh[..., :k, :], x, atol=1e-12)
    np.testing.assert_allclose(np.abs(u[..., :k]), np.abs(eu[..., :k]), atol=1e-10)


def test_eigh_vectors_and_eig_match_keras():
    x = spd(2, 4, 4)
    w, v = linalg.eigh(x)
    ew, ev = as_numpy(keras.ops.linalg.eigh(x))
    np.testing.assert_allclose(w, ew, atol=1e-12)
    np.testing.assert_allclose(_unsign(v), _unsign(ev), atol=1e-10)
    general = normal(3, 3).astype("float32")
    w, v = linalg.eig(general)
    ew, ev = as_numpy(keras.ops.linalg.eig(general))
    assert w.dtype == ew.dtype == np.complex64 and v.dtype == ev.dtype
    order, expected_order = np.argsort(w.real + 1e-3 * w.imag), np.argsort(ew.real + 1e-3 * ew.imag)
    np.testing.assert_allclose(w[order], ew[expected_order], atol=1e-5)
    np.testing.assert_allclose(general @ v, v * w[None, :], atol=1e-5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_slogdet_matches_keras(dtype):
    x = normal(2, 3, 3).astype(dtype)
    sign, logdet = linalg.slogdet(x)
    es, el = as_numpy(keras.ops.slogdet(x))
    np.testing.assert_allclose(sign, es)
    np.testing.assert_allclose(logdet, el, rtol=1e-5)
    assert logdet.dtype == el.dtype


# -- gradients against torch.linalg in float64 -----------------------------------------------------

def _torch_sym(m):
    return m + m.transpose(-1, -2)


def _sym(m):
    return m + ops.swapaxes(m, -1, -2)


# ours, torch's, inputs: both functions map the same float64 inputs to one array
GRADIENT_CASES = [
    ("inv", linalg.inv, torch.linalg.inv, (normal(2, 3, 3),)),
    ("det", linalg.det, torch.linalg.det, (normal(3, 3),)),
    ("slogdet", lambda x: linalg.slogdet(x)[1], lambda x: torch.linalg.slogdet(x)[1], (normal(2, 3, 3),)),
    ("solve", linalg.solve, torch.linalg.solve, (normal(3, 3), normal(3, 2))),
    ("solve_triangular", lambda a, b: linalg.solve_triangular(a, b, lower=True),
     lambda a, b: torch.linalg.solve_triangular(a, b, upper=False), (lower(3, 3), normal(3, 2))),
    ("cholesky", lambda m: linalg.cholesky(_sym(m) + 8 * np.eye(3)),
     lambda m: torch.linalg.cholesky(_torch_sym(m) + 8 * torch.eye(3, dtype=torch.float64)), (normal(3, 3),)),
    # torch's forward reads only the lower triangle but its gradient fills the upper one too; ours is
    # zero there, as central differences say, so only the lower triangle is compared
    ("cholesky_inverse", lambda x: linalg.cholesky_inverse(x * np.tri(3)),
     lambda x: torch.cholesky_inverse(x * torch.tril(torch.ones(3, 3, dtype=torch.float64))), (lower(3, 3),)),
    ("eigh-values", lambda m: linalg.eigh(_sym(m))[0], lambda m: torch.linalg.eigh(_torch_sym(m))[0], (normal(4, 4),)),
    ("eigh-vectors", lambda m: ops.abs(linalg.eigh(_sym(m))[1]), lambda m: torch.linalg.eigh(_torch_sym(m))[1].abs(),
     (normal(4, 4),)),
    ("qr", lambda m: linalg.qr(m)[1], lambda m: torch.linalg.qr(m)[1], (normal(4, 3),)),
    ("qr-wide", lambda m: linalg.qr(m)[0], lambda m: torch.linalg.qr(m)[0], (normal(3, 5),)),
    ("svd-values", lambda m: linalg.svd(m, compute_uv=False), torch.linalg.svdvals, (normal(2, 4, 3),)),
    ("svd-u", lambda m: ops.abs(linalg.svd(m, full_matrices=False)[0]),
     lambda m: torch.linalg.svd(m, full_matrices=False)[0].abs(), (normal(4, 3),)),
    ("pinv", linalg.pinv, torch.linalg.pinv, (normal(3, 5),)),
    ("lstsq", linalg.lstsq, lambda a, b: torch.linalg.lstsq(a, b)[0], (normal(5, 3), normal(5, 2))),
    ("norm-2", lambda x: linalg.norm(x, ord=2), lambda x: torch.linalg.norm(x, ord=2), (normal(3, 4),)),
    ("norm-nuc", lambda x: linalg.norm(x, ord="nuc"), lambda x: torch.linalg.norm(x, ord="nuc"), (normal(3, 4),)),
    ("norm-inf", lambda x: linalg.norm(x, ord=np.inf), lambda x: torch.linalg.norm(x, ord=np.inf), (normal(3, 4),)),
    ("norm-3", lambda x: linalg.norm(x, ord=3, axis=0), lambda x: torch.linalg.norm(x, ord=3, dim=0), (normal(3, 4),)),
    ("norm-zero", lambda x: linalg.norm(x, axis=-1), lambda x: torch.linalg.norm(x, dim=-1),
     (np.array([[0.0, 0.0], [3.0, 4.0]]),)),  # a zero vector's 2-norm has a zero gradient, as in torch
]


@pytest.mark.parametrize("name, ours, theirs, inputs", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradients_match_torch(name, ours, theirs, inputs):
    # float32-exact weights: norm's result is float32, as in Keras
    weights = np.random.default_rng(1).standard_normal(np.shape(ours(*inputs))).astype("float32").astype("float64")
    got = grad(lambda *xs: ops.sum(ours(*xs) * weights), argnums=tuple(range(len(inputs))))(*inputs)
    tensors = [torch.tensor(x, requires_grad=True) for x in inputs]
    (theirs(*tensors) * torch.tensor(weights)).sum().backward()
    for g, t in zip(got, tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-7, atol=1e-9)


FLOAT64_CASES = [c for c in GRADIENT_CASES if not c[0].startswith("norm")]


@pytest.mark.parametrize("name, ours, theirs, inputs", FLOAT64_CASES, ids=[c[0] for c in FLOAT64_CASES])
def test_gradients_match_central_differences(name, ours, theirs, inputs):
    gradcheck(ours, *inputs)


def test_composites_have_second_derivatives():
    gradcheck(lambda x: grad(lambda y: ops.sum(linalg.svd(y, compute_uv=False)) * ops.sum(y))(x), normal(3, 3),
              rtol=1e-5)
    gradcheck(lambda x: grad(lambda y: ops.sum(linalg.cholesky_inverse(y) * y))(x), lower(3, 3), rtol=1e-5)
    gradcheck(lambda x: grad(lambda y: ops.sum(linalg.lstsq(y, np.ones((4, 1)))))(x), normal(4, 2), rtol=1e-5)


def test_on_tensors_results_are_tensors_and_float32_stays_float32():
    x = Tensor(spd(3, 3).astype("float32"), requires_grad=True)
    for out in [linalg.inv(x), linalg.cholesky(x), *linalg.eigh(x), *linalg.qr(x), linalg.norm(x), linalg.det(x)]:
        assert isinstance(out, Tensor) and out.dtype == np.float32
    ops.sum(linalg.inv(x)).backward()
    assert x.grad.dtype == np.float32
    lu, pivots = linalg.lu_factor(x)
    assert isinstance(lu, Tensor) and not lu.requires_grad and pivots.dtype == np.int32


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # inside torch.func
def test_jvp_matches_keras():
    def f(x, y):
        return ops.sin(x) * y

    primals, tangents = (normal(3), normal(3)), (normal(3), normal(3))
    out, tangent = linalg.jvp(f, primals, tangents)
    eout, etangent = as_numpy(keras.ops.linalg.jvp(
        lambda x, y: keras.ops.sin(x) * y, tuple(map(torch.tensor, primals)), tuple(map(torch.tensor, tangents))
    ))
    np.testing.assert_allclose(out, eout)
    np.testing.assert_allclose(tangent, etangent)
    out, tangent, aux = linalg.jvp(lambda x: (linalg.inv(x), "aux"), (normal(3, 3) + 3 * np.eye(3),),
                                   (np.eye(3),), has_aux=True)
    np.testing.assert_allclose(tangent, -out @ out, atol=1e-12)
    assert aux == "aux"
    x, t = normal(3), normal(3)
    (square, constant), (square_tangent, constant_tangent) = linalg.jvp(lambda x: (x * x, np.ones(2)), (x,), (t,))
    np.testing.assert_allclose(square_tangent, 2 * x * t)
    np.testing.assert_array_equal(constant_tangent, np.zeros(2))


def test_jvp_is_differentiable():
    x = np.array([0.3, 1.0, -2.0])
    g = grad(lambda x: ops.sum(linalg.jvp(ops.sin, (x,), (np.ones(3),))[1]))(x)
    np.testing.assert_allclose(g, -np.sin(x))


@pytest.mark.parametrize("call, message", [
    (lambda: linalg.inv(np.ones(3)), "inv: expected a matrix"),
    (lambda: linalg.det(np.ones((2, 3))), "det: expected square matrices"),
    (lambda: linalg.solve(np.eye(3), np.ones((2, 1))), "solve: `b` must have 3 rows"),
    (lambda: linalg.qr(np.ones((2, 2)), mode="full"), "qr: expected mode"),
    (lambda: linalg.norm(np.ones((2, 2)), ord="bad"), "norm: invalid ord"),
    (lambda: linalg.norm(np.ones((2, 2)), axis=3), "norm: expected one or two axes"),
    (lambda: linalg.norm(np.ones((2, 2, 2)), ord=1), "norm: with ord=1 and axis=None"),
    (lambda: linalg.cholesky(-np.eye(2)), "cholesky:"),
    (lambda: linalg.jvp(ops.sin, (np.ones(2),), (np.ones(3),)), "jvp: each tangent"),
])
def test_bad_input_names_the_op(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_non_square_full_svd_and_tall_complete_qr_refuse_gradients():
    gradcheck(lambda x: linalg.svd(x)[1], normal(4, 3))  # the singular values alone are fine
    with pytest.raises(NotImplementedError, match="svd: gradients through the completed bases"):
        grad(lambda x: ops.sum(linalg.svd(x)[0]))(normal(4, 3))
    with pytest.raises(NotImplementedError, match="qr: gradients of mode='complete'"):
        grad(lambda x: ops.sum(linalg.qr(x, mode="complete")[0]))(normal(4, 3))
