"""Recurrent cells: one time step of SimpleRNN, LSTM and GRU, written with differentiable ops.

A cell maps `(inputs, states)` to `(output, new_states)` for one step; `RNN(cell)` runs it over a
sequence. The built-in LSTM, GRU and SimpleRNN layers run the same math as fused sequence kernels
(ops/rnn.py) and use these cells only where the kernels do not apply (other activations,
recurrent dropout); `StackedRNNCells` runs several cells as one. Weights use Keras's names,
shapes and gate order (LSTM i, f, c, o; GRU z, r, h), so weights copied from Keras give the same outputs.
"""

import numbers

import numpy as np

from nablanet import activations, backend, constraints, initializers, ops, regularizers, serialization
from nablanet.layers.base import Layer
from nablanet.layers.core import set_weight_options, set_weight_roles, weight_options_config


def _positive_units(name, units):
    if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"{name}: units must be a positive integer, got {units!r}")
    return int(units)


def _rate(name, argument, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"{name}: {argument} must be a float in [0, 1), got {value!r}")
    return float(value)


class _Cell(Layer):
    """What the three cells share: weight options, dropout masks fixed for a whole sequence."""

    gates = 1  # blocks of `units` columns in the kernels

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.units = _positive_units(name, units)
        set_weight_options(self, activation, bool(use_bias), kernel_initializer, bias_initializer, kernel_regularizer,
                           bias_regularizer, kernel_constraint, bias_constraint)  # as Dense's
        set_weight_roles(self, recurrent=(recurrent_initializer, recurrent_regularizer, recurrent_constraint))
        self.dropout = _rate(name, "dropout", dropout)
        self.recurrent_dropout = _rate(name, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._generator = None if seed is None else np.random.default_rng(seed)
        self.reset_dropout_mask()
        self.reset_recurrent_dropout_mask()

    state_size = property(lambda self: self.units)
    output_size = property(lambda self: self.units)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the feature axis of the input must be "
                             f"known, got shape {input_shape}")
        width = self.gates * self.units
        self.kernel = self.add_weight((input_shape[-1], width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, name="kernel")
        self.recurrent_kernel = self.add_weight((self.units, width), self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint, name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(self._bias_shape(), self._bias_initializer(),
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    # -- dropout masks: one per sequence, as Keras draws them ------------------------------------

    def _mask(self, shape, rate, dtype, count):
        generator = self._generator or backend.noise_generator()
        keep = generator.random((count,) + tuple(shape)) >= rate
        masks = keep.astype(dtype) * np.asarray(1 / (1 - rate), dtype)
        return masks if count > 1 else masks[0]

    def get_dropout_mask(self, step_input):
        if self._dropout_mask is None and self.dropout > 0:
            self._dropout_mask = self._mask(step_input.shape, self.dropout, step_input.dtype, self._mask_count())
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, state):
        if self._recurrent_dropout_mask is None and self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = self._mask(state.shape, self.recurrent_dropout, state.dtype,
                                                      self._mask_count())
        return self._recurrent_dropout_mask

    def _mask_count(self):
        """Keras draws one mask per gate when recurrent dropout is on (its `implementation=1`)."""
        return self.gates if self.recurrent_dropout > 0 else 1

    def reset_dropout_mask(self):
        self._dropout_mask = None

    def reset_recurrent_dropout_mask(self):
        self._recurrent_dropout_mask = None

    def _project(self, x, weight, masks, bias=None):
        """`x @ weight (+ bias)`, with one dropout mask per gate block when `masks` has several."""
        if masks is None:
            out = ops.matmul(x, weight)
        elif masks.ndim == 2:
            out = ops.matmul(x * masks, weight)
        else:
            u = self.units
            out = ops.concatenate([ops.matmul(x * masks[g], weight[:, g * u:(g + 1) * u])
                                   for g in range(self.gates)], axis=-1)
        return out if bias is None else out + bias

    def _step_masks(self, inputs, h, training):
        dp = self.get_dropout_mask(inputs) if training and self.dropout > 0 else None
        rec = self.get_recurrent_dropout_mask(h) if training and self.recurrent_dropout > 0 else None
        return dp, rec

    def get_initial_state(self, batch_size=None, dtype=None):
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [np.zeros((batch_size, size), dtype or self.dtype) for size in sizes]

    def get_config(self):
        shared = weight_options_config(self)
        shared.pop("activity_regularizer")  # a cell has none; its RNN layer does
        return {
            **super().get_config(), "units": self.units, **shared,
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed,
        }


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: `h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)`."""

    def call(self, inputs, states, training=False):
        h = states[0] if isinstance(states, (list, tuple)) else states
        dp, rec = self._step_masks(inputs, h, training)
        z = self._project(inputs, self.kernel, dp, self.bias) + self._project(h, self.recurrent_kernel, rec)
        out = self.activation(z)
        return out, [out]


class LSTMCell(_Cell):
    """One step of a long short-term memory cell (Hochreiter & Schmidhuber, 1997), Keras's gate order
    i, f, c, o; states `[h, c]`.

    Args:
        recurrent_activation: The gates' activation ('sigmoid').
        unit_forget_bias: Start the forget gate's bias at 1 (Jozefowicz et al., 2015).
    """

    gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    state_size = property(lambda self: [self.units, self.units])

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def init(shape, dtype=None):
            return np.concatenate([base((u,), dtype=dtype), np.ones((u,), dtype or self.dtype),
                                   base((2 * u,), dtype=dtype)])

        return init

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        dp, rec = self._step_masks(inputs, h, training)
        z = self._project(inputs, self.kernel, dp, self.bias) + self._project(h, self.recurrent_kernel, rec)
        u = self.units
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u:2 * u])
        c = f * c + i * self.activation(z[:, 2 * u:3 * u])
        o = self.recurrent_activation(z[:, 3 * u:])
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_Cell):
    """One step of a gated recurrent unit (Cho et al., 2014), Keras's gate order z, r, h.

    Args:
        recurrent_activation: The gates' activation ('sigmoid').
        reset_after: Apply the reset gate after the recurrent matmul (True, Keras's and cuDNN's
            and PyTorch's convention; the bias then has shape (2, 3 * units): input and recurrent
            biases) or before it (False, the original paper; bias (3 * units,)).
    """

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 reset_after=True, seed=None, **kwargs):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                         recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def call(self, inputs, states, training=False):
        h = states[0] if isinstance(states, (list, tuple)) else states
        dp, rec = self._step_masks(inputs, h, training)
        u = self.units
        in_bias = rec_bias = None
        if self.use_bias:
            in_bias, rec_bias = (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)
        x = self._project(inputs, self.kernel, dp, in_bias)
        if self.reset_after:
            inner = self._project(h, self.recurrent_kernel, rec, rec_bias)
            z = self.recurrent_activation(x[:, :u] + inner[:, :u])
            r = self.recurrent_activation(x[:, u:2 * u] + inner[:, u:2 * u])
            candidate = self.activation(x[:, 2 * u:] + r * inner[:, 2 * u:])
        else:
            masks = [None] * 3 if rec is None else ([rec] * 3 if rec.ndim == 2 else list(rec))
            hz, hr, hh = (h if m is None else h * m for m in masks)
            z = self.recurrent_activation(x[:, :u] + ops.matmul(hz, self.recurrent_kernel[:, :u]))
            r = self.recurrent_activation(x[:, u:2 * u] + ops.matmul(hr, self.recurrent_kernel[:, u:2 * u]))
            candidate = self.activation(x[:, 2 * u:] + ops.matmul(r * hh, self.recurrent_kernel[:, 2 * u:]))
        h = z * h + (1 - z) * candidate
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "recurrent_activation": activations.serialize(self.recurrent_activation),
                "reset_after": self.reset_after}


class StackedRNNCells(Layer):
    """Several cells run one after another at each step, as one cell: each cell's output is the
    next one's input, and the states are the list of each cell's states. `RNN([cell, cell])`
    makes one.

    Example:
        >>> from nablanet.layers import RNN
        >>> cells = StackedRNNCells([LSTMCell(4), GRUCell(3)])
        >>> RNN(cells)(np.ones((2, 5, 6))).shape
        (2, 3)
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError(f"StackedRNNCells: every cell needs a call method, got {cell!r}")
            if not hasattr(cell, "state_size"):
                raise ValueError(f"StackedRNNCells: every cell needs a state_size, got {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        states = []
        for cell in self.cells:
            if hasattr(cell, "get_initial_state"):
                states.append(cell.get_initial_state(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                states.append(np.zeros((batch_size, cell.state_size), self.dtype))
            else:
                states.append([np.zeros((batch_size, size), self.dtype) for size in cell.state_size])
        return states

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, state in zip(self.cells, states):
            nested = isinstance(state, (list, tuple))
            kwargs = {"training": training} if getattr(cell, "_accepts_training", False) else {}
            inputs, state = cell.call(inputs, list(state) if nested else [state], **kwargs)
            state = list(state) if isinstance(state, (list, tuple)) else [state]
            new_states.append(state[0] if len(state) == 1 and not nested else state)
        return inputs, new_states

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(input_shape)
                cell.built = True
            input_shape = (input_shape[0], _output_size(cell))

    def reset_dropout_mask(self):
        for cell in self.cells:
            if hasattr(cell, "reset_dropout_mask"):
                cell.reset_dropout_mask()

    def reset_recurrent_dropout_mask(self):
        for cell in self.cells:
            if hasattr(cell, "reset_recurrent_dropout_mask"):
                cell.reset_recurrent_dropout_mask()

    def get_config(self):
        return {**super().get_config(), "cells": [serialization.serialize(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        with serialization.custom_object_scope(custom_objects or {}):
            cells = [serialization.deserialize(cell, kind="layers") for cell in config.pop("cells")]
        return cls(cells, **config)


def _output_size(cell):
    """A cell's output width: its `output_size`, else its (first) state's size."""
    if getattr(cell, "output_size", None) is not None:
        return cell.output_size
    return cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size
