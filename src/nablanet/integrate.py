"""Definite integrals by adaptive Gauss-Kronrod quadrature: plain numerics, no autodiff inside.

The integrand may be any function of an array of points, including one built with the calculus
transforms (`integrate(elementwise_grad(F), a, b)` checks the fundamental theorem of calculus).
The package attribute `nablanet.integrate` is the function; import this module's other names
with `from nablanet.integrate import IntegrationWarning`.
"""

import heapq
import math
import warnings
from collections import namedtuple

import numpy as np

from nablanet.autodiff.primitive import no_grad
from nablanet.autodiff.tensor import Tensor


class IntegrationWarning(UserWarning):
    """The integral did not reach the requested tolerance."""


Integral = namedtuple("Integral", "value error")

# Gauss-Kronrod 7-15 rule on [-1, 1]: the Kronrod nodes, with the Gauss nodes at odd positions.
_KRONROD_NODES = np.array([
    0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
    0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
    0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
    0.207784955007898467600689403773245, 0.0,
])
_KRONROD_WEIGHTS = np.array([
    0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
    0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
    0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
    0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
])
_GAUSS_WEIGHTS = np.array([
    0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
    0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
])
_NODES = np.concatenate([-_KRONROD_NODES[:-1], _KRONROD_NODES[::-1]])  # 15 nodes, ascending
_WK = np.concatenate([_KRONROD_WEIGHTS[:-1], _KRONROD_WEIGHTS[::-1]])
_WG = np.zeros(15)
_WG[1::2] = np.concatenate([_GAUSS_WEIGHTS[:-1], _GAUSS_WEIGHTS[::-1]])


def integrate(f, a, b, *, epsabs=1e-11, epsrel=1e-11, limit=500):
    """Integrate `f` over `[a, b]` by adaptive Gauss-Kronrod (7-15) quadrature.

    `f` is called on arrays of points (vectorized) and may return a NumPy array or a Tensor;
    a function that only takes scalars is called point by point. Infinite bounds are mapped to
    a finite interval (`x = t / (1 - t^2)` on the whole line, `x = a + t / (1 - t)` on a half
    line). The interval with the largest error estimate is bisected until the total error
    estimate is below `max(epsabs, epsrel * |value|)`.

    Returns:
        `Integral(value, error)`: the estimate and an estimate of its absolute error.
        An `IntegrationWarning` is issued when `limit` subintervals were not enough.

    >>> round(integrate(np.sin, 0, np.pi).value, 12)
    2.0
    >>> from nablanet import elementwise_grad, ops
    >>> F = lambda x: x ** 3 + ops.sin(x)            # the fundamental theorem of calculus:
    >>> v = integrate(elementwise_grad(F), 0.0, 2.0).value
    >>> bool(abs(v - (F(2.0) - F(0.0))) < 1e-12)     # the integral of F' is F(b) - F(a)
    True
    """
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        raise ValueError(f"integrate: the bounds must be numbers, got a={a}, b={b}")
    if a == b:
        return Integral(0.0, 0.0)
    if a > b:
        value, error = integrate(f, b, a, epsabs=epsabs, epsrel=epsrel, limit=limit)
        return Integral(-value, error)
    g, lo, hi = _finite_form(_vectorized(f), a, b)
    return _adaptive(g, lo, hi, epsabs, epsrel, limit)


def _evaluate(f, x):
    with no_grad():  # an integrand built from Tensor ops records nothing
        y = f(x)
    return np.asarray(y.data if isinstance(y, Tensor) else y, dtype=np.float64)


def _vectorized(f):
    def g(x):
        try:
            y = _evaluate(f, x)
        except (TypeError, ValueError):
            y = None
        if y is None or y.shape != x.shape:  # not vectorized (or a reduction): point by point
            y = np.array([float(_evaluate(f, float(t))) for t in x])
        return y

    return g


def _finite_form(f, a, b):
    """Rewrite an integral with infinite bounds as one over a finite interval."""
    if math.isinf(a) and math.isinf(b):
        return (lambda t: f(t / (1 - t * t)) * (1 + t * t) / (1 - t * t) ** 2), -1.0, 1.0
    if math.isinf(b):
        return (lambda t: f(a + t / (1 - t)) / (1 - t) ** 2), 0.0, 1.0
    if math.isinf(a):
        return (lambda t: f(b - t / (1 - t)) / (1 - t) ** 2), 0.0, 1.0
    return f, a, b


def _kronrod(f, lo, hi):
    """The 15-point Kronrod estimate on each interval, and |Kronrod - Gauss| as its error."""
    half, mid = (hi - lo) / 2, (hi + lo) / 2
    y = f((mid[:, None] + half[:, None] * _NODES).ravel()).reshape(len(lo), 15)
    kronrod = half * (y @ _WK)
    gauss = half * (y @ _WG)
    return kronrod, np.abs(kronrod - gauss)


def _adaptive(f, a, b, epsabs, epsrel, limit):
    value, error = _kronrod(f, np.array([a]), np.array([b]))
    heap = [(-error[0], a, b, value[0])]
    total_value, total_error = value[0], error[0]
    while total_error > max(epsabs, epsrel * abs(total_value)) and len(heap) < limit:
        _, lo, hi, _ = heapq.heappop(heap)
        mid = (lo + hi) / 2
        if not lo < mid < hi:
            break  # the interval cannot be split further in floating point
        values, errors = _kronrod(f, np.array([lo, mid]), np.array([mid, hi]))
        for interval in ((lo, mid), (mid, hi)):
            i = 0 if interval[0] == lo else 1
            heapq.heappush(heap, (-errors[i], interval[0], interval[1], values[i]))
        total_value = math.fsum(item[3] for item in heap)
        total_error = math.fsum(-item[0] for item in heap)
    if not np.isfinite(total_value):
        raise ValueError(f"integrate: the integrand is not finite on [{a}, {b}] (got {total_value})")
    if total_error > max(epsabs, epsrel * abs(total_value)):
        warnings.warn(
            f"integrate: the error estimate {total_error:.2e} is above the tolerance after "
            f"{len(heap)} subintervals; the integrand may be singular or oscillate. Raise "
            "`limit`, split the interval at trouble spots, or loosen epsabs/epsrel.",
            IntegrationWarning,
            stacklevel=3,
        )
    return Integral(float(total_value), float(total_error))
