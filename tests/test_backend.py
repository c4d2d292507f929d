import numpy as np
import pytest

from nablanet import backend, utils


def test_floatx_defaults_to_float32_and_validates():
    assert backend.floatx() == "float32"
    with pytest.raises(ValueError, match=r"set_floatx: expected one of .*got 'float8'"):
        backend.set_floatx("float8")


def test_set_random_seed_makes_the_shared_generator_repeatable():
    utils.set_random_seed(3)
    a = backend.generator().standard_normal(4)
    b = np.random.rand()
    backend.set_random_seed(3)
    np.testing.assert_array_equal(a, backend.generator().standard_normal(4))
    assert np.random.rand() == b


def test_set_random_seed_rejects_bad_seeds():
    with pytest.raises(ValueError, match="non-negative integer, got -1"):
        backend.set_random_seed(-1)


def test_xp_is_numpy():
    assert backend.xp is np
