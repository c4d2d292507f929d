"""FTRL-Proximal (McMahan et al., 2013), as Keras implements it."""

import numpy as np

from nablanet.optimizers.base import Optimizer, with_base_parameters


@with_base_parameters
class Ftrl(Optimizer):
    """Follow The Regularized Leader, with L1, L2 and L2-shrinkage regularization.

    Per variable, with `p = -learning_rate_power` and `g' = g + 2 * l2_shrinkage * w`:
    `n_new = n + g**2`, `z += g' - (n_new**p - n**p) / learning_rate * w`, then
    `w = (clip(z, -l1, l1) - z) / (n_new**p / learning_rate + 2 * l2)` with
    `l2 = l2_regularization_strength + beta / (2 * learning_rate)`, and `n = n_new`.

    Args:
        learning_rate: A float or a schedule.
        learning_rate_power: <= 0; how the per-coordinate rate falls as `n` grows (-0.5: 1/sqrt).
        initial_accumulator_value: >= 0; where `n` starts.
        l1_regularization_strength: >= 0.
        l2_regularization_strength: >= 0.
        l2_shrinkage_regularization_strength: >= 0; an L2 penalty that acts on the gradient only.
        beta: Added as `beta / (2 * learning_rate)` to the L2 strength (the paper's beta).
        **kwargs: The base `Optimizer` arguments (clipping, weight decay, EMA, ...).
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        for name, value in (("initial_accumulator_value", initial_accumulator_value),
                            ("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"Ftrl: {name} must be >= 0, got {value}")
        if learning_rate_power > 0:
            raise ValueError(f"Ftrl: learning_rate_power must be <= 0, got {learning_rate_power}")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, variables):
        super().build(variables)
        self.accumulators = self.add_optimizer_variables(
            variables, "accumulator", initializer=self.initial_accumulator_value
        )
        self.linears = self.add_optimizer_variables(variables, "linear")

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        n, z, w = self.accumulators[i], self.linears[i], variable.data
        power = -self.learning_rate_power
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        shrunk = gradient + 2 * self.l2_shrinkage_regularization_strength * w
        n_new = n + gradient * gradient
        z += shrunk - (n_new**power - n**power) / learning_rate * w
        quadratic = n_new**power / learning_rate + 2 * l2
        l1 = self.l1_regularization_strength
        w[...] = (np.clip(z, -l1, l1) - z) / quadratic
        n[...] = n_new

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
