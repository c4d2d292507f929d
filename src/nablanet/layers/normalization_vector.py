"""Normalizing vectors and weights: UnitNormalization (inputs to unit L2 norm) and
SpectralNormalization (a wrapped layer's kernel divided by its largest singular value)."""

import numpy as np

from nablanet import backend, initializers, ops
from nablanet.layers.base import Layer, _unique_variables
from nablanet.layers.input_spec import InputSpec
from nablanet.layers.wrappers import Wrapper


class UnitNormalization(Layer):
    """Scales each input to unit L2 norm along `axis` (an int or a list of them).

    Example:
        >>> UnitNormalization()(np.array([[3.0, 4.0]])).numpy()
        array([[0.6, 0.8]], dtype=float32)
    """

    keeps_shape = True
    fixed_last_axis = False
    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise TypeError(f"UnitNormalization: axis must be an int or a list/tuple of ints, got {axis!r}")
        self.built = True

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return ops.normalize(inputs, axis=axis, order=2, epsilon=1e-12)

    def compute_output_shape(self, input_shape):
        for axis in self.axis if isinstance(self.axis, list) else [self.axis]:
            if not -len(input_shape) <= axis < len(input_shape):
                raise ValueError(f"UnitNormalization {self.name!r}: axis {self.axis} is out of bounds for an input "
                                 f"of shape {tuple(input_shape)}")
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _unit(x):
    """`x / ||x||` over all its values, capped at `1 / epsilon` times `x` (Keras's normalize)."""
    return x * np.minimum(1 / np.sqrt(np.sum(np.square(x))), 1 / backend.epsilon())


class SpectralNormalization(Wrapper):
    """Divides a wrapped layer's kernel (or embeddings) by its spectral norm in training, found by
    power iteration (Miyato et al., 2018), to bound the layer's Lipschitz constant.

    Each training call runs `power_iterations` steps from the kept vector `vector_u` (a
    non-trainable weight of shape `(1, units)`), stores the new vector, and writes the normalized
    kernel back into the wrapped layer before calling it, as Keras does; the gradient is then the
    wrapped layer's at that kernel. At inference the wrapped layer runs as it is.

    Args:
        layer: A layer with a `kernel` or `embeddings` weight.
        power_iterations: The number of power-iteration steps per training call.

    Example:
        >>> from nablanet.layers import Dense
        >>> layer = SpectralNormalization(Dense(3))
        >>> for _ in range(20):  # the power iteration converges over the training calls
        ...     _ = layer(np.ones((2, 4)), training=True)
        >>> round(float(np.linalg.norm(layer.layer.kernel.numpy(), 2)), 3)
        1.0
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError(f"SpectralNormalization: power_iterations must be greater than zero, got "
                             f"{power_iterations}")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(f"SpectralNormalization {self.name!r}: the wrapped {type(self.layer).__name__} has no "
                             "'kernel' nor 'embeddings' weight to normalize")
        self.kernel = kernel
        self.kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight(shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
                                        name="vector_u", dtype=kernel.dtype)

    @property
    def weights(self):
        """Keras's order: the kernel and `vector_u` (this layer's own), then the wrapped layer's others."""
        if not self.built:
            return super().weights
        return _unique_variables([self.kernel, self.vector_u] + self.layer.weights)

    def call(self, inputs, training=False):
        if training:
            self._normalize_kernel()
        output = self.layer(inputs)
        return ops.cast(output, inputs.dtype)

    def _normalize_kernel(self):
        kernel = self.kernel.numpy()
        if np.all(kernel == 0):
            return
        weights = kernel.reshape(-1, self.kernel_shape[-1])
        vector_u = self.vector_u.numpy()
        for _ in range(self.power_iterations):
            vector_v = _unit(vector_u @ weights.T)
            vector_u = _unit(vector_v @ weights)
        sigma = (vector_v @ weights) @ vector_u.T
        self.vector_u.assign(vector_u.astype(self.vector_u.dtype))
        self.kernel.assign((kernel / sigma).astype(kernel.dtype))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def save_own_variables(self, store):
        """Keras stores the kernel among this layer's own variables too: `0` the kernel, `1` `vector_u`."""
        store["0"], store["1"] = self.kernel.numpy(), self.vector_u.numpy()

    def load_own_variables(self, store):
        for key, variable in (("0", self.kernel), ("1", self.vector_u)):
            if key not in store:
                raise KeyError(f"SpectralNormalization {self.name!r}: no variable {key} in the file")
            if tuple(store[key].shape) != tuple(variable.shape):
                raise ValueError(f"SpectralNormalization {self.name!r}: variable {key} has shape "
                                 f"{tuple(store[key].shape)} in the file, {tuple(variable.shape)} in the layer")
            variable.assign(np.asarray(store[key]).astype(variable.dtype))

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}
