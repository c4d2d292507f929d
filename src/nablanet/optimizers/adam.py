"""The Adam family: Adam (and AMSGrad), AdamW, Adamax and Nadam, with Keras's numerics."""

import math

import numpy as np

from nablanet import backend
from nablanet.optimizers.base import Optimizer, _compiled_kernels, _run_fused, with_base_parameters


class MomentEstimates(Optimizer):
    """The base of the Adam family: decay rates of the first and second moment estimates, and
    the epsilon that keeps the division by the second away from zero."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


@with_base_parameters
class Adam(MomentEstimates):
    """Adam (Kingma & Ba, 2014), with Keras's defaults and epsilon placement.

    Per variable: `m += (1 - beta_1) * (g - m)`, `v += (1 - beta_2) * (g * g - v)` and
    `w -= lr_t * m / (sqrt(v) + epsilon)`, where
    `lr_t = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)`. Epsilon is the paper's
    "epsilon hat"; PyTorch adds it to `sqrt(v_hat)` instead, so the two differ by
    O(epsilon / sqrt(v)) (compare them with epsilon=1e-12). With `amsgrad`, `v` is replaced by
    its running maximum (Reddi et al., 2018).

    Args:
        learning_rate: A float or a schedule.
        beta_1: Decay rate of the first-moment estimate.
        beta_2: Decay rate of the second-moment estimate.
        epsilon: Added to `sqrt(v)` (Keras: 1e-7; PyTorch: 1e-8).
        amsgrad: Use the AMSGrad variant.
        **kwargs: The base `Optimizer` arguments (clipping, weight decay, EMA, ...).
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.amsgrad = amsgrad

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")
        self.velocities = self.add_optimizer_variables(variables, "velocity")
        self.velocity_hats = self.add_optimizer_variables(variables, "velocity_hat") if self.amsgrad else []
        self._scratch = {}  # the NumPy path's temporary per variable, made on first use (not state)

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        lr_t = learning_rate * math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        i = self._get_variable_index(variable)
        arrays = [variable.data, np.asarray(gradient), self.momentums[i], self.velocities[i]]
        if self.amsgrad:
            arrays.append(self.velocity_hats[i])
        kernels = _compiled_kernels(arrays)
        if kernels is not None:
            dtype = arrays[0].dtype.type
            _run_fused(kernels.adam_amsgrad if self.amsgrad else kernels.adam, arrays, dtype(1 - self.beta_1),
                       dtype(1 - self.beta_2), dtype(self.epsilon), dtype(lr_t))
            return
        scratch = self._scratch.get(i)
        if scratch is None:
            scratch = self._scratch[i] = np.empty(arrays[0].shape, arrays[0].dtype)
        arrays.insert(4, scratch)
        if all(a.flags.c_contiguous for a in arrays):  # big variables: chunks on several threads
            backend.parallel_chunks(lambda *pieces: self._adam(lr_t, *pieces), [a.reshape(-1) for a in arrays])
        else:
            self._adam(lr_t, *arrays)

    def _adam(self, lr_t, w, gradient, m, v, tmp, v_hat=None):
        """The reference update in NumPy: in place, a dozen passes over memory and no allocation."""
        np.subtract(gradient, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        np.multiply(gradient, gradient, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp
        if v_hat is not None:
            v = np.maximum(v_hat, v, out=v_hat)
        np.sqrt(v, out=tmp)
        tmp += self.epsilon
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        w -= tmp

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}


@with_base_parameters
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): before each step,
    `w -= learning_rate * weight_decay * w`, outside the adaptive scaling."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay cannot be None; use Adam for no weight decay")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)


@with_base_parameters
class Adamax(MomentEstimates):
    """Adamax, Adam with the infinity norm (Kingma & Ba, 2014, section 7).

    `m += (1 - beta_1) * (g - m)`, `u = max(beta_2 * u, |g|)`,
    `w -= learning_rate * m / ((1 - beta_1**t) * (u + epsilon))`.
    """

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")
        self.norms = self.add_optimizer_variables(variables, "norm")

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        i = self._get_variable_index(variable)
        m, u = self.momentums[i], self.norms[i]
        m += (gradient - m) * (1 - self.beta_1)
        u *= self.beta_2
        np.maximum(u, np.abs(gradient), out=u)
        variable.data -= m * learning_rate / ((1 - self.beta_1**t) * (u + self.epsilon))


@with_base_parameters
class Nadam(MomentEstimates):
    """Adam with Nesterov momentum (Dozat, 2016), with its momentum schedule
    `u_t = beta_1 * (1 - 0.5 * 0.96**t)` as Keras implements it."""

    def build(self, variables):
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum")
        self.velocities = self.add_optimizer_variables(variables, "velocity")
        self.u_product = 1.0

    def _u(self, t):
        return self.beta_1 * (1 - 0.5 * 0.96**t)

    def _extra_state(self):
        return {"u_product": self.u_product}

    def _set_extra_state(self, extras):
        self.u_product = float(extras.get("u_product", 1.0))

    def _update(self, pairs, learning_rate):
        self.u_product *= self._u(self.iterations + 1)  # once per step, for every variable
        super()._update(pairs, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        u_t, u_next = self._u(t), self._u(t + 1)
        i = self._get_variable_index(variable)
        m, v = self.momentums[i], self.velocities[i]
        m += (gradient - m) * (1 - self.beta_1)
        v += (gradient * gradient - v) * (1 - self.beta_2)
        m_hat = m * (u_next / (1 - self.u_product * u_next)) + gradient * ((1 - u_t) / (1 - self.u_product))
        v_hat = v / (1 - self.beta_2**t)
        variable.data -= m_hat * learning_rate / (np.sqrt(v_hat) + self.epsilon)
