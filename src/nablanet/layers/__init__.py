"""Layers with Keras's names, arguments and defaults."""

from nablanet.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from nablanet.layers.base import KerasTensor, Layer
from nablanet.layers.core import (
    Activation, Dense, Dropout, Flatten, Input, InputLayer, Lambda, Permute, RepeatVector, Reshape,
)
from nablanet.layers.regularization import (
    AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D,
)
from nablanet.layers.merging import (
    Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
    dot, maximum, minimum, multiply, subtract,
)

__all__ = [
    "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
    "ELU", "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "Dropout", "Flatten",
    "Input", "InputLayer", "KerasTensor", "Lambda", "Layer", "LeakyReLU", "Maximum", "Minimum",
    "Multiply", "PReLU", "Permute", "ReLU", "RepeatVector", "Reshape", "Softmax", "Subtract", "add",
    "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]
