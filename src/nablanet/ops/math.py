"""`keras.ops`' math ops (Keras's `ops.math`, exposed at the top level): `logsumexp`, `erf`, `top_k`,
segment reductions, FFTs and spectrograms."""

from nablanet.autodiff.ops import erf, logsumexp

__all__ = ["erf", "logsumexp"]
