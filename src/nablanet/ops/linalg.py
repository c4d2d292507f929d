"""`keras.ops.linalg`: decompositions, solves, inverses and norms, each differentiable.

Inputs are (..., M, N) stacks of matrices. Integer inputs compute in `floatx()`. On Tensors the
results are Tensors carrying gradients (eig, lu_factor and matrix_rank excepted); on arrays they
are arrays.

>>> from nablanet.ops import linalg
>>> linalg.det(np.array([[2.0, 0.0], [0.0, 3.0]]))
np.float64(6.0)
"""

import numpy as np

from nablanet import backend
from nablanet.autodiff import Tensor, as_array, backprop, enable_grad, in_transform, transform_scope
from nablanet.autodiff.ops import abs as _abs
from nablanet.autodiff.ops import cast, expand_dims, matmul, power, reshape, sqrt, transpose, where
from nablanet.autodiff.ops import max as _max
from nablanet.autodiff.ops import min as _min
from nablanet.autodiff.ops import sum as _sum
from nablanet.autodiff.ops import linalg as _linalg

__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor", "matrix_rank",
    "norm", "pinv", "qr", "solve", "solve_triangular", "svd",
]


def _matrices(x, name, square=True):
    """`x` as a float Tensor/array of at least two dimensions, checked for `name`."""
    if not isinstance(x, Tensor):
        x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        if np.issubdtype(x.dtype, np.complexfloating):
            raise TypeError(f"{name}: expected a real floating-point matrix, got dtype {x.dtype}")
        x = cast(x, backend.floatx())
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a matrix or a stack of matrices (at least 2 dimensions), "
                         f"got shape {tuple(x.shape)}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{name}: expected square matrices (..., N, N), got shape {tuple(x.shape)}")
    return x


def _right_side(a, b, name):
    b = _matrices(b, name, square=False) if np.ndim(as_array(b)) >= 2 else _vector(b, name)
    if b.dtype != a.dtype:
        b = cast(b, np.result_type(a.dtype, b.dtype))
    rows = b.shape[-1] if b.ndim == a.ndim - 1 else b.shape[-2]
    if rows != a.shape[-1]:
        raise ValueError(f"{name}: `b` must have {a.shape[-1]} rows to match `a` of shape {tuple(a.shape)}, "
                         f"got shape {tuple(b.shape)}")
    return b


def _vector(b, name):
    if not isinstance(b, Tensor):
        b = np.asarray(b)
    if b.ndim < 1:
        raise ValueError(f"{name}: expected `b` with at least one dimension, got a scalar")
    return b if np.issubdtype(b.dtype, np.floating) else cast(b, backend.floatx())


def _constant(value, like):
    return Tensor._wrap(value) if isinstance(like, Tensor) else value


def cholesky(x, upper=False):
    """Cholesky factor of symmetric positive-definite `x`: lower `L` with `x = L @ L^T`, or the
    upper `U = L^T` when `upper`.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    return _linalg.cholesky(_matrices(x, "cholesky"), upper=upper)


def cholesky_inverse(x, upper=False):
    """The inverse of `L @ L^T` (or `U^T @ U` when `upper`) from its Cholesky factor `x`.

    >>> cholesky_inverse(np.array([[2.0, 0.0], [1.0, 2.0]]))
    array([[ 0.3125, -0.125 ],
           [-0.125 ,  0.25  ]])
    """
    x = _matrices(x, "cholesky_inverse")
    n = x.shape[-1]
    identity = np.broadcast_to(np.eye(n, dtype=x.dtype), x.shape)
    factor_inverse = solve_triangular(x, identity, lower=not upper)  # L^-1 or U^-1
    if upper:
        return matmul(factor_inverse, _transpose_last(factor_inverse))
    return matmul(_transpose_last(factor_inverse), factor_inverse)


def _transpose_last(x):
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return transpose(x, axes)


def det(x):
    """Determinant of each matrix in `x`.

    >>> det(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.float64(-2.0000000000000004)
    """
    return _linalg.det(_matrices(x, "det"))


def slogdet(x):
    """`(sign, logabsdet)` with `det(x) = sign * exp(logabsdet)`; the log stays finite where `det` would
    overflow. The sign carries no gradient.

    >>> slogdet(np.array([[0.0, 2.0], [3.0, 0.0]]))
    (np.float64(-1.0), np.float64(1.791759469228055))
    """
    x = _matrices(x, "slogdet")
    return _constant(np.linalg.slogdet(as_array(x))[0], x), _linalg.logabsdet(x)


def eig(x):
    """Eigenvalues and right eigenvectors (columns) of a general square `x`, complex (no gradient).

    >>> w, v = eig(np.array([[2.0, 0.0], [0.0, 3.0]]))
    >>> w
    array([2.+0.j, 3.+0.j])
    """
    x = _matrices(x, "eig")
    w, v = np.linalg.eig(as_array(x))
    complex_dtype = np.result_type(x.dtype, np.complex64)
    return _constant(w.astype(complex_dtype), x), _constant(v.astype(complex_dtype), x)


def eigh(x):
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of symmetric `x`, read from
    its lower triangle. Gradients need distinct eigenvalues.

    >>> w, v = eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> w
    array([1., 3.])
    """
    return _linalg.eigh(_matrices(x, "eigh"))


def inv(x):
    """Inverse of each matrix in `x`.

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    return _linalg.inv(_matrices(x, "inv"))


def solve(a, b):
    """The `x` with `a @ x = b`; `b` is (..., M, K) or a vector (..., M).

    >>> solve(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([1.0, 1.0]))
    array([0.5 , 0.25])
    """
    a = _matrices(a, "solve")
    return _linalg.solve(a, _right_side(a, b, "solve"))


def solve_triangular(a, b, lower=False):
    """The `x` with `a @ x = b`, reading only the upper (or, when `lower`, the lower) triangle of `a`.

    >>> solve_triangular(np.array([[2.0, 9.0], [1.0, 4.0]]), np.array([2.0, 4.0]), lower=True)
    array([1.  , 0.75])
    """
    a = _matrices(a, "solve_triangular")
    return _linalg.solve_triangular(a, _right_side(a, b, "solve_triangular"), lower=lower)


def lstsq(a, b, rcond=None):
    """Least-squares solution `x` minimising `||a @ x - b||`; singular values below `rcond * max(s)`
    count as zero.

    >>> lstsq(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), np.array([1.0, 2.0, 3.0]))
    array([1., 2.])
    """
    a = _matrices(a, "lstsq", square=False)
    b = _right_side(_transpose_last(a), b, "lstsq")
    if b.ndim == a.ndim - 1:
        return matmul(_linalg.pinv(a, rtol=rcond), expand_dims(b, -1))[..., 0]
    return matmul(_linalg.pinv(a, rtol=rcond), b)


def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse; singular values below `rcond * max(s)` count as zero.

    >>> pinv(np.array([[2.0, 0.0], [0.0, 0.0]]))
    array([[0.5, 0. ],
           [0. , 0. ]])
    """
    return _linalg.pinv(_matrices(x, "pinv", square=False), rtol=rcond)


def qr(x, mode="reduced"):
    """`(q, r)` with `x = q @ r`: orthonormal columns `q`, upper triangular `r`.

    >>> q, r = qr(np.array([[3.0, 0.0], [4.0, 5.0]]))
    >>> np.round(np.abs(r), 6)
    array([[5., 4.],
           [0., 3.]])
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: expected mode 'reduced' or 'complete', got {mode!r}")
    return _linalg.qr(_matrices(x, "qr", square=False), mode=mode)


def svd(x, full_matrices=True, compute_uv=True):
    """`(u, s, vh)` with `x = u @ diag(s) @ vh` (singular values descending), or `s` alone.
    Gradients need distinct singular values, and `full_matrices=False` for non-square `x`.

    >>> svd(np.array([[3.0, 0.0], [0.0, 4.0]]), compute_uv=False)
    array([4., 3.])
    """
    x = _matrices(x, "svd", square=False)
    if not compute_uv:
        return _linalg.svd(x, full_matrices=False)[1]
    return _linalg.svd(x, full_matrices=full_matrices)


def lu_factor(x):
    """`(lu, pivots)`: the LU factorisation with partial pivoting, `L` (unit diagonal, below) and `U`
    packed in one matrix, and the 0-based row swaps (int32) applied in order. No gradient.

    >>> lu, pivots = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> pivots
    array([1, 1], dtype=int32)
    """
    x = _matrices(x, "lu_factor", square=False)
    lu = np.array(as_array(x), copy=True)
    m, n = lu.shape[-2:]
    k = min(m, n)
    pivots = np.zeros(lu.shape[:-2] + (k,), dtype=np.int32)
    flat = lu.reshape((-1, m, n))
    rows = np.arange(flat.shape[0])
    for j in range(k):
        pivot = j + np.argmax(np.abs(flat[:, j:, j]), axis=1)
        pivots.reshape(-1, k)[:, j] = pivot
        swap = flat[rows, pivot].copy()
        flat[rows, pivot] = flat[:, j]
        flat[:, j] = swap
        diagonal = flat[:, j, j:j + 1]
        safe = np.where(diagonal == 0, 1, diagonal)  # a zero pivot leaves the column as it is
        flat[:, j + 1:, j] /= safe
        flat[:, j + 1:, j + 1:] -= flat[:, j + 1:, j:j + 1] * flat[:, j:j + 1, j + 1:]
    return _constant(flat.reshape(lu.shape), x), _constant(pivots, x)


def matrix_rank(x, tol=None):
    """Number of singular values above `tol` (default `max(M, N) * eps * max(s)`), as int32.

    >>> matrix_rank(np.array([[1.0, 2.0], [2.0, 4.0]]))
    np.int32(1)
    """
    x = _matrices(x, "matrix_rank", square=False)
    s = np.linalg.svd(as_array(x), compute_uv=False)
    if tol is None:
        tol = max(x.shape[-2:]) * np.finfo(x.dtype).eps * np.max(s, axis=-1, keepdims=True, initial=0.0)
    rank = np.sum(s > tol, axis=-1).astype(np.int32)
    return _constant(rank if rank.ndim else np.int32(rank), x)


def _safe_sqrt(s):
    # sqrt's slope is infinite at 0; a zero norm gets a zero gradient, as in PyTorch
    zero = as_array(s) == 0
    return where(zero, 0.0, sqrt(where(zero, 1.0, s)))


def _vector_norm(x, ord, axis, keepdims):
    if ord is None or ord == 2:
        return _safe_sqrt(_sum(x * x, axis=axis, keepdims=keepdims))
    if isinstance(ord, str):
        raise ValueError(f"norm: ord {ord!r} is for matrices; for a vector use a number, inf or -inf")
    if ord == np.inf:
        return _max(_abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return _min(_abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return _constant(np.sum(as_array(x) != 0, axis=axis, keepdims=keepdims).astype(x.dtype), x)
    if ord == 1:
        return _sum(_abs(x), axis=axis, keepdims=keepdims)
    return power(_sum(power(_abs(x), float(ord)), axis=axis, keepdims=keepdims), 1.0 / ord)


def _matrix_norm(x, ord, axis, keepdims):
    rows, cols = axis
    if ord is None or ord == "fro":
        return _safe_sqrt(_sum(x * x, axis=axis, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = _sum(_abs(x), axis=summed, keepdims=True)
        pick = _max if ord in (1, np.inf) else _min
        out = pick(sums, axis=over, keepdims=True)
    elif ord in ("nuc", 2, -2):
        rest = [a for a in range(x.ndim) if a not in (rows, cols)]
        s = svd(transpose(x, rest + [rows, cols]), compute_uv=False)
        out = _sum(s, axis=-1) if ord == "nuc" else _max(s, axis=-1) if ord == 2 else _min(s, axis=-1)
        out = expand_dims(out, (rows, cols)) if keepdims else out
        return out
    else:
        raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm; expected None, 'fro', 'nuc', 1, -1, "
                         "2, -2, inf or -inf")
    return out if keepdims else reshape(out, tuple(d for i, d in enumerate(x.shape) if i not in axis))


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norm (over one axis) or matrix norm (over two), as `numpy.linalg.norm`. With `ord=None`
    and `axis=None`, the 2-norm of everything flattened. A zero 2-norm has a zero gradient. As in
    Keras, the result is float32 unless `x` is float16 (computed in `x`'s precision, then cast).

    >>> norm(np.array([3.0, 4.0]))
    np.float32(5.0)
    """
    if not isinstance(x, Tensor):
        x = np.asarray(x)
    # Keras promotes with a Python float, which lands on float32 for every dtype but float16
    dtype = x.dtype if x.dtype in (np.float16, np.float32) else np.dtype(backend.floatx())
    if not np.issubdtype(x.dtype, np.floating):
        x = cast(x, dtype)
    result = _norm(x, ord, axis, keepdims)
    if as_array(result).dtype != dtype:
        result = cast(result, dtype)
    return result if isinstance(result, Tensor) else np.asarray(result)[()]


def _norm(x, ord, axis, keepdims):
    if axis is None:
        if ord is None:
            return _safe_sqrt(_sum(x * x, axis=None, keepdims=keepdims))
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and axis=None, expected a 1-D or 2-D input, got shape "
                             f"{tuple(x.shape)}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) not in (1, 2) or any(not -x.ndim <= a < x.ndim for a in axes):
        raise ValueError(f"norm: expected one or two axes within {x.ndim} dimensions, got axis={axis!r}")
    axes = tuple(a % x.ndim for a in axes)
    if len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError(f"norm: the two axes must differ, got axis={axis!r}")
        return _matrix_norm(x, ord, axes, keepdims)
    return _vector_norm(x, ord, axes[0], keepdims)


def jvp(fun, primals, tangents, has_aux=False):
    """Forward-mode product: `(fun(*primals), J @ tangents)`, and `aux` when `has_aux`.

    Built on reverse mode: the pullback `u -> u @ J` is linear in `u`, so differentiating
    `<pullback(u), tangents>` with respect to `u` gives `J @ tangents`. `fun` returns an array or a
    tuple or list of arrays.

    >>> out, tangent = jvp(lambda x: x * x, (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    >>> tangent
    array([2., 0.])
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: expected one tangent per primal, got {len(primals)} primals and "
                         f"{len(tangents)} tangents")
    for p, t in zip(primals, tangents):
        if np.shape(as_array(p)) != np.shape(as_array(t)):
            raise ValueError(f"jvp: each tangent must have its primal's shape, got {np.shape(as_array(t))} "
                             f"for a primal of shape {np.shape(as_array(p))}")
    nested = in_transform() or any(isinstance(x, Tensor) and x.requires_grad for x in primals + tangents)
    variables = [_variable(p) for p in primals]
    with transform_scope(), enable_grad():
        result = fun(*variables)
        out, aux = result if has_aux else (result, None)
        several = isinstance(out, (tuple, list))
        outs = list(out) if several else [out]
        tangents_out = _forward_tangents(outs, variables, tangents, nested)
    if any(isinstance(x, Tensor) for x in primals) or nested:
        def convert(v):
            return v if isinstance(v, Tensor) else Tensor._wrap(np.asarray(v))
    else:
        def convert(v):
            return np.asarray(as_array(v))
    outs, tangents_out = [convert(o) for o in outs], [convert(t) for t in tangents_out]
    out, tangent = (type(out)(outs), type(out)(tangents_out)) if several else (outs[0], tangents_out[0])
    return (out, tangent, aux) if has_aux else (out, tangent)


def _forward_tangents(outs, variables, tangents, nested):
    """`J @ tangents` for each output: the gradient, with respect to seeds `u`, of `<pullback(u), tangents>`."""
    live = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    seeds = [Tensor(np.zeros_like(as_array(outs[i])), requires_grad=True) for i in live]
    terms = []
    for i, u in zip(live, seeds):
        cotangents = backprop(outs[i], variables, u, create_graph=True)
        terms += [_sum(c * t) for c, t in zip(cotangents, tangents) if c is not None]
    result = [np.zeros_like(as_array(o)) for o in outs]
    contract = _total(terms)
    if isinstance(contract, Tensor) and contract.requires_grad:
        grads = backprop(contract, seeds, np.ones((), contract.dtype), create_graph=nested)
        for i, g in zip(live, grads):
            if g is not None:
                result[i] = g
    return result


def _variable(x):
    if isinstance(x, Tensor) and x.requires_grad:
        with enable_grad():
            return reshape(x, x.shape)  # a fresh node that keeps the outer link
    data = np.asarray(as_array(x))
    if not np.issubdtype(data.dtype, np.floating):
        raise TypeError(f"jvp: expected floating-point primals, got dtype {data.dtype}")
    return Tensor(data, requires_grad=True)


def _total(terms):
    total = terms[0] if terms else 0.0
    for term in terms[1:]:
        total = total + term
    return total
