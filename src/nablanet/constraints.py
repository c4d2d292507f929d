"""Weight constraints: projections applied to a weight after every optimizer update (Keras's
formulas, with epsilon in the denominators).

>>> MaxNorm(max_value=1.0)(np.array([[3.0], [4.0]])).round(4)
array([[0.6],
       [0.8]])
"""


import numpy as np

from nablanet import serialization
from nablanet.autodiff.tensor import as_array
from nablanet.backend import epsilon
from nablanet.names import lookup


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: `__call__(w)` returns the projected value (a NumPy array)."""

    def __call__(self, w):
        return as_array(w)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale each slice along `axis` (for a Dense kernel, each unit's incoming weights) whose
    L2 norm exceeds `max_value` down to it."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        w = as_array(w)
        norms = _norms(w, self.axis)
        return (w * (np.clip(norms, 0, self.max_value) / (epsilon() + norms))).astype(w.dtype)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative weights to zero."""

    def __call__(self, w):
        w = as_array(w)
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """Scale each slice along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = as_array(w)
        return (w / (epsilon() + _norms(w, self.axis))).astype(w.dtype)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each slice's norm toward `[min_value, max_value]` by `rate` (1 clips exactly)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        w = as_array(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (epsilon() + norms))).astype(w.dtype)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm  # Keras's function-style names
ALL = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
       "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm}
serialization.register_table("constraints", {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm,
                                             "MinMaxNorm": MinMaxNorm, **ALL}, "keras.constraints")


def get(identifier):
    """A constraint from a name ('max_norm', 'non_neg', ...), a config dict or a callable."""
    if isinstance(identifier, dict) or (isinstance(identifier, str) and identifier not in ALL and
                                        serialization.get_registered_object(identifier) is not None):
        return serialization.deserialize(identifier, kind="constraints")
    return lookup(identifier, ALL, "constraints.get", "constraint")


def deserialize(config, custom_objects=None):
    """A constraint from its config, from the allowlist."""
    return serialization.deserialize(config, custom_objects, kind="constraints")


def serialize(constraint):
    if constraint is None:
        return None
    if not isinstance(constraint, Constraint):
        raise ValueError(f"constraints.serialize: cannot serialize {constraint!r}")
    return serialization.serialize(constraint)
