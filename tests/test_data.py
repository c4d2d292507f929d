"""Data helpers: train_test_split (scikit-learn compatible), to_categorical, normalize."""

import numpy as np
import pytest

from nablanet import utils
from nablanet.data import normalize, to_categorical, train_test_split


def test_split_sizes_follow_scikit_learn():
    sklearn = pytest.importorskip("sklearn.model_selection")
    x = np.arange(103)
    sizes = [{"test_size": 0.2}, {"train_size": 0.5}, {"test_size": 10}, {}, {"test_size": 0.33, "train_size": 0.4}]
    for kwargs in sizes:
        ours = train_test_split(x, **kwargs, random_state=0)
        theirs = sklearn.train_test_split(x, **kwargs, random_state=0)
        assert [len(p) for p in ours] == [len(p) for p in theirs], kwargs


def test_split_keeps_rows_together_and_covers_everything():
    x, y = np.arange(50).reshape(25, 2), np.arange(25)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=1)
    assert np.array_equal(x_train[:, 0] // 2, y_train) and np.array_equal(x_test[:, 0] // 2, y_test)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(25))
    a_train, a_test = train_test_split(np.arange(10), test_size=3, shuffle=False)
    assert a_test.tolist() == [7, 8, 9]


def test_stratify_keeps_class_proportions():
    y = np.array([0] * 80 + [1] * 20)
    _, _, y_train, y_test = train_test_split(np.zeros(100), y, test_size=0.25, random_state=0, stratify=y)
    assert (y_test == 1).sum() == 5 and (y_train == 1).sum() == 15


def test_split_errors():
    with pytest.raises(ValueError, match=r"arrays have different lengths: \[3, 2\]"):
        train_test_split(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"test_size as a fraction must be in \(0, 1\)"):
        train_test_split(np.zeros(3), test_size=1.5)


def test_to_categorical_and_normalize():
    np.testing.assert_array_equal(to_categorical(np.array([[1], [0]])), [[0, 1], [1, 0]])
    assert to_categorical([2, 0, 1], num_classes=4).shape == (3, 4)
    with pytest.raises(ValueError, match="label 3 does not fit num_classes=3"):
        to_categorical([3], num_classes=3)
    np.testing.assert_allclose(normalize(np.array([[3.0, 4.0], [0.0, 0.0]])), [[0.6, 0.8], [0.0, 0.0]])
    assert utils.to_categorical is to_categorical and utils.normalize is normalize
