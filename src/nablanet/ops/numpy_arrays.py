"""Keras's NumPy ops over whole arrays: reductions, reshaping and joining, indexing, sorting and
searching, products (`matmul`, `einsum`, ...) and statistics."""

from nablanet.autodiff.ops import (
    broadcast_to, concatenate, expand_dims, matmul, max, mean, min, pad, prod, reshape, split, squeeze, stack,
    std, sum, swapaxes, take, take_along_axis, transpose, var,
)

__all__ = [
    "broadcast_to", "concatenate", "expand_dims", "matmul", "max", "mean", "min", "pad", "prod", "reshape",
    "split", "squeeze", "stack", "std", "sum", "swapaxes", "take", "take_along_axis", "transpose", "var",
]
