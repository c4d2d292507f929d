"""The stateful metric base classes: `Metric` (update_state / result / reset_state), the
(weighted) `Sum` and `Mean`, and `MeanMetricWrapper`, which averages a per-sample function.

>>> m = Mean()
>>> m.update_state(np.array([1.0, 2.0, 6.0]))
>>> float(m.result())
3.0
"""

import numpy as np

from nablanet import backend, initializers, losses
from nablanet.autodiff.tensor import as_array
from nablanet.autodiff.variable import Variable, name_scope
from nablanet.names import snake_case


def pair(y_true, y_pred):
    return losses.same_rank(as_array(y_true), as_array(y_pred))


class Metric:
    """Base class: `update_state(...)`, `result()`, `reset_state()`; calling a metric updates it
    and returns the result. `direction` ("up" or "down") says which way is better."""

    direction = "down"

    def __init__(self, dtype=None, name=None):
        self.name = name or snake_case(type(self).__name__)
        self.dtype = np.dtype(dtype or backend.floatx()).name  # the results' dtype, floatx by default as in Keras

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result")

    def reset_state(self):
        """Zero every state variable (those made by `add_variable`), as Keras's default does."""
        for variable in self.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """A non-trainable state `Variable` of this metric (Keras 3's API); `aggregation` only
        matters across devices, which nablanet's metrics do not span."""
        with name_scope(self.name, caller=self):
            variable = Variable(initializers.get(initializer or "zeros"), shape=tuple(shape),
                                dtype=dtype or self.dtype or backend.floatx(), trainable=False, name=name)
        self.__dict__.setdefault("_variables", []).append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """`add_variable`, by its Keras 2 name."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """The state variables made by `add_variable`, in order."""
        return list(self.__dict__.get("_variables", []))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _samplewise(values, sample_weight):
    """Weight `values` and reduce both to one number per sample, as Keras does."""
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is None:
        return values.reshape(len(values), -1).mean(axis=1) if values.ndim > 1 else values, None
    weight = np.asarray(as_array(sample_weight), dtype=np.float64)
    values, weight = losses.same_rank(values, weight)
    if values.ndim > weight.ndim:
        values = values.mean(axis=tuple(range(weight.ndim, values.ndim)))
    weight = np.broadcast_to(weight, values.shape)
    values = values * weight
    if values.ndim > 1:
        axes = tuple(range(1, values.ndim))
        return values.mean(axis=axes), weight.mean(axis=axes)
    return values, weight


class Sum(Metric):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        values, _ = _samplewise(np.atleast_1d(as_array(values)), sample_weight)
        self.total += float(np.sum(values))

    def result(self):
        return np.float64(self.total)

    def reset_state(self):
        self.total = 0.0


class Mean(Metric):
    """The (weighted) mean of the values seen."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.reset_state()

    def update_state(self, values, sample_weight=None):
        values = np.atleast_1d(as_array(values))
        values, weight = _samplewise(values, sample_weight)
        self.total += float(np.sum(values))
        self.count += float(np.sum(weight)) if weight is not None else float(len(values))

    def result(self):
        return np.float64(self.total / self.count if self.count else 0.0)

    def reset_state(self):
        self.total, self.count = 0.0, 0.0


class MeanMetricWrapper(Mean):
    """Averages a per-sample function `fn(y_true, y_pred, **kwargs)` over every sample seen."""

    function_arguments_first = False  # Keras's metric classes: `BinaryAccuracy(name, dtype, threshold)`

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = as_array(self.fn(as_array(y_true), as_array(y_pred), **self._fn_kwargs))
        # masked steps of a sequence output (Embedding(mask_zero=True), Masking) count for nothing
        super().update_state(values, losses.masked_weight(sample_weight, y_pred, values, reduction="sum"))

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}
