"""Optimizers with Keras's names, defaults and formulas, updating NumPy arrays in place."""


from nablanet import serialization
from nablanet.names import unknown
from nablanet.optimizers import schedules
from nablanet.optimizers.adagrad import Adadelta, Adagrad
from nablanet.optimizers.adam import Adam, Adamax, AdamW, Nadam
from nablanet.optimizers.base import Optimizer
from nablanet.optimizers.rmsprop import RMSprop
from nablanet.optimizers.sgd import SGD

ALL = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta)}
serialization.register_table("optimizers", {cls.__name__: cls for cls in ALL.values()} | ALL, "keras.optimizers")

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer",
           "RMSprop", "deserialize", "get", "schedules", "serialize"]


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
