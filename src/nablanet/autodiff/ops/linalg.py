"""Linear algebra: matmul, then the decompositions, solves and inverses of `keras.ops.linalg`.

Every rule is written with these ops, so second derivatives work. Batched inputs (..., M, N)
broadcast as in `numpy.linalg`. A primitive with several outputs (eigh, qr, svd) returns them
packed along one last axis; its public wrapper unpacks them, so each output differentiates.
Rules follow PyTorch's derivations (Murray 2016 for Cholesky, Walter & Lehmann for QR,
Townsend 2016 for the SVD); eigh and svd need distinct eigen/singular values.
"""

import math

import numpy as np

from nablanet.autodiff.ops.reduce import sum as _sum
from nablanet.autodiff.ops.shape import concatenate, expand_dims, getitem, reshape, squeeze, swapaxes
from nablanet.autodiff.primitive import primitive
from nablanet.autodiff.tensor import as_array


def _matmul(x, y):
    x_shape, y_shape = np.shape(x), np.shape(y)
    if not x_shape or not y_shape:
        raise ValueError(
            f"matmul: expected operands with at least one dimension, got shapes {x_shape} and "
            f"{y_shape}; use multiply for scalars"
        )
    inner_x = x_shape[-1]
    inner_y = y_shape[-2] if len(y_shape) > 1 else y_shape[0]
    if inner_x != inner_y:
        raise ValueError(
            f"matmul: shapes {x_shape} and {y_shape} are not aligned: the last axis of the "
            f"first ({inner_x}) must equal the {'second-to-last' if len(y_shape) > 1 else 'only'} "
            f"axis of the second ({inner_y})"
        )
    return np.matmul(x, y)


def _matmul_vjp(g, out, x, y):
    # Treat a 1-D operand as a matrix with one row (x) or one column (y), as numpy does.
    x_vector, y_vector = np.ndim(x) == 1, np.ndim(y) == 1
    x2 = expand_dims(x, 0) if x_vector else x
    y2 = expand_dims(y, 1) if y_vector else y
    if x_vector and y_vector:
        g2 = reshape(g, (1, 1))
    else:
        g2 = expand_dims(g, -2) if x_vector else expand_dims(g, -1) if y_vector else g

    def gx():  # deferred: the engine asks only when x needs a gradient
        out = matmul(g2, swapaxes(y2, -1, -2))
        return squeeze(out, -2) if x_vector else out

    def gy():
        out = matmul(swapaxes(x2, -1, -2), g2)
        return squeeze(out, -1) if y_vector else out

    return gx, gy


matmul = primitive("matmul", _matmul, _matmul_vjp)


# -- helpers that work on Tensors and arrays alike ------------------------------------------------

def _mT(x):
    return swapaxes(x, -1, -2)


def _dtype(x):
    return as_array(x).dtype


def _eye(n, like):
    return np.eye(n, dtype=_dtype(like))


def _tri(n, like, lower=True, k=0):
    ones = np.ones((n, n), dtype=_dtype(like))
    return np.tril(ones, k) if lower else np.triu(ones, -k)


def _diag_embed(v):
    n = np.shape(as_array(v))[-1]
    return expand_dims(v, -1) * _eye(n, v)


def _column(g):
    return expand_dims(expand_dims(g, -1), -1)


def _pack(batch, *arrays):
    return np.concatenate([np.reshape(a, batch + (-1,)) for a in arrays], axis=-1)


def _unpack(packed, shapes):
    """Split a packed output (or its cotangent) into arrays of the core `shapes`."""
    batch = np.shape(as_array(packed))[:-1]
    parts, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        part = getitem(packed, (Ellipsis, slice(start, start + size)))
        parts.append(reshape(part, batch + tuple(shape)))
        start += size
    return parts


# -- inverses and solves ---------------------------------------------------------------------------

def _inv_vjp(g, out, x):
    t = _mT(out)
    return (-matmul(matmul(t, g), t),)


def _solve_vjp(g, out, a, b):
    gb = solve(_mT(a), g)
    return -matmul(gb, _mT(out)), gb


def _solve_triangular(a, b, *, lower):
    return np.linalg.solve(np.tril(a) if lower else np.triu(a), b)


def _solve_triangular_vjp(g, out, a, b, *, lower):
    gb = solve_triangular(_mT(a), g, lower=not lower)
    n = np.shape(a)[-1]
    return -matmul(gb, _mT(out)) * _tri(n, g, lower), gb


def _det_vjp(g, out, x):
    return (_column(g * out) * _mT(inv(x)),)


def _logabsdet_vjp(g, out, x):
    return (_column(g) * _mT(inv(x)),)


# -- Cholesky ---------------------------------------------------------------------------------------

def _cholesky(x, *, upper):
    lower_factor = np.linalg.cholesky(x)  # `upper=` needs NumPy 2
    return np.swapaxes(lower_factor, -1, -2).copy() if upper else lower_factor


def _cholesky_vjp(g, out, x, *, upper):
    lower_factor, g_lower = (_mT(out), _mT(g)) if upper else (out, g)
    n = np.shape(x)[-1]
    half = _tri(n, g, k=-1) + 0.5 * _eye(n, g)  # the lower triangle, with the diagonal halved
    phi = matmul(_mT(lower_factor), g_lower) * half
    left = solve_triangular(_mT(lower_factor), phi, lower=False)  # L^-T phi
    s = _mT(solve_triangular(_mT(lower_factor), _mT(left), lower=False))  # L^-T phi L^-1
    return (0.5 * (s + _mT(s)),)


# -- eigh, qr, svd: several outputs, packed -----------------------------------------------------

def _eigh(x):
    w, v = np.linalg.eigh(x)
    return _pack(x.shape[:-2], w, v)


def _eigh_vjp(g, out, x):
    n = np.shape(x)[-1]
    w, v = _unpack(out, [(n,), (n, n)])
    gw, gv = _unpack(g, [(n,), (n, n)])
    off = 1 - _eye(n, g)
    gaps = expand_dims(w, -2) - expand_dims(w, -1) + _eye(n, g)  # w_j - w_i off the diagonal
    inner = _diag_embed(gw) + off * matmul(_mT(v), gv) / gaps
    ga = matmul(matmul(v, inner), _mT(v))
    return (0.5 * (ga + _mT(ga)),)


def _qr_shapes(shape, mode):
    m, n = shape[-2:]
    k = m if mode == "complete" else min(m, n)
    return [(m, k), (k, n)]


def _qr(x, *, mode):
    return _pack(x.shape[:-2], *np.linalg.qr(x, mode=mode))


def _qr_square_vjp(q, r, gq, gr, n):
    # gA = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q
    m = matmul(r, _mT(gr)) - matmul(_mT(gq), q)
    copyltu = m * _tri(n, m) + _mT(m * _tri(n, m, k=-1))
    b = gq + matmul(q, copyltu)
    return _mT(solve_triangular(r, _mT(b), lower=False))


def _qr_vjp(g, out, x, *, mode):
    m, n = np.shape(x)[-2:]
    if mode == "complete" and m > n:
        raise NotImplementedError(
            "qr: gradients of mode='complete' need a matrix with no more rows than columns, got "
            f"shape {np.shape(x)}; use mode='reduced'"
        )
    shapes = _qr_shapes(np.shape(x), mode)
    q, r = _unpack(out, shapes)
    gq, gr = _unpack(g, shapes)
    if m >= n:
        return (_qr_square_vjp(q, r, gq, gr, n),)
    # wide: A = [X | Y] with X = Q U square, Y = Q V
    rest = (Ellipsis, slice(None), slice(m, None))
    head = (Ellipsis, slice(None), slice(0, m))
    gv = getitem(gr, rest)
    gx = _qr_square_vjp(q, getitem(r, head), gq + matmul(getitem(x, rest), _mT(gv)), getitem(gr, head), m)
    return (concatenate([gx, matmul(q, gv)], axis=-1),)


def _svd_shapes(shape, full_matrices):
    m, n = shape[-2:]
    k = min(m, n)
    return [(m, m if full_matrices else k), (k,), (n if full_matrices else k, n)]


def _svd(x, *, full_matrices):
    return _pack(x.shape[:-2], *np.linalg.svd(x, full_matrices=full_matrices))


def _svd_vjp(g, out, x, *, full_matrices):
    m, n = np.shape(x)[-2:]
    k = min(m, n)
    shapes = _svd_shapes(np.shape(x), full_matrices)
    u, s, vh = _unpack(out, shapes)
    gu, gs, gvh = _unpack(g, shapes)
    if full_matrices and m != n:
        # the extra columns of u (rows of vh) are any orthonormal completion: no gradient through them
        extra_u, extra_vh = as_array(gu)[..., k:], as_array(gvh)[..., k:, :]
        if np.any(extra_u) or np.any(extra_vh):
            raise NotImplementedError(
                f"svd: gradients through the completed bases of full_matrices=True need a square matrix, "
                f"got shape {np.shape(x)}; use full_matrices=False"
            )
        u, gu = getitem(u, (Ellipsis, slice(0, k))), getitem(gu, (Ellipsis, slice(0, k)))
        vh, gvh = getitem(vh, (Ellipsis, slice(0, k), slice(None))), getitem(gvh, (Ellipsis, slice(0, k), slice(None)))
    v, gv = _mT(vh), _mT(gvh)
    uhgu = matmul(_mT(u), gu)
    vhgv = matmul(_mT(v), gv)
    uhgu, vhgv = uhgu - _mT(uhgu), vhgv - _mT(vhgv)
    s2 = s * s
    gaps = expand_dims(s2, -2) - expand_dims(s2, -1) + _eye(k, g)
    ga = (uhgu * expand_dims(s, -2) + expand_dims(s, -1) * vhgv) / gaps + _diag_embed(gs)
    if m > k:
        ga = matmul(u, ga)
        gu_sinv = gu / expand_dims(s, -2)
        ga = matmul(ga + gu_sinv - matmul(u, matmul(_mT(u), gu_sinv)), vh)
    elif n > k:
        ga = matmul(ga, vh)
        sinv_gvh = _mT(gv) / expand_dims(s, -1)
        ga = matmul(u, ga + sinv_gvh - matmul(matmul(sinv_gvh, v), vh))
    else:
        ga = matmul(matmul(u, ga), vh)
    return (ga,)


# -- pseudo-inverse ----------------------------------------------------------------------------------

def _pinv(x, *, rtol):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    if rtol is None:
        rtol = max(np.shape(x)[-2:]) * np.finfo(x.dtype).eps
    cutoff = rtol * np.max(s, axis=-1, keepdims=True, initial=0.0)
    s_inv = np.divide(1, s, out=np.zeros_like(s), where=s > cutoff)
    return np.matmul(np.swapaxes(vh, -1, -2) * s_inv[..., None, :], np.swapaxes(u, -1, -2))


def _pinv_vjp(g, out, x, *, rtol):
    # d(A+) = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+ (Golub & Pereyra)
    m, n = np.shape(x)[-2:]
    p, pt, gt = out, _mT(out), _mT(g)
    first = -matmul(matmul(pt, g), pt)
    second = matmul(matmul(_eye(m, g) - matmul(x, p), gt), matmul(p, pt))
    third = matmul(matmul(matmul(pt, p), gt), _eye(n, g) - matmul(p, x))
    return (first + second + third,)


# fmt: off
inv              = primitive("inv",              np.linalg.inv,    _inv_vjp)
_solve           = primitive("solve",            np.linalg.solve,  _solve_vjp)
_solve_tri       = primitive("solve_triangular", _solve_triangular, _solve_triangular_vjp)
det              = primitive("det",              np.linalg.det,    _det_vjp)
logabsdet        = primitive("logabsdet",        lambda x: np.linalg.slogdet(x)[1], _logabsdet_vjp)
_cholesky_op     = primitive("cholesky",         _cholesky,        _cholesky_vjp)
_eigh_op         = primitive("eigh",             _eigh,            _eigh_vjp)
_qr_op           = primitive("qr",               _qr,              _qr_vjp)
_svd_op          = primitive("svd",              _svd,             _svd_vjp)
_pinv_op         = primitive("pinv",             _pinv,            _pinv_vjp)
# fmt: on


def solve(a, b):
    """Solve `a @ x = b` for `x`; `b` is (..., M, K) or a vector (..., M)."""
    if np.ndim(as_array(b)) == np.ndim(as_array(a)) - 1:
        return squeeze(_solve(a, expand_dims(b, -1)), -1)
    return _solve(a, b)


def solve_triangular(a, b, lower=False):
    """Solve `a @ x = b` for `x` using only `a`'s lower (or upper) triangle."""
    if np.ndim(as_array(b)) == np.ndim(as_array(a)) - 1:
        return squeeze(_solve_tri(a, expand_dims(b, -1), lower=lower), -1)
    return _solve_tri(a, b, lower=lower)


def cholesky(x, upper=False):
    """The Cholesky factor `L` (lower, `x = L @ L^T`) or `U` (upper, `x = U^T @ U`)."""
    return _cholesky_op(x, upper=bool(upper))


def eigh(x):
    """Eigenvalues (ascending) and eigenvectors (columns) of symmetric `x`, from its lower triangle."""
    n = np.shape(as_array(x))[-1]
    w, v = _unpack(_eigh_op(x), [(n,), (n, n)])
    return w, v


def qr(x, mode="reduced"):
    """`(q, r)` with `x = q @ r`, `q` orthonormal columns and `r` upper triangular."""
    q, r = _unpack(_qr_op(x, mode=mode), _qr_shapes(np.shape(as_array(x)), mode))
    return q, r


def svd(x, full_matrices=True):
    """`(u, s, vh)` with `x = u @ diag(s) @ vh`, singular values descending."""
    u, s, vh = _unpack(_svd_op(x, full_matrices=bool(full_matrices)),
                       _svd_shapes(np.shape(as_array(x)), full_matrices))
    return u, s, vh


def pinv(x, rtol=None):
    """Moore-Penrose pseudo-inverse; singular values below `rtol * max(s)` count as zero."""
    return _pinv_op(x, rtol=rtol)


def diagonal(x):
    """The main diagonal of the last two axes."""
    return _sum(x * _eye(np.shape(as_array(x))[-1], x), axis=-1)

