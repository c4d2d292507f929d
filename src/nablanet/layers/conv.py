"""Convolution layers in 1, 2 and 3 dimensions: Conv, ConvTranspose, DepthwiseConv, SeparableConv.

One rank-generic class per kind; the ranks differ only in `rank`. Kernels keep Keras's layouts
((k..., in/groups, filters); transposes (k..., filters, in)), so weights copied from Keras give
identical outputs. Everything runs channels last on `nablanet.ops`'s convolutions (Conv2D on the
fused `conv2d` kernel with its bias and relu); channels_first inputs are transposed on the way in
and out.
"""

import numpy as np

from nablanet import activations, constraints, initializers, ops, regularizers
from nablanet.layers.base import Layer
from nablanet.layers.core import set_weight_options, set_weight_roles, weight_options_config


def tuple_of(value, n, name, layer):
    values = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise ValueError(f"{layer}: {name} must be a positive int or {n} positive ints, got {value!r}")
    return tuple(int(v) for v in values)


def conv_output_length(length, kernel, padding, stride, dilation):
    if length is None:
        return None
    effective = dilation * (kernel - 1) + 1
    if padding in ("same", "causal"):
        return -(-length // stride)
    return max((length - effective) // stride + 1, 0)


def to_channels_last(x, data_format, rank):
    if data_format != "channels_first":
        return x
    return ops.transpose(x, (0,) + tuple(range(2, rank + 2)) + (1,))


def from_channels_last(x, data_format, rank):
    if data_format != "channels_first":
        return x
    return ops.transpose(x, (0, rank + 1) + tuple(range(1, rank + 1)))


_AXES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


class _Conv(Layer):
    rank = 2
    causal = False  # Keras allows padding="causal" on Conv1D only

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name = type(self).__name__
        if filters is not None and (not isinstance(filters, (int, np.integer)) or filters <= 0):
            raise ValueError(f"{name}: filters must be a positive integer, got {filters!r}")
        self.filters = filters
        self.kernel_size = tuple_of(kernel_size, self.rank, "kernel_size", name)
        self.strides = tuple_of(strides, self.rank, "strides", name)
        self.dilation_rate = tuple_of(dilation_rate, self.rank, "dilation_rate", name)
        allowed = ("valid", "same", "causal") if self.causal else ("valid", "same")
        padding = str(padding).lower()
        if padding not in allowed:
            raise ValueError(f"{name}: padding must be one of {allowed}, got {padding!r}")
        self.padding = padding
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{name}: data_format must be channels_last or channels_first, got {data_format!r}")
        self.groups = groups
        if filters is not None and filters % groups:
            raise ValueError(f"{name}: filters ({filters}) must be divisible by groups ({groups})")
        set_weight_options(self, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                           bias_regularizer, kernel_constraint, bias_constraint)

    def _channels(self, input_shape):
        name = type(self).__name__
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{name} {self.name!r}: expected a {self.rank + 2}-D input (batch, {_AXES[self.rank]}, "
                             f"channels), got shape {tuple(input_shape)}")
        channels = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        if channels is None:
            raise ValueError(f"{name} {self.name!r}: the channel dimension must be known, got {input_shape}")
        return channels

    def build(self, input_shape):
        channels = self._channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} {self.name!r}: {channels} input channels are not "
                             f"divisible by groups={self.groups}")
        self._add_kernel_and_bias(self.kernel_size + (channels // self.groups, self.filters))

    def _add_kernel_and_bias(self, kernel_shape):
        self.kernel = self.add_weight(shape=kernel_shape, initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self._add_bias()

    def _add_bias(self):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def _input_channels(self):
        """The input channels the built kernel expects."""
        return self.kernel.shape[-2] * self.groups

    def call(self, inputs):
        if inputs.ndim != self.rank + 2:
            self._channels(inputs.shape)  # names the layer, the rank it expects and the shape it got
        x = to_channels_last(inputs, self.data_format, self.rank)
        expected = self._input_channels()
        if x.shape[-1] != expected:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected {expected} input channels, got "
                             f"{x.shape[-1]} (input shape {tuple(x.shape)})")
        self.compute_output_shape((None,) + tuple(inputs.shape[1:]))  # a clear error when it cannot fit
        x, bias_added, activated = self._convolve(x)
        if self.bias is not None and not bias_added:
            x = x + self.bias
        if not activated and self.activation is not activations.linear:
            x = self.activation(x)
        return from_channels_last(x, self.data_format, self.rank)

    def _convolve(self, x):
        """The channels-last convolution of channels-last `x`; also whether it added the bias and
        applied the activation."""
        padding = self.padding
        if padding == "causal":  # pad the start only, so step t sees steps <= t
            x = ops.pad(x, ((0, 0), (self.dilation_rate[0] * (self.kernel_size[0] - 1), 0), (0, 0)))
            padding = "valid"
        x = ops.conv(x, self.kernel, strides=self.strides, padding=padding, data_format="channels_last",
                     dilation_rate=self.dilation_rate)
        return x, False, False

    def compute_output_shape(self, input_shape):
        self._channels(input_shape)
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        lengths = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                        zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(n is not None and n < 1 for n in lengths):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: the kernel {self.kernel_size} does not fit the input "
                f"{tuple(spatial)} with padding='valid'; use padding='same' or a smaller kernel"
            )
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters) + lengths
        return (input_shape[0],) + lengths + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups, **weight_options_config(self)}


class Conv1D(_Conv):
    """1-D convolution over `(batch, steps, channels)`; padding "causal" pads the start only."""

    rank = 1
    causal = True


class Conv2D(_Conv):
    """2-D convolution: `activation(conv2d(inputs, kernel) + bias)`.

    Example:
        >>> Conv2D(8, 3, padding="same")(np.ones((2, 5, 5, 3))).shape
        (2, 5, 5, 8)
    """

    def _convolve(self, x):
        fuse = self.activation is activations.relu  # relu runs in place inside the kernel
        x = ops.conv2d(x, self.kernel, strides=self.strides, padding=self.padding,
                       dilation_rate=self.dilation_rate, groups=self.groups, bias=self.bias, relu=fuse)
        return x, True, fuse


class Conv3D(_Conv):
    """3-D convolution over volumes `(batch, depth, height, width, channels)`; kernel
    `(kd, kh, kw, in / groups, filters)`.

    Example:
        >>> Conv3D(2, 3, padding="same")(np.ones((1, 4, 5, 6, 3))).shape
        (1, 4, 5, 6, 2)
    """

    rank = 3


def transpose_padding(kernel, stride, dilation, padding, output_padding):
    """Padding `(before, after)` of the zero-dilated input for the stride-1 convolution that a
    transposed convolution is, by Keras's rule (as `ops.conv_transpose` pads)."""
    effective = dilation * (kernel - 1) + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return effective - 1, effective - 1 + extra
    if output_padding is None:
        total = stride + effective - 2
    else:
        total = effective + effective % 2 - 2 + output_padding
    before = min(total // 2 + total % 2, effective - 1)
    return before, total - before


class _ConvTranspose(_Conv):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.output_padding = None if output_padding is None else tuple_of(
            output_padding, self.rank, "output_padding", type(self).__name__) if output_padding else (0,) * self.rank
        if self.output_padding is not None:
            for op, s in zip(self.output_padding, self.strides):
                if op >= s:
                    raise ValueError(f"{type(self).__name__}: output_padding {self.output_padding} must be "
                                     f"smaller than strides {self.strides}")

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self._add_kernel_and_bias(self.kernel_size + (self.filters, channels))

    def _input_channels(self):
        return self.kernel.shape[-1]

    def _pads(self):
        return tuple(transpose_padding(k, st, d, self.padding,
                                       None if self.output_padding is None else self.output_padding[i])
                     for i, (k, st, d) in enumerate(zip(self.kernel_size, self.strides, self.dilation_rate)))

    def _convolve(self, x):
        x = ops.conv_transpose(x, self.kernel, strides=self.strides, padding=self.padding,
                               output_padding=self.output_padding, data_format="channels_last",
                               dilation_rate=self.dilation_rate)
        return x, False, False

    def compute_output_shape(self, input_shape):
        self._channels(input_shape)
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        lengths = tuple(None if n is None else (n - 1) * st + 1 + before + after - d * (k - 1)
                        for n, (before, after), k, st, d in zip(spatial, self._pads(), self.kernel_size,
                                                                self.strides, self.dilation_rate))
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters) + lengths
        return (input_shape[0],) + lengths + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")  # Keras's transposed convolutions take none
        output_padding = None if self.output_padding is None else list(self.output_padding)
        return {**config, "output_padding": output_padding}


class Conv1DTranspose(_ConvTranspose):
    """The transpose of Conv1D."""

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """The transpose of Conv2D (a "deconvolution"): learned upsampling."""


class Conv3DTranspose(_ConvTranspose):
    """The transpose of Conv3D; kernel `(kd, kh, kw, filters, in)`.

    Example:
        >>> Conv3DTranspose(2, 3, strides=2)(np.ones((1, 2, 3, 2, 4))).shape
        (1, 5, 7, 5, 2)
    """

    rank = 3

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 output_padding=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):  # Keras orders data_format before output_padding here only
        super().__init__(filters, kernel_size, strides=strides, padding=padding, output_padding=output_padding,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         bias_constraint=bias_constraint, **kwargs)


class _DepthwiseConv(_Conv):
    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(None, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=depthwise_constraint,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = depth_multiplier

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.filters = channels * self.depth_multiplier
        self._add_kernel_and_bias(self.kernel_size + (channels, self.depth_multiplier))

    def _input_channels(self):
        return self.kernel.shape[-2]

    def _convolve(self, x):
        x = ops.depthwise_conv(x, self.kernel, strides=self.strides, padding=self.padding,
                               data_format="channels_last", dilation_rate=self.dilation_rate)
        return x, False, False

    def compute_output_shape(self, input_shape):
        channels = self._channels(input_shape)
        self.filters = channels * self.depth_multiplier
        return super().compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            config.pop(key)
        return {**config, "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.kernel_initializer),
                "depthwise_regularizer": regularizers.serialize(self.kernel_regularizer),
                "depthwise_constraint": constraints.serialize(self.kernel_constraint)}


class DepthwiseConv1D(_DepthwiseConv):
    """A separate 1-D convolution per input channel (`depth_multiplier` outputs each); kernel
    `(k, channels, depth_multiplier)`."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """A separate 2-D convolution per input channel (`depth_multiplier` outputs each)."""


class _SeparableConv(_Conv):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = depth_multiplier
        set_weight_roles(self, depthwise=(depthwise_initializer, depthwise_regularizer, depthwise_constraint),
                         pointwise=(pointwise_initializer, pointwise_regularizer, pointwise_constraint))

    def build(self, input_shape):
        channels = self._channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias()

    def _input_channels(self):
        return self.depthwise_kernel.shape[-2]

    def _convolve(self, x):
        x = ops.separable_conv(x, self.depthwise_kernel, self.pointwise_kernel, strides=self.strides,
                               padding=self.padding, data_format="channels_last", dilation_rate=self.dilation_rate)
        return x, False, False

    def get_config(self):
        config = super().get_config()
        for key in ("groups", "kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            config.pop(key)
        roles = {f"{role}_{kind}": module.serialize(getattr(self, f"{role}_{kind}"))
                 for role in ("depthwise", "pointwise")
                 for kind, module in (("initializer", initializers), ("regularizer", regularizers),
                                      ("constraint", constraints))}
        return {**config, "depth_multiplier": self.depth_multiplier, **roles}


class SeparableConv1D(_SeparableConv):
    """A depthwise 1-D convolution followed by a pointwise one mixing the channels."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """A depthwise convolution followed by a 1x1 pointwise one (Chollet, 2017); weights
    `depthwise_kernel (kh, kw, in, depth_multiplier)`, `pointwise_kernel (1, 1, in * depth_multiplier,
    filters)`, `bias (filters,)`."""
