"""numba kernels for the convolution and pooling primitives of `nn.py` (NHWC, channels last).

Imported only through `accel.kernels("nn")`: importing this module imports numba. Each kernel
writes into arrays its caller allocates, handles padding by bounds checks instead of a padded
copy, and runs on the calling thread: these passes sit between BLAS GEMMs whose threads still
spin on the cores when a kernel starts, so a second pool of threads (`prange`) only fights them.
The NumPy code in `nn.py` is the reference these are tested against.
"""

import numpy as np
from numba import njit

_OPTIONS = {"cache": True, "nogil": True}


@njit(**_OPTIONS)
def fold(dcols, dx, kh, kw, sh, sw, dh, dw, top, left):
    """The adjoint of unrolling patches: `dx` (N, H, W, C) = the sum of each patch gradient in
    `dcols` (N, OH, OW, KH*KW*C) at the input position it came from; padding's share is dropped."""
    n, h, w, c = dx.shape
    _, oh, ow, _ = dcols.shape
    dx[:] = 0
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                p = 0
                for a in range(kh):
                    r = i * sh - top + a * dh
                    for e in range(kw):
                        q = j * sw - left + e * dw
                        if 0 <= r < h and 0 <= q < w:
                            for ch in range(c):
                                dx[b, r, q, ch] += dcols[b, i, j, p + ch]
                        p += c


@njit(**_OPTIONS)
def relu_gradient(g, out):
    """`g * (out > 0)` on flat arrays, as a new array: relu's derivative is 0 at 0."""
    result = np.empty_like(g)
    for i in range(g.size):
        result[i] = g[i] if out[i] > 0 else 0
    return result


@njit(**_OPTIONS)
def max_pool(x, out, ph, pw, sh, sw, top, left):
    """`out` (N, OH, OW, C) = the maximum of each window of `x`; padding counts as -inf and a NaN
    in a window is its maximum, as NumPy's `maximum`."""
    n, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    for row in range(n * oh):
        b, i = row // oh, row % oh
        for j in range(ow):
            for ch in range(c):
                out[b, i, j, ch] = -np.inf
            for a in range(ph):
                r = i * sh - top + a
                if r < 0 or r >= h:
                    continue
                for e in range(pw):
                    q = j * sw - left + e
                    if q < 0 or q >= w:
                        continue
                    for ch in range(c):
                        m = out[b, i, j, ch]
                        v = x[b, r, q, ch]
                        if m == m and not v <= m:  # NaN wins and stays
                            out[b, i, j, ch] = v


@njit(**_OPTIONS)
def max_pool_gradient(x, out, g, dx, ph, pw, sh, sw, top, left):
    """`dx` (N, H, W, C): each window's `g` added at its first maximum in row-major window order
    (a maximum in the padding takes its gradient away with it, as in the NumPy kernel)."""
    n, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    for b in range(n):
        dx[b] = 0
        untaken = np.empty(c, dtype=np.bool_)
        for i in range(oh):
            for j in range(ow):
                untaken[:] = True
                for a in range(ph):
                    r = i * sh - top + a
                    for e in range(pw):
                        q = j * sw - left + e
                        if 0 <= r < h and 0 <= q < w:
                            for ch in range(c):
                                if untaken[ch] and x[b, r, q, ch] == out[b, i, j, ch]:
                                    dx[b, r, q, ch] += g[b, i, j, ch]
                                    untaken[ch] = False
                        else:  # padding (-inf) that equals the maximum takes it
                            for ch in range(c):
                                if out[b, i, j, ch] == -np.inf:
                                    untaken[ch] = False
