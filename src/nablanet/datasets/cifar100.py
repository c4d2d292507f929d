"""CIFAR-100: 50,000 training and 10,000 test 32x32 colour images in 100 classes (20 superclasses)."""

import os

import numpy as np

from nablanet.datasets.cifar import channels, load_batch
from nablanet.datasets.files import fetch

__all__ = ["load_data"]


def load_data(label_mode="fine"):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images as in cifar10, int64 labels (n, 1) of the
    100 classes (`label_mode="fine"`) or the 20 superclasses (`"coarse"`)."""
    where = "cifar100.load_data"
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"{where}: label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    folder = os.path.join(fetch(where, "cifar-100-python-target", extract=True), "cifar-100-python")
    key = f"{label_mode}_labels"
    x_train, y_train = load_batch(os.path.join(folder, "train"), key, where)
    x_test, y_test = load_batch(os.path.join(folder, "test"), key, where)
    return ((channels(x_train), np.reshape(y_train, (len(y_train), 1))),
            (channels(x_test), np.reshape(y_test, (len(y_test), 1))))
