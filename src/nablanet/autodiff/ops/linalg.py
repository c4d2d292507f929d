"""Linear algebra: matmul, batched and broadcasting like `numpy.matmul`."""

import numpy as np

from nablanet.autodiff.ops.shape import expand_dims, reshape, squeeze, swapaxes
from nablanet.autodiff.primitive import primitive


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
