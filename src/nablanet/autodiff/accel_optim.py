"""numba kernels for the optimizers' updates: each one whole step over a variable in one pass.

Imported only through `accel.kernels("optim")`: importing this module imports numba. Each kernel
takes flat, C-contiguous arrays of one float dtype (the variable, its gradient and its state, all
changed in place) and its constants as scalars of that dtype, and does the NumPy reference's
arithmetic in the same order (`optimizers/adam.py`, `sgd.py`, `rmsprop.py`), so float32 stays
float32 throughout and the results agree with NumPy's to the last bit. They release the GIL, so
`backend.parallel_chunks` can run them on slices in several threads.
"""

import math

from numba import njit

# NumPy's error model: a division by zero gives inf as in NumPy, and without Python's zero check the
# loops vectorize (sqrt and division included)
_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


@njit(**_OPTIONS)
def adam(w, g, m, v, one_minus_beta_1, one_minus_beta_2, epsilon, lr_t):
    """`m += (1 - beta_1) (g - m)`, `v += (1 - beta_2) (g g - v)`,
    `w -= lr_t m / (sqrt(v) + epsilon)`."""
    for k in range(w.size):
        gk = g[k]
        mk = m[k] + (gk - m[k]) * one_minus_beta_1
        vk = v[k] + (gk * gk - v[k]) * one_minus_beta_2
        m[k] = mk
        v[k] = vk
        w[k] -= mk / (math.sqrt(vk) + epsilon) * lr_t


@njit(**_OPTIONS)
def adam_amsgrad(w, g, m, v, v_hat, one_minus_beta_1, one_minus_beta_2, epsilon, lr_t):
    """Adam with `v_hat = max(v_hat, v)` in the denominator in place of `v`."""
    for k in range(w.size):
        gk = g[k]
        mk = m[k] + (gk - m[k]) * one_minus_beta_1
        vk = v[k] + (gk * gk - v[k]) * one_minus_beta_2
        m[k] = mk
        v[k] = vk
        hk = max(v_hat[k], vk)
        v_hat[k] = hk
        w[k] -= mk / (math.sqrt(hk) + epsilon) * lr_t


@njit(**_OPTIONS)
def sgd(w, g, learning_rate):
    """`w -= learning_rate g`."""
    for k in range(w.size):
        w[k] -= g[k] * learning_rate


@njit(**_OPTIONS)
def sgd_momentum(w, g, m, learning_rate, momentum, nesterov):
    """`m = momentum m - learning_rate g`; `w += m` (Nesterov: `w += momentum m - learning_rate g`)."""
    for k in range(w.size):
        step = g[k] * learning_rate
        mk = m[k] * momentum - step
        m[k] = mk
        if nesterov:
            w[k] += mk * momentum - step
        else:
            w[k] += mk


@njit(**_OPTIONS)
def rmsprop(w, g, v, mom, a, rho, one_minus_rho, epsilon, learning_rate, momentum, centered, with_momentum):
    """`v = rho v + (1 - rho) g g`, the step `learning_rate g / sqrt(v + epsilon)` (centered:
    `sqrt(v - a a + epsilon)` with `a = rho a + (1 - rho) g`), through `mom = momentum mom + step`
    when `with_momentum`; `mom` and `a` are ignored when unused (pass any array of the dtype)."""
    for k in range(w.size):
        gk = g[k]
        vk = v[k] * rho + one_minus_rho * (gk * gk)
        v[k] = vk
        if centered:
            ak = a[k] * rho + one_minus_rho * gk
            a[k] = ak
            denominator = vk - ak * ak + epsilon
        else:
            denominator = vk + epsilon
        increment = learning_rate * gk / math.sqrt(denominator)
        if with_momentum:
            increment = mom[k] * momentum + increment
            mom[k] = increment
        w[k] -= increment
