"""Reverse-mode automatic differentiation over NumPy arrays."""

from nablanet import backend  # noqa: F401 -- importing it sets malloc to keep freed array memory (no page faults)
from nablanet.autodiff.tensor import Tensor, as_array  # first: the ops need the class
from nablanet.autodiff.engine import backprop, toposort, unbroadcast
from nablanet.autodiff.primitive import (
    REGISTRY, enable_grad, in_transform, is_grad_enabled, no_grad, primitive, transform_scope,
)
from nablanet.autodiff.variable import Variable

__all__ = [
    "REGISTRY", "Tensor", "Variable", "as_array", "backprop", "enable_grad", "in_transform", "is_grad_enabled",
    "no_grad", "primitive", "toposort", "transform_scope", "unbroadcast",
]
