"""Models: functional and subclassed `Model`, and `Sequential`."""

from nablanet import serialization
from nablanet.models.model import Model
from nablanet.models.sequential import Sequential

serialization.register_table("models", {"Model": Model, "Functional": Model, "Sequential": Sequential}, "keras")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with `Model.save` (see `nablanet.saving.load_model`)."""
    from nablanet.saving import load_model as load

    return load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


__all__ = ["Model", "Sequential", "load_model"]
