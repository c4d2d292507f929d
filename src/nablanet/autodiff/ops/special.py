"""Special functions and a determinant: erfc, erfinv and logdet.

`erfc` and `erfinv` are primitives because composing them loses accuracy: `1 - erf(x)` is 0 in
float64 from x = 6 while erfc(6) = 2e-17, and an inverse needs its own iteration. Their VJPs are
written with differentiable ops. `logdet` has a hand-written NumPy VJP (the transposed inverse)
and is first-order only.
"""

import math

import numpy as np

from nablanet.autodiff.ops.math import exp
from nablanet.autodiff.primitive import primitive

_erfc_scalar = np.frompyfunc(math.erfc, 1, 1)
_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _float(x):
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _erfc(x):
    x = _float(x)
    out = np.asarray(_erfc_scalar(x), x.dtype)  # libm's erfc, point by point: NumPy has none
    return out if out.ndim else out[()]


def _erfinv(x):
    x = _float(x)
    y = _erfinv_guess(x.astype(np.float64))
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(3):  # Newton on erf(y) = x: quadratic convergence from a 1e-3 start
            step = (np.asarray(_erf_scalar(y), np.float64) - x) / (2 / math.sqrt(math.pi) * np.exp(-y * y))
            y = np.where(np.isfinite(step), y - step, y)
    y = np.where(np.abs(x) == 1, np.copysign(np.inf, x), y)
    y = np.where(np.abs(x) > 1, np.nan, y).astype(x.dtype)
    return y if y.ndim else y[()]


def _erfinv_guess(x):
    # Winitzki's closed-form approximation (relative error about 2e-3), refined by Newton above.
    a = 0.147
    with np.errstate(divide="ignore", invalid="ignore"):
        ln = np.log1p(-x * x)
        first = 2 / (math.pi * a) + ln / 2
        return np.sign(x) * np.sqrt(np.sqrt(first * first - ln / a) - first)


def _logdet(x):
    sign, logabs = np.linalg.slogdet(x)
    return np.where(sign > 0, logabs, np.nan).astype(np.result_type(x, np.float32), copy=False)


def _logdet_vjp(g, out, x):
    return (np.asarray(g)[..., None, None] * np.swapaxes(np.linalg.inv(x), -1, -2),)


# fmt: off
erfc   = primitive("erfc",   _erfc,   lambda g, out, x: (-g * (2 / math.sqrt(math.pi)) * exp(-x * x),))
erfinv = primitive("erfinv", _erfinv, lambda g, out, x: (g * (math.sqrt(math.pi) / 2) * exp(out * out),))
logdet = primitive("logdet", _logdet, _logdet_vjp, order=1)
# fmt: on
