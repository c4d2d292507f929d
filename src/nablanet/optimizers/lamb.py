"""LAMB (You et al., 2019): Adam's direction, scaled per variable by a trust ratio."""

import numpy as np

from nablanet.optimizers.adam import MomentEstimates
from nablanet.optimizers.base import with_base_parameters


@with_base_parameters
class Lamb(MomentEstimates):
    """Layer-wise adaptive moments, with Keras's numerics.

    Per variable: Adam's moments `m`, `v` and bias-corrected direction
    `u = m_hat / (sqrt(v_hat) + epsilon)`; then `w -= ratio * learning_rate * u` where
    `ratio = ||w|| / ||u||` (1 when either norm is zero), so each variable moves in proportion to
    its own size.

    Args:
        learning_rate: A float or a schedule.
        beta_1: Decay rate of the first-moment estimate.
        beta_2: Decay rate of the second-moment estimate.
        epsilon: Added to `sqrt(v_hat)`.
        **kwargs: The base `Optimizer` arguments (clipping, weight decay, EMA, ...).
    """

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")
        self.velocities = self.add_optimizer_variables(variables, "velocity")

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        i = self._get_variable_index(variable)
        m, v = self.momentums[i], self.velocities[i]
        m += (gradient - m) * (1 - self.beta_1)
        v += (gradient * gradient - v) * (1 - self.beta_2)
        update = (m / (1 - self.beta_1**t)) / (np.sqrt(v / (1 - self.beta_2**t)) + self.epsilon)
        w_norm, u_norm = np.sqrt(np.sum(variable.data**2)), np.sqrt(np.sum(update**2))
        ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
        variable.data -= ratio * learning_rate * update
