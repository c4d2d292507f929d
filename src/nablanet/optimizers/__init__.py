"""Optimizers with Keras's names, defaults and formulas, updating NumPy arrays in place."""


from nablanet.optimizers import schedules
from nablanet.optimizers.adagrad import Adadelta, Adagrad
from nablanet.optimizers.adam import Adam, Adamax, AdamW, Nadam
from nablanet.optimizers.base import Optimizer
from nablanet.optimizers.rmsprop import RMSprop
from nablanet.optimizers.sgd import SGD
from nablanet.names import unknown

ALL = {cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta)}

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
        raise unknown("optimizers.get", "optimizer", identifier, ALL, listed=sorted(ALL), key=key)
    raise TypeError(f"optimizers.get: expected a name, a config dict or an Optimizer, got {identifier!r}")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    name = str(config.get("class_name", "")).lower()
    if name not in ALL:
        raise ValueError(f"optimizers.deserialize: unknown optimizer {config.get('class_name')!r}")
    return ALL[name].from_config(config["config"])
