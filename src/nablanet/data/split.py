"""`train_test_split`, compatible with scikit-learn's (without needing it)."""

import math

import numpy as np


def _count(size, n, name):
    if size is None:
        return None
    if isinstance(size, float):
        if not 0 < size < 1:
            raise ValueError(f"train_test_split: {name} as a fraction must be in (0, 1), got {size}")
        return size
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if not 0 < size < n:
            raise ValueError(f"train_test_split: {name}={size} must be between 1 and {n - 1} for {n} samples")
        return int(size)
    raise TypeError(f"train_test_split: {name} must be a float or an int, got {size!r}")


def _sizes(n, test_size, train_size):
    test_size, train_size = _count(test_size, n, "test_size"), _count(train_size, n, "train_size")
    if test_size is None and train_size is None:
        test_size = 0.25
    n_test = math.ceil(test_size * n) if isinstance(test_size, float) else test_size  # None stays None
    n_train = math.floor(train_size * n) if isinstance(train_size, float) else train_size
    n_test = n - n_train if n_test is None else n_test
    n_train = n - n_test if n_train is None else n_train
    if n_train + n_test > n or n_train <= 0 or n_test <= 0:
        raise ValueError(f"train_test_split: train ({n_train}) and test ({n_test}) sizes do not fit {n} samples")
    return n_train, n_test


def _stratified(labels, n_train, n_test, rng):
    classes, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse)
    if counts.min() < 2:
        raise ValueError("train_test_split: stratify needs at least 2 samples of every class")
    test_per_class = np.floor(counts * n_test / len(labels)).astype(int)
    remainder = n_test - test_per_class.sum()  # hand out the rest to the largest fractional parts
    fractions = counts * n_test / len(labels) - test_per_class
    test_per_class[np.argsort(-fractions, kind="stable")[:remainder]] += 1
    train_index, test_index = [], []
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == c))
        test_index.extend(members[:test_per_class[c]])
        train_index.extend(members[test_per_class[c]:])
    train_index = rng.permutation(np.array(train_index))[:n_train]
    return train_index, rng.permutation(np.array(test_index))


def train_test_split(*arrays, test_size=None, train_size=None, random_state=None, shuffle=True,
                     stratify=None):
    """Split arrays into random train and test subsets: returns `[a_train, a_test, b_train, ...]`.

    Args:
        *arrays: Arrays (or lists) with the same first dimension.
        test_size: A fraction in (0, 1) or a count (0.25 when neither size is given).
        train_size: A fraction or a count; by default the complement of the test size.
        random_state: An int seed or a `numpy.random.Generator`.
        shuffle: Shuffle before splitting (else the test set is the tail).
        stratify: Labels whose class proportions both subsets keep.

    Example:
        >>> a_train, a_test = train_test_split(np.arange(10), test_size=0.2, random_state=0)
        >>> len(a_train), len(a_test)
        (8, 2)
    """
    if not arrays:
        raise ValueError("train_test_split: at least one array is required")
    arrays = [np.asarray(a) if isinstance(a, list) else a for a in arrays]
    n = len(arrays[0])
    for a in arrays[1:]:
        if len(a) != n:
            raise ValueError(f"train_test_split: arrays have different lengths: {[len(a) for a in arrays]}")
    n_train, n_test = _sizes(n, test_size, train_size)
    rng = random_state if isinstance(random_state, np.random.Generator) else np.random.default_rng(random_state)
    if stratify is not None:
        if not shuffle:
            raise ValueError("train_test_split: stratify requires shuffle=True")
        train_index, test_index = _stratified(np.asarray(stratify), n_train, n_test, rng)
    elif shuffle:
        order = rng.permutation(n)
        test_index, train_index = order[:n_test], order[n_test:n_test + n_train]
    else:
        train_index, test_index = np.arange(n_train), np.arange(n_train, n_train + n_test)
    return [part for a in arrays for part in (a[train_index], a[test_index])]
