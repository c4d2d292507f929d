"""Convolutional LSTMs (Shi et al., 2015): ConvLSTM1D, ConvLSTM2D and ConvLSTM3D.

An LSTM whose matrix products are convolutions: the input convolution has the layer's strides,
padding and dilation; the recurrent one is stride 1, 'same', so the states keep the output's
spatial shape. Keras's weights and gate order: kernel `(k..., channels, 4 * filters)`,
recurrent_kernel `(k..., filters, 4 * filters)`, bias `(4 * filters,)`, gates i, f, c, o.
The input convolution runs once over all time steps (the batch and time axes merged); only the
recurrent convolution runs per step. Internally channels last; channels_first inputs, states and
outputs are transposed at the edges.
"""

import numpy as np

from nablanet import ops, regularizers
from nablanet.layers.base import Layer
from nablanet.layers.conv import conv_output_length, from_channels_last, to_channels_last, tuple_of
from nablanet.layers.recurrent import RNN, _where_steps
from nablanet.layers.recurrent_cells import LSTMCell

_AXES = {1: "steps", 2: "height, width", 3: "depth, height, width"}


class ConvLSTMCell(LSTMCell):
    """One step of a convolutional LSTM over `(batch, spatial..., channels)` (or channels first)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(filters, activation=activation, recurrent_activation=recurrent_activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        name = type(self).__name__
        if rank not in (1, 2, 3):
            raise ValueError(f"{name}: rank must be 1, 2 or 3, got {rank!r}")
        self.rank, self.filters = rank, self.units
        self.kernel_size = tuple_of(kernel_size, rank, "kernel_size", name)
        self.strides = tuple_of(strides, rank, "strides", name)
        self.dilation_rate = tuple_of(dilation_rate, rank, "dilation_rate", name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{name}: strides > 1 cannot be combined with dilation_rate > 1, got strides="
                             f"{self.strides} and dilation_rate={self.dilation_rate}")
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{name}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
        self._state_shape = None

    @property
    def state_size(self):
        return -1 if self._state_shape is None else [self._state_shape, self._state_shape]

    output_size = property(lambda self: -1 if self._state_shape is None else self._state_shape)

    def compute_output_shape(self, input_shape):
        """The output (and each state's) shape for one step's input shape `(batch, spatial..., channels)`."""
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        lengths = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                        zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(n is not None and n < 1 for n in lengths):
            raise ValueError(f"{type(self).__name__} {self.name!r}: the kernel {self.kernel_size} does not fit the "
                             f"input {tuple(spatial)} with padding='valid'; use padding='same' or a smaller kernel")
        return (input_shape[0],) + (((self.filters,) + lengths) if first else (lengths + (self.filters,)))

    def build(self, input_shape):
        name = type(self).__name__
        channels = input_shape[1] if self.data_format == "channels_first" else input_shape[-1]
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        if channels is None or None in spatial:
            raise ValueError(f"{name} {self.name!r}: the channels and spatial dimensions must be known, got "
                             f"{tuple(input_shape)}")
        self._state_shape = self.compute_output_shape(input_shape)[1:]
        width = 4 * self.filters
        self.kernel = self.add_weight(self.kernel_size + (channels, width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(self.kernel_size + (self.filters, width), self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight((width,), self._bias_initializer(), regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, name="bias")

    def _mask_count(self):
        return 4  # Keras draws one mask per gate for both dropouts

    def _by_gate(self, x, kernel, masks, **conv_args):
        """The convolution of `x` with `kernel` (4 gate blocks on the last axis); each block sees
        `x` times its own dropout mask when `masks` is given."""
        if masks is None:
            return ops.conv(x, kernel, data_format="channels_last", **conv_args)
        f = self.filters
        return ops.concatenate([ops.conv(x * masks[g], kernel[..., g * f:(g + 1) * f], data_format="channels_last",
                                         **conv_args) for g in range(4)], axis=-1)

    def project_inputs(self, x, training=False):
        """The input convolution (with the bias) of channels-last `x`, one step `(batch, spatial...,
        channels)` or a sequence `(batch, time, spatial..., channels)` (time merged into the batch)."""
        lead = x.shape[:x.ndim - self.rank - 1]
        flat = ops.reshape(x, (-1,) + x.shape[len(lead):])
        masks = None
        if training and self.dropout > 0:
            per_step = self.get_dropout_mask(x[:, 0] if len(lead) == 2 else x)  # (gates, batch, spatial..., channels)
            masks = [np.broadcast_to(m.reshape(m.shape[:1] + (1,) * (len(lead) - 1) + m.shape[1:]),
                                     x.shape).reshape(flat.shape) for m in per_step]
        z = self._by_gate(flat, self.kernel, masks, strides=self.strides, padding=self.padding,
                          dilation_rate=self.dilation_rate)
        if self.bias is not None:
            z = z + self.bias
        return ops.reshape(z, lead + z.shape[1:])

    def step(self, z, h, c, training=False):
        """One recurrent step on channels-last tensors: `z` the projected input, `(h, c)` the states."""
        masks = self.get_recurrent_dropout_mask(h) if training and self.recurrent_dropout > 0 else None
        z = z + self._by_gate(h, self.recurrent_kernel, masks, strides=1, padding="same")
        f = self.filters
        i = self.recurrent_activation(z[..., :f])
        forget = self.recurrent_activation(z[..., f:2 * f])
        c = forget * c + i * self.activation(z[..., 2 * f:3 * f])
        o = self.recurrent_activation(z[..., 3 * f:])
        h = o * self.activation(c)
        return h, c

    def call(self, inputs, states, training=False):
        fmt, rank = self.data_format, self.rank
        x = to_channels_last(inputs, fmt, rank)
        h, c = (to_channels_last(s, fmt, rank) for s in states[:2])
        h, c = self.step(self.project_inputs(x, training), h, c, training)
        h, c = from_channels_last(h, fmt, rank), from_channels_last(c, fmt, rank)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.pop("units")
        return {**config, "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "rank": self.rank}


class _ConvLSTM(RNN):
    """A ConvLSTMCell run over `(batch, time, spatial..., channels)` (Keras's ConvLSTM base)."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        cell = ConvLSTMCell(self.rank, filters, kernel_size, strides=strides, padding=padding,
                            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                            recurrent_activation=recurrent_activation, use_bias=use_bias,
                            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, name="conv_lstm_cell",
                            dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)

    def __getattr__(self, name):  # Keras exposes the cell's settings on the layer (layer.filters, ...)
        cell = self.__dict__.get("cell")
        if cell is not None and not name.startswith("_") and hasattr(cell, name):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _check_rank(self, shape):
        if len(shape) != self.rank + 3:
            first = self.cell.data_format == "channels_first"
            axes = f"channels, {_AXES[self.rank]}" if first else f"{_AXES[self.rank]}, channels"
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected a {self.rank + 3}-D input (batch, "
                             f"timesteps, {axes}), got shape {tuple(shape)}")
        if shape[1] == 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the input has no timesteps (shape "
                             f"{tuple(shape)}); a recurrent layer needs at least one step")

    def build(self, input_shape):
        self._check_rank(input_shape)
        if not self.cell.built:
            self.cell.build((input_shape[0],) + tuple(input_shape[2:]))
            self.cell.built = True

    def _run_cell(self, sequences, states, mask, training):
        """The time loop: the input convolution once over all steps, then one recurrent convolution a step."""
        cell, fmt, rank = self.cell, self.cell.data_format, self.rank
        if fmt == "channels_first":
            sequences = ops.transpose(sequences, (0, 1) + tuple(range(3, rank + 3)) + (2,))
        projected = cell.project_inputs(sequences, training)
        h, c = (to_channels_last(s, fmt, rank) for s in states)
        steps = sequences.shape[1]
        outputs = []
        for t in (range(steps - 1, -1, -1) if self.go_backwards else range(steps)):
            new_h, new_c = cell.step(projected[:, t], h, c, training)
            if mask is not None:
                keep = mask[:, t]
                out = _where_steps(keep, new_h, outputs[-1] if outputs and not self.zero_output_for_mask else None)
                new_h, new_c = _where_steps(keep, [new_h, new_c], [h, c])
            else:
                out = new_h
            h, c = new_h, new_c
            outputs.append(out)
        sequence = None
        if self.return_sequences:
            sequence = ops.stack(outputs, axis=1)
            if fmt == "channels_first":
                sequence = ops.transpose(sequence, (0, 1, rank + 2) + tuple(range(2, rank + 2)))
        states = [from_channels_last(s, fmt, rank) for s in (h, c)]
        return from_channels_last(outputs[-1], fmt, rank), sequence, states

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        state = self.cell.compute_output_shape((input_shape[0],) + tuple(input_shape[2:]))
        output = (state[0], input_shape[1]) + state[1:] if self.return_sequences else state
        return [output, state, state] if self.return_state else output

    def compute_mask(self, inputs, previous_mask):
        mask = previous_mask[0] if isinstance(previous_mask, (list, tuple)) else previous_mask
        output_mask = mask if self.return_sequences else None
        return [output_mask, None, None] if self.return_state else output_mask

    def get_config(self):
        cell = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "rank"):
            cell.pop(key, None)
        return {**Layer.get_config(self), **self._loop_config(), **cell,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


class ConvLSTM1D(_ConvLSTM):
    """A convolutional LSTM over sequences of `(steps, channels)` signals: input `(batch, time, steps,
    channels)`."""

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """A convolutional LSTM over sequences of images: input `(batch, time, height, width, channels)`.

    Example:
        >>> ConvLSTM2D(2, 3, padding="same", return_sequences=True)(np.ones((1, 3, 4, 5, 2))).shape
        (1, 3, 4, 5, 2)
    """


class ConvLSTM3D(_ConvLSTM):
    """A convolutional LSTM over sequences of volumes: input `(batch, time, depth, height, width,
    channels)`."""

    rank = 3
