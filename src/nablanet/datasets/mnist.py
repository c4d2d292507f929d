"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 uint8."""

import numpy as np

from nablanet.datasets.files import fetch, load_npz

__all__ = ["load_data"]


def load_data(path="mnist.npz"):
    """`(x_train, y_train), (x_test, y_test)`: uint8 arrays of shapes (60000, 28, 28), (60000,),
    (10000, 28, 28), (10000,). `path` is the file's name in Keras's cache folder."""
    arrays = load_npz(fetch("mnist.load_data", "mnist.npz", fname=path), "mnist.load_data")
    return ((np.asarray(arrays["x_train"]), np.asarray(arrays["y_train"])),
            (np.asarray(arrays["x_test"]), np.asarray(arrays["y_test"])))
