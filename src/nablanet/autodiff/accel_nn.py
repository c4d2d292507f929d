"""numba kernels for the convolution and pooling primitives of `nn.py` (NHWC, channels last).

Imported only through `accel.kernels("nn")`: importing this module imports numba. Each kernel
writes into arrays its caller allocates, handles padding by bounds checks instead of a padded
copy, and splits its outer loop over the batch (and rows) across threads with `prange`. The
NumPy code in `nn.py` is the reference these are tested against.
"""

import numpy as np
from numba import njit, prange

_OPTIONS = {"cache": True, "nogil": True}


@njit(parallel=True, **_OPTIONS)
def unroll(x, cols, kh, kw, sh, sw, dh, dw, top, left):
    """Fill the patch matrix `cols` (N, OH, OW, KH*KW*C [+1]) from `x` (N, H, W, C): zeros
    outside `x`, and a last column of ones when `cols` has one more column (the folded bias)."""
    n, h, w, c = x.shape
    _, oh, ow, k = cols.shape
    for row in prange(n * oh):
        b, i = row // oh, row % oh
        for j in range(ow):
            p = 0
            for a in range(kh):
                r = i * sh - top + a * dh
                for e in range(kw):
                    q = j * sw - left + e * dw
                    if 0 <= r < h and 0 <= q < w:
                        for ch in range(c):
                            cols[b, i, j, p + ch] = x[b, r, q, ch]
                    else:
                        for ch in range(c):
                            cols[b, i, j, p + ch] = 0
                    p += c
            if p < k:
                cols[b, i, j, p] = 1


@njit(parallel=True, **_OPTIONS)
def fold(dcols, dx, kh, kw, sh, sw, dh, dw, top, left):
    """The adjoint of `unroll`: `dx` (N, H, W, C) = the sum of each patch gradient in `dcols`
    (N, OH, OW, KH*KW*C) at the input position it came from; padding's share is dropped."""
    n, h, w, c = dx.shape
    _, oh, ow, _ = dcols.shape
    for b in prange(n):  # one image per thread: no two threads add into the same place
        dx[b] = 0
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


@njit(parallel=True, **_OPTIONS)
def relu_(flat):
    """`max(x, 0)` in place on a flat array."""
    for i in prange(flat.size):
        if flat[i] < 0:
            flat[i] = 0


@njit(parallel=True, **_OPTIONS)
def relu_gradient(g, out):
    """`g * (out > 0)` on flat arrays, as a new array: relu's derivative is 0 at 0."""
    result = np.empty_like(g)
    for i in prange(g.size):
        result[i] = g[i] if out[i] > 0 else 0
    return result


@njit(parallel=True, **_OPTIONS)
def max_pool(x, out, ph, pw, sh, sw, top, left):
    """`out` (N, OH, OW, C) = the maximum of each window of `x`; padding counts as -inf and a NaN
    in a window is its maximum, as NumPy's `maximum`."""
    n, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    for row in prange(n * oh):
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


@njit(parallel=True, **_OPTIONS)
def max_pool_gradient(x, out, g, dx, ph, pw, sh, sw, top, left):
    """`dx` (N, H, W, C): each window's `g` added at its first maximum in row-major window order
    (a maximum in the padding takes its gradient away with it, as in the NumPy kernel)."""
    n, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    for b in prange(n):  # one image per thread: overlapping windows add into one image only
        dx[b] = 0
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    m = out[b, i, j, ch]
                    done = False
                    for a in range(ph):
                        r = i * sh - top + a
                        for e in range(pw):
                            q = j * sw - left + e
                            inside = 0 <= r < h and 0 <= q < w
                            value = x[b, r, q, ch] if inside else -np.inf
                            if value == m:
                                if inside:
                                    dx[b, r, q, ch] += g[b, i, j, ch]
                                done = True
                                break
                        if done:
                            break
