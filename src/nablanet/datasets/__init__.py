"""Keras's datasets (`keras.datasets`): the same files, the same `load_data` signatures and arrays.

Files are read from Keras's cache folder (`$KERAS_HOME/datasets`, default `~/.keras/datasets`) and
downloaded from Keras's origins when missing, with their checksums verified (see `files.py`, which
also says how pickled files are read safely).
"""

from nablanet.datasets import (
    boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters,
)

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist",
           "reuters"]
