"""numba kernels for the `normalize_last` primitive of `ops/nn.py`: layer normalization over the last axis.

Imported only through `accel.kernels("norm")`: importing this module imports numba. Each row is read
once for its statistics and once to write the output, forward and backward, where NumPy makes about
ten passes over the array; sums are kept in float64. Arrays arrive 2-D `(rows, features)` and
C-contiguous; the kernels write into arrays their caller allocates and run on the calling thread. The
NumPy code in `ops/nn.py` is the reference these are tested against.
"""

import numpy as np
from numba import njit

# Reassociation lets LLVM vectorize the row sums; no finite-math assumption, so NaN and inf propagate.
_OPTIONS = {"cache": True, "nogil": True, "fastmath": {"reassoc", "contract", "nsz", "arcp"}}


@njit(**_OPTIONS)
def layer_norm(x, gamma, beta, epsilon, out, x_hat, inv_std):
    """`x_hat` = each row of `x` centered and scaled to unit variance, `inv_std` = 1 / its std, `out` =
    `x_hat * gamma + beta`."""
    rows, n = x.shape
    for r in range(rows):
        total = 0.0
        for j in range(n):
            total += x[r, j]
        mean = total / n
        squares = 0.0
        for j in range(n):
            d = x[r, j] - mean
            squares += d * d
        scale = 1.0 / np.sqrt(squares / n + epsilon)
        inv_std[r] = scale
        for j in range(n):
            h = (x[r, j] - mean) * scale
            x_hat[r, j] = h
            out[r, j] = h * gamma[j] + beta[j]


@njit(**_OPTIONS)
def layer_norm_gradient(g, x_hat, inv_std, gamma, dx, dgamma, dbeta):
    """`dx` = `(g gamma - mean(g gamma) - x_hat mean(g gamma x_hat)) inv_std` per row; `dgamma` and
    `dbeta` = the column sums of `g x_hat` and `g`."""
    rows, n = g.shape
    column_gamma = np.zeros(n)
    column_beta = np.zeros(n)
    for r in range(rows):
        total = 0.0
        dot = 0.0
        for j in range(n):
            scaled = g[r, j] * gamma[j]
            total += scaled
            dot += scaled * x_hat[r, j]
            column_gamma[j] += g[r, j] * x_hat[r, j]
            column_beta[j] += g[r, j]
        mean, mean_dot, scale = total / n, dot / n, inv_std[r]
        for j in range(n):
            dx[r, j] = (g[r, j] * gamma[j] - mean - x_hat[r, j] * mean_dot) * scale
    for j in range(n):
        dgamma[j] = column_gamma[j]
        dbeta[j] = column_beta[j]
