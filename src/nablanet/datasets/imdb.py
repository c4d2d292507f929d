"""IMDB movie reviews, labelled by sentiment: 25,000 training and 25,000 test reviews as word indices."""

import json

import numpy as np

from nablanet.datasets.files import fetch, load_npz
from nablanet.datasets.sequences import as_objects, shift, shorter_than, vocabulary

__all__ = ["get_word_index", "load_data"]


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """`(x_train, y_train), (x_test, y_test)`: object arrays of lists of word indices and int labels.

    Args:
        path: The file's name in Keras's cache folder.
        num_words: Keep the most frequent `num_words - 1` indices; others become `oov_char`.
        skip_top: Indices below it (the most frequent words) become `oov_char` too.
        maxlen: Drop reviews of `maxlen` or more words.
        seed: The shuffle's seed (the same order as Keras's).
        start_char: Index marking a review's start (None: none).
        oov_char: Index of dropped words (None: remove them).
        index_from: Added to every word index.
    """
    where = "imdb.load_data"
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword arguments {sorted(kwargs)}")
    arrays = load_npz(fetch(where, "imdb.npz", fname=path), where)
    rng = np.random.RandomState(seed)
    parts = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        order = np.arange(len(arrays[x_key]))
        rng.shuffle(order)
        parts.append((arrays[x_key][order], arrays[y_key][order]))
    (x_train, y_train), (x_test, y_test) = parts
    x_train, y_train = shorter_than(maxlen, shift(x_train, start_char, index_from), y_train)
    x_test, y_test = shorter_than(maxlen, shift(x_test, start_char, index_from), y_test)
    if maxlen and (not x_train or not x_test):
        raise ValueError(f"{where}: no review is shorter than maxlen={maxlen} in one of the splits; increase maxlen")
    xs = vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    n = len(x_train)
    return (as_objects(xs[:n]), np.asarray(y_train)), (as_objects(xs[n:]), np.asarray(y_test))


def get_word_index(path="imdb_word_index.json"):
    """The dict from word to its index (before `index_from` is added)."""
    with open(fetch("imdb.get_word_index", "imdb_word_index.json", fname=path)) as f:
        return json.load(f)
