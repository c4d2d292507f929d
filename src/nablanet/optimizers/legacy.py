"""`keras.optimizers.legacy`: names Keras 3 keeps only to refuse them, with an ImportError.

>>> Adam(learning_rate=0.1)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ImportError: nablanet.optimizers.legacy.Adam: the legacy (Keras 2 / tf.keras) optimizers are not part of ...
"""


class LegacyOptimizer:
    """Refuses to be built, naming the Keras 3 optimizer to use instead."""

    def __init__(self, *args, **kwargs):
        name = type(self).__name__
        raise ImportError(f"nablanet.optimizers.legacy.{name}: the legacy (Keras 2 / tf.keras) optimizers are not "
                          f"part of Keras 3 nor of nablanet; use nablanet.optimizers.{name}, which takes Keras 3's "
                          "arguments")


class Adagrad(LegacyOptimizer):
    """Refused: use `nablanet.optimizers.Adagrad`."""


class Adam(LegacyOptimizer):
    """Refused: use `nablanet.optimizers.Adam`."""


class Ftrl(LegacyOptimizer):
    """Refused: use `nablanet.optimizers.Ftrl`."""


class Optimizer(LegacyOptimizer):
    """Refused: use `nablanet.optimizers.Optimizer`, the base class of Keras 3's optimizers."""


class RMSprop(LegacyOptimizer):
    """Refused: use `nablanet.optimizers.RMSprop`."""


class SGD(LegacyOptimizer):
    """Refused: use `nablanet.optimizers.SGD`."""


__all__ = ["SGD", "Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop"]
