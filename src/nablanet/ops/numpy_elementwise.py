"""Keras's NumPy ops that work element by element: arithmetic, powers and logs, trigonometry,
rounding, comparison, logic and bit operations, and the array creators (`zeros`, `arange`, ...)."""

from nablanet.autodiff.ops import (
    abs, add, clip, cos, divide, equal, exp, expm1, greater, greater_equal, isfinite, isnan, less, less_equal,
    log, log1p, logical_and, logical_not, logical_or, maximum, minimum, multiply, negative, not_equal, ones_like,
    power, sign, sin, sqrt, square, subtract, tanh, where, zeros_like,
)

__all__ = [
    "abs", "add", "clip", "cos", "divide", "equal", "exp", "expm1", "greater", "greater_equal", "isfinite",
    "isnan", "less", "less_equal", "log", "log1p", "logical_and", "logical_not", "logical_or", "maximum",
    "minimum", "multiply", "negative", "not_equal", "ones_like", "power", "sign", "sin", "sqrt", "square",
    "subtract", "tanh", "where", "zeros_like",
]
