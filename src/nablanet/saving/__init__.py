"""Saving and loading: Keras 3's `.keras` format both ways, weights files (Keras's `.weights.h5`,
safetensors), written atomically, never pickled, rebuilt from an allowlist of classes.

As in Keras, the registry is reachable here too: `register_keras_serializable`,
`get_custom_objects`, `custom_object_scope`, `serialize_keras_object`, `deserialize_keras_object`.
"""

from nablanet.saving.archive import (
    SavingError,
    atomic_write,
    load_model,
    load_weights,
    save_model,
    save_weights,
)
from nablanet.saving.file_editor import KerasFileEditor
from nablanet.saving.safetensors import SafetensorsError
from nablanet.serialization import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from nablanet.serialization import deserialize as deserialize_keras_object
from nablanet.serialization import serialize as serialize_keras_object

__all__ = [
    "CustomObjectScope", "KerasFileEditor", "SafetensorsError", "SavingError", "atomic_write", "custom_object_scope",
    "deserialize_keras_object", "get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
    "load_weights", "register_keras_serializable", "save_model", "save_weights", "serialize_keras_object",
]
