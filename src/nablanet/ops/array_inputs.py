"""How the array ops read their inputs and shape their outputs, the Keras way: Python numbers as
int32/float32, an integer meeting a float as that float, axes checked with the op's name."""

import builtins

import numpy as np

from nablanet import backend
from nablanet.autodiff.ops import cast as _cast
from nablanet.autodiff.tensor import as_array, Tensor


def as_input(x):
    """A Tensor or an array; Python numbers and lists read as Keras reads them (int32, floatx)."""
    if isinstance(x, (Tensor, np.ndarray)):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    a = np.asarray(x)
    if a.dtype == np.int64:
        return a.astype(np.int32)
    if a.dtype == np.float64:
        return a.astype(backend.floatx())
    if a.dtype.kind not in "biufc":
        raise TypeError(f"expected numbers, got {type(x).__name__} of dtype {a.dtype}")
    return a


def untracked(result, *inputs):
    """A result that carries no gradient: a Tensor when any input was one."""
    if builtins.any(isinstance(x, Tensor) for x in inputs):
        if isinstance(result, tuple):
            return tuple(Tensor._wrap(np.asarray(r)) for r in result)
        return Tensor._wrap(np.asarray(result))
    return result


def result_type(*dtypes):
    """The dtype `keras.ops` gives mixed inputs on the torch backend: integers promote as NumPy's do
    (int64 stays int64), a float wins over integers as `backend.result_type` says, and a float64
    input keeps the result float64, as the gradient checks need."""
    dtypes = [np.dtype(d) for d in dtypes]
    if builtins.any(d == np.float64 for d in dtypes):
        return np.dtype(np.float64)
    if builtins.all(d.kind in "biu" for d in dtypes):
        return np.result_type(*dtypes)
    return np.dtype(backend.result_type(*dtypes))


def cast_to(x, dtype):
    return x if x.dtype == dtype else _cast(x, dtype)


def as_numeric(x):
    """A Tensor as it is; anything else as a NumPy array of NumPy's dtype."""
    return x if isinstance(x, Tensor) else np.asarray(x)


def as_floating(x):
    """`x` as a Tensor or array, integers and booleans as floatx, as Keras's float-valued ops read them."""
    x = as_numeric(x)
    return _cast(x, backend.floatx()) if x.dtype.kind in "biu" else x


def data_format(value, name):
    """`value` checked as 'channels_last' or 'channels_first'; None means `backend.image_data_format()`."""
    if value is None:
        return backend.image_data_format()
    checked = str(value).lower()
    if checked not in ("channels_last", "channels_first"):
        raise ValueError(f"{name}: expected data_format 'channels_last' or 'channels_first', got {value!r}")
    return checked


def int_tuple(value, n, name, label):
    """`value` (an int or `n` ints) as a tuple of `n` ints; `label` names the argument in the error."""
    values = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != n:
        raise ValueError(f"{name}: expected {label} as an int or {n} ints, got {value!r}")
    return tuple(int(v) for v in values)


def promoted(*xs):
    xs = [as_input(x) for x in xs]
    dtype = result_type(*[x.dtype for x in xs])
    return [cast_to(x, dtype) for x in xs]


def check_axis(axis, ndim, name):
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < builtins.max(ndim, 1):
        raise ValueError(f"{name}: axis {axis!r} is out of range for an input with {ndim} dimensions")
    return int(axis) % builtins.max(ndim, 1)


def check_axes(axis, ndim, name):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(check_axis(a, ndim, name) for a in axes)


def along(axis, ndim, index):
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def numpy_call(name, function, x, **params):
    try:
        return function(as_array(x), **params)
    except (ValueError, TypeError, IndexError) as error:
        raise type(error)(f"{name}: {error} (input of shape {np.shape(as_array(x))})") from error
