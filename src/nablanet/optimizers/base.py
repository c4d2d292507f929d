"""The optimizer base class: iterations, the loop over (gradient, variable), clipping, weight
decay, learning-rate schedules, gradient accumulation and an exponential moving average.

A subclass implements `build(variables)` (its state, made with `add_optimizer_variables`) and
`update_step(gradient, variable, learning_rate)`, which changes `variable.data` in place with
NumPy. Names, defaults and formulas are Keras 3's. Adam (AdamW), SGD and RMSprop run their update as
one compiled pass over each variable when the accelerator is on (`accel.kernels("optim")`, float32 and
float64, C-contiguous arrays), with the same arithmetic as their NumPy code, which stays the reference.
"""

import contextlib
import functools
import inspect
import re
import threading

import numpy as np

from nablanet import backend
from nablanet.autodiff import accel
from nablanet.autodiff.tensor import Tensor
from nablanet.names import snake_case, unique_name
from nablanet.optimizers import schedules


_ALREADY_REDUCED = threading.local()


@contextlib.contextmanager
def gradients_already_reduced():
    """Inside the block, `apply` takes its gradients as the global batch's (a wrapper such as
    LossScaleOptimizer reduced them over the ranks first, to decide alike on every rank)."""
    before = getattr(_ALREADY_REDUCED, "on", False)
    _ALREADY_REDUCED.on = True
    try:
        yield
    finally:
        _ALREADY_REDUCED.on = before


def with_base_parameters(cls):
    """Give a built-in optimizer Keras's parameter list: its own parameters, then the base class's
    (`weight_decay`, `clipnorm`, ..., `name`) in Keras's order, positionally too, so that
    `Adam(0.01, 0.9, 0.999, 1e-7, False, 0.004)` sets `weight_decay` as in Keras.

    >>> @with_base_parameters
    ... class Plain(Optimizer):
    ...     def __init__(self, learning_rate=0.1, **kwargs):
    ...         super().__init__(learning_rate, **kwargs)
    >>> Plain(0.1, 0.5).weight_decay
    0.5
    """
    init = cls.__init__
    own = [p for p in inspect.signature(init).parameters.values()
           if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"]
    base = [p for p in inspect.signature(Optimizer.__init__).parameters.values()
            if p.kind is p.POSITIONAL_OR_KEYWORD and p.name not in ("self", "learning_rate")
            and p.name not in {q.name for q in own}]
    names = [p.name for p in own + base]

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}: expected at most {len(names)} positional arguments, got {len(args)}")
        for name, value in zip(names[len(own):], args[len(own):]):
            if name in kwargs:
                raise TypeError(f"{cls.__name__}: got multiple values for argument {name!r}")
            kwargs[name] = value
        init(self, *args[:len(own)], **kwargs)

    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    kwargs_parameter = inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)
    __init__.__signature__ = inspect.Signature([self_parameter, *own, *base, kwargs_parameter])
    cls.__init__ = __init__
    return cls


class Optimizer:
    """Base class for optimizers (Keras's `keras.optimizers.Optimizer`).

    Args:
        learning_rate: A float, a `schedules.LearningRateSchedule`, or a callable taking no
            arguments.
        weight_decay: If set, decoupled weight decay: before each update,
            `w -= w * weight_decay * learning_rate`.
        clipnorm: Clip each gradient to this L2 norm.
        clipvalue: Clip each gradient elementwise to `[-clipvalue, clipvalue]`.
        global_clipnorm: Clip all gradients together to this global L2 norm.
        use_ema: Keep an exponential moving average of the weights, written into them at the
            end of `fit` (`finalize_variable_values`) or every `ema_overwrite_frequency` steps.
        ema_momentum: The weight of the old average (the first step copies the weights).
        ema_overwrite_frequency: Every how many steps the weights are overwritten by their
            average.
        loss_scale_factor: Losses are multiplied by it (`scale_loss`) and gradients divided.
        gradient_accumulation_steps: Update every N steps with the mean gradient of those N.
        name: A name; unique by default.
    """

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None):
        cls = type(self).__name__
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{cls}: only one of clipnorm, clipvalue and global_clipnorm can be set, got "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        if gradient_accumulation_steps is not None and gradient_accumulation_steps < 2:
            raise ValueError(
                f"{cls}: gradient_accumulation_steps must be an integer >= 2, got "
                f"{gradient_accumulation_steps}"
            )
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(f"{cls}: ema_momentum must be in [0, 1], got {ema_momentum}")
        Optimizer.learning_rate.fset(self, learning_rate)  # not a wrapper's property, which forwards
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.name = name or unique_name(snake_case(cls))
        self._iterations = 0  # calls to apply; `iterations` counts updates
        self.built = False
        self._variables = []
        self._index = {}
        self._slots = []  # every state array, in creation order (for saving)
        self._exclude_ids, self._exclude_pattern = set(), None

    @property
    def iterations(self):
        """The number of updates made (with gradient accumulation, `apply` calls // steps)."""
        steps = self.gradient_accumulation_steps
        return self._iterations // steps if steps else self._iterations

    # -- learning rate --------------------------------------------------------------------------

    @property
    def learning_rate(self):
        """The learning rate for the current step (a schedule is evaluated at `iterations`)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return float(lr(self._iterations))  # schedules see every apply call, as in Keras
        return float(lr()) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value):
        if not (isinstance(value, (int, float, np.floating, schedules.LearningRateSchedule))
                or callable(value)) or isinstance(value, bool):
            raise TypeError(
                f"{type(self).__name__}: learning_rate must be a float, a LearningRateSchedule "
                f"or a callable, got {value!r}"
            )
        if isinstance(value, (int, float, np.floating)):
            if value < 0:
                raise ValueError(f"{type(self).__name__}: learning_rate must be >= 0, got {value}")
            value = float(value)
        self._learning_rate = value

    # -- state ----------------------------------------------------------------------------------

    def build(self, variables):
        """Record the variables this optimizer updates; subclasses add their state."""
        self._variables = list(variables)
        self._index = {id(v): i for i, v in enumerate(self._variables)}
        if self.use_ema:
            self._averages = self.add_optimizer_variables(self._variables, "average")
            for average, v in zip(self._averages, self._variables):
                average[...] = v.data
        if self.gradient_accumulation_steps:
            self._accumulated = self.add_optimizer_variables(self._variables, "gradient_accumulator")
        self.built = True

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One state array per variable, shaped and typed like it (zeros, or a constant)."""
        fill = 0.0 if initializer == "zeros" else float(initializer)
        arrays = [np.full(v.data.shape, fill, dtype=v.data.dtype) for v in trainable_variables]
        self._slots.extend(arrays)
        return arrays

    @property
    def variables(self):
        """The optimizer's state arrays (moments, accumulators...), in creation order."""
        return list(self._slots)

    def get_state(self):
        """`(arrays, extras)`: the step counter and every state array, and the scalars a
        subclass keeps (JSON-ready), so that a restored optimizer continues exactly."""
        arrays = {"iterations": np.array(self._iterations, dtype=np.int64)}
        arrays.update({f"slot/{i:05d}": slot for i, slot in enumerate(self._slots)})
        extras = {"learning_rate": self._learning_rate} if isinstance(self._learning_rate, float) else {}
        return arrays, {**extras, **self._extra_state()}

    def set_state(self, arrays, extras=None):
        """Restore what `get_state` returned; the optimizer must be built on the same variables."""
        slots = [key for key in arrays if key.startswith("slot/")]
        if len(slots) != len(self._slots):
            raise ValueError(f"{type(self).__name__}.set_state: the state has {len(slots)} arrays, the "
                             f"optimizer {len(self._slots)}; was it built on the same variables?")
        for i, slot in enumerate(self._slots):
            value = arrays[f"slot/{i:05d}"]
            if value.shape != slot.shape:
                raise ValueError(f"{type(self).__name__}.set_state: state array {i} has shape "
                                 f"{value.shape}, expected {slot.shape}")
            slot[...] = value
        self._iterations = int(arrays["iterations"])
        extras = dict(extras or {})
        if "learning_rate" in extras:
            Optimizer.learning_rate.fset(self, extras.pop("learning_rate"))
        self._set_extra_state(extras)

    def _extra_state(self):
        return {}

    def _set_extra_state(self, extras):
        pass

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt variables (or those whose name contains one of `var_names`) from weight decay."""
        if self.built:
            raise ValueError(
                f"{type(self).__name__}: exclude_from_weight_decay() must be called before the "
                "optimizer is built (before its first apply)"
            )
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(map(re.escape, var_names))) if var_names else None

    # -- applying gradients ---------------------------------------------------------------------

    def apply(self, grads, trainable_variables=None):
        """Update `trainable_variables` (by default, those it was built with) with `grads`.

        Gradients may be NumPy arrays, Tensors or None (that variable is skipped). The first
        call builds the optimizer's state.
        """
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"{type(self).__name__}.apply: pass trainable_variables on the first call, "
                    "or call build(variables) first"
                )
            trainable_variables = self._variables
        trainable_variables = list(trainable_variables)
        grads = list(grads)
        if len(grads) != len(trainable_variables):
            raise ValueError(
                f"{type(self).__name__}.apply: expected one gradient per variable, got "
                f"{len(grads)} gradients for {len(trainable_variables)} variables"
            )
        if not self.built:
            self.build(trainable_variables)
        pairs = [(self._as_gradient(g, v), v) for g, v in zip(grads, trainable_variables) if g is not None]
        replica = backend.replica()
        if replica is not None and pairs and not getattr(_ALREADY_REDUCED, "on", False):
            # data parallel: the whole global batch's gradient, on every rank
            pairs = list(zip(replica.reduce_gradients([g for g, _ in pairs]), [v for _, v in pairs]))
        if not pairs and grads:
            raise ValueError(f"{type(self).__name__}.apply: no gradient was given for any variable")
        if pairs:
            if self.loss_scale_factor is not None:
                pairs = [(g / self.loss_scale_factor, v) for g, v in pairs]
            self._apply_pairs(pairs)
            for _, v in pairs:  # projections such as MaxNorm run after the update, as in Keras
                if getattr(v, "constraint", None) is not None:
                    v.assign(v.constraint(v))
        self._iterations += 1

    def apply_gradients(self, grads_and_vars):
        """`apply` for a list of `(gradient, variable)` pairs."""
        grads, variables = zip(*grads_and_vars) if grads_and_vars else ((), ())
        self.apply(grads, variables)

    def step(self, variables=None):
        """PyTorch-style: apply each variable's accumulated `.grad` (those without are skipped)."""
        variables = self._variables if variables is None else list(variables)
        self.apply([v.grad for v in variables], variables)

    def zero_grad(self, variables=None):
        """PyTorch-style: clear `.grad` of the variables."""
        for v in self._variables if variables is None else variables:
            v.grad = None

    def _as_gradient(self, g, variable):
        if variable.node is not None or not isinstance(variable, Tensor):
            raise TypeError(f"{type(self).__name__}: can only update leaf variables, got {variable!r}")
        g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=variable.data.dtype)
        if g.shape != variable.data.shape:
            raise ValueError(
                f"{type(self).__name__}: gradient of shape {g.shape} for variable "
                f"{getattr(variable, 'name', '')!r} of shape {variable.data.shape}"
            )
        if id(variable) not in self._index:
            raise KeyError(
                f"{type(self).__name__}: variable {getattr(variable, 'name', variable)!r} is not "
                "among those the optimizer was built with; after changing a layer's `trainable`, "
                "call model.compile() again with a new optimizer, as Keras requires"
            )
        return g

    def _apply_pairs(self, pairs):
        steps = self.gradient_accumulation_steps
        if not steps:
            self._step(pairs)
        else:
            for g, v in pairs:
                self._accumulated[self._get_variable_index(v)] += g
            if (self._iterations + 1) % steps == 0:  # update with the mean, then start over
                self._step([(self._accumulated[self._get_variable_index(v)] / steps, v) for _, v in pairs])
                for acc in self._accumulated:
                    acc[...] = 0
        if self.use_ema:
            self._update_averages()

    def _step(self, pairs):
        pairs = self._clip([g for g, _ in pairs], [v for _, v in pairs])
        learning_rate = self.learning_rate
        self._apply_weight_decay([v for _, v in pairs], learning_rate)
        self._update(pairs, learning_rate)

    def _apply_weight_decay(self, variables, learning_rate):
        if self.weight_decay:
            for v in variables:
                if self._use_weight_decay(v):
                    v.data *= 1 - self.weight_decay * learning_rate

    def _update(self, pairs, learning_rate):
        for g, v in pairs:
            self.update_step(g, v, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError(f"{type(self).__name__} must implement update_step")

    def _clip(self, grads, variables):
        if self.clipnorm:
            grads = [g * (self.clipnorm / max(_norm(g), self.clipnorm)) for g in grads]
        elif self.global_clipnorm:
            total = np.sqrt(sum(float(np.vdot(g, g)) for g in grads))
            scale = self.global_clipnorm * min(1 / total if total else np.inf, 1 / self.global_clipnorm)
            grads = [g * np.asarray(scale + (total - total), dtype=g.dtype) for g in grads]  # NaN stays NaN
        elif self.clipvalue:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return list(zip(grads, variables))

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        pattern = self._exclude_pattern
        return not (pattern and pattern.search(getattr(variable, "name", "")))

    # -- moving average -------------------------------------------------------------------------

    def _update_averages(self):
        momentum = self.ema_momentum if self.iterations > 0 else 0.0  # the first step copies
        for average, v in zip(self._averages, self._variables):
            average *= momentum
            average += (1 - momentum) * v.data
        frequency = self.ema_overwrite_frequency
        if frequency and (self.iterations + 1) % frequency == 0:
            self.finalize_variable_values(self._variables)

    def finalize_variable_values(self, var_list):
        """With `use_ema`, write the moving averages into the variables (`fit` calls this)."""
        if self.use_ema:
            for average, v in zip(self._averages, var_list):
                v.data[...] = average

    # -- losses and configuration ---------------------------------------------------------------

    def scale_loss(self, loss):
        """Multiply the loss by `loss_scale_factor`, if set."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = self.learning_rate
        return {
            "name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue, "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r} learning_rate={self._learning_rate!r}>"


def _compiled_kernels(arrays):
    """The compiled update kernels (`accel_optim`) when the arrays suit them (C-contiguous, of one
    dtype, float32 or float64), else None: the NumPy path (also for a small variable in a program that
    has not imported numba: `accel.kernels`)."""
    dtype = arrays[0].dtype
    if dtype != np.float32 and dtype != np.float64:
        return None
    for a in arrays:
        if a.dtype != dtype or not a.flags.c_contiguous:
            return None
    return accel.kernels("optim", size=arrays[0].size)


def _run_fused(kernel, arrays, *constants):
    """`kernel(*flat arrays, *constants)` in one pass, on slices in several threads when big."""
    backend.parallel_chunks(lambda *pieces: kernel(*pieces, *constants), [a.reshape(-1) for a in arrays])


def _norm(g):
    return float(np.sqrt(np.vdot(g, g)))


def _check_unit_interval(cls, **values):
    for key, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            raise ValueError(f"{cls}: {key} must be a float in [0, 1], got {value!r}")
