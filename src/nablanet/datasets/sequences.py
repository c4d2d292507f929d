"""The word-index sequences of IMDB and Reuters: Keras's offsets, length filter and vocabulary cut."""

import numpy as np

__all__ = ["as_objects", "shift", "shorter_than", "vocabulary"]


def shift(xs, start_char, index_from):
    """Lists of word indices moved up by `index_from`, each after a `start_char` unless it is None."""
    head = [] if start_char is None else [start_char]
    return [head + [int(w) + index_from for w in x] for x in xs]


def shorter_than(maxlen, xs, labels):
    """The sequences (and their labels) shorter than `maxlen`; all when `maxlen` is None or 0."""
    if not maxlen:
        return xs, labels
    keep = [k for k, x in enumerate(xs) if len(x) < maxlen]
    return [xs[k] for k in keep], np.asarray(labels)[keep]


def vocabulary(xs, num_words, skip_top, oov_char):
    """Indices outside `[skip_top, num_words)` replaced by `oov_char` (removed when it is None);
    `num_words` defaults to the largest index, which falls outside too, as in Keras."""
    if not num_words:
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def as_objects(lists):
    """A 1-D object array of lists, as Keras returns (never 2-D, even when the lengths agree)."""
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out
