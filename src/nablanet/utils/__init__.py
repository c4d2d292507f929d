"""Keras's `keras.utils` names, gathered from where they live in nablanet."""

from nablanet.backend import set_random_seed
from nablanet.data import (
    image_dataset_from_directory, normalize, pad_sequences, timeseries_dataset_from_array, to_categorical,
)
from nablanet.progbar import Progbar

__all__ = [
    "Progbar", "image_dataset_from_directory", "normalize", "pad_sequences", "plot_model", "set_random_seed",
    "timeseries_dataset_from_array", "to_categorical",
]


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", dpi=200, **kwargs):
    """Draw the model's layer graph (see `nablanet.plotting.plot_model`)."""
    from nablanet.plotting import plot_model as draw

    return draw(model, to_file=to_file, show_shapes=show_shapes, show_dtype=show_dtype,
                show_layer_names=show_layer_names, rankdir=rankdir, dpi=dpi)
