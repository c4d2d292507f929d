"""Keras's array creators: `zeros`, `ones`, `full`, `arange`, `linspace`, `eye`, the window
functions, and the `*_like` family. They return NumPy arrays (Tensors from the `*_like` ones
when given a Tensor), carry no gradient, and default to Keras's dtypes: floatx for floats,
int32 for integer ranges.

>>> ops.arange(3), ops.zeros((2,)).dtype
(array([0, 1, 2], dtype=int32), dtype('float32'))
"""

import numpy as np

from nablanet import backend
from nablanet.autodiff import Tensor, as_array

__all__ = [
    "arange", "array", "bartlett", "blackman", "empty", "empty_like", "eye", "full", "full_like", "geomspace",
    "hamming", "hanning", "identity", "kaiser", "linspace", "logspace", "ones", "ones_like", "tri", "zeros",
    "zeros_like",
]


def _dtype(dtype, default=None):
    name = backend.standardize_dtype(dtype if dtype is not None else default)
    if name in ("bfloat16", "string") or name.startswith("float8"):
        raise TypeError(f"expected a dtype NumPy can hold, got {name!r}")
    return name


def _value_dtype(*values):
    """int32 for Python/NumPy integers, floatx for floats, bool for booleans (as Keras infers)."""
    kinds = {np.asarray(as_array(v)).dtype.kind for v in values if v is not None}
    if "c" in kinds:
        return "complex64"
    if "f" in kinds:
        return backend.floatx()
    if kinds & {"i", "u"}:
        return "int32"
    return "bool" if kinds else backend.floatx()


def _like(x, array):
    return Tensor._wrap(array) if isinstance(x, Tensor) else array


def _data(x):
    """The array behind `x`; Python lists and numbers in Keras's dtypes (int32, floatx)."""
    if isinstance(x, (Tensor, np.ndarray, np.generic)):
        return np.asarray(as_array(x))
    data = np.asarray(x)
    return data.astype(_value_dtype(data)) if data.dtype.kind in "biuf" else data


def _shape(name, shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape):
        raise ValueError(f"{name}: expected a shape of non-negative integers, got {shape}")
    return shape


def zeros(shape, dtype=None):
    """An array of zeros (floatx unless `dtype`)."""
    return np.zeros(_shape("zeros", shape), _dtype(dtype))


def ones(shape, dtype=None):
    """An array of ones (floatx unless `dtype`)."""
    return np.ones(_shape("ones", shape), _dtype(dtype))


def empty(shape, dtype=None):
    """An uninitialised array (floatx unless `dtype`)."""
    return np.empty(_shape("empty", shape), _dtype(dtype))


def full(shape, fill_value, dtype=None):
    """An array filled with `fill_value` (floatx unless `dtype`, as in Keras, even for integers).

    >>> ops.full((2,), 7)
    array([7., 7.], dtype=float32)
    """
    return np.full(_shape("full", shape), as_array(fill_value), _dtype(dtype))


def zeros_like(x, dtype=None):
    """Zeros with the shape of `x`, in its dtype unless `dtype`."""
    array = _data(x)
    return _like(x, np.zeros_like(array, dtype=None if dtype is None else _dtype(dtype)))


def ones_like(x, dtype=None):
    """Ones with the shape of `x`, in its dtype unless `dtype`."""
    array = _data(x)
    return _like(x, np.ones_like(array, dtype=None if dtype is None else _dtype(dtype)))


def empty_like(x, dtype=None):
    """An uninitialised array with the shape of `x`, in its dtype unless `dtype`."""
    array = _data(x)
    return _like(x, np.empty_like(array, dtype=None if dtype is None else _dtype(dtype)))


def full_like(x, fill_value, dtype=None):
    """`fill_value` with the shape of `x`, in its dtype unless `dtype`."""
    array = _data(x)
    return _like(x, np.full_like(array, as_array(fill_value), dtype=None if dtype is None else _dtype(dtype)))


def array(x, dtype=None):
    """`x` as an array; Python ints become int32 and floats floatx, as in Keras."""
    data = np.array(_data(x))
    return data if dtype is None else data.astype(_dtype(dtype))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in `[start, stop)`; int32 for integer arguments, else floatx.

    >>> ops.arange(1, 2, 0.25)
    array([1.  , 1.25, 1.5 , 1.75], dtype=float32)
    """
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    if step == 0:
        raise ValueError("arange: expected a nonzero step, got 0")
    return np.arange(start, stop, step).astype(_dtype(dtype, _value_dtype(start, stop, step)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` (floatx unless `dtype`)."""
    out = np.linspace(as_array(start), as_array(stop), num, endpoint=endpoint, retstep=retstep, axis=axis)
    dtype = _dtype(dtype)
    if retstep:
        return out[0].astype(dtype), out[1]
    return out.astype(dtype)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`base ** linspace(start, stop, num)` (floatx unless `dtype`)."""
    out = np.logspace(as_array(start), as_array(stop), num, endpoint=endpoint, base=base, axis=axis)
    return out.astype(_dtype(dtype))


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values from `start` to `stop` spaced evenly on a log scale (floatx unless `dtype`)."""
    out = np.geomspace(as_array(start), as_array(stop), num, endpoint=endpoint, axis=axis)
    return out.astype(_dtype(dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803 -- Keras's argument names
    """A 2-D array with ones on the `k`-th diagonal (floatx unless `dtype`)."""
    return np.eye(N, M, k, dtype=_dtype(dtype))


def identity(n, dtype=None):
    """The `n` by `n` identity (floatx unless `dtype`)."""
    return np.identity(n, dtype=_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):  # noqa: N803 -- Keras's argument names
    """Ones at and below the `k`-th diagonal (floatx unless `dtype`)."""
    return np.tri(N, M, k, dtype=_dtype(dtype))


def _window(name, numpy_function, x, *args):
    if not isinstance(x, (int, np.integer)) and np.ndim(as_array(x)) != 0:
        raise ValueError(f"{name}: expected a window length (an integer), got {x!r}")
    return numpy_function(int(as_array(x)), *args).astype(backend.floatx())


def bartlett(x):
    """The Bartlett (triangular) window of length `x`."""
    return _window("bartlett", np.bartlett, x)


def blackman(x):
    """The Blackman window of length `x`."""
    return _window("blackman", np.blackman, x)


def hamming(x):
    """The Hamming window of length `x`."""
    return _window("hamming", np.hamming, x)


def hanning(x):
    """The Hann window of length `x`."""
    return _window("hanning", np.hanning, x)


def kaiser(x, beta):
    """The Kaiser window of length `x` with shape parameter `beta`."""
    return _window("kaiser", np.kaiser, x, float(as_array(beta)))
