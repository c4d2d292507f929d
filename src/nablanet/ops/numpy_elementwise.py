"""Keras's NumPy ops that work element by element: arithmetic, powers and logs, trigonometry,
rounding, comparison, logic and bit operations, and the array creators (`zeros`, `arange`, ...,
in `numpy_creation`).

Dtypes are those `keras.ops` gives on the torch backend. Two inputs promote by Keras's rules
(`backend.result_type`, Python numbers weak), except that 64-bit inputs stay 64-bit, as PyTorch
keeps them: `int32` with `float16` is float16, `uint8` with `3` stays uint8, `float64` stays
float64. Math that needs a float (`sin`, `log`, `divide`, ...) turns integers and booleans into
`floatx()`. Python numbers and lists become int32 or float32 arrays, as Keras converts them.

Deliberate differences from Keras: where Keras's `result_type` narrows a 64-bit input's result
to 32 bits (`maximum`, `hypot`, `floor`, `fmax`, `logaddexp`, ...), nablanet keeps 64 bits, so
float64 gradient checks see no rounding; and `nextafter` steps in its inputs' own dtype (Keras
steps in float64 and rounds back, returning `x1` unchanged for float32); NumPy scalars keep
their dtype (Keras reads a `np.float64` scalar as a Python float).

>>> ops.divide(np.array([1, 2], "int32"), 4)
array([0.25, 0.5 ], dtype=float32)
>>> ops.arctan2(np.float64(1.0), -1.0).item() == 3 * np.pi / 4
True
"""

import functools
import math

import numpy as np

from nablanet import backend
from nablanet.autodiff import Tensor, as_array
from nablanet.autodiff.ops import (
    abs as _abs, add as _add, cast, clip as _clip, cos as _cos, divide as _divide, equal as _equal,
    exp as _exp, expm1 as _expm1, greater as _greater, greater_equal as _greater_equal, isnan as _isnan,
    less as _less, less_equal as _less_equal, log as _log, log1p as _log1p,
    logical_and as _logical_and, logical_not as _logical_not, logical_or as _logical_or, maximum as _maximum,
    minimum as _minimum, multiply as _multiply, negative as _negative, not_equal as _not_equal, power as _power,
    sign as _sign, sin as _sin, sqrt as _sqrt, subtract as _subtract, tanh as _tanh, where as _where,
)
from nablanet.autodiff.ops import elementwise as _ew
from nablanet.ops.array_inputs import as_input
from nablanet.ops.numpy_creation import *  # noqa: F401,F403
from nablanet.ops.numpy_creation import __all__ as _creation_names

__all__ = [
    "abs", "absolute", "add", "allclose", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "cbrt", "ceil", "clip", "conj", "conjugate", "copy", "cos", "cosh",
    "deg2rad", "divide", "divide_no_nan", "equal", "exp", "exp2", "expm1", "fabs", "floor", "floor_divide", "fmax",
    "fmin", "fmod", "gcd", "greater", "greater_equal", "heaviside", "hypot", "i0", "imag", "isclose", "isfinite",
    "isin", "isinf", "isnan", "isneginf", "isposinf", "isreal", "lcm", "ldexp", "left_shift", "less", "less_equal",
    "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2", "logical_and", "logical_not", "logical_or",
    "logical_xor", "maximum", "minimum", "mod", "multiply", "nan_to_num", "negative", "nextafter", "not_equal",
    "power", "rad2deg", "real", "reciprocal", "right_shift", "round", "sign", "signbit", "sin", "sinc", "sinh",
    "sqrt", "square", "subtract", "tan", "tanh", "true_divide", "trunc", "view", "where",
] + list(_creation_names)

_WIDE = {"int32": "int64", "uint32": "uint64", "float32": "float64"}


# -- inputs and dtypes ----------------------------------------------------------------------------


def _kind(x):
    """The dtype of `x`, or the Python type `int`/`float` for a weak Python number."""
    if isinstance(x, (Tensor, np.ndarray)):
        return x.dtype.name
    if isinstance(x, np.generic):
        return x.dtype.name
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int):
        return int
    if isinstance(x, float):
        return float
    return as_input(x).dtype.name


@functools.lru_cache(maxsize=512)
def _promote(*kinds):
    name = backend.result_type(*kinds)
    wide = _WIDE.get(name)
    return wide if wide in kinds else name


def _to(x, dtype):
    if isinstance(x, (Tensor, np.ndarray)):
        return x if x.dtype == dtype else cast(x, dtype)
    if isinstance(x, (bool, int, float, np.generic)):
        return np.asarray(x).astype(dtype)[()]  # a NumPy scalar: a constant to the derivative rules
    return np.asarray(x, dtype)


def _operands(name, x1, x2, floating=False, weak=True):
    """Both inputs in their promoted dtype (a float one when `floating`); Python numbers are weak
    unless `weak` is False (ops where Keras converts them to int32/float32 arrays first)."""
    if not weak:
        x1, x2 = as_input(x1), as_input(x2)
    try:
        k1, k2 = _kind(x1), _kind(x2)
        dtype = _promote(k1, k2)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: cannot combine inputs {_describe(x1)} and {_describe(x2)}: {error}") from None
    if floating and dtype[0] in "biu":
        dtype = backend.floatx()
    if dtype == k1 == k2:
        return x1, x2
    return _to(x1, dtype), _to(x2, dtype)


def _describe(x):
    return f"{x.dtype} {x.shape}" if hasattr(x, "dtype") and hasattr(x, "shape") else type(x).__name__


def _float_input(name, x, int64_to_float64=False):
    """`x` converted, integers and booleans cast to floatx (to float64 from int64 when asked)."""
    x = as_input(x)
    kind = x.dtype.kind
    if kind in "biu":
        return cast(x, "float64" if int64_to_float64 and x.dtype == np.int64 else backend.floatx())
    if kind not in "fc":
        raise TypeError(f"{name}: expected a numeric input, got dtype {x.dtype}")
    return x


def _plain(numpy_function, *inputs, **params):
    """Call a NumPy function without a gradient; a Tensor when any input is one."""
    out = numpy_function(*[as_array(x) if isinstance(x, Tensor) else x for x in inputs], **params)
    return Tensor._wrap(out) if any(isinstance(x, Tensor) for x in inputs) else out


def _integers(name, *inputs, kinds="biu"):
    inputs = [as_input(x) if not isinstance(x, (bool, int)) else x for x in inputs]
    for x in inputs:
        if np.dtype(_kind(x) if _kind(x) is not int else "int32").kind not in kinds:
            what = "integer or boolean" if "b" in kinds else "integer"
            raise TypeError(f"{name}: expected {what} inputs, got {_describe(x)}")
    return inputs


def _numbers(name, x1, x2):
    """Refuse two boolean inputs, for ops Keras has no boolean kernel for."""
    if _kind(x1) == "bool" and _kind(x2) == "bool":
        raise TypeError(f"{name}: expected numbers, got two boolean inputs; cast them first")
    return x1, x2


# -- arithmetic -----------------------------------------------------------------------------------


def add(x1, x2):
    """`x1 + x2`, broadcasting.

    >>> ops.add(np.array([1, 2], "int32"), 0.5)
    array([1.5, 2.5], dtype=float32)
    """
    return _add(*_operands("add", x1, x2))


def subtract(x1, x2):
    """`x1 - x2`, broadcasting."""
    return _subtract(*_operands("subtract", x1, x2))


def multiply(x1, x2):
    """`x1 * x2`, broadcasting."""
    return _multiply(*_operands("multiply", x1, x2))


def divide(x1, x2):
    """`x1 / x2`; integers divide to floatx."""
    return _divide(*_operands("divide", x1, x2, floating=True))


def true_divide(x1, x2):
    """The same as `divide`."""
    return divide(x1, x2)


def divide_no_nan(x1, x2):
    """`x1 / x2`, and 0 where `x2 == 0` (with no gradient through the masked division).

    >>> ops.divide_no_nan(np.array([1.0, 2.0]), np.array([0.0, 4.0]))
    array([0. , 0.5])
    """
    x1, x2 = _operands("divide_no_nan", x1, x2, floating=True)
    zero = _equal(x2, 0)
    return _where(zero, np.zeros((), _dtype_of(x2)).item(), _divide(x1, _where(zero, 1.0, x2)))


def _dtype_of(x):
    return x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype


def floor_divide(x1, x2):
    """`floor(x1 / x2)`, in the promoted dtype; carries no gradient, as in PyTorch."""
    dtype = backend.result_type(_kind(x1), _kind(x2))  # Keras casts to it, without _promote's widening
    out = _plain(np.floor_divide, *_operands("floor_divide", *_numbers("floor_divide", x1, x2)))
    return out if out.dtype == dtype else cast(out, dtype)


def mod(x1, x2):
    """The remainder of `x1 / x2` with the sign of `x2` (Python's `%`)."""
    x1, x2 = _operands("mod", *_bool_to_int(x1, x2))
    return _ew.mod(x1, x2)


def fmod(x1, x2):
    """The remainder of `x1 / x2` with the sign of `x1` (C's `fmod`)."""
    x1, x2 = _operands("fmod", *_bool_to_int(x1, x2))
    return _ew.fmod(x1, x2)


def _bool_to_int(*inputs):
    if all(_kind(x) == "bool" for x in inputs):
        return [_to(x, "int32") for x in inputs]
    return inputs


def power(x1, x2):
    """`x1 ** x2`, broadcasting; an integer to a negative integer power truncates towards 0 (as in
    PyTorch: 1 and -1 keep their powers, everything else gives 0)."""
    x1, x2 = _operands("power", *_numbers("power", x1, x2))
    if _dtype_of(x1).kind in "biu" and np.any(as_array(x2) < 0):
        return _plain(_integer_power, x1, x2)
    return _power(x1, x2)


def _integer_power(x, n):
    magnitude = np.power(x, np.abs(n))
    ones = np.where(x == -1, np.where(n % 2 == 0, 1, -1), np.where(x == 1, 1, 0)).astype(magnitude.dtype)
    return np.where(n < 0, ones, magnitude)


def negative(x):
    """`-x`."""
    return _negative(as_input(x))


def reciprocal(x):
    """`1 / x`, in a float dtype."""
    x = _float_input("reciprocal", x)
    return _divide(np.ones((), x.dtype)[()], x)


def square(x):
    """`x * x`; booleans square to int32, as in Keras."""
    x = as_input(x)
    if x.dtype == np.bool_:
        x = cast(x, "int32")
    return _multiply(x, x)


def abs(x):  # noqa: A001
    """`|x|` (gradient 0 at 0)."""
    return _abs(as_input(x))


def absolute(x):
    """The same as `abs`."""
    return abs(x)


def fabs(x):
    """`|x|` in a float dtype."""
    return _abs(_float_input("fabs", x))


def sign(x):
    """-1, 0 or 1 by the sign of `x` (0 for NaN; booleans unchanged)."""
    x = as_input(x)
    if x.dtype == np.bool_:
        return _plain(np.copy, x)
    out = _sign(x)
    nan = np.isnan(as_array(out)) if x.dtype.kind == "f" else None
    return _where(nan, 0.0, out) if nan is not None and nan.any() else out  # 0 for NaN, as in Keras


def maximum(x1, x2):
    """The larger of `x1` and `x2`, elementwise; ties split the gradient in half."""
    return _maximum(*_operands("maximum", x1, x2))


def minimum(x1, x2):
    """The smaller of `x1` and `x2`, elementwise; ties split the gradient in half."""
    return _minimum(*_operands("minimum", x1, x2))


def fmax(x1, x2):
    """`maximum`, ignoring a NaN on one side."""
    x1, x2 = _operands("fmax", x1, x2)
    return _where(_isnan(x2), x1, _where(_isnan(x1), x2, _maximum(x1, x2)))


def fmin(x1, x2):
    """`minimum`, ignoring a NaN on one side."""
    x1, x2 = _operands("fmin", x1, x2)
    return _where(_isnan(x2), x1, _where(_isnan(x1), x2, _minimum(x1, x2)))


def clip(x, x_min, x_max):
    """Clip `x` to `[x_min, x_max]` (booleans become int32, as in Keras); the bounds are constants.

    >>> ops.clip(np.array([-2.0, 0.5, 3.0]), -1, 1)
    array([-1. ,  0.5,  1. ])
    """
    x = as_input(x)
    if x.dtype == np.bool_:
        x = cast(x, "int32")
    return _clip(x, x_min, x_max)


def copy(x):
    """A copy of `x` (the gradient passes through)."""
    return _ew.copy(as_input(x))


def where(condition, x1=None, x2=None):
    """`x1` where `condition` holds, else `x2`; with `condition` alone, the indices where it holds.

    >>> ops.where(np.array([True, False]), 1.0, np.array([5.0, 6.0]))
    array([1., 6.])
    """
    if x1 is None and x2 is None:
        return tuple(np.nonzero(as_array(condition)))
    if x1 is None or x2 is None:
        raise ValueError("where: expected both x1 and x2, or neither, got only one of them")
    condition = as_input(condition)
    if condition.dtype != np.bool_:
        condition = _plain(np.not_equal, condition, 0)
    return _where(condition, *_operands("where", x1, x2))


# -- functions that need a float --------------------------------------------------------------------


def _float_function(primitive, name, summary, int64_to_float64=False):
    def op(x):
        return primitive(_float_input(name, x, int64_to_float64))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = summary
    return op


sin = _float_function(_sin, "sin", "Sine, elementwise.")
cos = _float_function(_cos, "cos", "Cosine, elementwise.")
tan = _float_function(_ew.tan, "tan", "Tangent, elementwise.")
arcsin = _float_function(_ew.arcsin, "arcsin", "Inverse sine, elementwise.")
arccos = _float_function(_ew.arccos, "arccos", "Inverse cosine, elementwise.")
arctan = _float_function(_ew.arctan, "arctan", "Inverse tangent, elementwise.")
sinh = _float_function(_ew.sinh, "sinh", "Hyperbolic sine, elementwise.")
cosh = _float_function(_ew.cosh, "cosh", "Hyperbolic cosine, elementwise.")
tanh = _float_function(_tanh, "tanh", "Hyperbolic tangent, elementwise.")
arcsinh = _float_function(_ew.arcsinh, "arcsinh", "Inverse hyperbolic sine, elementwise.")
arccosh = _float_function(_ew.arccosh, "arccosh", "Inverse hyperbolic cosine, elementwise.")
arctanh = _float_function(_ew.arctanh, "arctanh", "Inverse hyperbolic tangent, elementwise.")
exp = _float_function(_exp, "exp", "`e ** x`, elementwise.")
exp2 = _float_function(_ew.exp2, "exp2", "`2 ** x`, elementwise.")
expm1 = _float_function(_expm1, "expm1", "`exp(x) - 1`, exact for small `x`.")
log = _float_function(_log, "log", "Natural logarithm, elementwise.")
log2 = _float_function(_ew.log2, "log2", "Base-2 logarithm, elementwise.")
log10 = _float_function(_ew.log10, "log10", "Base-10 logarithm, elementwise.")
log1p = _float_function(_log1p, "log1p", "`log(1 + x)`, exact for small `x`.")
sqrt = _float_function(_sqrt, "sqrt", "Square root, elementwise.")
sinc = _float_function(_ew.sinc, "sinc", "`sin(pi x) / (pi x)`, 1 at 0.")
cbrt = _float_function(_ew.cbrt, "cbrt", "Cube root, elementwise (int64 gives float64, as in Keras).", True)
i0 = _float_function(_ew.i0, "i0", "The modified Bessel function of the first kind, order 0.", True)


def deg2rad(x):
    """Degrees to radians (int64 gives float64, as in Keras)."""
    return _multiply(_float_input("deg2rad", x, True), math.pi / 180)


def rad2deg(x):
    """Radians to degrees (int64 gives float64, as in Keras)."""
    return _multiply(_float_input("rad2deg", x, True), 180 / math.pi)


def arctan2(x1, x2):
    """The angle of the point `(x2, x1)`, in `[-pi, pi]`."""
    return _ew.arctan2(*_operands("arctan2", x1, x2, floating=True, weak=False))


def hypot(x1, x2):
    """`sqrt(x1**2 + x2**2)` without overflow."""
    return _ew.hypot(*_operands("hypot", *_numbers("hypot", x1, x2), floating=True, weak=False))


def logaddexp(x1, x2):
    """`log(exp(x1) + exp(x2))`, stable for large inputs."""
    return _ew.logaddexp(*_operands("logaddexp", x1, x2, floating=True, weak=False))


def logaddexp2(x1, x2):
    """`log2(2**x1 + 2**x2)`, stable for large inputs."""
    return _ew.logaddexp2(*_operands("logaddexp2", x1, x2, floating=True, weak=False))


def ldexp(x1, x2):
    """`x1 * 2**x2`; `x2` must be integers."""
    _integers("ldexp", x2, kinds="iu")
    x1, x2 = _operands("ldexp", x1, x2, floating=True)
    return _multiply(x1, _ew.exp2(x2))


def nextafter(x1, x2):
    """The next float after `x1` towards `x2`."""
    return _ew.nextafter(*_operands("nextafter", x1, x2, floating=True, weak=False))


def heaviside(x1, x2):
    """0 where `x1 < 0` (and where it is NaN, as in Keras), `x2` where `x1 == 0`, 1 where `x1 > 0`;
    integers give floatx and booleans stay boolean; carries no gradient."""
    x1, x2 = _operands("heaviside", x1, x2, weak=False)
    if _dtype_of(x1).kind in "iu":
        x1, x2 = _to(x1, backend.floatx()), _to(x2, backend.floatx())
    return _plain(_heaviside, x1, x2)


def _heaviside(x1, x2):
    return np.where(x1 > 0, np.ones((), x1.dtype), np.where(x1 == 0, x2, np.zeros((), x1.dtype)))


# -- rounding -------------------------------------------------------------------------------------


def floor(x):
    """The largest integer not above `x`, as a float (integers become floatx)."""
    return _ew.floor(_float_input("floor", x))


def ceil(x):
    """The smallest integer not below `x`, as a float (integers become floatx)."""
    return _ew.ceil(_float_input("ceil", x))


def trunc(x):
    """`x` rounded towards zero (integers unchanged)."""
    x = as_input(x)
    return _plain(np.copy, x) if x.dtype.kind in "biu" else _ew.trunc(x)


def round(x, decimals=0):  # noqa: A001
    """`x` rounded to `decimals` places, halves to even."""
    x = as_input(x)
    if x.dtype == np.bool_:
        raise TypeError("round: expected a numeric input, got dtype bool")
    return _ew.round_(x, decimals=decimals)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """`x` with NaN, +inf and -inf replaced (by `nan`, and the dtype's largest and smallest finite
    values unless given); the gradient flows where `x` is kept.

    >>> ops.nan_to_num(np.array([np.nan, -np.inf, 1.0]), posinf=9.0)
    array([ 0.00000000e+000, -1.79769313e+308,  1.00000000e+000])
    """
    x = as_input(x)
    if x.dtype.kind not in "fc":
        return _plain(np.copy, x)
    info = np.finfo(x.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    array = as_array(x)
    cast_to = x.dtype.type
    out = _where(np.isnan(array), cast_to(nan), x)
    out = _where(np.isposinf(array), cast_to(posinf), out)
    return _where(np.isneginf(array), cast_to(neginf), out)


# -- complex parts, for real inputs ----------------------------------------------------------------


def real(x):
    """The real part: `x` itself for real inputs."""
    x = as_input(x)
    return _plain(np.real, x) if x.dtype.kind == "c" else x


def imag(x):
    """The imaginary part: zeros for real inputs."""
    x = as_input(x)
    return _plain(np.imag, x) if x.dtype.kind == "c" else _plain(np.zeros_like, x)


def conj(x):
    """The complex conjugate: `x` itself for real inputs."""
    x = as_input(x)
    return _plain(np.conj, x) if x.dtype.kind == "c" else x


def conjugate(x):
    """The same as `conj`."""
    return conj(x)


def angle(x):
    """The complex argument: `pi` for negative reals, 0 otherwise (also for -0.0, as in Keras), NaN
    for NaN; carries no gradient."""
    x = _float_input("angle", x)
    if x.dtype.kind == "c":
        return _plain(np.angle, x)
    return _plain(lambda a: np.where(a < 0, np.pi, np.where(np.isnan(a), a, 0)).astype(a.dtype), x)


def view(x, dtype=None):
    """The same memory read as `dtype` (the last axis rescaled); carries no gradient."""
    x = as_input(x)
    if dtype is None:
        return x
    return _plain(lambda a: a.view(backend.standardize_dtype(dtype)), x)


# -- comparisons, tests and logic: boolean, no gradient -------------------------------------------


def _compare(function, name):
    def op(x1, x2):
        return function(*_operands(name, x1, x2))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise `numpy.{name}`, broadcasting; booleans, no gradient."
    return op


equal = _compare(_equal, "equal")
not_equal = _compare(_not_equal, "not_equal")
less = _compare(_less, "less")
less_equal = _compare(_less_equal, "less_equal")
greater = _compare(_greater, "greater")
greater_equal = _compare(_greater_equal, "greater_equal")
logical_and = _compare(_logical_and, "logical_and")
logical_or = _compare(_logical_or, "logical_or")
logical_xor = _compare(lambda a, b: _plain(np.logical_xor, a, b), "logical_xor")


def logical_not(x):
    """Elementwise `not`; booleans, no gradient."""
    return _logical_not(as_input(x))


def _test(numpy_function, name, summary):
    def op(x):
        return _plain(numpy_function, as_input(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = summary
    return op


isfinite = _test(np.isfinite, "isfinite", "Whether each element is finite (not inf, not NaN).")
isnan = _test(np.isnan, "isnan", "Whether each element is NaN.")
isinf = _test(np.isinf, "isinf", "Whether each element is +inf or -inf.")
isposinf = _test(np.isposinf, "isposinf", "Whether each element is +inf.")
isneginf = _test(np.isneginf, "isneginf", "Whether each element is -inf.")
isreal = _test(np.isreal, "isreal", "Whether each element has no imaginary part.")
signbit = _test(np.signbit, "signbit", "Whether each element's sign bit is set (true for -0.0).")


def isclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether `|x1 - x2| <= atol + rtol * |x2|`, elementwise."""
    x1, x2 = _operands("isclose", x1, x2)
    return _plain(np.isclose, x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether `isclose` holds everywhere, as a boolean scalar."""
    return _plain(lambda a, b: np.asarray(np.all(np.isclose(a, b, rtol, atol, equal_nan))), *_operands(
        "allclose", x1, x2))


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each element of `x1` occurs in `x2`."""
    return _plain(lambda a, b: np.isin(a, b, assume_unique=assume_unique, invert=invert),
                  *_operands("isin", x1, x2))


# -- bits and integers ----------------------------------------------------------------------------


def _bitwise(numpy_function, name, shift=False):
    def op(x, y):
        x, y = _integers(name, x, y)
        if shift:
            x, y = _numbers(name, x, y)
            if _kind(x) == "bool" and _kind(y) is int:
                x = _to(x, "int64")  # PyTorch's default integer, as Keras gives
        return _plain(numpy_function, *_operands(name, x, y))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise `numpy.{numpy_function.__name__}` of integers or booleans."
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift", shift=True)
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift", shift=True)
left_shift = _bitwise(np.left_shift, "left_shift", shift=True)
right_shift = _bitwise(np.right_shift, "right_shift", shift=True)


def bitwise_invert(x):
    """Flip every bit (`not` for booleans)."""
    return _plain(np.invert, *_integers("bitwise_invert", x))


def bitwise_not(x):
    """The same as `bitwise_invert`."""
    return _plain(np.invert, *_integers("bitwise_not", x))


def gcd(x1, x2):
    """The greatest common divisor of integers, elementwise."""
    return _plain(np.gcd, *_operands("gcd", *_integers("gcd", x1, x2)))


def lcm(x1, x2):
    """The least common multiple of integers, elementwise."""
    return _plain(np.lcm, *_operands("lcm", *_integers("lcm", x1, x2)))
