"""Variable: a named weight whose array is updated in place by optimizers."""

import numpy as np

from nablanet.autodiff.tensor import Tensor
from nablanet.compat import warn_ignored
from nablanet.names import unique_name

AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")  # Keras's: how replicas' values combine
_SCOPES = []  # the open name scopes, outermost first: [name, caller]


class name_scope:  # noqa: N801 -- Keras's name for this context manager
    """Open a name scope: a Variable created inside has `path` = the open scopes' names + its name.

    Args:
        name: The scope's name (a layer's name, for its weights).
        caller: The object opening it; with `deduplicate`, a scope the same caller already has open
            is not opened again, so a layer building itself inside its own call adds its name once.
        deduplicate: Skip the scope when the innermost one has the same name and caller.
        override_parent: A path that replaces the enclosing scopes instead of extending them.

    Example:
        >>> with name_scope("block"):
        ...     Variable([1.0], name="w").path
        'block/w'
    """

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"name_scope: expected a name without '/', got {name!r}")
        self.name, self.caller, self.deduplicate, self.override_parent = name, caller, deduplicate, override_parent
        self._saved = None

    def __enter__(self):
        self._saved = list(_SCOPES)
        if self.override_parent is not None:
            _SCOPES[:] = [[part, None] for part in self.override_parent.split("/") if part]
        top = _SCOPES[-1] if _SCOPES else None
        if not (self.deduplicate and top is not None and top[0] == self.name
                and (self.caller is None or top[1] is self.caller)):
            _SCOPES.append([self.name, self.caller])
        return self

    def __exit__(self, *exc_info):
        _SCOPES[:] = self._saved


def current_path():
    """The open name scopes joined by '/' ('' outside any)."""
    return "/".join(name for name, _ in _SCOPES)


class Variable(Tensor):
    """A named, optionally trainable Tensor whose value changes in place (`assign`).

    A trainable Variable requires a gradient; a non-trainable one (BatchNorm statistics, a
    frozen layer) does not. Unlike `Tensor`, the initial value is copied.

    Args:
        initializer: The initial value (array-like), or a callable `f(shape, dtype)`.
        shape: Required when `initializer` is callable.
        dtype: The dtype; defaults to the initial value's (float64 for Python floats).
        trainable: Whether optimizers update it, i.e. whether it requires a gradient.
        autocast: Kept for Keras; a layer computes in its own dtype either way.
        aggregation: How data-parallel replicas combine the value (Keras's names), kept for them.
        synchronization: Kept for Keras's distribution API.
        name: The short name (`"kernel"`); a unique one is made when omitted. `path` adds the open
            name scopes in front (`"dense/kernel"`: a layer's weights are made in its scope).
        layout: Keras's sharding layout; nablanet keeps every variable whole, and warns if given.

    Example:
        >>> v = Variable([1.0, 2.0], name="w")
        >>> v.assign_sub([0.5, 0.5]); v.numpy()
        array([0.5, 1.5])
    """

    __slots__ = ("name", "path", "_trainable", "regularizer", "constraint", "_layer_trainable", "autocast",
                 "aggregation", "synchronization")

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True, aggregation="none",
                 synchronization="auto", name=None, layout=None, **kwargs):
        if kwargs:
            raise TypeError(f"Variable: unexpected argument(s) {sorted(kwargs)}")
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"Variable: aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        warn_ignored("Variable", "layout", layout, "a variable lives whole in one process")
        self.autocast, self.aggregation, self.synchronization = autocast, aggregation, synchronization
        if callable(initializer):
            if shape is None:
                raise ValueError("Variable: shape is required when the initializer is callable")
            value = initializer(tuple(shape), dtype=dtype)
        else:
            value = initializer.data if isinstance(initializer, Tensor) else initializer
        value = np.array(value, dtype=dtype, order="C")  # a row-major copy: optimizers write into it
        if shape is not None and value.shape != tuple(shape):
            raise ValueError(f"Variable: expected shape {tuple(shape)}, got {value.shape}")
        super().__init__(value, requires_grad=trainable and np.issubdtype(value.dtype, np.floating))
        self._trainable = bool(trainable)
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"Variable: expected a name without '/' (the path holds the scopes), got {name!r}")
        self.name = name or unique_name("variable")
        self.path = "/".join([*(scope for scope, _ in _SCOPES), self.name])
        self.regularizer = None  # a penalty on the value, set by the layer that owns it
        self.constraint = None  # a projection applied after each optimizer update
        self._layer_trainable = self._trainable

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self.requires_grad = self._trainable and np.issubdtype(self.data.dtype, np.floating)

    @property
    def value(self):
        """The current value as a Tensor (shares memory with the variable)."""
        return self

    def assign(self, value):
        """Set the value in place (shape must match)."""
        np.copyto(self.data, self._checked(value, "assign"), casting="same_kind")

    def assign_add(self, value):
        np.add(self.data, self._checked(value, "assign_add"), out=self.data, casting="same_kind")

    def assign_sub(self, value):
        np.subtract(
            self.data, self._checked(value, "assign_sub"), out=self.data, casting="same_kind"
        )

    def _checked(self, value, what):
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        if value.shape != self.data.shape and value.ndim:
            raise ValueError(
                f"Variable.{what}: expected shape {self.data.shape} for {self.path!r}, "
                f"got {value.shape}"
            )
        return value

    def __repr__(self):
        return f"<Variable path={self.path!r} shape={self.data.shape} dtype={self.data.dtype}>"
