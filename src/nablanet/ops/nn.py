"""`keras.ops.nn`: activations, convolutions, pooling, normalization, losses and attention."""

from nablanet.autodiff.ops import (
    average_pool, leaky_relu, log_softmax, max_pool, one_hot, relu, sigmoid, softmax, softplus,
)

__all__ = [
    "average_pool", "leaky_relu", "log_softmax", "max_pool", "one_hot", "relu", "sigmoid", "softmax", "softplus",
]
