"""`keras.ops.nn`: activations, convolutions, pooling, normalization, losses and attention.

Activations and normalizations here are composites of differentiable primitives, so second
derivatives work; convolutions and pooling (`nn_conv`) ride on the fused first-order kernels;
attention and CTC live in `nn_sequence`. Integer inputs become `floatx()` where Keras's result is
a float; `relu`, `relu6` and `hard_tanh` keep them integral, as Keras does on torch.

>>> from nablanet.ops import nn
>>> nn.relu6(np.array([-1.0, 3.0, 8.0]))
array([0., 3., 6.])
"""

import math
import warnings

import numpy as np

from nablanet import backend
from nablanet.autodiff import ops as _ops
from nablanet.autodiff.ops import crossentropy as _xent
from nablanet.autodiff.primitive import in_transform
from nablanet.autodiff.tensor import Tensor, as_array
from nablanet.ops.nn_conv import (
    adaptive_average_pool, adaptive_max_pool, average_pool, conv, conv_transpose, depth_to_space, depthwise_conv,
    fold, max_pool, separable_conv, space_to_depth, unfold,
)
from nablanet.ops.nn_sequence import ctc_decode, ctc_loss, dot_product_attention

__all__ = [
    "adaptive_average_pool", "adaptive_max_pool", "average_pool", "batch_normalization", "binary_crossentropy",
    "categorical_crossentropy", "celu", "conv", "conv_transpose", "ctc_decode", "ctc_loss", "depth_to_space",
    "depthwise_conv", "dot_product_attention", "elu", "fold", "gelu", "glu", "hard_shrink", "hard_sigmoid",
    "hard_silu", "hard_swish", "hard_tanh", "layer_normalization", "leaky_relu", "log_sigmoid", "log_softmax",
    "max_pool", "moments", "multi_hot", "normalize", "one_hot", "polar", "psnr", "relu", "relu6",
    "rms_normalization", "selu", "separable_conv", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "space_to_depth", "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid", "sparsemax",
    "squareplus", "swish", "tanh_shrink", "threshold", "unfold",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _floating(x):
    """`x` as an array or Tensor of a float dtype: integers and booleans become `floatx()`."""
    if not isinstance(x, Tensor):
        x = np.asarray(x)
    if x.dtype.kind == "f":  # np.issubdtype costs more than the op itself on small arrays
        return x
    return _ops.cast(x, backend.floatx())


def _numeric(x):
    return x if isinstance(x, Tensor) else np.asarray(x)


# -- activations -----------------------------------------------------------------------------------


def relu(x):
    """`max(x, 0)`; the gradient at 0 is 0."""
    return _ops.relu(_numeric(x))


def relu6(x):
    """`min(max(x, 0), 6)`; the gradient at both kinks is 0, as torch's."""
    x = _numeric(x)
    return _ops.where(x >= 6, 6, _ops.relu(x))


def sigmoid(x):
    """`1 / (1 + exp(-x))`."""
    return _ops.sigmoid(_floating(x))


def softplus(x):
    """`log(1 + exp(x))`, stable in both tails."""
    return _ops.softplus(_floating(x))


def softsign(x):
    """`x / (1 + |x|)`."""
    x = _floating(x)
    return x / (1 + _ops.abs(x))


def silu(x):
    """`x * sigmoid(x)` (also called swish)."""
    x = _floating(x)
    return x * _ops.sigmoid(x)


def swish(x):
    """`x * sigmoid(x)`: the same function as `silu`."""
    return silu(x)


def log_sigmoid(x):
    """`log(sigmoid(x)) = -softplus(-x)`, stable for large `|x|`."""
    return -_ops.softplus(-_floating(x))


def leaky_relu(x, negative_slope=0.2):
    """`x` where `x > 0`, else `negative_slope * x`."""
    return _ops.leaky_relu(_floating(x), negative_slope=negative_slope)


def _negative_part(x):
    return _ops.where(x > 0, 0, x)  # keeps exp's input <= 0, so the untaken branch cannot overflow


def elu(x, alpha=1.0):
    """`x` where `x > 0`, else `alpha * (exp(x) - 1)`."""
    x = _floating(x)
    return _ops.where(x > 0, x, alpha * _ops.expm1(_negative_part(x)))


def selu(x):
    """`scale * elu(x, alpha)` with the self-normalizing constants of Klambauer et al. (2017)."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def celu(x, alpha=1.0):
    """`max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    x = _floating(x)
    return _ops.where(x > 0, x, alpha * _ops.expm1(_negative_part(x) / alpha))


def gelu(x, approximate=True):
    """`x * Phi(x)`: with `approximate`, the tanh form `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`."""
    x = _floating(x)
    if approximate:
        return 0.5 * x * (1 + _ops.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + _ops.erf(x / math.sqrt(2)))


def glu(x, axis=-1):
    """Gated linear unit: split `x` in two halves `a, b` along `axis`; `a * sigmoid(b)`."""
    x = _floating(x)
    n = np.shape(as_array(x))[axis] if np.ndim(as_array(x)) else 0
    if n % 2:
        raise ValueError(f"glu: expected an even length along axis {axis}, got shape {np.shape(as_array(x))}")
    a, b = _ops.split(x, 2, axis=axis)
    return a * _ops.sigmoid(b)


def hard_sigmoid(x):
    """`relu6(x + 3) / 6`."""
    return relu6(_floating(x) + 3) / 6


def hard_silu(x):
    """`x * relu6(x + 3) / 6` (also called hard swish)."""
    x = _floating(x)
    return x * hard_sigmoid(x)


def hard_swish(x):
    """`x * relu6(x + 3) / 6`: the same function as `hard_silu`."""
    return hard_silu(x)


def hard_tanh(x):
    """`x` clipped to `[-1, 1]`; the gradient at the kinks is 0, as torch's."""
    x = _numeric(x)
    return _ops.where(x >= 1, 1, _ops.where(x <= -1, -1, x))


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    x = _floating(x)
    return _ops.where(_ops.abs(x) <= threshold, 0, x)  # NaN stays NaN


def soft_shrink(x, threshold=0.5):
    """`x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0."""
    x = _floating(x)
    return _ops.where(x > threshold, x - threshold, _ops.where(x < -threshold, x + threshold, 0 * x))  # NaN stays


def tanh_shrink(x):
    """`x - tanh(x)`."""
    x = _floating(x)
    return x - _ops.tanh(x)


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    x = _numeric(x)
    return _ops.where(x > threshold, x, default_value)


def squareplus(x, b=4):
    """`(x + sqrt(x^2 + b)) / 2`, a smooth relu."""
    x = _floating(x)
    return (x + _ops.sqrt(x * x + b)) / 2


def sparse_plus(x):
    """0 for `x <= -1`, `x` for `x >= 1`, `(x + 1)^2 / 4` between."""
    x = _floating(x)
    return _ops.where(x <= -1, 0, _ops.where(x < 1, 0.25 * _ops.square(x + 1), x))


def sparse_sigmoid(x):
    """0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` between."""
    x = _floating(x)
    return _ops.where(x <= -1, 0, _ops.where(x >= 1, 1, 0.5 * (x + 1)))


def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis` (an int, a tuple, or None for all axes)."""
    x = _floating(x)
    axis = tuple(range(np.ndim(as_array(x)))) if axis is None else axis
    return _ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """`x - logsumexp(x)` along `axis`, stable for large inputs."""
    x = _floating(x)
    axis = tuple(range(np.ndim(as_array(x)))) if axis is None else axis
    return _ops.log_softmax(x, axis=axis)


def sparsemax(x, axis=-1):
    """Sparsemax along `axis`: `max(x - tau, 0)`, with Keras's threshold `tau`.

    With the values sorted in decreasing order, `c` their running sums and `k` the size of the
    support `{i : x_(i) > (c_i - 1) / i}`, Keras takes `tau = (sum of c_i over the support - 1) / k`
    (Martins & Astudillo, 2016, take `(c_k - 1) / k`; the two agree when `k = 1`). The support is
    held fixed, so `tau`, a weighted sum of `x`, is differentiable.
    """
    x = _floating(x)
    data = np.asarray(as_array(x))
    axis = axis % data.ndim
    order = np.argsort(-data, axis=axis, kind="stable")
    ranked = np.take_along_axis(data, order, axis=axis)
    rank = np.arange(1, data.shape[axis] + 1).reshape([-1 if a == axis else 1 for a in range(data.ndim)])
    in_support = ranked - (np.cumsum(ranked, axis=axis) - 1) / rank > 0
    size = np.sum(in_support, axis=axis, keepdims=True)
    weights = np.zeros(data.shape, dtype=data.dtype)  # how often each value enters the summed running sums
    np.put_along_axis(weights, order, np.where(in_support, size - rank + 1, 0).astype(data.dtype), axis=axis)
    tau = (_ops.sum(x * weights, axis=axis, keepdims=True) - 1) / size.astype(data.dtype)
    return _ops.relu(x - tau)


# -- normalization ---------------------------------------------------------------------------------


def _axes(axes, ndim, name):
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {a} is out of range for an input with {ndim} dimensions")
    return tuple(sorted(int(a) % ndim for a in axes))


def moments(x, axes, keepdims=False, synchronized=False):
    """The mean and variance of `x` over `axes`, as `(mean, variance)`."""
    if synchronized:
        raise NotImplementedError("moments: synchronized=True needs a distribution strategy; nablanet has none")
    x = _floating(x)
    axes = _axes(axes, np.ndim(as_array(x)), "moments")
    mean = _ops.mean(x, axis=axes, keepdims=True)
    variance = _ops.mean(_ops.square(x - mean), axis=axes, keepdims=True)
    if not keepdims:
        mean, variance = _ops.squeeze(mean, axis=axes), _ops.squeeze(variance, axis=axes)
    return mean, variance


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, the statistics laid along `axis`."""
    x = _floating(x)
    ndim = np.ndim(as_array(x))
    (axis,) = _axes(axis, ndim, "batch_normalization")
    shape = [1] * ndim
    shape[axis] = np.shape(as_array(x))[axis]

    def along(v):
        v = _numeric(v)
        return _ops.reshape(v, tuple(shape)) if np.ndim(as_array(v)) == 1 and ndim > 1 else v

    inverse = 1 / _ops.sqrt(along(variance) + epsilon)
    if scale is not None:
        inverse = inverse * along(scale)
    out = (x - along(mean)) * inverse
    return out if offset is None else out + along(offset)


def _statistics_shape(x, axes):
    shape = [1] * np.ndim(as_array(x))
    for a in axes:
        shape[a] = np.shape(as_array(x))[a]
    return tuple(shape)


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`, the statistics taken over `axis`.

    `rms_scaling=True` (a keyword Keras accepts) divides by `sqrt(var + epsilon)` only and skips `beta`.
    """
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected keyword arguments {sorted(kwargs)}")
    if rms_scaling:
        warnings.warn("layer_normalization: rms_scaling=True is deprecated in Keras (it divides by the standard "
                      "deviation, not the root mean square); use rms_normalization", UserWarning, stacklevel=2)
    epsilon = backend.epsilon() if epsilon is None else epsilon
    x = _floating(x)
    axes = _axes(axis, np.ndim(as_array(x)), "layer_normalization")
    shape = _statistics_shape(x, axes)
    mean, variance = moments(x, axes, keepdims=True)
    inverse = 1 / _ops.sqrt(variance + epsilon)
    if gamma is not None:
        inverse = inverse * _ops.reshape(_numeric(gamma), shape)
    if rms_scaling:
        return x * inverse
    out = (x - mean) * inverse
    return out if beta is None else out + _ops.reshape(_numeric(beta), shape)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """`x / sqrt(mean(x^2) + epsilon) * scale`, the mean taken over `axis`."""
    epsilon = backend.epsilon() if epsilon is None else epsilon
    x = _floating(x)
    if np.ndim(as_array(x)) == 0:
        x = _ops.expand_dims(x, 0)
    axes = _axes(axis, np.ndim(as_array(x)), "rms_normalization")
    out = x / _ops.sqrt(_ops.mean(_ops.square(x), axis=axes, keepdims=True) + epsilon)
    return out if scale is None else out * _ops.reshape(_numeric(scale), _statistics_shape(x, axes))


def normalize(x, axis=-1, order=2, epsilon=None):
    """`x / max(norm(x), epsilon)`, the `order`-norm taken along `axis`."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: expected an integer order >= 1, got {order!r}")
    epsilon = backend.epsilon() if epsilon is None else epsilon
    x = _floating(x)
    if np.ndim(as_array(x)) == 0:
        x = _ops.expand_dims(x, 0)
    if order == 2:
        norm = _ops.sqrt(_ops.sum(_ops.square(x), axis=axis, keepdims=True))
    elif order == 1:
        norm = _ops.sum(_ops.abs(x), axis=axis, keepdims=True)
    else:
        norm = _ops.sum(_ops.abs(x) ** order, axis=axis, keepdims=True) ** (1 / order)
    return x / _ops.maximum(norm, epsilon)


# -- losses and encodings --------------------------------------------------------------------------


def _same_shape(target, output, name):
    if np.shape(as_array(target)) != np.shape(as_array(output)):
        raise ValueError(f"{name}: expected target and output of the same shape, got "
                         f"{np.shape(as_array(target))} and {np.shape(as_array(output))}")


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise `-(t log p + (1 - t) log(1 - p))`; `p` clipped to `[epsilon, 1 - epsilon]`."""
    target, output = _floating(target), _floating(output)
    _same_shape(target, output, "binary_crossentropy")
    target = _ops.cast(target, as_array(output).dtype)
    if from_logits:  # log p = -softplus(-z), log(1 - p) = -softplus(z): exact in both tails
        return target * _ops.softplus(-output) + (1 - target) * _ops.softplus(output)
    eps = backend.epsilon()
    output = _ops.clip(output, eps, 1 - eps)
    return -(target * _ops.log(output) + (1 - target) * _ops.log(1 - output))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """`-sum(t * log p)` along `axis`; probabilities are renormalized and clipped to `[epsilon, 1 - epsilon]`."""
    target, output = _floating(target), _floating(output)
    _same_shape(target, output, "categorical_crossentropy")
    if np.ndim(as_array(output)) < 1:
        raise ValueError("categorical_crossentropy: expected target and output of rank >= 1, got scalars")
    target = _ops.cast(target, as_array(output).dtype)
    if from_logits:
        log_p = _ops.log_softmax(output, axis=axis)
    else:
        eps = backend.epsilon()
        log_p = _ops.log(_ops.clip(output / _ops.sum(output, axis=axis, keepdims=True), eps, 1 - eps))
    return -_ops.sum(target * log_p, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """`-log p[target]` along `axis`, for integer class indices `target`."""
    output = _floating(output)
    labels = np.asarray(as_array(target)).astype(np.int64)
    out_shape = np.shape(as_array(output))
    if len(out_shape) < 1:
        raise ValueError("sparse_categorical_crossentropy: expected an output of rank >= 1, got a scalar")
    if labels.ndim == len(out_shape) and labels.shape[axis] == 1:
        labels = np.squeeze(labels, axis=axis)
    expected = out_shape[:axis % len(out_shape)] + out_shape[axis % len(out_shape) + 1:]
    if labels.shape != expected:
        raise ValueError(f"sparse_categorical_crossentropy: expected target of shape {expected} for output of "
                         f"shape {out_shape}, got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= out_shape[axis]):
        raise ValueError(f"sparse_categorical_crossentropy: expected class indices in [0, {out_shape[axis]}), got "
                         f"values from {labels.min()} to {labels.max()}")
    if from_logits and axis in (-1, len(out_shape) - 1) and not in_transform():  # the fused first-order kernel
        return _xent.sparse_softmax_cross_entropy_op(output, labels=labels)
    if from_logits:
        log_p = _ops.log_softmax(output, axis=axis)
    else:
        eps = backend.epsilon()
        log_p = _ops.log(_ops.clip(output / _ops.sum(output, axis=axis, keepdims=True), eps, 1 - eps))
    picked = _ops.take_along_axis(log_p, np.expand_dims(labels, axis % len(out_shape)), axis=axis)
    return -_ops.squeeze(picked, axis=axis % len(out_shape))


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encode class indices along a new `axis`; negative indices give zero rows.

    Float indices are truncated toward zero, as Keras casts them. The result carries no gradient.

    >>> one_hot(np.array([0, 2]), 3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported; nablanet has no sparse tensors")
    labels = np.asarray(as_array(x))
    if not (np.issubdtype(labels.dtype, np.number) or labels.dtype == bool):
        raise TypeError(f"one_hot: expected numeric class indices, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    if labels.size and labels.max() >= num_classes:  # an error on torch; a negative index gives zeros there too
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}) (negative ones give zero rows), got "
                         f"{labels.max()}")
    out = (labels[..., None] == np.arange(num_classes)).astype(dtype or backend.floatx())
    ndim = out.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"one_hot: axis {axis} is out of range for an output with {ndim} dimensions")
    out = np.moveaxis(out, -1, axis)
    return Tensor._wrap(out) if isinstance(x, Tensor) else out


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encode: 1 at every class index a sample holds (the last axis of a batch of index lists)."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)  # Keras's older name for it
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword arguments {sorted(kwargs)}")
    if num_classes is None:
        raise ValueError("multi_hot: expected num_classes, got None")
    labels = np.asarray(as_array(inputs))
    encoded = one_hot(labels, num_classes, axis=axis, dtype=dtype, sparse=sparse)
    out = np.max(encoded, axis=1 if labels.ndim > 1 else 0)
    return Tensor._wrap(out) if isinstance(inputs, Tensor) else out


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio: `20 log10(max_val) - 10 log10(mean((x1 - x2)^2))`."""
    x1, x2 = _floating(x1), _floating(x2)
    _same_shape(x1, x2, "psnr")
    mse = _ops.mean(_ops.square(x1 - x2))
    return 20 * math.log10(max_val) - 10 * _ops.log(mse) / math.log(10)


def polar(abs_, angle):
    """The complex number `abs_ * (cos(angle) + i sin(angle))`; carries no gradient (nablanet is real-valued)."""
    magnitude, phase = np.asarray(as_array(abs_)), np.asarray(as_array(angle))
    out = magnitude * np.cos(phase) + 1j * (magnitude * np.sin(phase))
    out = out.astype(np.result_type(magnitude.dtype, phase.dtype, np.complex64))
    return Tensor._wrap(out) if isinstance(abs_, Tensor) or isinstance(angle, Tensor) else out
