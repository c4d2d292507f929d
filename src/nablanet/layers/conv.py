"""Convolution layers: Conv1D, Conv2D, their transposes, DepthwiseConv2D and SeparableConv2D.

Kernels keep Keras's layouts ((kh, kw, in/groups, filters); transposes (kh, kw, filters, in)),
so weights copied from Keras give identical outputs. Everything runs channels last on the fused
`conv2d` kernel; channels_first inputs are transposed on the way in and out.
"""

import numpy as np

from nablanet import activations, constraints, initializers, ops, regularizers
from nablanet.autodiff.ops.nn import same_padding
from nablanet.autodiff.ops.shape import scatter_add
from nablanet.layers.base import Layer
from nablanet.layers.core import set_weight_options, weight_options_config


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


class _Conv(Layer):
    rank = 2

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
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
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
            raise ValueError(
                f"{name} {self.name!r}: expected a {self.rank + 2}-D input (batch, "
                f"{'steps' if self.rank == 1 else 'height, width'}, channels), got shape {tuple(input_shape)}"
            )
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
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def _input_channels(self):
        """The input channels the built kernel expects."""
        return self.kernel.shape[-2] * self.groups

    def _check_channels(self, x):
        expected = self._input_channels()
        if x.shape[-1] != expected:
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected {expected} input channels, got "
                             f"{x.shape[-1]} (input shape {tuple(x.shape)})")

    def _finish(self, x, bias_added=False, activated=False):
        if self.bias is not None and not bias_added:
            x = x + self.bias
        if not activated and self.activation is not activations.linear:
            x = self.activation(x)
        return from_channels_last(x, self.data_format, self.rank)

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


class Conv2D(_Conv):
    """2-D convolution: `activation(conv2d(inputs, kernel) + bias)`.

    Example:
        >>> Conv2D(8, 3, padding="same")(np.ones((2, 5, 5, 3))).shape
        (2, 5, 5, 8)
    """

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format, 2)
        self._check_channels(x)
        self.compute_output_shape((None,) + tuple(inputs.shape[1:]))  # a clear error when it cannot fit
        fuse = self.activation is activations.relu  # relu runs in place inside the kernel
        x = ops.conv2d(x, self.kernel, strides=self.strides, padding=self.padding,
                       dilation_rate=self.dilation_rate, groups=self.groups, bias=self.bias, relu=fuse)
        return self._finish(x, bias_added=True, activated=fuse)


class Conv1D(_Conv):
    """1-D convolution over `(batch, steps, channels)`; padding "causal" pads the start only."""

    rank = 1

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format, 1)
        self._check_channels(x)
        self.compute_output_shape((None,) + tuple(inputs.shape[1:]))
        (k,), (d,), (s,) = self.kernel_size, self.dilation_rate, self.strides
        if self.padding == "causal":
            padding = ((0, 0), (d * (k - 1), 0))
        elif self.padding == "same":
            padding = ((0, 0), same_padding(x.shape[1], k, s, d))
        else:
            padding = ((0, 0), (0, 0))
        kernel = ops.expand_dims(self.kernel, 0)  # (1, k, in, out)
        x = ops.conv2d(ops.expand_dims(x, 1), kernel, strides=(1, s), padding=padding,
                       dilation_rate=(1, d), groups=self.groups)
        return self._finish(ops.squeeze(x, 1))


def transpose_padding(kernel, stride, dilation, padding, output_padding):
    """Padding `(before, after)` for the stride-1 convolution of the zero-dilated input that a
    transposed convolution is; the output lengths are Keras's."""
    effective = dilation * (kernel - 1) + 1
    if output_padding is None:
        total = 0 if padding == "valid" else max(effective - stride, 0)
        begin, end, extra = total // 2, total - total // 2, max(stride - effective, 0)
    else:
        begin = end = 0 if padding == "valid" else effective // 2
        extra = output_padding
    return effective - 1 - begin, effective - 1 - end + extra


def _dilate(x, strides):
    """Insert `stride - 1` zeros between neighbouring pixels of NHWC `x` (differentiably)."""
    n, h, w, c = x.shape
    sh, sw = strides
    if sh == 1 and sw == 1:
        return x
    index = (slice(None), slice(None, None, sh), slice(None, None, sw), slice(None))
    return scatter_add(x, shape=(n, (h - 1) * sh + 1, (w - 1) * sw + 1, c), index=index)


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

    def _pads(self, spatial):
        return tuple(transpose_padding(k, st, d, self.padding,
                                        None if self.output_padding is None else self.output_padding[i])
                     for i, (k, st, d) in enumerate(zip(self.kernel_size, self.strides, self.dilation_rate)))

    def _lengths(self, spatial):
        out = []
        for n, (before, after), k, st, d in zip(spatial, self._pads(spatial), self.kernel_size, self.strides,
                                                self.dilation_rate):
            out.append(None if n is None else (n - 1) * st + 1 + before + after - d * (k - 1))
        return tuple(out)

    def compute_output_shape(self, input_shape):
        self._channels(input_shape)
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        lengths = self._lengths(spatial)
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters) + lengths
        return (input_shape[0],) + lengths + (self.filters,)

    def _transpose2d(self, x, kernel, strides, padding, dilation):
        """`x` (N, H, W, C) through the transpose of a convolution with `kernel` (kh, kw, f, C)."""
        flipped = ops.transpose(kernel[::-1, ::-1], (0, 1, 3, 2))  # (kh, kw, C, f)
        return ops.conv2d(_dilate(x, strides), flipped, strides=1, padding=padding, dilation_rate=dilation)

    def get_config(self):
        output_padding = None if self.output_padding is None else list(self.output_padding)
        return {**super().get_config(), "output_padding": output_padding}


class Conv2DTranspose(_ConvTranspose):
    """The transpose of Conv2D (a "deconvolution"): learned upsampling."""

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format, 2)
        self._check_channels(x)
        x = self._transpose2d(x, self.kernel, self.strides, self._pads(x.shape[1:3]), self.dilation_rate)
        return self._finish(x)


class Conv1DTranspose(_ConvTranspose):
    """The transpose of Conv1D."""

    rank = 1

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format, 1)
        self._check_channels(x)
        padding = ((0, 0), self._pads(x.shape[1:2])[0])
        x = self._transpose2d(ops.expand_dims(x, 1), ops.expand_dims(self.kernel, 0), (1,) + self.strides,
                              padding, (1,) + self.dilation_rate)
        return self._finish(ops.squeeze(x, 1))


class DepthwiseConv2D(_Conv):
    """A separate 2-D convolution per input channel (`depth_multiplier` outputs each)."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
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

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format, 2)
        self._check_channels(x)
        c = x.shape[-1]
        kernel = ops.reshape(self.kernel, self.kernel_size + (1, c * self.depth_multiplier))
        x = ops.conv2d(x, kernel, strides=self.strides, padding=self.padding, dilation_rate=self.dilation_rate,
                       groups=c)
        return self._finish(x)

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


class SeparableConv2D(Layer):
    """A depthwise convolution followed by a 1x1 pointwise one (Chollet, 2017)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer,
                         **{k: v for k, v in kwargs.items() if k in ("name", "dtype", "trainable", "input_shape")})
        self.filters, self.depth_multiplier = filters, depth_multiplier
        self.depthwise = DepthwiseConv2D(kernel_size, strides=strides, padding=padding,
                                         depth_multiplier=depth_multiplier, data_format="channels_last",
                                         dilation_rate=dilation_rate, use_bias=False,
                                         depthwise_initializer=depthwise_initializer,
                                         depthwise_regularizer=depthwise_regularizer,
                                         depthwise_constraint=depthwise_constraint, dtype=self.dtype)
        self.pointwise = Conv2D(filters, 1, activation=activation, use_bias=use_bias,
                                kernel_initializer=pointwise_initializer, bias_initializer=bias_initializer,
                                kernel_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
                                kernel_constraint=pointwise_constraint, bias_constraint=bias_constraint,
                                dtype=self.dtype)
        self.data_format = data_format or "channels_last"
        self._init = {"kernel_size": self.depthwise.kernel_size, "strides": self.depthwise.strides,
                      "padding": padding, "dilation_rate": self.depthwise.dilation_rate,
                      "activation": activations.serialize(self.pointwise.activation), "use_bias": use_bias}

    def build(self, input_shape):
        shape = tuple(input_shape)
        if self.data_format == "channels_first":
            shape = (shape[0],) + shape[2:] + (shape[1],)
        self.depthwise._build_once(shape)
        self.pointwise._build_once(self.depthwise.compute_output_shape(shape))
        self.depthwise_kernel, self.pointwise_kernel = self.depthwise.kernel, self.pointwise.kernel
        self.bias = self.pointwise.bias

    @property
    def weights(self):
        return [w for w in (self.depthwise.kernel, self.pointwise.kernel, self.pointwise.bias) if w is not None]

    def call(self, inputs):
        x = to_channels_last(inputs, self.data_format, 2)
        return from_channels_last(self.pointwise(self.depthwise(x)), self.data_format, 2)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.data_format == "channels_first":
            shape = (shape[0],) + shape[2:] + (shape[1],)
        out = self.pointwise.compute_output_shape(self.depthwise.compute_output_shape(shape))
        return (out[0], out[-1]) + out[1:-1] if self.data_format == "channels_first" else out

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "depth_multiplier": self.depth_multiplier,
                "data_format": self.data_format,
                **{k: list(v) if isinstance(v, tuple) else v for k, v in self._init.items()}}
