"""nablanet: deep learning on NumPy with the calculus made explicit.

`import nablanet as keras` runs Keras programs:

    >>> import nablanet as keras
    >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> float(keras.grad(lambda x: keras.ops.sum(x ** 2))(np.array([1.0, 2.0]))[1])
    4.0

Every part loads on first use (`nablanet.tune`, `nablanet.datasets.mnist`, ...), so `import nablanet`
itself stays fast; the registry loads the part that owns a class a file names when it is needed.
"""

import sys
import types

__version__ = "0.1.0"

_SUBMODULES = (
    "activations", "anomaly", "applications", "backend", "callbacks", "config", "constraints", "data", "datasets",
    "distribution",
    "export", "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers", "plotting",
    "preprocessing", "random", "regularizers", "saving", "serialization", "tree", "tune", "utils", "wrappers",
)
_ATTRIBUTES = {  # public name -> the module that defines it
    "Tensor": "nablanet.autodiff", "Variable": "nablanet.autodiff", "enable_grad": "nablanet.autodiff",
    "is_grad_enabled": "nablanet.autodiff", "no_grad": "nablanet.autodiff",
    "derivative": "nablanet.calculus", "derivative_table": "nablanet.calculus",
    "elementwise_grad": "nablanet.calculus", "grad": "nablanet.calculus", "gradcheck": "nablanet.calculus",
    "hessian": "nablanet.calculus", "hvp": "nablanet.calculus", "integrate": "nablanet.calculus",
    "jacobian": "nablanet.calculus", "value_and_grad": "nablanet.calculus", "vjp": "nablanet.calculus",
    "Input": "nablanet.layers", "Model": "nablanet.models", "Sequential": "nablanet.models",
    "name_scope": "nablanet.autodiff.variable",
    "InputSpec": "nablanet.layers",
}


def __getattr__(name):
    """Load a part (or the module behind a top-level name) the first time it is used."""
    import importlib

    if name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    elif name in _SUBMODULES:
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'nablanet' has no attribute {name!r} (nablanet.{name} is missing)") from None
    else:
        raise AttributeError(f"module 'nablanet' has no attribute {name!r}")
    globals()[name] = value
    return value


class _Facade(types.ModuleType):
    def __setattr__(self, name, value):
        if name in _ATTRIBUTES and isinstance(value, types.ModuleType):
            return  # importing nablanet.integrate must not hide the function `nablanet.integrate`
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [  # noqa: RUF022 -- grouped: parts, then top-level names
    "activations", "anomaly", "applications", "backend", "callbacks", "config", "constraints", "data", "datasets",
    "distribution",
    "export",
    "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers", "plotting", "preprocessing",
    "random", "regularizers", "saving", "serialization", "tree", "tune", "utils",
    "Tensor", "Variable", "enable_grad", "is_grad_enabled", "no_grad", "derivative", "derivative_table",
    "elementwise_grad", "grad", "gradcheck", "hessian", "hvp", "integrate", "jacobian", "value_and_grad", "vjp",
    "Input", "Model", "Sequential", "name_scope",
    "InputSpec",
]
