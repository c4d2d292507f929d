"""Weight penalties added to the training loss: L1, L2, both, and orthogonality (Keras's names and defaults).

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


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (`mode="rows"`) or columns (`mode="columns"`) of a 2-D weight toward
    orthogonality: `factor / 2` times the mean, over pairs, of `|cosine|` between two of them.

    >>> round(float(OrthogonalRegularizer(factor=1.0)(np.array([[1.0, 0.0], [1.0, 1.0]]))), 4)
    0.7071
    """

    def __init__(self, factor=0.01, mode="rows"):
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or not 0 <= factor < float("inf"):
            raise ValueError(f"OrthogonalRegularizer: factor must be a non-negative float, got {factor!r}")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: mode must be 'rows' or 'columns', got {mode!r}")
        self.factor, self.mode = float(factor), mode

    def __call__(self, x):
        if len(x.shape) != 2:
            raise ValueError(f"OrthogonalRegularizer: expected a weight of rank 2, got shape {tuple(x.shape)}")
        if self.mode == "rows":
            unit = ops.normalize(x, axis=1)
            product, size = ops.matmul(unit, ops.transpose(unit)), x.shape[0]
        else:
            unit = ops.normalize(x, axis=0)
            product, size = ops.matmul(ops.transpose(unit), unit), x.shape[1]
        off_diagonal = product * (1.0 - ops.eye(size, dtype=product.dtype))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * ops.sum(ops.abs(off_diagonal)) / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer  # Keras's function-style names
ALL = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2,
       "OrthogonalRegularizer": OrthogonalRegularizer, "orthogonal_regularizer": OrthogonalRegularizer}
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
