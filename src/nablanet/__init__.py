"""nablanet: deep learning on NumPy with the calculus made explicit.

    >>> import nablanet as nn
    >>> nn.grad(lambda x: nn.ops.sum(x ** 2))(np.array([1.0, 2.0]))
    array([2., 4.])
"""

__version__ = "0.1.0"

from nablanet import backend, ops, utils  # noqa: E402
from nablanet.autodiff import Tensor, Variable, enable_grad, is_grad_enabled, no_grad  # noqa: E402
from nablanet.calculus import (  # noqa: E402
    derivative, derivative_table, elementwise_grad, grad, gradcheck, hessian, hvp, integrate,
    jacobian, value_and_grad, vjp,
)

__all__ = [
    "Tensor", "Variable", "backend", "derivative", "derivative_table", "elementwise_grad",
    "enable_grad", "grad", "gradcheck", "hessian", "hvp", "integrate", "is_grad_enabled",
    "jacobian", "no_grad", "ops", "utils", "value_and_grad", "vjp",
]
