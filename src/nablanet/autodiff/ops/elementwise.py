"""More elementwise primitives: the rest of NumPy's trigonometry, logs and exponentials in other
bases, rounding, remainders and a few two-argument functions, one row per op.

Rules follow `math.py`'s contract (written with differentiable ops, broadcasting left to the
engine). Rounding (`floor`, `ceil`, `round`, `trunc`) has derivative 0, as in PyTorch. The
remainders `mod` (sign of the divisor) and `fmod` (sign of the dividend) pass `g` to the dividend
and `-g * floor(x / y)` (`trunc` for fmod) to the divisor. `sinc` has derivative 0 at 0;
`nextafter` passes `g` to `x1` only, as PyTorch does. `i0`'s derivative is `i1`, a primitive
here too (NumPy has no I1).
"""

import math

import numpy as np

from nablanet.autodiff import tensor as _tensor
from nablanet.autodiff.ops.math import abs, cos, exp, sqrt, where  # noqa: A004
from nablanet.autodiff.ops.shape import zeros_like
from nablanet.autodiff.primitive import primitive
from nablanet.autodiff.tensor import Tensor

_LN2, _LN10 = math.log(2.0), math.log(10.0)


def _const(v):
    return not isinstance(v, (np.ndarray, Tensor))  # a Python or NumPy number: no gradient


def _zero_vjp(g, out, x, **params):
    return (zeros_like(g),)


def _arctan2_vjp(g, out, y, x):
    scale = g / (x * x + y * y)
    return (None if _const(y) else scale * x, None if _const(x) else -scale * y)


def _logaddexp_vjp(g, out, x, y):
    return (None if _const(x) else g * exp(x - out), None if _const(y) else g * exp(y - out))


def _logaddexp2_vjp(g, out, x, y):
    return (None if _const(x) else g * exp2(x - out), None if _const(y) else g * exp2(y - out))


def _hypot_vjp(g, out, x, y):
    return (None if _const(x) else g * x / out, None if _const(y) else g * y / out)


def _remainder_vjp(quotient):
    def vjp(g, out, x, y):
        return (None if _const(x) else g, None if _const(y) else -g * quotient(x / y))

    return vjp


def _sinc(x):
    return np.sinc(x)


def _sinc_vjp(g, out, x):
    # (cos(pi x) - sinc(x)) / x cancels near 0, where its Taylor series is exact to rounding
    small = abs(x) < 1e-3
    series = x * (math.pi**4 / 30 * x * x - math.pi**2 / 3)
    return (g * where(small, series, (cos(math.pi * x) - out) / where(small, 1, x)),)


def _round(x, *, decimals):
    return np.round(x, decimals)


def _i1(x):
    # I1 as (1/pi) * integral over [0, pi] of exp(x cos t) cos t dt, scaled by exp(-|x|) to stay
    # finite; the trapezoid rule on this periodic integrand converges geometrically.
    x = np.asarray(x)
    points = 64 * (1 + int(min(np.max(np.abs(x), initial=0.0), 1e3)) // 64)  # steps in 64s: few jumps
    t = np.linspace(0.0, np.pi, points + 1)
    weights = np.full(points + 1, 1.0 / points)
    weights[[0, -1]] *= 0.5
    ax = np.abs(x)[..., None].astype(np.float64)
    scaled = np.exp(ax * (np.cos(t) - 1.0)) * np.cos(t) @ weights
    out = np.sign(x) * scaled * np.exp(np.abs(x).astype(np.float64))
    return out.astype(np.result_type(x, np.float16), copy=False)


def _i1_vjp(g, out, x):
    nonzero = x != 0
    return (g * where(nonzero, i0(x) - out / where(nonzero, x, 1), 0.5),)


# fmt: off
#                     name           forward           vjp(g, out, *inputs)
tan      = primitive("tan",          np.tan,           lambda g, out, x: (g * (1 + out * out),))
sinh     = primitive("sinh",         np.sinh,          lambda g, out, x: (g * cosh(x),))
cosh     = primitive("cosh",         np.cosh,          lambda g, out, x: (g * sinh(x),))
arcsin   = primitive("arcsin",       np.arcsin,        lambda g, out, x: (g / sqrt(1 - x * x),))
arccos   = primitive("arccos",       np.arccos,        lambda g, out, x: (-g / sqrt(1 - x * x),))
arctan   = primitive("arctan",       np.arctan,        lambda g, out, x: (g / (1 + x * x),))
arcsinh  = primitive("arcsinh",      np.arcsinh,       lambda g, out, x: (g / sqrt(x * x + 1),))
arccosh  = primitive("arccosh",      np.arccosh,       lambda g, out, x: (g / sqrt(x * x - 1),))
arctanh  = primitive("arctanh",      np.arctanh,       lambda g, out, x: (g / (1 - x * x),))
arctan2  = primitive("arctan2",      np.arctan2,       _arctan2_vjp)
cbrt     = primitive("cbrt",         np.cbrt,          lambda g, out, x: (g / (3 * out * out),))
exp2     = primitive("exp2",         np.exp2,          lambda g, out, x: (g * out * _LN2,))
log2     = primitive("log2",         np.log2,          lambda g, out, x: (g / (x * _LN2),))
log10    = primitive("log10",        np.log10,         lambda g, out, x: (g / (x * _LN10),))
logaddexp = primitive("logaddexp",   np.logaddexp,     _logaddexp_vjp)
logaddexp2 = primitive("logaddexp2", np.logaddexp2,    _logaddexp2_vjp)
hypot    = primitive("hypot",        np.hypot,         _hypot_vjp)
sinc     = primitive("sinc",         _sinc,            _sinc_vjp)
i0       = primitive("i0",           np.i0,            lambda g, out, x: (g * i1(x),))
i1       = primitive("i1",           _i1,              _i1_vjp)
floor    = primitive("floor",        np.floor,         _zero_vjp)
ceil     = primitive("ceil",         np.ceil,          _zero_vjp)
trunc    = primitive("trunc",        np.trunc,         _zero_vjp)
round_   = primitive("round",        _round,           _zero_vjp)
mod      = primitive("mod",          np.remainder,     _remainder_vjp(lambda q: floor(q)))
fmod     = primitive("fmod",         np.fmod,          _remainder_vjp(lambda q: trunc(q)))
nextafter = primitive("nextafter",   np.nextafter,     lambda g, out, x, y: (g, None))
copy     = primitive("copy",         np.copy,          lambda g, out, x: (g,))
# fmt: on

_tensor.UFUNCS.update({
    np.tan: tan, np.sinh: sinh, np.cosh: cosh, np.arcsin: arcsin, np.arccos: arccos, np.arctan: arctan,
    np.arcsinh: arcsinh, np.arccosh: arccosh, np.arctanh: arctanh, np.arctan2: arctan2, np.cbrt: cbrt,
    np.exp2: exp2, np.log2: log2, np.log10: log10, np.logaddexp: logaddexp, np.logaddexp2: logaddexp2,
    np.hypot: hypot, np.floor: floor, np.ceil: ceil, np.trunc: trunc, np.remainder: mod, np.fmod: fmod,
    np.nextafter: nextafter,
})
