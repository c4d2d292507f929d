"""`standardize_dtype`, `result_type`, `is_float_dtype`, `is_int_dtype` against Keras 3's."""

import itertools

import numpy as np
import pytest

from nablanet import backend

keras = pytest.importorskip("keras")

NAMES = [
    "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "bfloat16", "float16", "float32", "float64", "complex64", "complex128",
]
ARGS = NAMES + [int, float, bool, None]


def _keras_or_error(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return ValueError


@pytest.mark.parametrize("floatx", ["float32", "float16", "float64"])
def test_result_type_matches_keras_on_every_pair_and_single(floatx):
    backend.set_floatx(floatx)
    keras.config.set_floatx(floatx)
    try:
        for args in [()] + [(a,) for a in ARGS] + list(itertools.product(ARGS, repeat=2)):
            expected = _keras_or_error(keras.backend.result_type, *args)
            got = _keras_or_error(backend.result_type, *args)
            assert got == expected, f"result_type{args} with floatx={floatx}: Keras {expected}, nablanet {got}"
    finally:
        backend.set_floatx("float32")
        keras.config.set_floatx("float32")


def test_result_type_matches_keras_on_triples():
    for args in itertools.product(["bool", "uint8", "int8", "int32", "float16", "bfloat16", int, float], repeat=3):
        assert backend.result_type(*args) == keras.backend.result_type(*args), args


def test_result_type_refuses_float8():
    with pytest.raises(ValueError, match="result_type: float8"):
        backend.result_type("float8_e4m3fn", "float32")


@pytest.mark.parametrize("dtype", NAMES + [int, float, bool, complex, str, "int", None, np.float64, np.int8, np.bool_,
                                           np.dtype("float16"), np.dtype(np.uint32)])
def test_standardize_dtype_matches_keras(dtype):
    assert backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)


def test_standardize_dtype_reads_torch_dtypes():
    torch = pytest.importorskip("torch")
    assert backend.standardize_dtype(torch.float64) == "float64"
    assert backend.standardize_dtype(torch.bool) == "bool"


@pytest.mark.parametrize("bad", ["float", "float128", np.dtype("U3"), object, 3])
def test_standardize_dtype_names_itself_and_what_it_got(bad):
    with pytest.raises(ValueError, match=r"standardize_dtype: expected a dtype among .*got"):
        backend.standardize_dtype(bad)


@pytest.mark.parametrize("dtype", NAMES + [int, float, bool, None, np.float16])
def test_is_float_and_is_int_match_keras(dtype):
    assert backend.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype)
    assert backend.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype)
