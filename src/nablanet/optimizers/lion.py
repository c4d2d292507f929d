"""Lion (Chen et al., 2023): the sign of an interpolated momentum, one state array per variable."""

import numpy as np

from nablanet.optimizers.base import Optimizer, with_base_parameters


@with_base_parameters
class Lion(Optimizer):
    """Evolved sign momentum, with Keras's defaults.

    Per variable: `w -= learning_rate * sign(beta_1 * m + (1 - beta_1) * g)`, then
    `m = beta_2 * m + (1 - beta_2) * g`. Every step has the same size per element, so a good
    learning rate is several times smaller than Adam's (and a good weight decay larger).

    Args:
        learning_rate: A float or a schedule.
        beta_1: How much of the momentum enters the sign, in (0, 1] (0 would be sign descent).
        beta_2: Decay rate of the momentum.
        **kwargs: The base `Optimizer` arguments (clipping, weight decay, EMA, ...).

    Example:
        >>> from nablanet import Variable
        >>> w = Variable([1.0, -1.0])
        >>> Lion(learning_rate=0.1).apply([np.array([3.0, -0.5])], [w]); w.numpy()
        array([ 0.9, -0.9])
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(beta_1, bool) or not isinstance(beta_1, (int, float)) or not 0 < beta_1 <= 1:
            raise ValueError(f"Lion: beta_1 must be a float in (0, 1] (at 0 Lion is sign descent), got {beta_1!r}")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        m = self.momentums[self._get_variable_index(variable)]
        variable.data -= learning_rate * np.sign(m * self.beta_1 + gradient * (1 - self.beta_1))
        m *= self.beta_2
        m += gradient * (1 - self.beta_2)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
