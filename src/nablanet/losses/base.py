"""The loss machinery: `Loss` (weighting and reduction, Keras's mask rule), the per-sample
function wrapper `LossFunctionWrapper`, `wrapper_class` (Keras's class-around-a-function pattern)
and the rank alignment Keras applies to labels and predictions.

>>> float(reduce_weighted(np.array([1.0, 3.0]), np.array([1.0, 0.0])))
0.5
"""

import inspect
import sys

import numpy as np

from nablanet import ops
from nablanet.autodiff.tensor import Tensor
from nablanet.names import snake_case


def _shape(x):
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _pair(y_true, y_pred):
    """Convert, cast y_true to y_pred's dtype, and align ranks that differ by a trailing 1."""
    y_pred = y_pred if isinstance(y_pred, Tensor) else np.asarray(y_pred)
    if not np.issubdtype(y_pred.dtype, np.floating):
        y_pred = ops.cast(y_pred, "float32")
    # a Tensor y_true stays on the tape: a teacher's soft targets (distillation) get gradients, as in Keras
    y_true = ops.cast(y_true if isinstance(y_true, Tensor) else np.asarray(y_true), y_pred.dtype)
    return same_rank(y_true, y_pred)


def same_rank(x1, x2):
    """Keras's rule: when ranks differ by one and the longer ends in 1, expand a rank-1 operand
    (else squeeze the trailing 1), so (N,) labels meet (N, 1) predictions as (N, 1)."""
    r1, r2 = len(_shape(x1)), len(_shape(x2))
    if r1 == r2 + 1 and _shape(x1)[-1] == 1:
        return (x1, ops.expand_dims(x2, -1)) if r2 == 1 else (ops.squeeze(x1, -1), x2)
    if r2 == r1 + 1 and _shape(x2)[-1] == 1:
        return (ops.expand_dims(x1, -1), x2) if r1 == 1 else (x1, ops.squeeze(x2, -1))
    return x1, x2


# -- classes: weighting and reduction ---------------------------------------------------------

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Loss:
    """Base class: `call(y_true, y_pred)` gives per-sample values; `__call__` weights and
    reduces them.

    Args:
        reduction: One of "sum_over_batch_size", "sum", "mean", "mean_with_sample_weight",
            "none" or None.
        name: A name for the loss.
        dtype: Unused; accepted for Keras compatibility.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.name = name or snake_case(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        values = self.call(y_true, y_pred)
        return reduce_weighted(values, masked_weight(sample_weight, y_pred, values, self.reduction), self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _mask_of(x, shape):
    mask = getattr(x, "_keras_mask", None) if isinstance(x, Tensor) else None
    return None if mask is None or np.shape(mask) != tuple(shape) else np.asarray(mask, bool)


def masked_weight(sample_weight, y_pred, values, reduction="sum_over_batch_size"):
    """`sample_weight` with the mask a masking layer attached to `y_pred` folded in, by Keras's
    rule: masked steps weigh 0, and under a mean the others weigh total / unmasked, so the loss
    is the mean over the unmasked steps. A mask the loss function attached to its `values`
    (Circle's: the samples with a positive loss) counts too, and-ed with the other. Unchanged
    when there is no mask of the values' shape."""
    masks = [m for m in (_mask_of(y_pred, _shape(values)), _mask_of(values, _shape(values))) if m is not None]
    if not masks:
        return sample_weight
    mask = masks[0] & masks[-1]
    weight = mask.astype(np.float64)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = weight.sum()
        weight = weight * (weight.size / valid) if valid else weight
    if sample_weight is not None:
        given = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight, np.float64)
        weight = weight * given.reshape(given.shape + (1,) * (weight.ndim - given.ndim))
    return weight


def reduce_weighted(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Multiply per-sample `values` by `sample_weight` (broadcast) and reduce them."""
    if sample_weight is not None:
        weight = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight)
        dtype = values.dtype if isinstance(values, (Tensor, np.ndarray)) else np.float64
        values, weight = same_rank(values, weight.astype(dtype))
        values = values * weight
    if reduction in (None, "none") or _shape(values) in ((), (0,)):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(np.sum(weight))
    else:
        divisor = float(np.prod(_shape(values)))
    return total / divisor if divisor else total * 0.0


class LossFunctionWrapper(Loss):
    """A `Loss` around a per-sample function and its keyword arguments."""

    function_arguments_first = True  # Keras's loss classes: `Huber(delta, reduction, name, dtype)`

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def wrapper_class(base, class_name, fn, doc, name=None, attributes=None, order=None, **defaults):
    """A class around the per-sample function `fn`, as Keras's `MeanSquaredError` wraps
    `mean_squared_error`: a subclass of `base` (`LossFunctionWrapper`, or metrics'
    `MeanMetricWrapper`) whose constructor takes `base`'s own arguments and `fn`'s keyword
    arguments `defaults`, and names instances `name` (`fn`'s name by default).

    The constructor's parameters come in Keras's order, so positional calls mean what they mean
    in Keras: `order` when given, else a loss's function arguments before its own (`Huber(delta,
    reduction, name, dtype)`) and a metric's own arguments first (`BinaryAccuracy(name, dtype,
    threshold)`), as `base.function_arguments_first` says.

    Args:
        base: The wrapper class, constructed as `base(fn, *own_arguments, **fn_kwargs)`.
        class_name: The new class's name.
        fn: The per-sample function `fn(y_true, y_pred, **kwargs)`.
        doc: The new class's docstring.
        name: The default name of instances.
        attributes: Class attributes of the new class (a metric's `direction`).
        order: Every constructor parameter's name, in Keras's order, when it is neither convention.
        **defaults: `fn`'s keyword arguments the constructor accepts, with their defaults.

    >>> Scaled = wrapper_class(LossFunctionWrapper, "Scaled", lambda t, p, k=2.0: k * (p - t), "k(p - t)",
    ...                        name="scaled", k=2.0)
    >>> loss = Scaled(3.0)
    >>> loss.name, float(loss(np.zeros(2), np.ones(2)))
    ('scaled', 3.0)
    """
    parameters = list(inspect.signature(base.__init__).parameters.values())[2:]  # after self and fn
    own = {p.name: p.default for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD}
    default_name = name or fn.__name__
    own["name"] = default_name
    if order is None:
        order = [*defaults, *own] if base.function_arguments_first else [*own, *defaults]
    if sorted(order) != sorted({**own, **defaults}):
        raise ValueError(f"wrapper_class: {class_name}'s order {order} must name each of {sorted({**own, **defaults})}")

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{class_name}: expected at most {len(order)} positional arguments ({', '.join(order)}), "
                            f"got {len(args)}")
        for key, value in zip(order, args):
            if key in kwargs:
                raise TypeError(f"{class_name}: got multiple values for argument {key!r}")
            kwargs[key] = value
        unexpected = set(kwargs) - set(order)
        if unexpected:
            raise TypeError(f"{class_name}: unexpected argument(s) {sorted(unexpected)}; it takes {', '.join(order)}")
        kwargs["name"] = kwargs.get("name") or default_name
        base.__init__(self, fn, **{**defaults, **kwargs})

    shown = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]  # what help() and inspect show
    shown += [inspect.Parameter(key, inspect.Parameter.POSITIONAL_OR_KEYWORD, default={**own, **defaults}[key])
              for key in order]
    __init__.__signature__ = inspect.Signature(shown)
    # the caller's module, as collections.namedtuple finds it, so the class pickles and prints by its home
    module = sys._getframe(1).f_globals.get("__name__", __name__)
    return type(class_name, (base,), {"__init__": __init__, "__doc__": doc, "__module__": module,
                                      **(attributes or {})})
