"""`keras.utils.legacy`: the registry's serialize/deserialize under their older home."""

from nablanet.serialization import deserialize as deserialize_keras_object
from nablanet.serialization import serialize as serialize_keras_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
