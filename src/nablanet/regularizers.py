"""Weight penalties added to the training loss: L1, L2 and both (Keras's names and defaults).

`L2(l2)(w)` is `l2 * sum(w ** 2)`, with no factor 1/2 (Keras's convention; PyTorch's
`weight_decay` corresponds to `l2 = weight_decay / 2` for plain SGD).

>>> float(L2(0.1)(np.array([1.0, 2.0])))
0.5
"""


from nablanet import ops, serialization
from nablanet.names import lookup


class Regularizer:
    """Base class: `__call__(weight)` returns a scalar penalty."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: expected a non-negative float, got {value!r}")
    return float(value)


class L1(Regularizer):
    """`l1 * sum(|x|)`."""

    def __init__(self, l1=0.01):
        self.l1 = _check("L1: l1", l1)

    def __call__(self, x):
        return self.l1 * ops.sum(ops.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x ** 2)`."""

    def __init__(self, l2=0.01):
        self.l2 = _check("L2: l2", l2)

    def __call__(self, x):
        return self.l2 * ops.sum(ops.square(x))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x ** 2)` (both 0 unless given, as in Keras)."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _check("L1L2: l1", l1 or 0.0), _check("L1L2: l2", l2 or 0.0)

    def __call__(self, x):
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * ops.sum(ops.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * ops.sum(ops.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's function-style names for the classes
ALL = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}
serialization.register_table("regularizers", {"L1": L1, "L2": L2, "L1L2": L1L2, **ALL}, "keras.regularizers")


def get(identifier):
    """A regularizer from a name ('l1', 'l2', 'l1_l2'), a config dict or a callable."""
    if isinstance(identifier, dict) or (isinstance(identifier, str) and identifier not in ALL and
                                        serialization.get_registered_object(identifier) is not None):
        return serialization.deserialize(identifier, kind="regularizers")
    return lookup(identifier, ALL, "regularizers.get", "regularizer", listed=["l1", "l2", "l1_l2"])


def serialize(regularizer):
    if regularizer is None:
        return None
    return serialization.serialize(regularizer)


def deserialize(config, custom_objects=None):
    """A regularizer from its config, from the allowlist."""
    return serialization.deserialize(config, custom_objects, kind="regularizers")
