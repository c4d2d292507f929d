"""CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes."""

import os

import numpy as np

from nablanet.datasets.cifar import channels, load_batch
from nablanet.datasets.files import fetch

__all__ = ["load_data"]


def load_data():
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (50000, 32, 32, 3) and (10000, 32, 32, 3)
    (channels first under `image_data_format() == "channels_first"`), uint8 labels (n, 1)."""
    where = "cifar10.load_data"
    folder = os.path.join(fetch(where, "cifar-10-batches-py-target", extract=True), "cifar-10-batches-py")
    parts = [load_batch(os.path.join(folder, f"data_batch_{i}"), where=where) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in parts]).astype(np.uint8)
    y_train = np.concatenate([np.asarray(y) for _, y in parts]).astype(np.uint8).reshape(-1, 1)
    x_test, y_test = load_batch(os.path.join(folder, "test_batch"), where=where)
    return ((channels(x_train), y_train),
            (channels(x_test.astype(np.uint8)), np.asarray(y_test).astype(np.uint8).reshape(-1, 1)))
