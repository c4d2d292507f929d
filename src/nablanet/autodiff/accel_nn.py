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
def _sources(size, out_size, k, stride, dilation, before):
    """For each input index along one axis and each kernel offset, the output index whose patch
    read it there, or -1: the gather table of `fold`."""
    table = np.full((size, k), -1, dtype=np.int64)
    for r in range(size):
        for a in range(k):
            t = r + before - a * dilation
            if t >= 0 and t % stride == 0 and t // stride < out_size:
                table[r, a] = t // stride
    return table


@njit(**_OPTIONS)
def fold(dcols, dx, kh, kw, sh, sw, dh, dw, top, left):
    """The adjoint of unrolling patches: `dx` (N, H, W, C) = the sum of each patch gradient in
    `dcols` (N, OH, OW, KH*KW*C) at the input position it came from; padding's share is dropped.
    Each input position gathers the patches that saw it and is written once."""
    n, h, w, c = dx.shape
    _, oh, ow, _ = dcols.shape
    rows = _sources(h, oh, kh, sh, dh, top)
    columns = _sources(w, ow, kw, sw, dw, left)
    total = np.empty(c, dtype=dx.dtype)
    for b in range(n):
        for r in range(h):
            for q in range(w):
                for ch in range(c):
                    total[ch] = 0
                for a in range(kh):
                    i = rows[r, a]
                    if i < 0:
                        continue
                    for e in range(kw):
                        j = columns[q, e]
                        if j < 0:
                            continue
                        p = (a * kw + e) * c
                        for ch in range(c):
                            total[ch] += dcols[b, i, j, p + ch]
                for ch in range(c):
                    dx[b, r, q, ch] = total[ch]


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
def max_pool_gradient_tiles(x, out, g, dx, ph, pw):
    """`max_pool_gradient` for windows that tile the input (strides equal to the pool, no
    padding): each input position lies in one window at most, so `dx` is written once, with no
    zeroing pass first."""
    n, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    untaken = np.empty(c, dtype=np.bool_)
    for b in range(n):
        for r in range(oh * ph, h):
            dx[b, r] = 0
        for q in range(ow * pw, w):
            dx[b, :oh * ph, q] = 0
        for i in range(oh):
            for j in range(ow):
                untaken[:] = True
                for a in range(ph):
                    r = i * ph + a
                    for e in range(pw):
                        q = j * pw + e
                        for ch in range(c):
                            hit = untaken[ch] and x[b, r, q, ch] == out[b, i, j, ch]
                            dx[b, r, q, ch] = g[b, i, j, ch] if hit else 0
                            untaken[ch] = untaken[ch] and not hit


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
