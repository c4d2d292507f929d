"""Fashion-MNIST: 60,000 training and 10,000 test images of clothing, 28x28 uint8, 10 classes."""

import gzip
import os

import numpy as np

from nablanet.datasets.files import DatasetError, fetch

__all__ = ["load_data"]

_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz")


def _idx(path, offset):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < offset:
        raise DatasetError(f"fashion_mnist.load_data: {path} is too short for an IDX file")
    return np.frombuffer(data, np.uint8, offset=offset)


def load_data():
    """`(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes (60000, 28, 28), (60000,),
    (10000, 28, 28), (10000,), from the gzipped IDX files Keras downloads."""
    folder = os.path.join("datasets", "fashion-mnist")
    paths = [fetch("fashion_mnist.load_data", name, cache_subdir=folder) for name in _FILES]
    y_train, y_test = _idx(paths[0], 8), _idx(paths[2], 8)
    x_train, x_test = _idx(paths[1], 16), _idx(paths[3], 16)
    if x_train.size != len(y_train) * 784 or x_test.size != len(y_test) * 784:
        raise DatasetError("fashion_mnist.load_data: the image and label files do not match (28x28 per label)")
    return (x_train.reshape(len(y_train), 28, 28), y_train), (x_test.reshape(len(y_test), 28, 28), y_test)
