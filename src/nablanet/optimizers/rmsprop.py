"""RMSprop (Hinton's lecture 6e), with Keras's momentum and centering."""

import numpy as np

from nablanet.optimizers.base import Optimizer, _compiled_kernels, _run_fused, with_base_parameters


@with_base_parameters
class RMSprop(Optimizer):
    """Divide the gradient by a running RMS of recent gradients.

    `v = rho * v + (1 - rho) * g**2`; the step is `learning_rate * g / sqrt(v + epsilon)`
    (centered: `sqrt(v - a**2 + epsilon)` with `a` the running mean gradient), applied directly
    or through a velocity `mom = momentum * mom + step`. Epsilon sits inside the square root,
    as in Keras; PyTorch adds it outside.

    Args:
        learning_rate: A float or a schedule.
        rho: Discount factor of the running averages.
        momentum: Momentum of the steps (0 for none).
        epsilon: Added to the mean square before the root.
        centered: Normalize by the estimated variance instead of the raw second moment.
        **kwargs: The base `Optimizer` arguments.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, variables):
        super().build(variables)
        self.velocities = self.add_optimizer_variables(variables, "velocity")
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum > 0 else []
        self.average_gradients = (
            self.add_optimizer_variables(variables, "average_gradient") if self.centered else []
        )

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        v = self.velocities[i]
        with_momentum = self.momentum > 0
        # the unused state arrays' places take v, which the kernel then never reads
        arrays = [variable.data, np.asarray(gradient), v, self.momentums[i] if with_momentum else v,
                  self.average_gradients[i] if self.centered else v]
        kernels = _compiled_kernels(arrays)
        if kernels is not None:
            dtype = v.dtype.type
            _run_fused(kernels.rmsprop, arrays, dtype(self.rho), dtype(1 - self.rho), dtype(self.epsilon),
                       dtype(learning_rate), dtype(self.momentum), bool(self.centered), with_momentum)
            return
        v *= self.rho
        v += (1 - self.rho) * (gradient * gradient)
        if self.centered:
            a = self.average_gradients[i]
            a *= self.rho
            a += (1 - self.rho) * gradient
            denominator = v - a * a + self.epsilon
        else:
            denominator = v + self.epsilon
        increment = learning_rate * gradient / np.sqrt(denominator)
        if self.momentum > 0:
            mom = self.momentums[i]
            mom *= self.momentum
            mom += increment
            increment = mom
        variable.data -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}
