"""Several optimizers for one model: each variable goes to the optimizer its path selects."""

import re
from collections.abc import MutableMapping

from nablanet import serialization
from nablanet.optimizers.base import Optimizer
from nablanet.optimizers.loss_scale_optimizer import LossScaleOptimizer


class OptimizerMap(MutableMapping):
    """Variable paths (exact, or regular expressions matched in full) to optimizers; a variable no key
    matches gets `default_optimizer`.

    Args:
        default_optimizer: The `Optimizer` for unmatched variables.
        optimizer_map: A dict `{path or pattern: Optimizer}` to start from.

    Example:
        >>> from nablanet.optimizers import SGD, Adam
        >>> routes = OptimizerMap(SGD(name="slow"), {"encoder/.*": Adam(name="fast")})
        >>> routes["encoder/dense/kernel"].name, routes["decoder/dense/kernel"].name
        ('fast', 'slow')
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"OptimizerMap: default_optimizer must be an Optimizer, got {default_optimizer!r}")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: optimizer_map must be a dict, got {type(optimizer_map).__name__}")
        self._default_optimizer = default_optimizer
        self._optimizer_map = optimizer_map or {}

    @property
    def default_optimizer(self):
        """The optimizer of the variables no key matches."""
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"OptimizerMap: variable {key!r} matches several keys {matches}; make them disjoint")
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(f"OptimizerMap: key {key!r} is already mapped to {self._optimizer_map[key]!r}")
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: keys must be strings (paths or patterns), got {key!r}")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"OptimizerMap: values must be Optimizers, got {optimizer!r}")
        if isinstance(optimizer, (LossScaleOptimizer, MultiOptimizer)):
            raise ValueError(f"OptimizerMap: a {type(optimizer).__name__} cannot be mapped to variables; "
                             "map plain optimizers")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        return self[variable.path]

    def get_config(self):
        return {"default_optimizer": serialization.serialize(self._default_optimizer),
                "optimizer_map": serialization.serialize(self._optimizer_map)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        default = serialization.deserialize(config["default_optimizer"], custom_objects, kind="optimizers")
        mapping = serialization.deserialize(config["optimizer_map"], custom_objects, kind="optimizers")
        return cls(default, mapping)


class MultiOptimizer(Optimizer):
    """Delegate each variable to the optimizer `optimizer_map` gives it, as Keras 3's MultiOptimizer.

    `optimizer_map` is an `OptimizerMap` or a function from a variable to an optimizer. Each inner
    optimizer is built on its own variables and steps them; the wrapper counts its own `iterations`.
    It has no learning rate of its own: read or set those of `optimizers`.

    Args:
        optimizer_map: An `OptimizerMap`, or a callable `variable -> Optimizer`.
        loss_scale_factor: Set on every inner optimizer (overriding theirs).
        name: A name; unique by default.

    Example:
        >>> from nablanet import Variable, name_scope
        >>> from nablanet.optimizers import SGD
        >>> with name_scope("encoder"):
        ...     a = Variable([1.0], name="w")
        >>> b = Variable([1.0], name="w")
        >>> opt = MultiOptimizer(OptimizerMap(SGD(0.5), {"encoder/.*": SGD(0.25)}))
        >>> opt.apply([np.ones(1), np.ones(1)], [a, b]); a.numpy(), b.numpy()
        (array([0.75]), array([0.5]))
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        self._optimizer_map = optimizer_map
        self._inner_optimizers = []
        inner = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for opt in [*inner, *([default] if default is not None else [])]:
            if not any(opt is known for known in self._inner_optimizers):
                opt.loss_scale_factor = loss_scale_factor
                self._inner_optimizers.append(opt)

    def build(self, variables):
        variables = list(variables)
        self._var_to_optimizer = {}
        groups = [[] for _ in self._inner_optimizers]
        for v in variables:
            opt = self._optimizer_map(v)
            if not isinstance(opt, Optimizer):
                raise ValueError(f"MultiOptimizer: the optimizer for variable {v.path!r} is not an Optimizer: {opt!r}")
            if isinstance(opt, (LossScaleOptimizer, MultiOptimizer)):
                raise ValueError(f"MultiOptimizer: a {type(opt).__name__} cannot be used inside a MultiOptimizer "
                                 f"(variable {v.path!r})")
            index = next((k for k, known in enumerate(self._inner_optimizers) if known is opt), None)
            if index is None:
                opt.loss_scale_factor = self.loss_scale_factor
                self._inner_optimizers.append(opt)
                groups.append([])
                index = len(self._inner_optimizers) - 1
            self._var_to_optimizer[id(v)] = index
            groups[index].append(v)
        for opt, group in zip(self._inner_optimizers, groups):
            if group:
                opt.build(group)
        super().build(variables)

    @property
    def optimizers(self):
        """The inner optimizers, in the order their state is saved."""
        return self._inner_optimizers

    @property
    def variables(self):
        """The wrapper's state (none), then each inner optimizer's."""
        return list(self._slots) + [array for opt in self._inner_optimizers for array in opt.variables]

    @property
    def learning_rate(self):
        raise AttributeError("MultiOptimizer has no learning rate of its own; read those of its `optimizers`")

    @learning_rate.setter
    def learning_rate(self, value):
        raise AttributeError("MultiOptimizer has no learning rate of its own; set those of its `optimizers`")

    @property
    def loss_scale_factor(self):
        """The factor losses are multiplied by; setting it sets every inner optimizer's."""
        return getattr(self, "_loss_scale_factor", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        self._loss_scale_factor = value
        for opt in getattr(self, "_inner_optimizers", ()):
            opt.loss_scale_factor = value

    def apply(self, grads, trainable_variables=None):
        """Give each inner optimizer the gradients of its variables."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("MultiOptimizer.apply: pass trainable_variables on the first call, "
                                 "or call build(variables) first")
            trainable_variables = self._variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            self.build(trainable_variables)
        if len(grads) != len(trainable_variables):
            raise ValueError(f"MultiOptimizer.apply: expected one gradient per variable, got {len(grads)} gradients "
                             f"for {len(trainable_variables)} variables")
        pairs = [[] for _ in self._inner_optimizers]
        for g, v in zip(grads, trainable_variables):
            if id(v) not in self._var_to_optimizer:
                raise KeyError(f"MultiOptimizer: variable {v.path!r} is not among those it was built with")
            pairs[self._var_to_optimizer[id(v)]].append((g, v))
        for opt, group in zip(self._inner_optimizers, pairs):
            if group:
                opt.apply([g for g, _ in group], [v for _, v in group])
        self._iterations += 1

    def finalize_variable_values(self, var_list):
        """Each inner optimizer's, on its own variables."""
        groups = [[] for _ in self._inner_optimizers]
        for v in var_list:
            groups[self._var_to_optimizer[id(v)]].append(v)
        for opt, group in zip(self._inner_optimizers, groups):
            if group:
                opt.finalize_variable_values(group)

    def _extra_state(self):
        # the inner optimizers' exact scalars (rates), which Keras's files hold in float32 only
        return {"inner_extras": [opt.get_state()[1] for opt in self._inner_optimizers]}

    def get_config(self):
        return {"optimizer_map": serialization.serialize(self._optimizer_map),
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["optimizer_map"] = serialization.deserialize(config["optimizer_map"], custom_objects,
                                                            kind="optimizers")
        return cls(**config)
