"""Keras's `keras.utils` names that live elsewhere in nablanet."""

from nablanet.backend import set_random_seed

__all__ = ["set_random_seed"]
