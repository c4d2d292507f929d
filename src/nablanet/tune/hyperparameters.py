"""Hyperparameters with Keras Tuner's names: `hp.Int`, `hp.Float`, `hp.Choice`, `hp.Boolean`,
`hp.Fixed`, and conditions (`hp.conditional_scope`, or `parent_name`/`parent_values`).

`build_model(hp)` declares each hyperparameter where it uses it and gets its value back: the
default when nothing searches, the value an Optuna trial suggests during a search, or a stored
value when a best model is rebuilt. A hyperparameter whose condition does not hold is inactive:
it returns None and has no entry in `hp.values`.
"""

import contextlib
import math

_SAMPLINGS = ("linear", "log")


class HyperParameter:
    """One named entry of a search space: its values, its default and when it is active."""

    kind = "HyperParameter"

    def __init__(self, name, default, conditions=()):
        if not isinstance(name, str) or not name:
            raise ValueError(f"HyperParameters.{self.kind}: expected a non-empty string name, "
                             f"got {name!r}")
        self.name = name
        self.conditions = tuple(conditions)  # ((parent_name, parent_values), ...): all must hold
        self.default = default

    def is_active(self, values):
        return all(parent in values and values[parent] in allowed
                   for parent, allowed in self.conditions)

    def grid(self):
        """Every value, in order: what GridSearch visits."""
        raise NotImplementedError

    def suggest(self, trial):
        """Ask an Optuna trial for this hyperparameter's value."""
        raise NotImplementedError

    def contains(self, value):
        return value in self.grid()

    def _error(self, message):
        return ValueError(f"HyperParameters.{self.kind}({self.name!r}): {message}")

    def _check_default(self):
        if not self.contains(self.default):
            raise self._error(f"expected a default inside the space, got default={self.default!r}")

    def get_config(self):
        return {"name": self.name, "default": self.default,
                "conditions": [{"name": p, "values": list(v)} for p, v in self.conditions]}

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self):
        config = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{self.kind}({self.name!r}, {config})"


class _Range(HyperParameter):
    """Int and Float: `[min_value, max_value]`, with an optional step (a multiplier under log)."""

    number = float

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=()):
        super().__init__(name, None, conditions)
        for label, value in (("min_value", min_value), ("max_value", max_value)):
            if not self._is_number(value):
                kind = self.number.__name__
                raise self._error(f"expected a finite {kind} {label}, got {value!r}")
        if min_value > max_value:
            raise self._error(f"expected min_value <= max_value, got min_value={min_value!r}, "
                              f"max_value={max_value!r}")
        if sampling not in _SAMPLINGS:
            raise self._error(f"expected sampling 'linear' or 'log', got {sampling!r}")
        if sampling == "log" and min_value <= 0:
            raise self._error(f"sampling='log' needs a range above 0, got min_value={min_value!r}; "
                              "use sampling='linear' or a positive min_value")
        if step is not None and (not self._is_number(step) or step <= 0):
            raise self._error(f"expected a positive step (or None), got step={step!r}")
        if step is not None and sampling == "log" and step <= 1:
            raise self._error(f"with sampling='log' the step multiplies, so it must be > 1, "
                              f"got {step!r}")
        self.min_value, self.max_value = min_value, max_value
        self.step, self.sampling = step, sampling
        self.default = min_value if default is None else default
        self._check_default()

    def _is_number(self, value):
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value))

    def _geometric(self):
        values, value = [], self.min_value
        while value <= self.max_value * (1 + 1e-12):
            values.append(self._round(value))  # 1e-4 * 10 * 10 is 0.010000000000000002
            value *= self.step
        return values

    def _linear(self, step):
        count = math.floor((self.max_value - self.min_value) / step + 1e-9)
        return [self._round(self.min_value + k * step) for k in range(count + 1)]

    def _round(self, value):
        return self.number(value) if self.number is int else float(f"{value:.12g}")

    def get_config(self):
        return {**super().get_config(), "min_value": self.min_value, "max_value": self.max_value,
                "step": self.step, "sampling": self.sampling}


class Int(_Range):
    """An integer in `[min_value, max_value]`: `step` apart, or a factor `step` apart (log)."""

    kind = "Int"
    number = int

    def _is_number(self, value):
        return isinstance(value, int) and not isinstance(value, bool)

    def grid(self):
        if self.step is not None and self.sampling == "log":
            return self._geometric()
        return list(range(self.min_value, self.max_value + 1, self.step or 1))

    def contains(self, value):
        if not self._is_number(value) or not self.min_value <= value <= self.max_value:
            return False
        if self.step is not None and self.sampling == "log":
            return value in self._geometric()
        return (value - self.min_value) % (self.step or 1) == 0

    def suggest(self, trial):
        if self.step is not None and self.sampling == "log":
            return trial.suggest_categorical(self.name, self._geometric())
        step = self.step or 1
        high = self.min_value + (self.max_value - self.min_value) // step * step  # on the grid
        return trial.suggest_int(self.name, self.min_value, high, step=step,
                                 log=self.sampling == "log")


class Float(_Range):
    """A float in `[min_value, max_value]`; with a step, only `min_value + k * step` (linear) or
    `min_value * step**k` (log)."""

    kind = "Float"

    def __init__(self, name, min_value, max_value, step=None, sampling="linear", default=None,
                 conditions=()):
        super().__init__(name, min_value, max_value, step, sampling, default, conditions)
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.default = float(self.default)

    def grid(self):
        if self.step is None:
            raise ValueError(
                f"GridSearch: Float {self.name!r} has no step, so its values cannot be listed; "
                "give it a step (hp.Float(name, min, max, step=...)) or use hp.Choice")
        return self._geometric() if self.sampling == "log" else self._linear(self.step)

    def contains(self, value):
        if not self._is_number(value) or not self.min_value <= value <= self.max_value:
            return False
        if self.step is None:
            return True
        return any(math.isclose(value, v, rel_tol=1e-9, abs_tol=1e-12) for v in self.grid())

    def suggest(self, trial):
        if self.step is not None and self.sampling == "log":
            return trial.suggest_categorical(self.name, self._geometric())
        if self.step is None:
            return trial.suggest_float(self.name, self.min_value, self.max_value,
                                       log=self.sampling == "log")
        high = self._linear(self.step)[-1]  # on the grid, so Optuna need not warn and adjust
        return trial.suggest_float(self.name, self.min_value, high, step=self.step)


class Choice(HyperParameter):
    """One of `values`: numbers, strings or booleans, all of one kind."""

    kind = "Choice"

    def __init__(self, name, values, ordered=None, default=None, conditions=()):
        super().__init__(name, None, conditions)
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise self._error(f"expected a list of values, got {values!r}")
        values = list(values)
        if not values:
            raise self._error("expected a non-empty list of values, got []")
        kinds = {_kind_of(v) for v in values}
        if None in kinds or len(kinds) > 1:
            raise self._error(f"expected values that are all numbers, all strings or all booleans, "
                              f"got {values!r}")
        if len(set(values)) != len(values):
            raise self._error(f"expected distinct values, got {values!r}")
        self.values, self.ordered = values, ordered
        self.default = values[0] if default is None else default
        self._check_default()

    def grid(self):
        return list(self.values)

    def contains(self, value):
        return _kind_of(value) == _kind_of(self.values[0]) and value in self.values

    def suggest(self, trial):
        return trial.suggest_categorical(self.name, self.values)

    def get_config(self):
        return {**super().get_config(), "values": list(self.values), "ordered": self.ordered}


class Boolean(Choice):
    """True or False."""

    kind = "Boolean"

    def __init__(self, name, default=False, conditions=()):
        if not isinstance(default, bool):
            raise ValueError(f"HyperParameters.Boolean({name!r}): expected a bool default, "
                             f"got {default!r}")
        super().__init__(name, [False, True], default=default, conditions=conditions)


class Fixed(HyperParameter):
    """A value that is not searched, recorded with the others."""

    kind = "Fixed"

    def __init__(self, name, value, conditions=()):
        super().__init__(name, value, conditions)
        if _kind_of(value) is None:
            raise self._error(f"expected a number, string or bool, got {value!r}")
        self.value = value

    def grid(self):
        return [self.value]

    def suggest(self, trial):
        return self.value


def _kind_of(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str" if isinstance(value, str) else None


class HyperParameters:
    """The search space a `build_model(hp)` declares, and the values it was built with.

    Attributes:
        space: The declared hyperparameters, in the order they were first declared.
        values: Name -> value of every active hyperparameter.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Int("units", 32, 256, step=32), hp.Choice("activation", ["relu", "tanh"])
        (32, 'relu')
        >>> with hp.conditional_scope("activation", ["tanh"]):
        ...     print(hp.Float("scale", 0.5, 2.0))
        None
        >>> hp.values
        {'units': 32, 'activation': 'relu'}
    """

    def __init__(self):
        self.space = []
        self.values = {}
        self._by_name = {}
        self._scopes = []
        self._source = None  # spec -> value during a trial; None returns defaults
        self._declared = set()  # the active names this build declared
        self._read = set()  # every name whose value (or absence) this build looked at

    def Int(self, name, min_value, max_value, step=None, sampling="linear", default=None,
            parent_name=None, parent_values=None):
        """An integer; returns its value, or None when its conditions do not hold."""
        return self._declare(Int, name, parent_name, parent_values, min_value=min_value,
                             max_value=max_value, step=step, sampling=sampling, default=default)

    def Float(self, name, min_value, max_value, step=None, sampling="linear", default=None,
              parent_name=None, parent_values=None):
        """A float; with sampling='log' its logarithm is uniform. Returns its value or None."""
        return self._declare(Float, name, parent_name, parent_values, min_value=min_value,
                             max_value=max_value, step=step, sampling=sampling, default=default)

    def Choice(self, name, values, ordered=None, default=None, parent_name=None,
               parent_values=None):
        """One of `values` (numbers, strings or booleans); returns it, or None when inactive."""
        return self._declare(Choice, name, parent_name, parent_values, values=values,
                             ordered=ordered, default=default)

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        """True or False; returns it, or None when inactive."""
        return self._declare(Boolean, name, parent_name, parent_values, default=default)

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        """A value that is recorded but not searched; returns it, or None when inactive."""
        return self._declare(Fixed, name, parent_name, parent_values, value=value)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name, parent_values):
        """Hyperparameters declared inside are active only when `parent_name` has one of
        `parent_values`."""
        self._scopes.append(self._condition(parent_name, parent_values, "conditional_scope"))
        try:
            yield
        finally:
            self._scopes.pop()

    def get(self, name):
        """The value of `name`: None if it is inactive, KeyError if it was never declared."""
        if name not in self._by_name:
            raise KeyError(f"HyperParameters.get: {name!r} was never declared; declared: "
                           f"{', '.join(self._by_name) or 'none'}")
        return self.values.get(name)

    __getitem__ = get

    def __contains__(self, name):
        return name in self._by_name

    def is_active(self, name):
        if name not in self._by_name:
            return False
        self._read.update(parent for parent, _ in self._by_name[name].conditions)
        return self._by_name[name].is_active(self.values)

    def _condition(self, parent_name, parent_values, where):
        if parent_name not in self._by_name:
            raise ValueError(f"HyperParameters.{where}: expected a declared parent, "
                             f"got {parent_name!r}; declare it before the hyperparameters that "
                             "depend on it")
        if isinstance(parent_values, (str, bool, int, float)):
            parent_values = [parent_values]
        if not parent_values:
            raise ValueError(f"HyperParameters.{where}: expected a non-empty list of parent_values "
                             f"for {parent_name!r}, got {parent_values!r}")
        return parent_name, tuple(parent_values)

    def _declare(self, cls, name, parent_name, parent_values, **config):
        conditions = list(self._scopes)
        if parent_name is not None or parent_values is not None:
            conditions.append(self._condition(parent_name, parent_values, cls.kind))
        spec = cls(name, conditions=conditions, **config)
        known = self._by_name.get(name)
        if known is not None and known != spec:
            raise ValueError(f"HyperParameters.{cls.kind}({name!r}): already declared as "
                             f"{known!r}; one name, one definition")
        if known is None:
            self.space.append(spec)
            self._by_name[name] = spec
        self._read.update([name, *(parent for parent, _ in spec.conditions)])
        if not spec.is_active(self.values):
            self.values.pop(name, None)
            return None
        self._declared.add(name)
        if name not in self.values:
            self.values[name] = spec.default if self._source is None else self._source(spec)
        elif not spec.contains(self.values[name]):
            raise ValueError(f"HyperParameters.{cls.kind}({name!r}): expected a value inside the "
                             f"space, got {self.values[name]!r}")
        return self.values[name]

    def _used(self):
        """The values the build used: given values it never declared are left out."""
        return {name: value for name, value in self.values.items() if name in self._declared}

    @classmethod
    def _from(cls, space=(), values=None, source=None):
        """A HyperParameters that knows `space`, returns `values` where given, else asks
        `source` (else the defaults)."""
        hp = cls()
        for spec in space:
            hp.space.append(spec)
            hp._by_name[spec.name] = spec
        hp.values = dict(values or {})
        hp._source = source
        return hp


def grid_points(space):
    """Every combination of the active hyperparameters' values, each once.

    A hyperparameter joins a combination only where its conditions hold, so a conditional one
    multiplies just the branch it lives in. Fixed values are left out: they are not searched.

    >>> hp = HyperParameters()
    >>> _ = hp.Choice("model", ["small", "big"])
    >>> with hp.conditional_scope("model", ["big"]):
    ...     _ = hp.Int("units", 64, 128, step=64)
    >>> grid_points(hp.space)
    [{'model': 'small'}, {'model': 'big', 'units': 64}, {'model': 'big', 'units': 128}]
    """
    points = [{}]
    for spec in space:
        grid = spec.grid()
        expanded = []
        for point in points:
            if not spec.is_active(point):
                expanded.append(point)
            elif isinstance(spec, Fixed):
                expanded.append({**point, spec.name: spec.value})
            else:
                expanded.extend({**point, spec.name: value} for value in grid)
        points = expanded
    fixed = {spec.name for spec in space if isinstance(spec, Fixed)}
    return [{k: v for k, v in point.items() if k not in fixed} for point in points]
