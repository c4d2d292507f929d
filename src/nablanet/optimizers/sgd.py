"""Stochastic gradient descent, with optional (Nesterov) momentum."""

import numpy as np

from nablanet.optimizers.base import (
    Optimizer, _check_unit_interval, _compiled_kernels, _run_fused, with_base_parameters)


@with_base_parameters
class SGD(Optimizer):
    """Gradient descent with momentum, in Keras's form.

    Without momentum, `w -= learning_rate * g`. With it, a velocity `m = momentum * m -
    learning_rate * g` is added to `w` (Nesterov: `w += momentum * m - learning_rate * g`).
    PyTorch keeps `b = momentum * b + g; w -= lr * b` instead: the same steps for a constant
    learning rate, different ones when it changes.

    Args:
        learning_rate: A float or a schedule (Keras's default is 0.01).
        momentum: In [0, 1].
        nesterov: Use Nesterov momentum.
        **kwargs: The base `Optimizer` arguments (clipping, weight decay, EMA, ...).

    Example:
        >>> from nablanet import Variable
        >>> w = Variable([1.0, 2.0])
        >>> SGD(learning_rate=0.1).apply([np.array([1.0, 1.0])], [w]); w.numpy()
        array([0.9, 1.9])
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        _check_unit_interval("SGD", momentum=momentum)
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum else []

    def update_step(self, gradient, variable, learning_rate):
        w = variable.data
        arrays = [w, np.asarray(gradient)]
        if self.momentum:
            arrays.append(self.momentums[self._get_variable_index(variable)])
        kernels = _compiled_kernels(arrays)
        if kernels is not None:
            dtype = w.dtype.type
            if self.momentum:
                _run_fused(kernels.sgd_momentum, arrays, dtype(learning_rate), dtype(self.momentum), self.nesterov)
            else:
                _run_fused(kernels.sgd, arrays, dtype(learning_rate))
            return
        step = gradient * learning_rate
        if not self.momentum:
            w -= step
            return
        m = arrays[2]
        m *= self.momentum
        m -= step
        if self.nesterov:
            w += m * self.momentum - step
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
