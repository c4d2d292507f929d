"""The elementwise NumPy ops and the creators against `keras.ops` (torch backend): values and
dtypes over a table of inputs, gradients by central differences, and errors that name the op."""

import inspect

import numpy as np
import pytest

from nablanet import Tensor, grad, gradcheck, hessian, ops

keras = pytest.importorskip("keras")
pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
FLOATS = np.array([-2.5, -1.0, -0.0, 0.0, 0.3, 0.5, 1.0, 2.0, 7.25, np.nan, np.inf, -np.inf])
INTS = np.array([-7, -2, -1, 0, 1, 2, 3, 5, 100])


def sample(dtype):
    """A table of values in `dtype`: edge values for floats, small signed values for ints."""
    if dtype == "bool":
        return np.array([True, False, True])
    if dtype.startswith("uint"):
        return np.abs(INTS).astype(dtype)
    if dtype.startswith("int"):
        return INTS.astype(dtype)
    return FLOATS.astype(dtype)


# nablanet never narrows a 64-bit input's result to 32 bits where Keras's result_type does
# (documented in ops/numpy_elementwise.py); every other dtype must match exactly.
NARROWED = {"float64": "float32", "int64": "int32"}

UNARY = [
    "abs", "absolute", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "bitwise_invert",
    "bitwise_not", "cbrt", "ceil", "conj", "conjugate", "copy", "cos", "cosh", "deg2rad", "exp", "exp2", "expm1",
    "fabs", "floor", "i0", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "log", "log10", "log1p",
    "log2", "logical_not", "nan_to_num", "negative", "rad2deg", "real", "reciprocal", "round", "sign", "signbit",
    "sin", "sinc", "sinh", "sqrt", "square", "tan", "tanh", "trunc", "zeros_like", "ones_like",
]
BINARY = [
    "add", "subtract", "multiply", "divide", "true_divide", "divide_no_nan", "floor_divide", "mod", "fmod", "power",
    "maximum", "minimum", "fmax", "fmin", "arctan2", "hypot", "logaddexp", "logaddexp2", "heaviside", "nextafter",
    "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "logical_and", "logical_or",
    "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift", "bitwise_left_shift",
    "bitwise_right_shift", "gcd", "lcm", "isclose", "ldexp",
]
PAIRS = [
    ("float32", "float32"), ("float64", "float64"), ("int32", "int32"), ("int64", "int64"), ("bool", "bool"),
    ("int32", "float32"), ("int8", "uint8"), ("uint8", "uint8"), ("int32", "float16"), ("float16", "float32"),
    ("int64", "float32"), ("bool", "int32"), ("int16", "int64"), ("float32", "float64"),
]
SCALARS = [2, 2.5, True]
SHIFTS = ("left_shift", "right_shift", "bitwise_left_shift", "bitwise_right_shift", "ldexp")


def keras_result(name, *args):
    try:
        out = getattr(keras.ops, name)(*args)
    except Exception:  # noqa: BLE001 -- any refusal by Keras means nablanet must refuse too
        return None
    return keras.ops.convert_to_numpy(out)


def ours(name, *args):
    with np.errstate(all="ignore"):
        return getattr(ops, name)(*args)


def compare(name, args, expected):
    if expected is None:
        with pytest.raises((TypeError, ValueError)):
            ours(name, *args)
        return
    got = np.asarray(ours(name, *args))
    dtypes = {a.dtype.name for a in args if isinstance(a, np.ndarray)}
    precision = got.dtype.name
    if NARROWED.get(got.dtype.name) == expected.dtype.name and got.dtype.name in dtypes:
        precision, expected = expected.dtype.name, expected.astype(got.dtype)
    if all(d[0] in "biu" for d in dtypes) and got.dtype == np.float64:
        precision = "float32"  # Keras computes from integers in float32
    shown = tuple(_show(a) for a in args)
    assert got.dtype == expected.dtype, f"{name}{shown}: dtype {got.dtype}, Keras {expected.dtype}"
    assert got.shape == expected.shape, f"{name}: shape {got.shape}, Keras {expected.shape}"
    if name == "nextafter" and precision != "float64":
        return  # Keras steps in float64 and rounds back, so it returns x1; nablanet steps in x1's dtype
    if got.dtype.kind == "f":
        tol = {"float16": 2e-3, "float32": 2e-6, "float64": 1e-12}[precision]
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, equal_nan=True, err_msg=name)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=name)


def _show(a):
    return a.dtype.name if isinstance(a, np.ndarray) else repr(a)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_values_and_dtypes_match_keras(name, dtype):
    x = sample(dtype)
    compare(name, (x,), keras_result(name, x))


@pytest.mark.parametrize("name", UNARY)
def test_unary_on_empty_arrays_and_scalars(name):
    for x in (np.zeros((0, 3), "float32"), np.array(1.5, "float32")):
        compare(name, (x,), keras_result(name, x))


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtypes", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_binary_values_and_dtypes_match_keras(name, dtypes):
    x1 = sample(dtypes[0]).reshape(-1, 1)[:4]  # broadcasting (4, 1) against (n,)
    x2 = sample(dtypes[1])
    if name in SHIFTS and x2.dtype.kind in "iu":
        x2 = np.abs(x2) % 4  # shifts past the width are undefined in C
    if name in ("gcd", "lcm", "floor_divide", "mod", "fmod") and x2.dtype.kind in "iub":
        x2 = np.where(x2 == 0, 3, x2).astype(x2.dtype)  # integer division by zero is undefined
    compare(name, (x1, x2), keras_result(name, x1, x2))


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("scalar", SCALARS)
@pytest.mark.parametrize("dtype", ["int32", "uint8", "float16", "float32", "bool"])
def test_binary_with_python_scalars_match_keras(name, scalar, dtype):
    x = sample(dtype)
    if name in ("gcd", "lcm", "floor_divide", "mod", "fmod") and x.dtype.kind in "iub":
        x = np.where(x == 0, 3, x).astype(x.dtype)
    if name in SHIFTS and x.dtype.kind in "iu":
        x = np.abs(x) % 4
    compare(name, (x, scalar), keras_result(name, x, scalar))
    if name != "ldexp":
        compare(name, (scalar, x), keras_result(name, scalar, x))


@pytest.mark.parametrize("name", UNARY + BINARY + ["clip", "where", "round", "isin", "allclose", "view", "imag"])
def test_signature_matches_keras(name):
    assert inspect.signature(getattr(ops, name)) == inspect.signature(getattr(keras.ops, name))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_nextafter_steps_one_unit_in_the_inputs_dtype(dtype):
    x = np.array([1.0, 0.0, -2.0], dtype)
    np.testing.assert_array_equal(ops.nextafter(x, np.array(np.inf, dtype)), np.nextafter(x, np.inf, dtype=dtype))
    assert ops.nextafter(x, np.array(5.0, dtype)).dtype == dtype


# -- more arguments: clip, where, round, isin, allclose, isclose's tolerances, view ---------------

EXTRA = [
    ("clip", (sample("float32"), -1.0, 2)),
    ("clip", (sample("int32"), -1, 2)),
    ("clip", (sample("uint8"), 1, 4)),
    ("clip", (sample("bool"), 0, 1)),
    ("clip", (sample("float64"), np.float64(-0.5), np.float64(0.5))),
    ("where", (sample("bool"), np.array([1.0, 2.0, 3.0], "float32"), np.array([4, 5, 6], "int32"))),
    ("where", (np.array([1, 0, 2]), 1.5, np.array([4.0, 5.0, 6.0], "float16"))),
    ("where", (np.array([[True], [False]]), 1, 2.5)),
    ("round", (np.array([1.25, -2.75, 0.5, 1.5, 2.5], "float32"), 1)),
    ("round", (np.array([1234, -1250, 15], "int32"), -1)),
    ("round", (np.array([0.125, np.nan, -np.inf]), 2)),
    ("isin", (np.array([[1, 2], [3, 4]], "int32"), np.array([2, 4, 9], "int32"))),
    ("isin", (np.array([1.0, 2.0, np.nan]), np.array([2.0, np.nan]), False, True)),
    ("allclose", (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))),
    ("allclose", (np.array([1.0, np.nan]), np.array([1.0, np.nan]), 1e-5, 1e-8, True)),
    ("isclose", (np.array([1.0, 2.0, np.nan]), np.array([1.1, 2.0, np.nan]), 0.2, 0.0, True)),
    ("view", (np.array([1.0, -2.0], "float32"), "int32")),
    ("view", (np.array([1, 2, 3, 4], "int16"), "uint8")),
    ("view", (np.array([1.5, 2.5], "float32"),)),
    ("nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0], "float32"), 1.5, 9.0, -9.0)),
    ("nan_to_num", (np.array([np.nan, np.inf, -np.inf, 1.0], "float16"),)),
    ("divide", (7, 2)),
    ("add", ([1, 2], [0.5, 1.5])),
    ("multiply", (np.float32(2.0), np.array([1, 2], "int8"))),
    ("power", (np.array([-2, -1, 0, 1, 2], "int32"), np.array([-1, -2, 3, -3, 2], "int32"))),
    ("sin", ([0, 1, 2],)),
    ("sqrt", (4,)),
]


@pytest.mark.parametrize("name, args", EXTRA, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXTRA)])
def test_more_arguments_match_keras(name, args):
    compare(name, args, keras_result(name, *args))


def test_where_with_the_condition_alone_gives_indices():
    condition = np.array([[True, False], [False, True]])
    ours_indices = ops.where(condition)
    theirs = keras.ops.where(condition)
    assert len(ours_indices) == len(theirs)
    for a, b in zip(ours_indices, theirs):
        np.testing.assert_array_equal(a, keras.ops.convert_to_numpy(b))


# -- creators --------------------------------------------------------------------------------------

CREATORS = [
    ("zeros", ((2, 3),)), ("zeros", (4, "int8")), ("ones", ((0, 2),)), ("ones", ((2,), "bool")),
    ("full", ((2, 2), 7)), ("full", ((2,), 1.5)), ("full", ((2,), True)), ("full", ((3,), 2, "float16")),
    ("full_like", (np.zeros(3, "int8"), 4)), ("full_like", (np.zeros(3, "float64"), 0.5, "float32")),
    ("zeros_like", (np.ones((2, 2), "int16"),)), ("zeros_like", (np.ones(2), "int32")),
    ("ones_like", (np.ones(3, "uint8"), "float16")), ("ones_like", ([1, 2],)),
    ("arange", (5,)), ("arange", (1, 7, 2)), ("arange", (1.0, 2.0, 0.25)), ("arange", (0, 1, 0.3)),
    ("arange", (5, None, None, "float64")), ("arange", (3, 0, -1)), ("arange", (np.int64(4),)),
    ("array", ([1, 2, 3],)), ("array", ([1.5, 2.0],)), ("array", ([True, False],)), ("array", ([1, 2], "float64")),
    ("array", (np.array([1, 2], "int64"),)), ("array", (3.0,)),
    ("eye", (3,)), ("eye", (2, 4, 1)), ("eye", (3, None, -1, "int32")), ("identity", (3,)),
    ("identity", (2, "float64")), ("tri", (3,)), ("tri", (3, 4, 1, "int32")),
    ("linspace", (0, 1, 5)), ("linspace", (0.0, 1.0, 4, False)), ("linspace", (-1, 2.5, 3)),
    ("linspace", (1, 10, 4, True, False, "int32")),
    ("logspace", (0, 2, 3)), ("logspace", (0, 3, 4, True, 2)), ("logspace", (1.0, 2.0, 3, False)),
    ("geomspace", (1, 1000, 4)), ("geomspace", (1.0, 16.0, 5, True, "float64")),
    ("bartlett", (5,)), ("blackman", (6,)), ("hamming", (5,)), ("hanning", (4,)), ("kaiser", (6, 5.0)),
    ("bartlett", (1,)), ("hanning", (0,)),
]


@pytest.mark.parametrize("name, args", CREATORS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CREATORS)])
def test_creators_match_keras(name, args):
    compare(name, args, keras_result(name, *args))


def test_linspace_with_retstep_and_empty_like_shapes():
    values, step = ops.linspace(0.0, 1.0, 5, retstep=True)
    k_values, k_step = keras.ops.linspace(0.0, 1.0, 5, retstep=True)
    np.testing.assert_allclose(values, keras.ops.convert_to_numpy(k_values))
    assert float(step) == pytest.approx(float(k_step))
    assert ops.empty((2, 3)).shape == (2, 3) and ops.empty((2, 3)).dtype == np.float32
    like = ops.empty_like(Tensor(np.ones((2, 1), "int8")))
    assert isinstance(like, Tensor) and like.shape == (2, 1) and like.dtype == np.int8


CREATOR_NAMES = [
    "arange", "array", "bartlett", "blackman", "empty", "empty_like", "eye", "full", "full_like", "geomspace",
    "hamming", "hanning", "identity", "kaiser", "linspace", "logspace", "ones", "ones_like", "tri", "zeros",
    "zeros_like",
]


@pytest.mark.parametrize("name", CREATOR_NAMES)
def test_creator_signatures_match_keras(name):
    assert inspect.signature(getattr(ops, name)) == inspect.signature(getattr(keras.ops, name))


# -- Tensors in, Tensors out; gradients of the composed ops ----------------------------------------

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


COMPOSITES = [
    ("divide_no_nan", lambda x: ops.divide_no_nan(x, np.array([1.5, 0.0, -2.0, 0.0])), (normal(3, 4),)),
    ("divide_no_nan", lambda x, y: ops.divide_no_nan(x, y), (normal(3, 4), normal(4) + 4)),
    ("fmax", lambda x, y: ops.fmax(x, y), (normal(3, 4), np.array([np.nan, 0.1, -0.2, 0.3]))),
    ("fmin", lambda x, y: ops.fmin(x, y), (np.array([[np.nan, 0.5], [0.2, np.nan]]), normal(2, 2))),
    ("nan_to_num", lambda x: ops.nan_to_num(x) * x[0], (np.array([0.5, np.nan, np.inf, -np.inf, -0.3]),)),
    ("deg2rad", ops.deg2rad, (normal(3),)),
    ("rad2deg", ops.rad2deg, (normal(3),)),
    ("reciprocal", ops.reciprocal, (normal(3) + 3,)),
    ("fabs", ops.fabs, (np.array([-1.5, 0.5, 2.0]),)),
    ("absolute", ops.absolute, (np.array([-1.5, 0.5, 2.0]),)),
    ("ldexp", lambda x: ops.ldexp(x, np.array([1, -2, 0], "int32")), (normal(3),)),
    ("true_divide", ops.true_divide, (normal(3), normal(3) + 4)),
    ("square", ops.square, (normal(3),)),
    ("where", lambda x, y: ops.where(x > 0, x, y), (normal(3, 4), normal(4))),
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), (np.array([-1.0, -0.2, 0.3, 0.9]),)),
    ("sign", lambda x: ops.sign(x) * x, (np.array([-1.0, 0.5, 2.0]),)),
    ("real", lambda x: ops.real(x) * ops.conj(x) * ops.conjugate(x), (normal(3),)),
]


@pytest.mark.parametrize("name, f, inputs", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composites_match_central_differences_and_stay_tensors(name, f, inputs):
    with np.errstate(invalid="ignore"):
        gradcheck(f, *inputs)
        out = f(*[Tensor(x, requires_grad=True) for x in inputs])
    assert isinstance(out, Tensor) and out.requires_grad


def test_second_derivatives_through_the_new_primitives():
    def f(v):
        return ops.sum(ops.logaddexp(ops.sinh(v), ops.arctan2(v, 2.0)) * ops.cbrt(v + 3.0) + ops.sinc(v))

    v = np.array([0.3, -0.7, 1.1])
    h = hessian(f)(v)
    np.testing.assert_allclose(h, h.T, atol=1e-10)
    gradcheck(lambda x: grad(f)(x), v)
    sinc_second = hessian(lambda x: ops.sum(ops.sinc(x)))(np.array([0.0, 1e-5]))
    np.testing.assert_allclose(np.diag(sinc_second), [-np.pi**2 / 3] * 2, rtol=1e-8)


def test_i0_gradient_is_i1():
    scipy_special = pytest.importorskip("scipy.special")
    x = np.array([-12.0, -1.5, 0.0, 1e-4, 0.5, 3.0, 30.0, 200.0])
    np.testing.assert_allclose(grad(lambda v: ops.sum(ops.i0(v)))(x), scipy_special.i1(x), rtol=1e-12)


def test_non_differentiable_ops_return_tensors_without_gradients():
    x = Tensor(np.array([1.5, -2.0, np.inf]), requires_grad=True)
    with np.errstate(invalid="ignore"):  # floor_divide of inf
        outs = (
            ops.isinf(x), ops.signbit(x), ops.floor_divide(x, 2.0), ops.heaviside(x, 0.5), ops.angle(x),
            ops.isclose(x, x), ops.logical_xor(x > 0, x < 2),
        )
    for out in outs:
        assert isinstance(out, Tensor) and not out.requires_grad


def test_rounding_has_zero_gradient_as_in_torch():
    x = np.array([0.3, 1.7, -2.2])
    for op in (ops.floor, ops.ceil, ops.trunc, ops.round):
        np.testing.assert_array_equal(grad(lambda v, op=op: ops.sum(op(v)))(x), np.zeros(3))


# -- bad input: the error names the op, what it expected and what it got ---------------------------

ERRORS = [
    (lambda: ops.bitwise_and(np.array([1.5]), np.array([1])), TypeError, r"bitwise_and: expected integer or boolean"),
    (lambda: ops.left_shift(np.array([True]), np.array([True])), TypeError, r"left_shift: expected numbers"),
    (lambda: ops.gcd(np.array([1.5]), 2), TypeError, r"gcd: expected integer or boolean inputs, got float"),
    (lambda: ops.ldexp(np.array([1.5]), np.array([1.5])), TypeError, r"ldexp: expected integer inputs, got float"),
    (lambda: ops.power(np.array([True]), True), TypeError, r"power: expected numbers, got two boolean"),
    (lambda: ops.add(np.array([1.0]), "a"), TypeError, r"add: .*str"),
    (lambda: ops.sin(np.array(["a"])), TypeError, r"sin: expected a numeric input, got dtype <U1"),
    (lambda: ops.add(np.ones((2, 3)), np.ones((4,))), ValueError, r"add: cannot apply to inputs of shape/dtype"),
    (lambda: ops.round(np.array([True])), TypeError, r"round: expected a numeric input, got dtype bool"),
    (lambda: ops.where(np.array([True]), 1.0), ValueError, r"where: expected both x1 and x2"),
    (lambda: ops.zeros((2, -1)), ValueError, r"zeros: expected a shape of non-negative integers, got \(2, -1\)"),
    (lambda: ops.arange(0, 5, 0), ValueError, r"arange: expected a nonzero step, got 0"),
    (lambda: ops.hamming(np.ones(3)), ValueError, r"hamming: expected a window length"),
    (lambda: ops.ones(3, "bfloat16"), TypeError, r"expected a dtype NumPy can hold, got 'bfloat16'"),
    (lambda: ops.zeros(3, "float128"), ValueError, r"standardize_dtype: expected a dtype among"),
]


@pytest.mark.parametrize("call, error, message", ERRORS, ids=[m.split(":")[0].strip("r\\") for _, _, m in ERRORS])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_numpy_scalars_keep_their_dtype():
    # Keras reads np.float64(2.0) as a Python float (float32 here); nablanet keeps float64
    assert ops.multiply(np.float64(2.0), np.array([1, 2], "int8")).dtype == np.float64
    assert ops.sin(np.float64(0.5)).dtype == np.float64 and ops.sin(0.5).dtype == np.float32
