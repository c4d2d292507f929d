"""Tensor operators promote as `keras.ops` does on the torch backend: `a + b` on nablanet Tensors gives
the dtype and values `keras.ops.add(a, b)` gives, for every pair of dtypes and with Python numbers."""

import operator

import numpy as np
import pytest

from nablanet import Tensor

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
ARITHMETIC = [("add", operator.add), ("subtract", operator.sub), ("multiply", operator.mul),
              ("divide", operator.truediv), ("floor_divide", operator.floordiv), ("mod", operator.mod),
              ("power", operator.pow)]
COMPARISONS = [("equal", operator.eq), ("not_equal", operator.ne), ("less", operator.lt),
               ("less_equal", operator.le), ("greater", operator.gt), ("greater_equal", operator.ge)]
SCALARS = [True, 3, -2, 2.5]


def sample(dtype, seed):
    values = np.array([[1, 2, 3], [4, 1, 2]]) + seed
    return values.astype(dtype) if dtype != "bool" else (values % 2).astype(bool)


def supported(keras, name, a, b):
    """Keras's result, or None where keras.ops refuses the pair (ours then may refuse too)."""
    try:
        return keras.ops.convert_to_numpy(getattr(keras.ops, name)(a, b))
    except Exception:  # noqa: BLE001 -- torch has no kernel for some pairs (bool - bool, ...)
        return None


def check(keras, name, function, a, b, ours_a, ours_b):
    want = supported(keras, name, a, b)
    if want is None:
        return
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 divisors give inf and nan, as in Keras
        got = function(ours_a, ours_b)
    assert isinstance(got, Tensor)
    assert got.dtype == want.dtype, (name, a, b)
    np.testing.assert_allclose(got.numpy().astype(float), want.astype(float), rtol=1e-3, equal_nan=True)


@pytest.mark.parametrize("name, function", ARITHMETIC + COMPARISONS, ids=[n for n, _ in ARITHMETIC + COMPARISONS])
def test_operators_on_two_tensors_promote_as_keras_ops(name, function):
    keras = pytest.importorskip("keras")
    for left in DTYPES:
        for right in DTYPES:
            a, b = sample(left, 0), sample(right, 1)
            check(keras, name, function, a, b, Tensor(a), Tensor(b))


@pytest.mark.parametrize("name, function", ARITHMETIC + COMPARISONS, ids=[n for n, _ in ARITHMETIC + COMPARISONS])
def test_operators_with_python_numbers_promote_as_keras_ops(name, function):
    keras = pytest.importorskip("keras")
    for dtype in DTYPES:
        a = sample(dtype, 0)
        for scalar in SCALARS:
            check(keras, name, function, a, scalar, Tensor(a), scalar)
            check(keras, name, function, scalar, a, scalar, Tensor(a))


def test_matmul_promotes_as_keras_ops():
    keras = pytest.importorskip("keras")
    for left in DTYPES:
        for right in DTYPES:
            if "float64" in (left, right):
                continue  # float64 stays float64 (Keras narrows it to float32), for float64 gradient checks
            a, b = sample(left, 0), sample(right, 1).T
            check(keras, "matmul", operator.matmul, a, b, Tensor(a), Tensor(b))


def test_numpy_arrays_on_either_side_promote_as_tensors_do():
    keras = pytest.importorskip("keras")
    a, b = sample("int32", 0), sample("float32", 1)
    check(keras, "add", operator.add, a, b, Tensor(a), b)
    check(keras, "multiply", operator.mul, a, b, a, Tensor(b))


def test_the_promoted_path_still_differentiates():
    x = Tensor(np.array([1.0, 2.0], "float32"), requires_grad=True)
    y = (x * np.array([3, 4], "int32")).sum()
    assert y.dtype == np.float32
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
