"""Recurrent layers: the generic `RNN(cell)` loop and SimpleRNN, LSTM and GRU.

`RNN` steps any cell over the time axis with the tape recording each step, so a custom cell made
of autodiff ops just works. SimpleRNN, LSTM and GRU are `RNN`s over their cells that run the whole
sequence as one fused kernel (ops/rnn.py) whenever the kernel computes what the cell would:
Keras's default activations and no recurrent dropout. Masks (from `Embedding(mask_zero=True)` or
`Masking`) carry the state through padded steps unchanged, as Keras does.
"""

import inspect

import numpy as np

from nablanet import activations, ops, regularizers, serialization
from nablanet.autodiff.ops.rnn import gru_op, lstm_op, simple_rnn_op
from nablanet.autodiff.tensor import Tensor
from nablanet.compat import warn_ignored
from nablanet.layers.base import Layer
from nablanet.layers.recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from nablanet.names import snake_case
from nablanet.tree import flatten, map_shape_structure, map_structure, pack_sequence_as


def _is_dims(value):
    return isinstance(value, tuple) and bool(value) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in value)


def _spec(size):
    """One state's or output's size as a per-example shape: an int is `(n,)`, a tuple of ints (or a
    TensorShape-like with `as_list`) is a shape, a list or a tuple of other things is nested."""
    if hasattr(size, "as_list"):
        return tuple(size.as_list())
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    if _is_dims(size):
        return tuple(int(d) for d in size)
    if isinstance(size, (list, tuple)):
        return [_spec(item) for item in size]
    raise TypeError(f"RNN: a cell's state_size and output_size hold ints, shapes or lists of them, got {size!r}")


def _state_specs(cell):
    """The cell's states as a list (one entry per state) of shapes or nested lists of shapes."""
    size = cell.state_size
    if isinstance(size, list) or (isinstance(size, tuple) and not hasattr(size, "as_list")):
        return [_spec(item) for item in size]
    return [_spec(size)]


def _output_spec(cell):
    size = getattr(cell, "output_size", None)
    return _spec(size) if size is not None else _state_specs(cell)[0]


def _map_specs(func, spec):
    return func(spec) if isinstance(spec, tuple) else [_map_specs(func, item) for item in spec]


def _spec_leaves(spec):
    return [spec] if isinstance(spec, tuple) else [shape for item in spec for shape in _spec_leaves(item)]


def _where_steps(keep, new, old):
    """`new` where a step is kept, else `old` (zeros when None), leaf by leaf; `keep` is per example."""
    new_leaves = flatten(new)
    old_leaves = [None] * len(new_leaves) if old is None else flatten(old)
    chosen = []
    for fresh, prior in zip(new_leaves, old_leaves):
        where = keep.reshape(keep.shape + (1,) * (fresh.ndim - 1))
        chosen.append(ops.where(where, fresh, ops.zeros_like(fresh) if prior is None else prior))
    return pack_sequence_as(new, chosen)


def _is_nested_shape(shape):
    return not (isinstance(shape, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in shape))


def _leaf_shapes(shape):
    if not _is_nested_shape(shape):
        return [tuple(shape)]
    shapes = []
    map_shape_structure(lambda s: shapes.append(tuple(s)), shape)
    return shapes


class RNN(Layer):
    """Runs a cell over the time axis of `(batch, timesteps, features)` inputs.

    Args:
        cell: A layer with `call(inputs, states, training=...)` returning `(output, new_states)`
            and a `state_size` (an int or a list of ints), or a list of them (a `StackedRNNCells`).
        return_sequences: Return every step's output `(batch, timesteps, units)`, not only the last.
        return_state: Also return the final states: `[output, *states]`.
        go_backwards: Run over the sequence in reverse (the outputs come in that reversed order).
        stateful: Start each batch from the final states of the previous one (fixed batch size);
            `reset_states()` zeroes them.
        unroll: Accepted for Keras compatibility and ignored, with a warning when True (the loop
            is always a Python loop).
        zero_output_for_mask: Masked steps output zeros instead of repeating the previous output.

    Call arguments: `initial_state` (a list of `(batch, size)` arrays), `mask` (boolean
    `(batch, timesteps)`; taken from the inputs when a masking layer attached one), `training`.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):  # Keras stacks a list of cells
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "state_size") or not callable(getattr(cell, "call", None)):
            raise TypeError(f"{type(self).__name__}: cell must be a layer with call(inputs, states) and a "
                            f"state_size, got {cell!r}")
        warn_ignored(type(self).__name__, "unroll", unroll, "the time loop is never unrolled", default=False)
        self.cell = cell
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), bool(stateful), bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states = None

    def build(self, input_shape):
        for shape in _leaf_shapes(input_shape):
            self._check_rank(shape)
        if not self.cell.built:  # the cell sees one step: each input without its time axis
            step = map_shape_structure(lambda s: (s[0],) + tuple(s[2:]), input_shape)
            self.cell.build(step if _is_nested_shape(input_shape) else (input_shape[0], input_shape[-1]))
            self.cell.built = True

    def _check_rank(self, shape):
        if len(shape) != 3 and (len(shape) < 3 or isinstance(self, _BuiltinRNN)):
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: expected a 3-D input (batch, timesteps, features), "
                f"got shape {tuple(shape)}. Add a time axis (e.g. x[:, :, None] for one feature per step) "
                "or an Embedding layer before it for token ids.")
        if shape[1] == 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: the input has no timesteps (shape "
                             f"{tuple(shape)}); a recurrent layer needs at least one step")

    def _check_input(self, shapes):
        expected = self._build_shape
        if expected is None or not _is_nested_shape(expected):
            return super()._check_input(shapes)
        given = _leaf_shapes(shapes)
        built = _leaf_shapes(expected)
        if len(given) != len(built) or any(g[2:] != b[2:] for g, b in zip(given, built)):
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected inputs of shapes "
                             f"{[(None, None, *b[2:]) for b in built]}, got {given}. The layer was built for them.")

    # -- calling ---------------------------------------------------------------------------------

    def call(self, sequences, initial_state=None, mask=None, training=None):
        leaves = flatten(sequences)
        for leaf in leaves:
            self._check_rank(leaf.shape)
        first = leaves[0]
        if any(leaf.shape[:2] != first.shape[:2] for leaf in leaves):
            raise ValueError(f"{type(self).__name__} {self.name!r}: nested inputs must share (batch, timesteps), "
                             f"got shapes {[leaf.shape for leaf in leaves]}")
        states = self._initial_states(initial_state, first.shape[0], first.dtype)
        mask = next((m for m in flatten(mask) if m is not None), None)  # one time mask for every input, as Keras
        if mask is not None:
            mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
            if isinstance(mask, np.ndarray) and mask.shape != first.shape[:2]:
                raise ValueError(f"{type(self).__name__} {self.name!r}: the mask has shape {mask.shape}, "
                                 f"expected (batch, timesteps) = {first.shape[:2]}")
            if mask.all():
                mask = None  # nothing is masked: the plain path computes the same
        fused = self._fused_kernel(training)
        try:
            if fused is not None:
                last, outputs, states = self._run_fused(fused, sequences, states, mask, training)
            else:
                last, outputs, states = self._run_cell(sequences, states, mask, training)
        finally:
            if hasattr(self.cell, "reset_dropout_mask"):
                self.cell.reset_dropout_mask()
                self.cell.reset_recurrent_dropout_mask()
        if self.stateful:
            self.states = map_structure(lambda s: Tensor._wrap(np.array(s.data if isinstance(s, Tensor) else s)),
                                        states)
        output = outputs if self.return_sequences else last
        return [output, *states] if self.return_state else output

    def _initial_states(self, initial_state, batch, dtype):
        specs = _state_specs(self.cell)
        if initial_state is None and self.stateful and self.states is not None:
            kept = flatten(self.states)[0].shape[0]
            if kept != batch:
                raise ValueError(f"{type(self).__name__} {self.name!r}: stateful layers need a fixed batch size; "
                                 f"the states are for batch {kept}, got {batch}")
            initial_state = self.states
        if initial_state is None:
            return _map_specs(lambda shape: Tensor._wrap(np.zeros((batch, *shape), dtype)), specs)
        given = flatten(initial_state)
        shapes = _spec_leaves(specs)
        if len(given) != len(shapes):
            raise ValueError(f"{type(self).__name__} {self.name!r}: initial_state needs {len(shapes)} state(s) "
                             f"of shapes {[(batch, *s) for s in shapes]}, got {len(given)}")
        states = []
        for state, shape in zip(given, shapes):
            state = state if isinstance(state, Tensor) else Tensor._wrap(np.asarray(state, dtype))
            if state.shape != (batch, *shape):
                raise ValueError(f"{type(self).__name__} {self.name!r}: an initial state has shape {state.shape}, "
                                 f"expected (batch, units) = {(batch, *shape)}")
            states.append(state)
        return pack_sequence_as(specs, states) if any(isinstance(s, list) for s in specs) else states

    def _fused_kernel(self, training):
        return None  # the generic loop; SimpleRNN, LSTM and GRU override this

    def _run_cell(self, sequences, states, mask, training):
        """The generic loop: the cell on each step, recorded on the tape (inputs may be nested)."""
        steps = flatten(sequences)[0].shape[1]
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        kwargs = {"training": training} if self.cell._accepts_training else {}
        outputs, previous = [], None
        for t in order:
            out, new_states = self.cell.call(map_structure(lambda x, t=t: x[:, t], sequences), states, **kwargs)
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            if mask is not None:
                keep = mask[:, t]
                prior = previous if previous is not None and not self.zero_output_for_mask else None
                out = _where_steps(keep, out, prior)
                new_states = _where_steps(keep, new_states, states)
            states, previous = new_states, out
            outputs.append(out)
        sequence = None
        if self.return_sequences:
            sequence = pack_sequence_as(outputs[0], [ops.stack(leaves, axis=1)
                                                     for leaves in zip(*(flatten(o) for o in outputs))])
        return outputs[-1], sequence, states

    def _run_fused(self, kernel, sequences, states, mask, training):
        op, params = kernel
        cell = self.cell
        if training and cell.dropout > 0:
            sequences = sequences * cell.get_dropout_mask(sequences[:, 0].data)[:, None, :]
        if self.go_backwards:
            sequences = sequences[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        last_only = not self.return_sequences
        packed = op(sequences, cell.kernel, cell.recurrent_kernel, cell.bias, *states,
                    mask=mask, zero_output=self.zero_output_for_mask, last_only=last_only, **params)
        first = 1 if mask is not None else 0  # packed: (batch, [steps,] [output,] states, units)
        if last_only:
            return packed[:, 0], None, [packed[:, first + i] for i in range(len(states))]
        return packed[:, -1, 0], packed[:, :, 0], [packed[:, -1, first + i] for i in range(len(states))]

    # -- shapes, masks, state --------------------------------------------------------------------

    def compute_output_shape(self, input_shape):
        leaves = _leaf_shapes(input_shape)
        for shape in leaves:
            self._check_rank(shape)
        batch, steps = leaves[0][:2]
        leading = (batch, steps) if self.return_sequences else (batch,)
        output = _map_specs(lambda shape: leading + shape, _output_spec(self.cell))
        if not self.return_state:
            return output
        return [output] + [_map_specs(lambda shape: (batch, *shape), spec) for spec in _state_specs(self.cell)]

    def compute_mask(self, inputs, previous_mask):
        mask = next((m for m in flatten(previous_mask) if m is not None), None)
        output_mask = _map_specs(lambda shape: mask, _output_spec(self.cell)) if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [_map_specs(lambda shape: None, spec) for spec in _state_specs(self.cell)]
        return output_mask

    def reset_states(self, states=None):
        """Zero the kept states of a stateful layer (or set them to `states`)."""
        if states is None:
            self.states = None
        else:
            self.states = map_structure(lambda s: Tensor._wrap(np.asarray(s, self.dtype)), list(states))

    reset_state = reset_states

    def get_config(self):
        return {**super().get_config(), "cell": serialization.serialize(self.cell), **self._loop_config()}

    def _loop_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        with serialization.custom_object_scope(custom_objects or {}):
            config["cell"] = serialization.deserialize(config["cell"], kind="layers")
        return cls(**config)


def _cell_arguments(cell_class, arguments):
    """Those of a layer's `arguments` that its cell's constructor takes; the rest configure the loop."""
    names = set(inspect.signature(cell_class).parameters) - {"units", "kwargs"}
    return {name: value for name, value in arguments.items() if name in names}


class _BuiltinRNN(RNN):
    """SimpleRNN, LSTM and GRU: Keras's flat arguments, the cell made inside, the fused kernel."""

    cell_class = None

    def __init__(self, units, cell_arguments, activity_regularizer=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, use_cudnn="auto",
                 zero_output_for_mask=False, name=None, dtype=None, trainable=True, **kwargs):
        kwargs.pop("implementation", None)  # Keras's choice of kernel, with the same results
        warn_ignored(type(self).__name__, "use_cudnn", use_cudnn, "there is no cuDNN: NumPy runs it",
                     default="auto", honoured=(False,))
        warn_ignored(type(self).__name__, "time_major", kwargs.pop("time_major", False),
                     "inputs are always (batch, time, features)", default=False)
        cell = self.cell_class(units, dtype=dtype, trainable=trainable,
                               name=f"{snake_case(type(self).__name__)}_cell", **cell_arguments)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, name=name, dtype=dtype, trainable=trainable,
                         activity_regularizer=activity_regularizer, **kwargs)

    def __getattr__(self, name):  # Keras exposes the cell's settings on the layer (layer.units, ...)
        cell = self.__dict__.get("cell")
        if cell is not None and not name.startswith("_") and hasattr(cell, name):
            return getattr(cell, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _standard(self, training):
        cell = self.cell
        return (np.dtype(cell.dtype).kind == "f" and cell.activation is activations.tanh
                and getattr(cell, "recurrent_activation", activations.sigmoid) is activations.sigmoid
                and not (training and cell.recurrent_dropout > 0))

    def get_config(self):
        cell = self.cell.get_config()
        for key in ("name", "trainable", "dtype"):
            cell.pop(key, None)
        return {**Layer.get_config(self), **cell, **self._loop_config(),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        with serialization.custom_object_scope(custom_objects or {}):
            return cls(**config)


class SimpleRNN(_BuiltinRNN):
    """A fully connected RNN whose output is fed back: `h_t = tanh(x_t W + h_{t-1} U + b)`.

    Example:
        >>> SimpleRNN(4)(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    cell_class = SimpleRNNCell

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False, unroll=False,
                 seed=None, **kwargs):
        cell_arguments = _cell_arguments(self.cell_class, locals())
        super().__init__(units, cell_arguments, activity_regularizer=activity_regularizer,
                         return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, **kwargs)

    def _fused_kernel(self, training):
        cell = self.cell
        names = {activations.tanh: "tanh", activations.relu: "relu", activations.linear: "linear"}
        if (np.dtype(cell.dtype).kind != "f" or cell.activation not in names
                or (training and cell.recurrent_dropout > 0)):
            return None
        return simple_rnn_op, {"activation": names[cell.activation]}


class LSTM(_BuiltinRNN):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997) over a sequence; Keras's weights:
    kernel (features, 4 * units), recurrent_kernel (units, 4 * units), bias (4 * units,), gates
    i, f, c, o. States `[h, c]`.

    Example:
        >>> LSTM(4, return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    cell_class = LSTMCell

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        cell_arguments = _cell_arguments(self.cell_class, locals())
        super().__init__(units, cell_arguments, activity_regularizer=activity_regularizer,
                         return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn, **kwargs)

    def _fused_kernel(self, training):
        return (lstm_op, {}) if self._standard(training) else None


class GRU(_BuiltinRNN):
    """Gated recurrent unit (Cho et al., 2014) over a sequence; Keras's weights and gate order z, r, h;
    `reset_after=True` (Keras's default) matches cuDNN and PyTorch's `nn.GRU`.

    Example:
        >>> GRU(4)(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    cell_class = GRUCell

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        cell_arguments = _cell_arguments(self.cell_class, locals())
        super().__init__(units, cell_arguments, activity_regularizer=activity_regularizer,
                         return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, use_cudnn=use_cudnn, **kwargs)

    def _fused_kernel(self, training):
        return (gru_op, {"reset_after": self.cell.reset_after}) if self._standard(training) else None
