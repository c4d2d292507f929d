"""The array module, the float policy and the shared random generator.

Every op reaches its arrays through `xp`, so the same code can later run on CuPy by swapping
this one name. Layers create weights in `floatx()` (float32 unless changed, as in Keras); the
autodiff core keeps whatever dtype it is given, so gradient checks run in float64.
"""

import numpy as np

xp = np  # the array module: NumPy now, CuPy on a GPU later

_FLOAT_TYPES = ("float16", "float32", "float64")
_floatx = ["float32"]
_generator = [np.random.default_rng()]


def floatx():
    """Return the default float type as a string.

    >>> floatx()
    'float32'
    """
    return _floatx[0]


def set_floatx(value):
    """Set the default float type: one of 'float16', 'float32', 'float64'.

    >>> set_floatx("float64"); floatx()
    'float64'
    >>> set_floatx("float32")
    """
    if value not in _FLOAT_TYPES:
        raise ValueError(f"set_floatx: expected one of {_FLOAT_TYPES}, got {value!r}")
    _floatx[0] = str(value)


def set_random_seed(seed):
    """Seed the one generator that every random op in nablanet draws from.

    Also seeds NumPy's legacy global state, as Keras does, so user code calling
    `np.random.*` is reproducible too.

    >>> set_random_seed(0); a = generator().standard_normal(2)
    >>> set_random_seed(0); bool((a == generator().standard_normal(2)).all())
    True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: expected a non-negative integer, got {seed!r}")
    _generator[0] = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)


def generator():
    """Return the shared `numpy.random.Generator`."""
    return _generator[0]
