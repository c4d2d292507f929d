"""Schedule-Free AdamW (Defazio et al., 2024): interpolation and averaging instead of a schedule."""

import numpy as np

from nablanet.optimizers.adam import MomentEstimates
from nablanet.optimizers.base import with_base_parameters


@with_base_parameters
class ScheduleFreeAdamW(MomentEstimates):
    """Schedule-Free AdamW, step for step as Keras (torch backend) computes it.

    The variables hold `y`, an interpolation between `z` (the `momentum` slot, where Adam-scaled
    gradient steps land) and the average `x`. At step `t`: `v` as Adam's second moment,
    `z -= lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)` (`lr` ramped linearly over
    `warmup_steps`), `x = (y - (1 - beta_1) * z) / beta_1`, `x = (1 - 1/t) * x + z / t` and
    `y = (1 - beta_1) * z + beta_1 * x`. Keras's torch backend reads `z` after its update when it
    recovers `x`, and so does this class. As in Keras, nothing swaps `x` into the weights for
    evaluation: the weights stay `y`.

    Args:
        learning_rate: A float or a schedule.
        beta_1: The interpolation weight between `z` and `x`.
        beta_2: Decay rate of the second-moment estimate.
        epsilon: Added to the root of the corrected second moment.
        warmup_steps: Steps over which the learning rate rises linearly from 0.
        **kwargs: The base `Optimizer` arguments (clipping, weight decay, EMA, ...).
    """

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.warmup_steps = warmup_steps

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")
        self.velocities = self.add_optimizer_variables(variables, "velocity")
        for z, v in zip(self.momentums, variables):
            z[...] = v.data  # z starts at the weights

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        if self.warmup_steps > 0:
            learning_rate = learning_rate * min(t / self.warmup_steps, 1.0)
        i = self._get_variable_index(variable)
        z, v, y = self.momentums[i], self.velocities[i], variable.data
        v += (gradient * gradient - v) * (1 - self.beta_2)
        z -= learning_rate * gradient / (np.sqrt(v / (1 - self.beta_2**t)) + self.epsilon)
        x = (y - (1 - self.beta_1) * z) / self.beta_1
        x = (1 - 1.0 / t) * x + (1.0 / t) * z
        y[...] = (1 - self.beta_1) * z + self.beta_1 * x

    def get_config(self):
        return {**super().get_config(), "warmup_steps": self.warmup_steps}
