"""The elementwise NumPy ops and the creators against `keras.ops` (torch backend): values and
dtypes over a table of inputs, gradients by central differences, and errors that name the op."""

import inspect

import numpy as np
import pytest

from nablanet import ops

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
