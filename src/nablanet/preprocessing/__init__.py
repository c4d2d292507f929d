"""Keras's `keras.preprocessing` names: `sequence.pad_sequences` and the dataset makers.

>>> import nablanet as keras
>>> keras.preprocessing.sequence.pad_sequences([[1, 2], [3]], padding="post")
array([[1, 2],
       [3, 0]], dtype=int32)
"""

from nablanet.data import image_dataset_from_directory, timeseries_dataset_from_array
from nablanet.preprocessing import sequence

__all__ = ["image_dataset_from_directory", "sequence", "timeseries_dataset_from_array"]
