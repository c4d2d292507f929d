"""Random tensors, as `keras.random` names them, drawn from nablanet's one shared generator.

`seed=None` draws from the generator that `nablanet.utils.set_random_seed` seeds; an integer
seed gives the same draw every call (Keras's stateless seeds); a `SeedGenerator` advances its own
stream, so a layer holding one is reproducible without touching anyone else's randomness.
The draws are constants to autodiff: a stochastic node such as the reparameterization trick
(`mean + exp(log_var / 2) * normal(shape)`) differentiates through `mean` and `log_var`.

>>> from nablanet import random, utils
>>> utils.set_random_seed(0); a = random.normal((2,))
>>> utils.set_random_seed(0); bool((a.numpy() == random.normal((2,)).numpy()).all())
True
>>> bool((random.uniform((3,), seed=7).numpy() == random.uniform((3,), seed=7).numpy()).all())
True
"""

import numpy as np

from nablanet import backend
from nablanet.autodiff.tensor import Tensor

__all__ = [
    "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint", "shuffle",
    "truncated_normal", "uniform",
]


class SeedGenerator:
    """A stream of its own: `SeedGenerator(1337)` draws the same sequence in every run."""

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"SeedGenerator: seed must be a non-negative integer or None, got {seed!r}")
        self.seed, self.name = seed, name or "seed_generator"
        self.generator = np.random.default_rng(seed if seed is not None else backend.generator().integers(2**63))

    def next(self, ordered=True):
        """A fresh integer seed from this stream (Keras returns its state; a seed serves the same use).
        Every draw advances the stream, so `ordered` (Keras's choice of how to advance it) changes nothing."""
        return int(self.generator.integers(2**31))

    def get_config(self):
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _generator(seed, where):
    if seed is None:
        return backend.generator()
    if isinstance(seed, SeedGenerator):
        return seed.generator
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"{where}: seed must be None, a non-negative integer or a SeedGenerator, got {seed!r}")


def _shape(shape, where):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
        raise ValueError(f"{where}: shape must be non-negative integers, got {shape}")
    return tuple(int(d) for d in shape)


def _float(dtype, where="normal"):
    dtype = np.dtype(dtype or backend.floatx())
    if dtype.kind != "f":
        raise ValueError(f"{where}: dtype must be a floating-point type, got {dtype.name}")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of N(mean, stddev^2)."""
    draws = _generator(seed, "normal").normal(mean, stddev, _shape(shape, "normal"))
    return Tensor(draws.astype(_float(dtype, "normal")))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of U[minval, maxval)."""
    dtype = _float(dtype, "uniform")
    draws = _generator(seed, "uniform").uniform(minval, maxval, _shape(shape, "uniform"))
    return Tensor(draws.astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """N(mean, stddev^2) with every draw beyond two standard deviations drawn again."""
    rng, shape = _generator(seed, "truncated_normal"), _shape(shape, "truncated_normal")
    draws = rng.standard_normal(shape)
    outside = np.abs(draws) > 2
    while outside.any():
        draws[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(draws) > 2
    return Tensor((mean + stddev * draws).astype(_float(dtype, "truncated_normal")))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers in [minval, maxval)."""
    if maxval <= minval:
        raise ValueError(f"randint: maxval ({maxval}) must exceed minval ({minval})")
    draws = _generator(seed, "randint").integers(minval, maxval, _shape(shape, "randint"))
    return Tensor(draws.astype(dtype))


def shuffle(x, axis=0, seed=None):
    """`x` permuted along `axis`; the gradient flows back through the permutation."""
    from nablanet import ops

    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    order = _generator(seed, "shuffle").permutation(x.shape[axis])
    return ops.take(x, order, axis=axis)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inputs with a `rate` share of entries zeroed and the rest scaled by 1 / (1 - rate):
    differentiable in `inputs`."""
    from nablanet import ops

    if not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(np.asarray(inputs))
    shape = inputs.shape if noise_shape is None else tuple(d or s for d, s in zip(noise_shape, inputs.shape))
    keep = _generator(seed, "dropout").random(shape) >= rate
    return ops.multiply(inputs, (keep / (1 - rate)).astype(inputs.dtype))


def _parameter(value):
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of Gamma(alpha, 1): shape `alpha`, scale 1 (mean `alpha`, variance `alpha`)."""
    alpha = _parameter(alpha)
    if (alpha <= 0).any():
        raise ValueError(f"gamma: alpha must be positive, got {alpha}")
    draws = _generator(seed, "gamma").gamma(alpha, 1.0, _shape(shape, "gamma"))
    return Tensor(draws.astype(_float(dtype, "gamma")))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of Beta(alpha, beta) on [0, 1]; `alpha` and `beta` broadcast with `shape`."""
    a, b = _parameter(alpha), _parameter(beta)
    if (a <= 0).any() or (b <= 0).any():
        raise ValueError(f"beta: alpha and beta must be positive, got alpha={a}, beta={b}")
    draws = _generator(seed, "beta").beta(a, b, _shape(shape, "beta"))
    return Tensor(draws.astype(_float(dtype, "beta")))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of Binomial(counts, probabilities): successes in `counts` trials, as floats (Keras's
    default dtype is floatx); `counts` and `probabilities` broadcast with `shape`."""
    n, p = _parameter(counts), _parameter(probabilities)
    if (n < 0).any() or (n != np.round(n)).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(
            f"binomial: counts must be non-negative integers and probabilities in [0, 1], got counts={n}, "
            f"probabilities={p}"
        )
    draws = _generator(seed, "binomial").binomial(n.astype(np.int64), p, _shape(shape, "binomial"))
    return Tensor(draws.astype(_float(dtype, "binomial")))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """`num_samples` class indices per row of `logits` (batch, classes), drawn with probabilities
    `softmax(logits)`: shape (batch, num_samples)."""
    logits = _parameter(logits)
    if logits.ndim != 2:
        raise ValueError(f"categorical: logits must be 2-D (batch_size, num_classes), got shape {logits.shape}")
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise ValueError(f"categorical: dtype must be an integer type, got {dtype.name}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    cumulative = np.cumsum(np.exp(shifted), axis=1)
    u = _generator(seed, "categorical").random((logits.shape[0], int(num_samples))) * cumulative[:, -1:]
    draws = np.stack([np.searchsorted(row, draw, side="right") for row, draw in zip(cumulative, u)])
    return Tensor(np.minimum(draws, logits.shape[1] - 1).reshape(logits.shape[0], int(num_samples)).astype(dtype))
