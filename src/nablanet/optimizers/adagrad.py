"""Adagrad (Duchi et al., 2011) and Adadelta (Zeiler, 2012)."""

import numpy as np

from nablanet.optimizers.base import Optimizer, with_base_parameters


@with_base_parameters
class Adagrad(Optimizer):
    """Per-parameter rates shrinking with the sum of squared gradients.

    `acc += g**2; w -= learning_rate * g / sqrt(acc + epsilon)`, with `acc` starting at
    `initial_accumulator_value` (Keras: 0.1; PyTorch: 0).
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build(self, variables):
        super().build(variables)
        self.accumulators = self.add_optimizer_variables(
            variables, "accumulator", initializer=self.initial_accumulator_value
        )

    def update_step(self, gradient, variable, learning_rate):
        acc = self.accumulators[self._get_variable_index(variable)]
        acc += gradient * gradient
        variable.data -= learning_rate * gradient / np.sqrt(acc + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


@with_base_parameters
class Adadelta(Optimizer):
    """Steps scaled by the ratio of running RMS of updates to running RMS of gradients.

    `a = rho * a + (1 - rho) * g**2`, `d = -sqrt(s + epsilon) / sqrt(a + epsilon) * g`,
    `s = rho * s + (1 - rho) * d**2`, `w += learning_rate * d` (Keras: learning_rate 0.001;
    the paper and PyTorch use 1.0).
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def build(self, variables):
        super().build(variables)
        self.accumulated_grads = self.add_optimizer_variables(variables, "accumulated_grad")
        self.accumulated_delta_vars = self.add_optimizer_variables(variables, "accumulated_delta_var")

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        a, s = self.accumulated_grads[i], self.accumulated_delta_vars[i]
        a *= self.rho
        a += (1 - self.rho) * (gradient * gradient)
        delta = -np.sqrt(s + self.epsilon) / np.sqrt(a + self.epsilon) * gradient
        s *= self.rho
        s += (1 - self.rho) * (delta * delta)
        variable.data += learning_rate * delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
