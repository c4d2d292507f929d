"""nablanet: deep learning on NumPy with the calculus made explicit.

`import nablanet as keras` runs Keras programs:

    >>> import nablanet as keras
    >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> float(keras.grad(lambda x: keras.ops.sum(x ** 2))(np.array([1.0, 2.0]))[1])
    4.0
"""

__version__ = "0.1.0"

from nablanet import (  # noqa: E402
    activations, anomaly, applications, backend, callbacks, data, initializers, layers, losses, metrics,
    ops, optimizers, preprocessing, random, regularizers, saving, serialization, utils,
)
from nablanet import config  # noqa: E402
from nablanet.autodiff import Tensor, Variable, enable_grad, is_grad_enabled, no_grad  # noqa: E402
from nablanet.calculus import (  # noqa: E402
    derivative, derivative_table, elementwise_grad, grad, gradcheck, hessian, hvp, integrate,
    jacobian, value_and_grad, vjp,
)
from nablanet.layers import Input  # noqa: E402
from nablanet.models import Model, Sequential  # noqa: E402
from nablanet import export  # noqa: E402 -- eager even if the rest turns lazy: it fills Model.export_formats

__all__ = [
    "Input", "Model", "Sequential", "Tensor", "Variable", "activations", "anomaly", "applications",
    "backend", "callbacks", "config", "data", "derivative", "derivative_table", "elementwise_grad",
    "enable_grad", "export", "grad", "gradcheck", "hessian", "hvp", "initializers", "integrate",
    "is_grad_enabled", "jacobian", "layers", "losses", "metrics", "no_grad", "ops", "optimizers",
    "preprocessing", "random", "regularizers", "saving", "serialization", "utils", "value_and_grad", "vjp",
]
