"""Keras's `keras.utils` names, gathered from where they live in nablanet.

>>> import nablanet.utils as utils
>>> utils.unpack_x_y_sample_weight(utils.pack_x_y_sample_weight("x", "y"))
('x', 'y', None)
"""

import json

from nablanet.backend import clear_session, is_keras_tensor, set_random_seed, standardize_dtype
from nablanet.config import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled
from nablanet.data import (
    image_dataset_from_directory, normalize, pad_sequences, timeseries_dataset_from_array, to_categorical,
)
from nablanet.progbar import Progbar
from nablanet.serialization import (
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name, get_registered_object,
    register_keras_serializable,
)
from nablanet.serialization import deserialize as deserialize_keras_object
from nablanet.serialization import serialize as serialize_keras_object
from nablanet.symbolic import KerasTensor
from nablanet.utils import bounding_boxes, legacy
from nablanet.utils.dataset_utils import (
    audio_dataset_from_directory, pack_x_y_sample_weight, split_dataset, text_dataset_from_directory,
    unpack_x_y_sample_weight,
)
from nablanet.utils.feature_space import FeatureSpace
from nablanet.utils.file_utils import get_file
from nablanet.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from nablanet.utils.py_dataset import PyDataset, Sequence

__all__ = [
    "Config", "CustomObjectScope", "Progbar", "PyDataset", "Sequence", "array_to_img", "audio_dataset_from_directory",
    "bounding_boxes",
    "clear_session", "custom_object_scope", "disable_interactive_logging", "enable_interactive_logging",
    "is_interactive_logging_enabled", "deserialize_keras_object", "get_custom_objects", "get_file",
    "get_registered_name", "get_registered_object", "get_source_inputs", "image_dataset_from_directory",
    "img_to_array", "is_keras_tensor", "legacy", "load_img", "model_to_dot", "normalize", "pack_x_y_sample_weight",
    "pad_sequences", "plot_model", "register_keras_serializable", "save_img", "serialize_keras_object",
    "set_random_seed", "split_dataset", "standardize_dtype", "text_dataset_from_directory",
    "timeseries_dataset_from_array", "to_categorical", "unpack_x_y_sample_weight",
]
__all__ += ["FeatureSpace"]


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               splines="ortho", **kwargs):
    """Draw the model's layer graph (see `nablanet.plotting.plot_model`)."""
    from nablanet.plotting import plot_model as draw

    return draw(model, to_file=to_file, show_shapes=show_shapes, show_dtype=show_dtype,
                show_layer_names=show_layer_names, rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                show_layer_activations=show_layer_activations, show_trainable=show_trainable, splines=splines)


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 splines="ortho", **kwargs):
    """The layer graph as a `pydot.Dot` (pydot is imported here only; `nablanet.plotting.to_dot`
    gives the DOT text with no dependency)."""
    from nablanet.plotting import to_dot

    try:
        import pydot
    except ImportError:
        raise ImportError("model_to_dot needs pydot: pip install pydot (or use nablanet.plotting.to_dot(model) "
                          "for the DOT text)") from None
    text = to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                  rankdir=rankdir)
    graph = pydot.graph_from_dot_data(text)[0]
    graph.set("dpi", dpi)
    graph.set("splines", splines)
    return graph


def get_source_inputs(tensor):
    """The `Input` tensors a symbolic tensor is computed from, each once, in the order first reached.

    >>> from nablanet.layers import Dense, Input, add
    >>> a, b = Input(shape=(2,)), Input(shape=(2,))
    >>> [t is a for t in get_source_inputs(Dense(1)(add([a, b])))]
    [True, False]
    """
    if not isinstance(tensor, KerasTensor):
        raise TypeError(f"get_source_inputs: expected a symbolic tensor (KerasTensor), got {type(tensor).__name__}")
    sources, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t.history[0] if t.history else None
        reads = node.input_tensors() if node is not None else []
        if not reads:
            sources.append(t)
        stack.extend(reversed(reads))
    return sources


class Config:
    """A dict-like set of named values, read and set as attributes or items, that can be frozen.

    >>> config = Config(learning_rate=0.1)
    >>> config.momentum = 0.9
    >>> config.as_dict()
    {'learning_rate': 0.1, 'momentum': 0.9}
    >>> config.freeze()
    >>> config.momentum = 0.5
    Traceback (most recent call last):
    ...
    ValueError: Config: it is frozen; unfreeze() it to change 'momentum'
    """

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        """Whether changes are refused."""
        return self._frozen

    def freeze(self):
        """Refuse changes from now on."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        """Allow changes again."""
        object.__setattr__(self, "_frozen", False)

    def _check(self, name):
        if self._frozen:
            raise ValueError(f"Config: it is frozen; unfreeze() it to change {name!r}")

    def __setattr__(self, name, value):
        if name.startswith("_") or name in ("frozen",):
            raise AttributeError(f"Config: {name!r} cannot be set as an attribute")
        self._check(name)
        self._config[name] = value

    def __getattr__(self, name):
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        raise AttributeError(f"Config: no value named {name!r} (has {sorted(config)})")

    def __delattr__(self, name):
        self._check(name)
        del self._config[name]

    def __setitem__(self, key, value):
        self._check(key)
        self._config[key] = value

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key):
        self._check(key)
        del self._config[key]

    def __contains__(self, key):
        return key in self._config

    def __iter__(self):
        return iter(self._config)

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def pop(self, *args):
        self._check(args[0] if args else "")
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._check("update")
        self._config.update(*args, **kwargs)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def as_dict(self):
        """A plain dict copy."""
        return dict(self._config)

    def to_json(self):
        """The values as a JSON string."""
        return json.dumps(self._config)

