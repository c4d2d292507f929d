"""Regularization layers, active only in training: spatial dropout (1-D, 2-D, 3-D), Gaussian noise
and dropout, alpha dropout (for SELU networks). `Dropout` itself is in core.py."""

import math


from nablanet.layers.core import Dropout
from nablanet.layers.seeded import SeededLayer


class _Noise(SeededLayer):
    keeps_shape = True
    supports_masking = True  # passes the mask on, as Keras


class SpatialDropout1D(Dropout):
    """Dropout of whole channels of `(batch, steps, channels)` inputs (one mask per sample and
    channel, shared along the steps)."""

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def call(self, inputs, training=None):
        self.noise_shape = (inputs.shape[0], 1, inputs.shape[2])
        return super().call(inputs, training=training)

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        config.pop("trainable", None)  # as Keras's spatial dropouts
        return config


class SpatialDropout2D(Dropout):
    """Dropout of whole feature maps of images (one mask per sample and channel)."""

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs, training=None):
        b, *_, c = inputs.shape
        self.noise_shape = (b, 1, 1, c) if self.data_format == "channels_last" else (b, inputs.shape[1], 1, 1)
        return super().call(inputs, training=training)

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        config.pop("trainable", None)  # as Keras's spatial dropouts
        return {**config, "data_format": self.data_format}


class SpatialDropout3D(Dropout):
    """Dropout of whole feature volumes of `(batch, depth, height, width, channels)` inputs (one mask
    per sample and channel)."""

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs, training=None):
        if inputs.ndim != 5:
            raise ValueError(f"SpatialDropout3D {self.name!r}: expected a 5-D input (batch, depth, height, width, "
                             f"channels), got shape {tuple(inputs.shape)}")
        b, c = inputs.shape[0], inputs.shape[-1 if self.data_format == "channels_last" else 1]
        self.noise_shape = (b, 1, 1, 1, c) if self.data_format == "channels_last" else (b, c, 1, 1, 1)
        return super().call(inputs, training=training)

    def get_config(self):
        config = super().get_config()
        config.pop("noise_shape", None)
        config.pop("trainable", None)  # as Keras's spatial dropouts
        return {**config, "data_format": self.data_format}


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of `stddev` in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if stddev < 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0, got {stddev}")
        self.stddev = stddev

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        return inputs + self._rng().normal(0.0, self.stddev, inputs.shape).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and stddev `sqrt(rate / (1 - rate))` in training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"GaussianDropout: rate must be in [0, 1), got {rate}")
        self.rate = rate

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * self._rng().normal(1.0, stddev, inputs.shape).astype(inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class AlphaDropout(_Noise):
    """Dropout that keeps SELU's self-normalizing mean and variance: dropped units take SELU's
    negative saturation value, then an affine map restores mean 0 and variance 1."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"AlphaDropout: rate must be in [0, 1), got {rate}")
        self.rate, self.noise_shape = rate, noise_shape

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
        shape = inputs.shape if self.noise_shape is None else tuple(
            n if n is not None else s for n, s in zip(self.noise_shape, inputs.shape))
        kept = (self._rng().random(shape) >= self.rate).astype(inputs.dtype)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        return (inputs * kept + alpha_p * (1 - kept)) * a + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape}
