"""Reverse-mode automatic differentiation over NumPy arrays."""

from nablanet.autodiff.tensor import Tensor, as_array  # first: the ops need the class
from nablanet.autodiff.engine import backprop, toposort, unbroadcast
from nablanet.autodiff.primitive import REGISTRY, enable_grad, is_grad_enabled, no_grad, primitive
from nablanet.autodiff.variable import Variable

__all__ = [
    "REGISTRY", "Tensor", "Variable", "as_array", "backprop", "enable_grad", "is_grad_enabled", "no_grad",
    "primitive", "toposort", "unbroadcast",
]
