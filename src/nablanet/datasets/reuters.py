"""Reuters newswires labelled by topic (46 topics), as word indices."""

import json

import numpy as np

from nablanet.datasets.files import fetch, load_npz
from nablanet.datasets.sequences import as_objects, shift, shorter_than, vocabulary

__all__ = ["get_label_names", "get_word_index", "load_data"]

_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """`(x_train, y_train), (x_test, y_test)`: object arrays of lists of word indices and int topic
    labels, split after Keras's shuffle at `1 - test_split`. The other arguments are imdb's."""
    where = "reuters.load_data"
    arrays = load_npz(fetch(where, "reuters.npz", fname=path), where)
    xs, labels = arrays["x"], arrays["y"]
    order = np.arange(len(xs))
    np.random.RandomState(seed).shuffle(order)
    xs, labels = shorter_than(maxlen, shift(xs[order], start_char, index_from), labels[order])
    xs = vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return ((as_objects(xs[:cut]), np.array(labels[:cut])), (as_objects(xs[cut:]), np.array(labels[cut:])))


def get_word_index(path="reuters_word_index.json"):
    """The dict from word to its index (before `index_from` is added)."""
    with open(fetch("reuters.get_word_index", "reuters_word_index.json", fname=path)) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, indexed by label."""
    return _LABELS
