"""Saving and loading: one zip of JSON and safetensors per model, written atomically, never
pickled, rebuilt from an allowlist of classes."""

from nablanet.saving.archive import SavingError, atomic_write, load_model, load_weights, save_model, save_weights
from nablanet.saving.safetensors import SafetensorsError
from nablanet.saving.serialization import get_registered_name, register_keras_serializable

__all__ = ["SafetensorsError", "SavingError", "atomic_write", "get_registered_name", "load_model",
           "load_weights", "register_keras_serializable", "save_model", "save_weights"]
