"""Elementwise primitives: one row per op, a NumPy forward and its VJP.

A VJP receives the upstream gradient `g`, the primal output `out` and the forward's own
arguments, and returns one cotangent per positional input (None where there is none). Rules
use these same differentiable ops, never raw NumPy, so `hessian` sees through them. The engine
undoes broadcasting, so no rule does. A Python number is never differentiated, so rules skip it.

Subgradients at kinks: `relu` and `abs` give 0 at 0 (as torch and Keras do); `maximum` and
`minimum` split ties 0.5/0.5; `leaky_relu` has the slope at 0; `clip` passes the gradient at
its bounds; `sign` has zero derivative. The derivative of `x ** y` with respect to `y` is taken
as 0 where `x <= 0`. A branch that is not taken gets exactly 0, even from an infinite upstream
gradient (`mask`), as in PyTorch: `sqrt(relu(x))` has gradient 0, not nan, at `x < 0`.
"""

import math

import numpy as np

from nablanet.autodiff.ops.shape import zeros_like
from nablanet.autodiff.primitive import primitive
from nablanet.autodiff.tensor import Tensor


def _const(v):
    return not isinstance(v, (np.ndarray, Tensor))  # a Python or NumPy number: no gradient


def _multiply_vjp(g, out, x, y):
    return (None if _const(x) else g * y, None if _const(y) else g * x)


def _divide_vjp(g, out, x, y):
    return (None if _const(x) else g / y, None if _const(y) else -g * out / y)


def _power_vjp(g, out, x, y):
    if _const(x):
        gx = None
    elif _const(y) and y == 0:
        gx = zeros_like(g)  # d/dx x**0 = 0, also at x = 0 (not 0 * x**-1 = nan)
    else:
        gx = mask(g * y * x ** (y - 1), y != 0)
    if _const(y):
        gy = None
    elif _const(x):
        gy = g * out * (math.log(x) if x > 0 else 0.0)  # a Python float keeps float32 float32
    else:
        gy = g * out * log(where(x > 0, x, 1))
    return gx, gy


def _extremum_vjp(wins):
    def vjp(g, out, x, y):
        tie = mask(0.5 * g, x == y)  # ties split 0.5/0.5
        gx = None if _const(x) else mask(g, wins(x, y)) + tie
        gy = None if _const(y) else mask(g, wins(y, x)) + tie
        return gx, gy

    return vjp


def _where_vjp(g, out, condition, x, y):
    gx = None if _const(x) else mask(g, condition)
    gy = None if _const(y) else mask(g, logical_not(condition))
    return None, gx, gy


def _clip_vjp(g, out, x, *, x_min, x_max):
    inside = True
    if x_min is not None:
        inside = x >= x_min
    if x_max is not None:
        inside = logical_and(inside, x <= x_max)
    return (mask(g, inside),)


def _mask(g, condition):
    # `g` where `condition` holds, else 0, and 0 even where g is inf or nan: a multiply, and
    # np.where (branchy, so slow on random masks) only when the product shows a non-finite.
    out = np.multiply(g, condition)
    if out.dtype.kind == "f" and not np.isfinite(np.sum(out)):
        out = np.where(condition, g, np.zeros((), out.dtype))
    return out


def _float_array(x):
    return np.empty(x.shape, np.result_type(x, np.float16))  # ints become float64


def _sigmoid(x):
    # 1 / (1 + exp(-x)) keeps full relative precision in both tails: for x << 0 it is
    # 1 / (large number), with no cancellation. Below -88.7 (float32; -709 in float64) exp
    # overflows to inf and the result is 0 where the true value is a denormal. Four passes, fewer
    # than np.logaddexp-based or branch-free exact-to-denormal forms take.
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(x))
    if type(e) is not np.ndarray:
        return 1 / (1 + e)
    e += 1
    return np.divide(1, e, out=e)


def _softplus(x):
    # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow, exact in both tails.
    x = np.asarray(x)
    s = _float_array(x)
    np.abs(x, out=s)
    np.negative(s, out=s)
    np.exp(s, out=s)
    np.log1p(s, out=s)
    np.add(s, np.maximum(x, 0), out=s)
    return s if s.ndim else s[()]


def _relu(x):
    return np.maximum(x, 0)


_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _erf(x):
    # libm's erf, point by point (NumPy has none): exact to the last bit.
    x = np.asarray(x)
    out = _erf_scalar(x).astype(np.result_type(x, np.float16))
    return out if out.ndim else out[()]


def _leaky_relu(x, *, negative_slope):
    if 0 <= negative_slope <= 1:
        return np.maximum(x, x * negative_slope)  # one pass, no branches
    return np.where(x > 0, x, x * negative_slope)


def _leaky_relu_vjp(g, out, x, *, negative_slope):
    return (mask(g, x > 0) + mask(g * negative_slope, x <= 0),)  # the slope at 0, as torch


def _clip(x, *, x_min, x_max):
    return np.clip(x, x_min, x_max)


# fmt: off
#                     name        forward       vjp(g, out, *inputs)
add        = primitive("add",       np.add,       lambda g, out, x, y: (g, g))
subtract   = primitive("subtract",  np.subtract,  lambda g, out, x, y: (g, None if _const(y) else -g))
multiply   = primitive("multiply",  np.multiply,  _multiply_vjp)
divide     = primitive("divide",    np.divide,    _divide_vjp)
negative   = primitive("negative",  np.negative,  lambda g, out, x: (-g,))
power      = primitive("power",     np.power,     _power_vjp)
exp        = primitive("exp",       np.exp,       lambda g, out, x: (g * out,))
log        = primitive("log",       np.log,       lambda g, out, x: (g / x,))
expm1      = primitive("expm1",     np.expm1,     lambda g, out, x: (g * (out + 1),))
log1p      = primitive("log1p",     np.log1p,     lambda g, out, x: (g / (1 + x),))
sqrt       = primitive("sqrt",      np.sqrt,      lambda g, out, x: (g / (2 * out),))
abs        = primitive("abs",       np.abs,       lambda g, out, x: (g * sign(x),))  # noqa: A001
sign       = primitive("sign",      np.sign,      lambda g, out, x: (zeros_like(g),))
sin        = primitive("sin",       np.sin,       lambda g, out, x: (g * cos(x),))
cos        = primitive("cos",       np.cos,       lambda g, out, x: (-g * sin(x),))
tanh       = primitive("tanh",      np.tanh,      lambda g, out, x: (g * (1 - out * out),))
sigmoid    = primitive("sigmoid",   _sigmoid,     lambda g, out, x: (g * (out - out * out),))
relu       = primitive("relu",      _relu,        lambda g, out, x: (mask(g, x > 0),))
softplus   = primitive("softplus",  _softplus,    lambda g, out, x: (g * sigmoid(x),))
maximum    = primitive("maximum",   np.maximum,   _extremum_vjp(lambda x, y: x > y))
minimum    = primitive("minimum",   np.minimum,   _extremum_vjp(lambda x, y: x < y))
where      = primitive("where",     np.where,     _where_vjp)
mask       = primitive("mask",      _mask,        lambda g, out, x, condition: (mask(g, condition), None))
_clip_op   = primitive("clip",      _clip,        _clip_vjp)
erf        = primitive("erf",       _erf,         lambda g, out, x: (g * (2 / math.sqrt(math.pi)) * exp(-x * x),))
_leaky     = primitive("leaky_relu", _leaky_relu, _leaky_relu_vjp)
# fmt: on


def leaky_relu(x, negative_slope=0.2):
    """`x` where `x > 0`, else `negative_slope * x` (the gradient at 0 is the slope)."""
    return _leaky(x, negative_slope=negative_slope)


def clip(x, x_min, x_max):
    """Clip values to `[x_min, x_max]`; either bound may be None. The bounds are constants."""
    bound = lambda b: b.data if isinstance(b, Tensor) else b  # noqa: E731
    return _clip_op(x, x_min=bound(x_min), x_max=bound(x_max))


# Non-differentiable elementwise functions: comparisons and logic. They return boolean arrays
# (Tensors when given Tensors) that never require a gradient.


def _nondifferentiable(numpy_function):
    def op(*inputs):
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        out = numpy_function(*arrays)
        return Tensor._wrap(out) if any(isinstance(x, Tensor) for x in inputs) else out

    op.__name__ = numpy_function.__name__
    op.__doc__ = f"Elementwise `numpy.{numpy_function.__name__}`; carries no gradient."
    return op


equal = _nondifferentiable(np.equal)
not_equal = _nondifferentiable(np.not_equal)
less = _nondifferentiable(np.less)
less_equal = _nondifferentiable(np.less_equal)
greater = _nondifferentiable(np.greater)
greater_equal = _nondifferentiable(np.greater_equal)
logical_and = _nondifferentiable(np.logical_and)
logical_or = _nondifferentiable(np.logical_or)
logical_not = _nondifferentiable(np.logical_not)
isfinite = _nondifferentiable(np.isfinite)
isnan = _nondifferentiable(np.isnan)
