"""Adafactor (Shazeer & Stern, 2018): second moments kept as row and column factors."""

import math

import numpy as np

from nablanet.optimizers.base import Optimizer, with_base_parameters


@with_base_parameters
class Adafactor(Optimizer):
    """Adafactor with Keras's numerics.

    At step `t`: `rho = min(learning_rate, 1 / sqrt(t))` (Keras takes this minimum whatever
    `relative_step` says), `alpha = max(epsilon_2, rms(w)) * rho` and `beta_2 = 1 - t**beta_2_decay`.
    A variable of rank >= 2 keeps running means of `g**2 + epsilon_1` over its last axis (`r`) and
    its second-to-last (`c`), and `v = r / mean(r) (outer) c`; a smaller one keeps the full `v`.
    Then `u = g / sqrt(v)` is clipped to RMS `clip_threshold` and `w -= alpha * u`.

    Args:
        learning_rate: A float or a schedule; an upper bound on `rho`.
        beta_2_decay: The exponent of the second-moment decay schedule.
        epsilon_1: Added to the squared gradient.
        epsilon_2: The smallest RMS of a variable that scales its step.
        clip_threshold: The largest RMS of the normalized update.
        relative_step: Kept for Keras's signature and config.
        **kwargs: The base `Optimizer` arguments (clipping, weight decay, EMA, ...).
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def build(self, variables):
        super().build(variables)
        self.rows, self.columns, self.velocities = [], [], []
        for v in variables:  # Keras's order: per variable r, c, then the velocity
            shape, dtype = v.data.shape, v.data.dtype
            if len(shape) < 2:  # Keras keeps integer zeros here, which its files hold too
                r, c = np.zeros((), np.int32), np.zeros((), np.int32)
            else:
                r, c = np.zeros(shape[:-1], dtype), np.zeros(shape[:-2] + shape[-1:], dtype)
            velocity = np.zeros(shape, dtype)
            self._slots.extend([r, c, velocity])
            self.rows.append(r)
            self.columns.append(c)
            self.velocities.append(velocity)

    def update_step(self, gradient, variable, learning_rate):
        t = self.iterations + 1
        i = self._get_variable_index(variable)
        w, r, c, v = variable.data, self.rows[i], self.columns[i], self.velocities[i]
        rho = min(learning_rate, 1 / math.sqrt(t))
        alpha = max(self.epsilon_2, _rms(w)) * rho
        squared = gradient * gradient + self.epsilon_1
        beta_2 = 1 - t**self.beta_2_decay
        if w.ndim >= 2:
            r[...] = beta_2 * r + (1 - beta_2) * squared.mean(axis=-1)
            c[...] = beta_2 * c + (1 - beta_2) * squared.mean(axis=-2)
            v[...] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v[...] = beta_2 * v + (1 - beta_2) * squared
        u = gradient / np.sqrt(v)
        u /= max(1.0, _rms(u) / self.clip_threshold)
        w -= alpha * u

    def get_config(self):
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                "relative_step": self.relative_step}


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x))))
