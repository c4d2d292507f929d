"""The ops: NumPy / `keras.ops` names and signatures, on Tensors and on plain arrays.

On Tensors an op returns a Tensor and records itself when a gradient is needed; on plain
arrays it is plain NumPy and returns an array.
"""

import difflib

import numpy as np

from nablanet.autodiff import tensor as _tensor
from nablanet.autodiff.ops.composite import log_softmax, square
from nablanet.autodiff.ops.linalg import matmul
from nablanet.autodiff.ops.math import (
    abs, add, clip, cos, divide, equal, erf, exp, expm1, greater, greater_equal, isfinite, isnan, less,
    leaky_relu, less_equal, log, log1p, logical_and, logical_not, logical_or, maximum, minimum, multiply,
    negative, not_equal, power, relu, sigmoid, sign, sin, softplus, sqrt, subtract, tanh, where,
)
from nablanet.autodiff.ops import (  # noqa: F401 -- register their primitives
    attention as _attention, crossentropy as _crossentropy, ctc as _ctc, fft as _fft, rnn as _rnn, special as _special,
)
from nablanet.autodiff.ops.nn import average_pool, conv2d, dense, max_pool, mean_squared_error
from nablanet.autodiff.ops.reduce import logsumexp, max, mean, min, prod, softmax, std, sum, var
from nablanet.autodiff.ops.shape import (
    broadcast_to, cast, concatenate, expand_dims, gather, getitem, one_hot, ones_like, pad,
    reshape, split, squeeze, stack, swapaxes, take, take_along_axis, transpose, zeros_like,
)

__all__ = [
    "abs", "add", "average_pool", "broadcast_to", "cast", "clip", "concatenate", "conv2d", "cos",
    "dense", "divide", "equal", "erf", "exp", "expm1", "expand_dims", "gather", "getitem", "greater",
    "greater_equal", "isfinite", "isnan", "leaky_relu", "less", "less_equal", "log", "log1p",
    "log_softmax", "logical_and", "logical_not", "logical_or", "logsumexp", "matmul", "max", "max_pool",
    "maximum", "mean", "mean_squared_error", "min", "minimum", "multiply", "negative", "not_equal",
    "one_hot", "ones_like", "pad", "power", "prod", "relu", "reshape", "sigmoid", "sign", "sin",
    "softmax", "softplus", "split", "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum",
    "swapaxes", "take", "take_along_axis", "tanh", "transpose", "var", "where", "zeros_like",
]

_tensor.UFUNCS.update({
    np.add: add, np.subtract: subtract, np.multiply: multiply, np.divide: divide,
    np.negative: negative, np.power: power, np.exp: exp, np.expm1: expm1, np.log: log, np.log1p: log1p,
    np.sqrt: sqrt, np.absolute: abs, np.sign: sign, np.sin: sin, np.cos: cos, np.tanh: tanh,
    np.maximum: maximum, np.minimum: minimum, np.matmul: matmul, np.square: square,
    np.equal: equal, np.not_equal: not_equal, np.less: less, np.less_equal: less_equal,
    np.greater: greater, np.greater_equal: greater_equal, np.logical_and: logical_and,
    np.logical_or: logical_or, np.logical_not: logical_not, np.isfinite: isfinite,
    np.isnan: isnan,
})
_tensor.FUNCTIONS.update({
    np.sum: sum, np.mean: mean, np.max: max, np.min: min, np.prod: prod, np.var: var,
    np.std: std, np.reshape: reshape, np.transpose: transpose, np.swapaxes: swapaxes,
    np.expand_dims: expand_dims, np.squeeze: squeeze, np.concatenate: concatenate,
    np.stack: stack, np.split: split, np.take: take, np.take_along_axis: take_along_axis,
    np.pad: pad, np.where: lambda c, *xy: where(c, *xy) if xy else np.nonzero(_tensor.as_array(c)),
    np.clip: clip, np.broadcast_to: broadcast_to,
    np.zeros_like: zeros_like, np.ones_like: ones_like, np.matmul: matmul,
    np.shape: lambda x: x.shape, np.ndim: lambda x: x.ndim, np.size: lambda x: x.size,
    np.result_type: lambda *xs: np.result_type(*[getattr(x, "dtype", x) for x in xs]),
})


def __getattr__(name):
    close = difflib.get_close_matches(name, __all__, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise AttributeError(f"nablanet.ops: there is no op named {name!r}.{hint} See nablanet.ops.__all__.")
