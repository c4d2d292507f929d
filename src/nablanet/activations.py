"""Activation functions under Keras's names, composed from differentiable ops.

Each takes a Tensor (or array) and returns one of the same shape. `get` resolves the names a
layer's `activation=` argument accepts.

>>> relu(np.array([-1.0, 2.0]))
array([0., 2.])
"""

from nablanet import ops, serialization
from nablanet.names import unknown
from nablanet.ops.nn import SELU_ALPHA, SELU_SCALE  # noqa: F401  (the ONNX exporter reads them here)



def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """`max(x, 0)`; below `threshold` the slope is `negative_slope`; capped at `max_value`."""
    if negative_slope == 0 and max_value is None and threshold == 0:
        return ops.relu(x)
    if threshold != 0:
        positive = ops.where(x > threshold, x, 0 * x)
        negative = ops.relu(threshold - x)
    else:
        positive, negative = ops.relu(x), ops.relu(-x)
    if max_value is not None:
        positive = ops.clip(positive, 0, max_value)
    return positive - negative_slope * negative if negative_slope else positive


def leaky_relu(x, negative_slope=0.2):
    """`x` for `x > 0`, else `negative_slope * x`."""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def relu6(x):
    """`min(max(x, 0), 6)`."""
    return ops.relu6(x)


def elu(x, alpha=1.0):
    """`x` for `x > 0`, else `alpha * (exp(x) - 1)` (Clevert et al., 2016)."""
    return ops.elu(x, alpha=alpha)


def selu(x):
    """`scale * elu(x, alpha)` with the self-normalizing constants of Klambauer et al. (2017)."""
    return ops.selu(x)


def softplus(x):
    """`log(1 + exp(x))`, stable for large `|x|`."""
    return ops.softplus(x)


def softsign(x):
    """`x / (1 + |x|)`."""
    return ops.softsign(x)


def silu(x):
    """`x * sigmoid(x)` (also called swish)."""
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    """`x * Phi(x)`, Phi the standard normal CDF (Hendrycks & Gimpel, 2016).

    Exact: `0.5 * x * (1 + erf(x / sqrt(2)))`. Approximate: the tanh form
    `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))`.
    """
    return ops.gelu(x, approximate=approximate)


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


def sigmoid(x):
    """`1 / (1 + exp(-x))`."""
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """`relu6(x + 3) / 6`: a piecewise-linear sigmoid."""
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """`x * hard_sigmoid(x)` (also called hard_swish)."""
    return ops.hard_silu(x)


hard_swish = hard_silu


def exponential(x):
    """`exp(x)`."""
    return ops.exp(x)


def linear(x):
    """The identity."""
    return x


def mish(x):
    """`x * tanh(softplus(x))` (Misra, 2019)."""
    return x * ops.tanh(ops.softplus(x))


def log_sigmoid(x):
    """`log(sigmoid(x)) = -softplus(-x)`, stable for large `|x|`."""
    return ops.log_sigmoid(x)


def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis`, computed from a shifted logsumexp."""
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """`x - logsumexp(x)` along `axis`."""
    return ops.log_softmax(x, axis=axis)


def celu(x, alpha=1.0):
    """`x` for `x > 0`, else `alpha * (exp(x / alpha) - 1)` (Barron, 2017)."""
    return ops.celu(x, alpha=alpha)


def glu(x, axis=-1):
    """Gated linear unit: `x` split in halves `a, b` along `axis`, `a * sigmoid(b)`."""
    return ops.glu(x, axis=axis)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    return ops.hard_shrink(x, threshold=threshold)


def hard_tanh(x):
    """`x` clipped to `[-1, 1]`."""
    return ops.hard_tanh(x)


def soft_shrink(x, threshold=0.5):
    """`x` moved `threshold` toward 0, and 0 where `|x| <= threshold`."""
    return ops.soft_shrink(x, threshold=threshold)


def sparse_plus(x):
    """0 below -1, `(x + 1) ** 2 / 4` on `[-1, 1]`, `x` above 1: a smooth-ish relu."""
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """0 below -1, `(x + 1) / 2` on `[-1, 1]`, 1 above 1."""
    return ops.sparse_sigmoid(x)


def sparsemax(x, axis=-1):
    """The Euclidean projection of `x` onto the probability simplex along `axis` (Martins & Astudillo, 2016)."""
    return ops.sparsemax(x, axis=axis)


def squareplus(x, b=4):
    """`(x + sqrt(x ** 2 + b)) / 2`: a smooth relu (So, 2021)."""
    return ops.squareplus(x, b=b)


def tanh_shrink(x):
    """`x - tanh(x)`."""
    return ops.tanh_shrink(x)


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    return ops.threshold(x, threshold, default_value)


ALL = {fn.__name__: fn for fn in (
    relu, leaky_relu, relu6, elu, selu, softplus, softsign, silu, gelu, tanh, sigmoid,
    hard_sigmoid, hard_silu, exponential, linear, mish, log_sigmoid, softmax, log_softmax,
    celu, glu, hard_shrink, hard_tanh, soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
    tanh_shrink, threshold,
)}
ALL.update(swish=silu, hard_swish=hard_silu)
serialization.register_table("activations", ALL, "keras.activations")


def get(identifier):
    """The activation for a name, a callable (returned as is) or None (linear).

    >>> get("tanh") is tanh
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier in ALL:
            return ALL[identifier]
        found = serialization.get_registered_object(identifier)
        if found is not None:
            return found
        raise unknown("activations.get", "activation", identifier, ALL, listed=sorted(ALL))
    if isinstance(identifier, dict) and "class_name" in identifier:  # a serialized layer or fn
        return serialization.deserialize(identifier, kind="activations")
    if callable(identifier):
        return identifier
    raise TypeError(f"activations.get: expected a name, a callable or None, got {identifier!r}")


def serialize(activation):
    """The name of a built-in activation (what `get_config` stores); a registered one's config."""
    for name, fn in ALL.items():
        if fn is activation:
            return name
    if serialization.get_registered_name(activation) != getattr(activation, "__name__", None) or \
            hasattr(activation, "get_config"):
        return serialization.serialize(activation)
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"activations.serialize: cannot name activation {activation!r}")
    return name


def deserialize(config, custom_objects=None):
    """An activation from its name or config, from the allowlist."""
    if isinstance(config, str):
        return get(config)
    return serialization.deserialize(config, custom_objects, kind="activations")
