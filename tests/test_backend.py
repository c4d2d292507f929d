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


def test_malloc_tuning_applies_on_glibc_unless_opted_out():
    import os
    import platform
    import subprocess
    import sys

    def tuned(**env):
        code = "from nablanet import backend; print(backend.MALLOC_TUNED)"
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()

    assert tuned(NABLANET_MALLOC="system") == "False"
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert tuned(NABLANET_MALLOC="") == str(glibc)
