"""Dynamic loss scaling around another optimizer, with Keras's rules for the scale."""

import numpy as np

from nablanet import backend, serialization
from nablanet.optimizers.base import Optimizer, gradients_already_reduced

BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                 "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                 "loss_scale_factor": None, "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Wrap `inner_optimizer`, multiplying losses by a dynamic scale and dividing gradients by it.

    `scale_loss` multiplies by the current scale (`fit` calls it before differentiating). On a
    step whose gradients are all finite, the gradients are divided by the scale and the inner
    optimizer steps; after `dynamic_growth_steps` such steps in a row the scale doubles. A step
    with an infinite or NaN gradient is skipped (the inner optimizer does not count it) and halves
    the scale. nablanet computes in float32 or float64, where scaling is rarely needed; the scale
    and the inner optimizer's steps are Keras's all the same.

    Args:
        inner_optimizer: The `Optimizer` that makes the updates.
        initial_scale: The first scale.
        dynamic_growth_steps: Finite steps in a row after which the scale doubles.
        name: A name; unique by default.
        **kwargs: Only the base arguments at their defaults (set them on `inner_optimizer`).

    Example:
        >>> from nablanet import Variable
        >>> from nablanet.optimizers import SGD
        >>> opt = LossScaleOptimizer(SGD(), initial_scale=8.0)
        >>> opt.apply([np.array([np.inf])], [Variable([1.0])]); float(opt.dynamic_scale)
        4.0
    """

    def __init__(self, inner_optimizer, initial_scale=2.0**15, dynamic_growth_steps=2000, name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer: dynamic=False is not supported; set loss_scale_factor on the "
                             "inner optimizer for a fixed scale")
        for key, default in BASE_DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(f"LossScaleOptimizer: {key} cannot be set on the wrapper; set it on the "
                                 "inner_optimizer")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer: unexpected arguments {sorted(kwargs)}")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"LossScaleOptimizer: inner_optimizer must be an Optimizer, got {inner_optimizer!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale, self.dynamic_growth_steps = initial_scale, dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None

    def build(self, variables):
        self.step_counter = np.zeros((), np.int32)
        self.dynamic_scale = np.array(self.initial_scale, np.float32)  # float32, as Keras keeps it
        self.inner_optimizer.build(variables)
        super().build(variables)
        self._slots = [self.step_counter, self.dynamic_scale]

    @property
    def variables(self):
        """The wrapper's state (step counter, scale), then the inner optimizer's."""
        return list(self._slots) + self.inner_optimizer.variables

    @property
    def learning_rate(self):
        """The inner optimizer's learning rate (setting it sets the inner one's)."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def iterations(self):
        """The inner optimizer's updates (skipped steps do not count)."""
        return self.inner_optimizer.iterations

    def check_finite(self, grads):
        """Whether every given gradient is finite."""
        return all(bool(np.all(np.isfinite(_array(g)))) for g in grads if g is not None)

    def apply(self, grads, trainable_variables=None):
        """Unscale and apply `grads` if all are finite (then maybe double the scale); else halve it."""
        grads = list(grads)
        if not self.built:
            if trainable_variables is None:
                raise ValueError("LossScaleOptimizer.apply: pass trainable_variables on the first call, "
                                 "or call build(variables) first")
            self.build(list(trainable_variables))
        replica = backend.replica()
        if replica is not None:  # reduce first, so that every rank sees the same (non-)finite gradients
            grads = replica.reduce_gradients([None if g is None else _array(g) for g in grads])
        if not self.check_finite(grads):
            self.step_counter[...] = 0
            self.dynamic_scale *= np.float32(0.5)
            return
        scale = self.dynamic_scale
        with gradients_already_reduced():
            self.inner_optimizer.apply([g if g is None else _array(g) / scale for g in grads], trainable_variables)
        if self.step_counter == self.dynamic_growth_steps - 1:
            self.step_counter[...] = 0
            self.dynamic_scale *= np.float32(2.0)
        else:
            self.step_counter += 1

    def scale_loss(self, loss):
        """`loss` times the current scale (`initial_scale` before the first step)."""
        return loss * (self.dynamic_scale if self.built else self.initial_scale)

    def finalize_variable_values(self, var_list):
        """The inner optimizer's (its moving averages, if it keeps them)."""
        self.inner_optimizer.finalize_variable_values(var_list)

    def _extra_state(self):
        # the inner optimizers' exact scalars (rates), which Keras's files hold in float32 only
        return {"inner_extras": [opt.get_state()[1] for opt in [self.inner_optimizer]]}

    def get_config(self):
        return {"name": self.name, "inner_optimizer": serialization.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = serialization.deserialize(config.pop("inner_optimizer"), custom_objects, kind="optimizers")
        return cls(inner, **config)


def _array(g):
    return g.data if hasattr(g, "data") and not isinstance(g, np.ndarray) else np.asarray(g)
