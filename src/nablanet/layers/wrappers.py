"""Layer wrappers: the `Wrapper` base, Bidirectional (an RNN both ways) and TimeDistributed (a
layer on every step)."""

import numpy as np

from nablanet import ops, serialization
from nablanet.compat import warn_ignored
from nablanet.layers.base import Layer

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Wrapper(Layer):
    """Base class of layers that wrap one other layer (held as `self.layer`, built with the
    wrapper, saved in the config under "layer").

    Example:
        >>> from nablanet.layers import Dense
        >>> class Twice(Wrapper):
        ...     def call(self, inputs):
        ...         return self.layer(inputs) * 2
        >>> Twice(Dense(2))(np.ones((1, 3))).shape
        (1, 2)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"{type(self).__name__}: expected a Layer to wrap, got {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer._build_once(input_shape)

    def get_config(self):
        return {**super().get_config(), "layer": serialization.serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        with serialization.custom_object_scope(custom_objects or {}):
            layer = serialization.deserialize(config.pop("layer"), kind="layers")
        return cls(layer, **config)


def _reverse_time(x):
    return x[:, ::-1]


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards and merges their outputs.

    Args:
        layer: The recurrent layer (LSTM, GRU, SimpleRNN or RNN); both directions are built from
            its config, named `forward_<name>` and `backward_<name>`.
        merge_mode: 'concat' (default), 'sum', 'mul', 'ave', or None for the list of both outputs.
        backward_layer: An optional layer for the backward direction (it must have
            `go_backwards=True`).

    With `return_sequences`, the backward outputs are put back in time order before merging, and
    masked steps output zeros in both directions (as Keras forces).

    Example:
        >>> from nablanet.layers import LSTM
        >>> Bidirectional(LSTM(4, return_sequences=True))(np.ones((2, 5, 3))).shape
        (2, 5, 8)
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: merge_mode must be one of {_MERGE_MODES}, got {merge_mode!r}")
        if not hasattr(layer, "return_sequences") or not hasattr(layer, "go_backwards"):
            raise TypeError(f"Bidirectional: expected a recurrent layer (LSTM, GRU, SimpleRNN, RNN), got {layer!r}")
        self.forward_layer = _copy(layer, "forward_" + layer.name, go_backwards=layer.go_backwards)
        if backward_layer is None:
            self.backward_layer = _copy(layer, "backward_" + layer.name, go_backwards=not layer.go_backwards)
        else:
            if backward_layer.go_backwards == layer.go_backwards:
                raise ValueError("Bidirectional: backward_layer must run the other way: set its go_backwards to "
                                 f"{not layer.go_backwards}")
            self.backward_layer = backward_layer
        for direction in (self.forward_layer, self.backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    def build(self, input_shape):
        for direction in (self.forward_layer, self.backward_layer):
            if not direction.built:
                direction._build_once(tuple(input_shape))
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask, training=training)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask, training=training)
        states = []
        if self.return_state:
            y, states = y[0], list(y[1:])
            y_rev, states = y_rev[0], states + list(y_rev[1:])
        if self.return_sequences:
            y_rev = _reverse_time(y_rev)
        output = _merge(self.merge_mode, y, y_rev)
        if self.return_state:
            return (output if isinstance(output, list) else [output]) + states
        return output

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        output, states = (shape[0], shape[1:]) if self.return_state else (shape, [])
        if self.merge_mode == "concat":
            output = tuple(output[:-1]) + (None if output[-1] is None else 2 * output[-1],)
        outputs = [output, output] if self.merge_mode is None else [output]
        if not self.return_state and self.merge_mode is not None:
            return output
        return outputs + list(states) * 2

    def compute_mask(self, inputs, previous_mask):
        mask = previous_mask[0] if isinstance(previous_mask, (list, tuple)) else previous_mask
        output_mask = mask if self.return_sequences else None
        outputs = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            count = 2 * len(self.forward_layer.compute_output_shape((None, None, 1))[1:])
            return outputs + [None] * count
        return outputs if self.merge_mode is None else output_mask

    def reset_states(self, states=None):
        warn_ignored("Bidirectional.reset_states", "states", states, "both directions restart from zeros")
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self):
        layer = serialization.serialize(self.forward_layer)
        layer["config"]["name"] = self.forward_layer.name[len("forward_"):]
        config = {**super().get_config(), "layer": layer, "merge_mode": self.merge_mode}
        config["backward_layer"] = serialization.serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        with serialization.custom_object_scope(custom_objects or {}):
            config["layer"] = serialization.deserialize(config["layer"], kind="layers")
            if config.get("backward_layer") is not None:
                config["backward_layer"] = serialization.deserialize(config["backward_layer"], kind="layers")
        return cls(**config)


def _copy(layer, name, go_backwards):
    config = layer.get_config()
    config.update(name=name, go_backwards=go_backwards)
    known, pending = {}, [layer]
    while pending:  # a live layer's own classes (a custom cell) rebuild its copy
        current = pending.pop()
        known[type(current).__name__] = type(current)
        pending.extend(current._sublayers())
    with serialization.custom_object_scope(known):
        return type(layer).from_config(config)


def _merge(mode, y, y_rev):
    if mode == "concat":
        return ops.concatenate([y, y_rev], axis=-1)
    if mode == "sum":
        return y + y_rev
    if mode == "mul":
        return y * y_rev
    if mode == "ave":
        return (y + y_rev) / 2
    return [y, y_rev]


class TimeDistributed(Wrapper):
    """Applies a layer to every time step: `(batch, timesteps, ...)` in, the layer's output for each
    step stacked along axis 1 out. The steps run as one batch of `batch * timesteps` samples.

    Example:
        >>> from nablanet.layers import Dense
        >>> TimeDistributed(Dense(2))(np.ones((4, 3, 5))).shape
        (4, 3, 2)
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed: expected a Layer, got {layer!r}")
        super().__init__(layer, **kwargs)

    def _check(self, shape):
        if len(shape) < 3:
            raise ValueError(f"TimeDistributed {self.name!r}: expected an input of at least 3 dimensions "
                             f"(batch, timesteps, ...), got shape {tuple(shape)}")

    def build(self, input_shape):
        self._check(input_shape)
        if not self.layer.built:
            self.layer._build_once((None,) + tuple(input_shape[2:]))

    def call(self, inputs, training=None, mask=None):
        self._check(inputs.shape)
        n, t = inputs.shape[:2]
        flat = ops.reshape(inputs, (n * t,) + tuple(inputs.shape[2:]))
        kwargs = {"training": training} if self.layer._accepts_training else {}
        if mask is not None and np.ndim(mask) > 2 and self.layer._accepts_mask:
            kwargs["mask"] = np.reshape(mask, (n * t,) + np.shape(mask)[2:])  # each step's own mask
        out = self.layer(flat, **kwargs)
        return ops.reshape(out, (n, t) + tuple(out.shape[1:]))

    def compute_mask(self, inputs, previous_mask):
        """The (batch, timesteps) mask: a step counts when any of its positions does."""
        if previous_mask is None or np.ndim(previous_mask) <= 2:
            return previous_mask
        mask = np.asarray(previous_mask)
        return mask.reshape(mask.shape[:2] + (-1,)).any(axis=-1)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return tuple(input_shape[:2]) + tuple(inner[1:])

