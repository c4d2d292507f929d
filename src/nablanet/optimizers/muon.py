"""Muon (Jordan et al., 2024): momentum orthogonalized by a Newton-Schulz iteration, for matrices;
AdamW for every other variable, as Keras decides which."""

import math
import re

import numpy as np

from nablanet.optimizers.base import Optimizer


class Muon(Optimizer):
    """Muon for 2-D variables, AdamW for the rest, with Keras's rules and defaults.

    AdamW updates a variable that is not 2-D, one whose path contains "embedding" (when
    `exclude_embeddings`), or one whose path matches a regular expression in `exclude_layers`;
    Muon updates the others: `m = momentum * m + g`, the direction `g + momentum * m` (Nesterov)
    or `m`, orthogonalized by `ns_steps` quintic Newton-Schulz steps with coefficients
    `(muon_a, muon_b, muon_c)`, and `w -= lr * O * sqrt(max(rows, cols)) * rms_rate` (without the
    last two factors when `rms_rate` is None). AdamW steps use `learning_rate * adam_lr_ratio`.
    Weight decay is `weight_decay` on Muon's variables and `adam_weight_decay` on AdamW's.

    Args:
        learning_rate: A float or a schedule.
        adam_beta_1: AdamW's first-moment decay rate.
        adam_beta_2: AdamW's second-moment decay rate.
        adam_weight_decay: Decoupled weight decay of the AdamW variables (None: none).
        epsilon: AdamW's epsilon, added to `sqrt(v)`.
        weight_decay: Decoupled weight decay of the Muon variables (None: none).
        clipnorm, clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name: As for every `Optimizer`.
        exclude_layers: Regular expressions; a variable whose path matches one gets AdamW.
        exclude_embeddings: Give AdamW to variables whose path contains "embedding".
        muon_a, muon_b, muon_c: The Newton-Schulz polynomial's coefficients.
        adam_lr_ratio: AdamW's learning rate relative to `learning_rate`.
        momentum: Muon's momentum.
        ns_steps: Newton-Schulz iterations.
        nesterov: Step along `g + momentum * m` rather than `m`.
        rms_rate: Scale of Muon's update relative to the matrix size (Liu et al., 2025), or None.
    """

    def __init__(self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
                 epsilon=1e-7, weight_decay=0.004, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, exclude_layers=None, exclude_embeddings=True,
                 muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5,
                 nesterov=True, rms_rate=0.2):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name)
        self.adam_beta_1, self.adam_beta_2, self.epsilon = adam_beta_1, adam_beta_2, epsilon
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, momentum, ns_steps
        self.nesterov, self.exclude_embeddings = nesterov, exclude_embeddings
        self.exclude_layers = list(exclude_layers or [])
        self.adam_weight_decay, self.rms_rate = adam_weight_decay, rms_rate

    def _should_use_adamw(self, variable):
        if variable.data.ndim != 2:
            return True
        path = getattr(variable, "path", "")
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build(self, variables):
        super().build(variables)
        self.momentums, self.adam_velocities = [], []
        for v in variables:  # Keras's order: per variable the momentum, then AdamW's velocity
            m = np.zeros_like(v.data)
            velocity = np.zeros_like(v.data) if self._should_use_adamw(v) else None
            self._slots.extend([m] if velocity is None else [m, velocity])
            self.momentums.append(m)
            self.adam_velocities.append(velocity)

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        m, v = self.momentums[i], self.adam_velocities[i]
        if v is not None:
            self._adamw_step(gradient, variable.data, learning_rate * self.adam_lr_ratio, m, v)
            return
        m += gradient + m * (self.momentum - 1)
        direction = gradient + self.momentum * m if self.nesterov else m
        variable.data -= self.lr_adjust(learning_rate * self.zeropower_via_newtonschulz5(direction, self.ns_steps))

    def _adamw_step(self, gradient, w, learning_rate, m, v):
        t = self.iterations + 1
        alpha = learning_rate * math.sqrt(1 - self.adam_beta_2**t) / (1 - self.adam_beta_1**t)
        m += (gradient - m) * (1 - self.adam_beta_1)
        v += (gradient * gradient - v) * (1 - self.adam_beta_2)
        w -= m * alpha / (np.sqrt(v) + self.epsilon)

    def lr_adjust(self, x):
        """Scale a 2-D update by `sqrt(max(rows, cols)) * rms_rate` (unchanged when `rms_rate` is None)."""
        if self.rms_rate is None:
            return x
        return x * (math.sqrt(max(x.shape[0], x.shape[1])) * self.rms_rate)

    def zeropower_via_newtonschulz5(self, x, steps):
        """An approximate orthogonalization `U S' V^T` of `x` (rank >= 2, last two axes) by
        `steps` quintic Newton-Schulz iterations on `x / ||x||`."""
        x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"Muon.zeropower_via_newtonschulz5: expected at least 2 dimensions, got shape {x.shape}")
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:  # iterate on the smaller Gram matrix
            x = np.swapaxes(x, -1, -2)
        x = x / (np.sqrt(np.sum(x * x, axis=(-2, -1), keepdims=True)) + 1e-7)
        for _ in range(steps):
            gram = x @ np.swapaxes(x, -1, -2)
            x = a * x + (b * gram + (c * gram) @ gram) @ x
        return np.swapaxes(x, -1, -2) if tall else x

    def _apply_weight_decay(self, variables, learning_rate):
        for v in variables:
            if not self._use_weight_decay(v):
                continue
            decay = self.adam_weight_decay if self._should_use_adamw(v) else self.weight_decay
            if decay is not None:
                v.data -= v.data * decay * learning_rate

    def get_config(self):
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon, "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}
