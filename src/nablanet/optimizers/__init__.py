"""Optimizers with Keras's names, defaults and formulas, updating NumPy arrays in place."""


from nablanet import serialization
from nablanet.names import unknown
from nablanet.optimizers import legacy, schedules
from nablanet.optimizers.adafactor import Adafactor
from nablanet.optimizers.adagrad import Adadelta, Adagrad
from nablanet.optimizers.adam import Adam, Adamax, AdamW, Nadam
from nablanet.optimizers.base import Optimizer
from nablanet.optimizers.ftrl import Ftrl
from nablanet.optimizers.lamb import Lamb
from nablanet.optimizers.lion import Lion
from nablanet.optimizers.loss_scale_optimizer import LossScaleOptimizer
from nablanet.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from nablanet.optimizers.muon import Muon
from nablanet.optimizers.rmsprop import RMSprop
from nablanet.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from nablanet.optimizers.sgd import SGD

# The optimizers `get` builds from a name alone; the wrappers need an optimizer to wrap.
ALL = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta, Lion,
                                             Lamb, Adafactor, Ftrl, Muon, ScheduleFreeAdamW)}
WRAPPERS = (LossScaleOptimizer, MultiOptimizer, OptimizerMap)
serialization.register_table("optimizers", {cls.__name__: cls for cls in (*ALL.values(), *WRAPPERS)} | ALL,
                             "keras.optimizers")

__all__ = ["SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb", "Lion",
           "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer", "OptimizerMap", "RMSprop",
           "ScheduleFreeAdamW", "deserialize", "get", "legacy", "schedules", "serialize"]


def get(identifier):
    """An optimizer from a name ('adam'), a config dict, or an `Optimizer` (returned as is).

    >>> get("adam").learning_rate
    0.001
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ALL:
            return ALL[key]()
        found = serialization.get_registered_object(identifier)
        if isinstance(found, type) and issubclass(found, Optimizer):
            return found()
        raise unknown("optimizers.get", "optimizer", identifier, ALL, listed=sorted(ALL), key=key)
    raise TypeError(f"optimizers.get: expected a name, a config dict or an Optimizer, got {identifier!r}")


def serialize(optimizer):
    """The optimizer's config in Keras 3's schema."""
    return serialization.serialize(optimizer)


def deserialize(config, custom_objects=None):
    """An optimizer from its config (either schema), from the allowlist."""
    return serialization.deserialize(config, custom_objects, kind="optimizers")
