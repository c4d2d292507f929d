"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization, RMSNormalization (Keras's
defaults: epsilon 1e-3; BatchNormalization's momentum 0.99 weights the old statistic)."""


import numpy as np

from nablanet import backend, constraints, initializers, ops, regularizers
from nablanet.autodiff.tensor import Tensor
from nablanet.autodiff.ops.nn import normalize_last
from nablanet.autodiff.primitive import in_transform
from nablanet.layers.base import Layer
from nablanet.layers.core import set_weight_roles


class _Normalization(Layer):
    keeps_shape = True
    supports_masking = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else list(axis)
        self.epsilon, self.center, self.scale = epsilon, center, scale
        set_weight_roles(self, beta=(beta_initializer, beta_regularizer, beta_constraint),
                         gamma=(gamma_initializer, gamma_regularizer, gamma_constraint))

    def _axes(self, ndim):
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        return sorted(a % ndim for a in axes)

    def _param_shape(self, input_shape, axes):
        return tuple(input_shape[a] for a in axes)

    def _build_affine(self, shape):
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                                         name="gamma")
        if self.center:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                                        name="beta")

    def _broadcast(self, param, ndim, axes):
        shape = [1] * ndim
        for a, size in zip(axes, param.shape):
            shape[a] = size
        return ops.reshape(param, tuple(shape))

    def _affine(self, x, axes):
        if self.gamma is not None:
            x = x * self._broadcast(self.gamma, x.ndim, axes)
        if self.beta is not None:
            x = x + self._broadcast(self.beta, x.ndim, axes)
        return x

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class BatchNormalization(_Normalization):
    """Normalize each feature with the batch's statistics in training (updating moving averages
    `moving = momentum * moving + (1 - momentum) * batch`), with the moving averages otherwise.

    A frozen layer (`trainable=False`) always runs in inference mode, as in Keras 3 (for
    fine-tuning). PyTorch's `momentum=0.1` corresponds to `momentum=0.9` here.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        if not isinstance(axis, int):
            raise ValueError(f"BatchNormalization: axis must be an int, got {axis!r}")
        if renorm:  # an error, not a warning: the layer would train to other weights than asked
            raise NotImplementedError("BatchNormalization: renorm=True (batch renormalization) is not available "
                                      "in nablanet; use renorm=False")
        self.synchronized = bool(synchronized)  # batch statistics over every rank's share (data parallel)
        self.renorm_clipping, self.renorm_momentum = renorm_clipping, renorm_momentum
        self.momentum = momentum
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = self._param_shape(input_shape, axes)
        self._build_affine(shape)
        self.moving_mean = self.add_weight(shape=shape, initializer=self.moving_mean_initializer,
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=shape, initializer=self.moving_variance_initializer,
                                               trainable=False, name="moving_variance")

    def call(self, inputs, training=None, mask=None):
        axes = self._axes(inputs.ndim)
        reduce = tuple(a for a in range(inputs.ndim) if a not in axes)
        if training and self.trainable:
            replica = backend.replica() if self.synchronized else None
            if replica is None:
                mean = ops.mean(inputs, axis=reduce, keepdims=True)
                centered = inputs - mean
                variance = ops.mean(centered * centered, axis=reduce, keepdims=True)
            else:  # the statistics of the whole global batch, as one process would compute them
                count = _replica_sum(replica, np.full((1,) * inputs.ndim, float(np.prod(
                    [inputs.shape[a] for a in reduce])), dtype=inputs.dtype))
                mean = _replica_sum(replica, ops.sum(inputs, axis=reduce, keepdims=True)) / count
                centered = inputs - mean
                variance = _replica_sum(replica, ops.sum(centered * centered, axis=reduce, keepdims=True)) / count
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.numpy() * m + mean.data.reshape(self.moving_mean.shape) * (1 - m))
            self.moving_variance.assign(self.moving_variance.numpy() * m
                                        + variance.data.reshape(self.moving_variance.shape) * (1 - m))
            x = centered / ops.sqrt(variance + self.epsilon)
        else:
            mean = self._broadcast(self.moving_mean, inputs.ndim, axes)
            variance = self._broadcast(self.moving_variance, inputs.ndim, axes)
            x = (inputs - mean) / ops.sqrt(variance + self.epsilon)
        return self._affine(x, axes)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "synchronized": self.synchronized,
                "renorm": False, "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum,
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer)}


def _replica_sum(replica, x):
    """`x` summed over the ranks, differentiably: each rank's gradient of the sum is the sum of the
    ranks' upstream gradients weighted by their shares of the batch, over its own share, so that
    weighting each rank's gradients by its share (as the optimizer does) gives the global batch's."""
    if not isinstance(x, Tensor):
        return replica.allreduce(np.asarray(x))

    @ops.custom_gradient
    def replica_sum(value):
        def grad(upstream):
            share = replica.fraction
            return replica.allreduce(np.asarray(ops.convert_to_numpy(upstream)) * share) / share

        return replica.allreduce(np.asarray(ops.convert_to_numpy(value))), grad

    return replica_sum(x)


class LayerNormalization(_Normalization):
    """Normalize each sample over `axis` (the features by default), then scale and shift."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        self.rms_scaling = rms_scaling

    def build(self, input_shape):
        self._build_affine(self._param_shape(input_shape, self._axes(len(input_shape))))

    def call(self, inputs):
        axes = tuple(self._axes(inputs.ndim))
        if self.rms_scaling:
            x = inputs / ops.sqrt(ops.mean(inputs * inputs, axis=axes, keepdims=True) + self.epsilon)
            return x * self._broadcast(self.gamma, inputs.ndim, axes) if self.gamma is not None else x
        if axes == (inputs.ndim - 1,) and not in_transform():  # the fused first-order kernel, scale and shift in it
            return normalize_last(inputs, self.epsilon, self.gamma, self.beta)
        centered = inputs - ops.mean(inputs, axis=axes, keepdims=True)
        x = centered / ops.sqrt(ops.mean(centered * centered, axis=axes, keepdims=True) + self.epsilon)
        return self._affine(x, axes)

    def get_config(self):
        return {**super().get_config(), "rms_scaling": self.rms_scaling}


class GroupNormalization(_Normalization):
    """Normalize each sample over groups of channels (and every other axis) (Wu & He, 2018)."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        self.groups = groups

    def build(self, input_shape):
        axis = self._axes(len(input_shape))[0]
        channels = input_shape[axis]
        if channels % self.groups:
            raise ValueError(f"GroupNormalization {self.name!r}: {channels} channels are not divisible into "
                             f"{self.groups} groups")
        self._build_affine((channels,))

    def call(self, inputs):
        axis = self._axes(inputs.ndim)[0]
        x = ops.swapaxes(inputs, axis, -1) if axis != inputs.ndim - 1 else inputs
        shape = x.shape
        grouped = ops.reshape(x, shape[:-1] + (self.groups, shape[-1] // self.groups))
        reduce = tuple(range(1, grouped.ndim - 2)) + (grouped.ndim - 1,)
        centered = grouped - ops.mean(grouped, axis=reduce, keepdims=True)
        normalized = centered / ops.sqrt(ops.mean(centered * centered, axis=reduce, keepdims=True) + self.epsilon)
        x = ops.reshape(normalized, shape)
        x = self._affine(x, [x.ndim - 1])
        return ops.swapaxes(x, axis, -1) if axis != inputs.ndim - 1 else x

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


class RMSNormalization(Layer):
    """`x / sqrt(mean(x^2) + epsilon) * scale`, the mean over `axis` (Zhang & Sennrich, 2019).

    Args:
        axis: The axis (or list of axes) normalized over; `scale` has their shape. Built, the
            layer keeps it as a sorted list, as Keras does.
        epsilon: Added to the mean square, for stability.

    Example:
        >>> RMSNormalization()(np.array([[3.0, 4.0]])).numpy().round(4)
        array([[0.8485, 1.1314]], dtype=float32)
    """

    keeps_shape = True

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape):
        axes = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        for a in axes:
            if not -len(input_shape) <= a < len(input_shape):
                raise ValueError(f"RMSNormalization {self.name!r}: axis {a} is out of range for inputs of shape "
                                 f"{tuple(input_shape)}")
        self.axis = axes
        self.scale = self.add_weight(shape=tuple(input_shape[a] for a in axes), initializer="ones", name="scale")

    def call(self, inputs):
        return ops.rms_normalization(inputs, scale=self.scale, axis=self.axis, epsilon=self.epsilon)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
