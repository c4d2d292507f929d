"""Data helpers: splitting, label encoding, normalization, images, text and sequences."""

import numpy as np

from nablanet import backend
from nablanet.data.images import image_dataset_from_directory
from nablanet.data.sequence import next_token_pairs, pad_sequences, timeseries_dataset_from_array
from nablanet.data.split import train_test_split
from nablanet.data.text import TextVectorization

__all__ = [
    "TextVectorization", "image_dataset_from_directory", "next_token_pairs", "normalize", "pad_sequences",
    "timeseries_dataset_from_array", "to_categorical", "train_test_split",
]


def to_categorical(x, num_classes=None):
    """One-hot encode integer class labels: shape `x.shape + (num_classes,)` (a trailing axis of
    length 1 is dropped first, as Keras does).

    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    labels = np.asarray(x)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and not np.all(np.mod(labels, 1) == 0):
        raise ValueError("to_categorical: labels must be integers")
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, got {labels.min()}")
    num_classes = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: label {labels.max()} does not fit num_classes={num_classes}")
    out = np.zeros(labels.shape + (num_classes,), dtype=np.float64)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def normalize(x, axis=-1, order=2):
    """Scale `x` to unit `order`-norm along `axis` (zero vectors stay zero).

    >>> normalize(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    x = np.asarray(x, dtype=np.result_type(x, backend.floatx()) if np.asarray(x).dtype.kind != "f" else None)
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm != 0)
