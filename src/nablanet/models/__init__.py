"""Models: functional and subclassed `Model`, and `Sequential`."""

from nablanet.models.model import Model
from nablanet.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
