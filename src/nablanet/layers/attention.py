"""MultiHeadAttention, built from EinsumDense projections with Keras's weight layout, and the mask and
equation helpers the other attention layers share (`attention_grouped`, `attention_dot`).

The projections map `(batch, <positions>, features)` to `(batch, <positions>, heads, dim)`; the scores
`softmax(q k^T / sqrt(dim))` are taken over the attention axes. With 3-D inputs, no dropout and no scores
asked for, the product runs in `ops.dot_product_attention`; otherwise as two einsums around a masked
softmax, as Keras does, whose masked entries are exactly 0 (Keras's `Softmax` layer with a mask).
"""

import functools
import inspect
import math
import string

import numpy as np

from nablanet import constraints, initializers, ops, regularizers
from nablanet.autodiff.tensor import Tensor, as_array
from nablanet.layers.base import Layer, keras_mask
from nablanet.layers.core import Dropout
from nablanet.layers.einsum_dense import EinsumDense
from nablanet.symbolic import KerasTensor


def shape_of(x):
    """The shape of a Tensor, array or KerasTensor."""
    return tuple(x.shape) if isinstance(x, (KerasTensor, Tensor)) else np.shape(as_array(x))


def boolean(mask):
    """A mask as a NumPy boolean array (masks carry no gradient)."""
    return None if mask is None else np.asarray(as_array(mask)).astype(bool)


def add_scores_output(layer, outputs, shape):
    """Give the functional node `layer` just recorded a second output, the attention scores of `shape`."""
    node = layer._inbound_nodes[-1]
    scores = KerasTensor(shape, layer.output_dtype, name=layer.name, history=(node, 1))
    node.outputs = (outputs, scores)
    return node.outputs


def masked_softmax(scores, mask, axes):
    """Softmax over `axes` where `mask` is True; masked entries are exactly 0 (Keras's Softmax layer)."""
    if mask is None:
        return ops.softmax(scores, axis=axes)
    large = np.asarray(-1e9, dtype=scores.dtype)
    probabilities = ops.softmax(ops.where(mask, scores, large), axis=axes)
    return ops.where(mask, probabilities, np.zeros((), dtype=scores.dtype))


def causal_mask(query_length, key_length):
    """`(1, T, S)`: query i sees keys j <= i."""
    return np.tril(np.ones((query_length, key_length), dtype=bool))[None]


def window_mask(query_length, key_length, window):
    """`(1, T, S)`: query i sees keys j with |i - j| < window."""
    return (np.abs(np.arange(query_length)[:, None] - np.arange(key_length)[None]) < window)[None]


def combine_masks(layer, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask,
                  sliding_window):
    """The boolean `(B, T, S)` mask of allowed scores: the query's mask on rows, the value's and key's
    on columns, the causal and sliding-window bands and `attention_mask`, combined by AND (Keras's rule)."""
    where = f"{type(layer).__name__} {layer.name!r}"
    pieces = []
    for label, mask, axis in (("query_mask", query_mask, -1), ("value_mask", value_mask, -2),
                              ("key_mask", key_mask, -2)):
        if mask is None:
            continue
        mask = boolean(mask)
        wanted = shape_of(query if label == "query_mask" else value)[:-1]
        if mask.shape != tuple(wanted):
            raise ValueError(f"{where}: expected {label} of shape {tuple(wanted)} (the "
                             f"{'query' if label == 'query_mask' else 'value'}'s shape without the feature axis), "
                             f"got {mask.shape}")
        pieces.append(np.expand_dims(mask, axis))
    lengths = shape_of(query)[1], shape_of(value)[1]
    if use_causal_mask:
        pieces.append(causal_mask(*lengths))
    if sliding_window is not None:
        pieces.append(window_mask(*lengths, sliding_window))
    if attention_mask is not None:
        pieces.insert(0, boolean(attention_mask))
    if not pieces:
        return None
    combined = pieces[0]
    for piece in pieces[1:]:
        try:
            combined = combined & piece
        except ValueError:
            raise ValueError(f"{where}: the masks do not combine: attention_mask must broadcast to (batch, "
                             f"{lengths[0]}, {lengths[1]}) with the query's and value's masks, got shapes "
                             f"{[p.shape for p in pieces]}") from None
    return combined


def broadcasts(shape, target):
    """Whether `shape` (of the same rank) broadcasts to `target`."""
    try:
        return len(shape) == len(target) and np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _letters(start, count):
    return string.ascii_lowercase[start:start + count]


def projection_equation(free, bound, out):
    """`(equation, bias_axes, output rank)` of a projection: `free` axes kept, `bound` contracted,
    `out` created (the kernel holds the bound and the created axes)."""
    kept, contracted, created = _letters(0, free), _letters(free, bound), _letters(free + bound, out)
    return f"{kept}{contracted},{contracted}{created}->{kept}{created}", created, free + out


def attention_equations(rank, axes):
    """The einsums of scores and of the combination for projected tensors of `rank` attending over
    `axes`: `(key, query -> batch dims, heads, query positions, key positions)` and back."""
    target = _letters(0, rank)
    batch = [i for i in range(rank - 1) if i not in axes]
    fresh = iter(_letters(rank, len(axes)))
    source = "".join(next(fresh) if i in axes else target[i] for i in range(rank))
    product = "".join([target[i] for i in batch] + [target[i] for i in axes] + [source[i] for i in axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


@functools.lru_cache(maxsize=None)
def _call_signature(cls):
    """The signature of `cls.call` (self included), read once per class: binding runs on every call."""
    return inspect.signature(cls.call)


class QueryValueKeyLayer(Layer):
    """What Keras's attention layers called as `(query, value, key=None, ...)` share: building from
    the three shapes on the first call, and Keras's `shapes_dict` build config."""

    def _record_shapes(self, query_shape, value_shape, key_shape):
        """The three shapes as tuples (value defaults to query, key to value), checked and kept for
        the build config."""
        query_shape = tuple(query_shape)
        value_shape = query_shape if value_shape is None else tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_key_value(value_shape, key_shape)
        self._build_shapes = {"query_shape": query_shape, "value_shape": value_shape}
        return query_shape, value_shape, key_shape

    def _check_key_value(self, value_shape, key_shape):
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{type(self).__name__} {self.name!r}: expected value and key of equal shapes but for "
                             f"the last axis, got value {tuple(value_shape)} and key {tuple(key_shape)}")

    def get_build_config(self):
        """Keras's `{"shapes_dict": {"query_shape": ..., "value_shape": ...}}`."""
        if self._build_shapes is None:
            return None
        return {"shapes_dict": {k: list(v) for k, v in self._build_shapes.items()}}

    def build_from_config(self, config):
        shapes = (config or {}).get("shapes_dict") or {}
        if shapes and not self.built:
            self.build(**{k: tuple(v) for k, v in shapes.items()})

    def __call__(self, *args, **kwargs):
        bound = _call_signature(type(self)).bind(self, *args, **kwargs)
        query, value = bound.arguments["query"], bound.arguments["value"]
        key = bound.arguments.get("key")
        if not self.built:
            self.build(shape_of(query), shape_of(value), None if key is None else shape_of(key))
        rest = {k: v for k, v in bound.arguments.items() if k not in ("self", "query", "value")}
        return super().__call__(query, value, **rest)


class MultiHeadAttention(QueryValueKeyLayer):
    """Multi-head attention (Vaswani et al., 2017) with Keras's arguments and weights.

    Args:
        num_heads: The number of heads.
        key_dim: The size of each head of the query and key projections.
        value_dim: The size of each head of the value projection (key_dim by default).
        dropout: Dropout on the attention probabilities in training.
        use_bias: Whether the projections have biases.
        output_shape: The output's trailing shape (the query's last axis by default).
        attention_axes: The axes attended over (all but the batch and feature axes by default).
        sliding_window: Positions farther apart than this are masked.
        flash_attention: Keras's; there is no flash kernel here (True is refused by the op).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
            kernel_constraint, bias_constraint: Passed to every projection.
        use_gate: A sigmoid gate from the query multiplies the heads' outputs.
        seed: Seed of the attention dropout.

    Call: `layer(query, value, key=None, ..., attention_mask=None, return_attention_scores=False,
    training=None, use_causal_mask=False)`. The query's and value's Keras masks (from
    `Embedding(mask_zero=True)`) mask the scores, as Keras's; the output carries the query's mask.

    Example:
        >>> x = np.ones((2, 5, 8), "float32")
        >>> MultiHeadAttention(num_heads=2, key_dim=4)(x, x).shape
        (2, 5, 8)
    """

    supports_masking = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        for argument, value, optional in (("num_heads", num_heads, False), ("key_dim", key_dim, False),
                                          ("value_dim", value_dim, True)):
            if not (optional and value is None) and (not isinstance(value, (int, np.integer)) or value <= 0):
                raise ValueError(f"{type(self).__name__}: {argument} must be a positive integer, got {value!r}")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError(f"{type(self).__name__}: sliding_window must be None or a positive integer, "
                             f"got {sliding_window!r}")
        if flash_attention and dropout > 0:
            raise ValueError(f"{type(self).__name__}: flash_attention=True does not support dropout; got "
                             f"dropout={dropout}")
        super().__init__(**kwargs)
        self._num_heads, self._key_dim = int(num_heads), int(key_dim)
        self._value_dim = int(value_dim) if value_dim else self._key_dim
        self._dropout, self._use_bias, self._use_gate = dropout, use_bias, use_gate
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self._output_shape = tuple(output_shape) if output_shape else None
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"{type(self).__name__}: attention_axes must be an int, list or tuple, "
                             f"got {attention_axes!r}")
        self._attention_axes = attention_axes
        self._sliding_window, self._flash_attention, self.seed = sliding_window, flash_attention, seed
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._activity_regularizer = regularizers.get(activity_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        self._build_shapes = None

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)

    # -- building ------------------------------------------------------------------------------------

    def _sublayer_options(self):
        """Each projection gets fresh initializers (so seeded ones do not repeat) and shared penalties."""
        return {"kernel_initializer": type(self._kernel_initializer).from_config(self._kernel_initializer.get_config()),
                "bias_initializer": type(self._bias_initializer).from_config(self._bias_initializer.get_config()),
                "kernel_regularizer": self._kernel_regularizer, "bias_regularizer": self._bias_regularizer,
                "activity_regularizer": self._activity_regularizer, "kernel_constraint": self._kernel_constraint,
                "bias_constraint": self._bias_constraint, "dtype": self.dtype}

    def _projection(self, input_shape, bound, sizes, name, activation=None):
        equation, bias_axes, rank = projection_equation(len(input_shape) - bound, bound, len(sizes))
        layer = EinsumDense(equation, output_shape=[None] * (rank - 1 - len(sizes)) + list(sizes),
                            bias_axes=bias_axes if self._use_bias else None, activation=activation, name=name,
                            **self._sublayer_options())
        layer._build_once(tuple(input_shape))
        return layer

    def build(self, query_shape, value_shape=None, key_shape=None):
        query_shape, value_shape, key_shape = self._record_shapes(query_shape, value_shape, key_shape)
        heads = self._num_heads
        self.query_dense = self._projection(query_shape, 1, (heads, self._key_dim), "query")
        self.key_dense = self._projection(key_shape, 1, (heads, self._key_dim), "key")
        if self._use_gate:
            self._gate_dense = self._projection(query_shape, 1, (heads, self._value_dim), "gate", "sigmoid")
        self.value_dense = self._projection(value_shape, 1, (heads, self._value_dim), "value")
        rank = len(value_shape) + 1
        axes = range(1, rank - 2) if self._attention_axes is None else self._attention_axes
        self._attention_axes = tuple(a if a >= 0 else rank - 1 + a for a in axes)
        self._dot_product_equation, self._combine_equation, scores_rank = attention_equations(
            rank, self._attention_axes)
        self._norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        self._dropout_layer = Dropout(rate=self._dropout, seed=self.seed, dtype=self.dtype)
        projected = tuple(self.query_dense.compute_output_shape(query_shape))[:-1] + (self._value_dim,)
        self.output_dense = self._projection(projected, 2, self._output_shape or (query_shape[-1],),
                                             "attention_output")
        self.built = True

    # -- calling -------------------------------------------------------------------------------------

    def _symbolic_call(self, inputs, args, kwargs):
        outputs = super()._symbolic_call(inputs, args, kwargs)
        if not kwargs.get("return_attention_scores"):
            return outputs
        value = args[0] if args else kwargs["value"]
        key = kwargs.get("key")
        return add_scores_output(self, outputs, self._scores_shape(shape_of(inputs),
                                                                   shape_of(value if key is None else key)))

    def _scores_shape(self, query_shape, key_shape):
        """`(batch axes, heads, query positions, key positions)` for the inputs' shapes."""
        axes = self._attention_axes
        batch = [query_shape[i] for i in range(len(query_shape) - 1) if i not in axes]
        return tuple(batch + [self._num_heads] + [query_shape[i] for i in axes] + [key_shape[i] for i in axes])

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query_mask = keras_mask(query)  # Keras 3 reads the query's mask from the tensor, not the argument
        value_mask = keras_mask(value) if value_mask is None else value_mask
        if key is None:
            key = value
        elif key_mask is None:
            key_mask = keras_mask(key)
        self._check_call_shapes(query, value, key)
        causal_only = (use_causal_mask and attention_mask is None and self._sliding_window is None
                       and query_mask is None and value_mask is None and key_mask is None)
        if not causal_only:
            attention_mask = self._compute_attention_mask(query, value, query_mask, value_mask, key_mask,
                                                          attention_mask, use_causal_mask)
        gate = self._gate_dense(query) if self._use_gate else None
        query, key, value = self.query_dense(query), self.key_dense(key), self.value_dense(value)
        extra = {"use_causal_mask": True} if causal_only else {}
        output, scores = self._compute_attention(query, key, value, attention_mask, training,
                                                 return_attention_scores, **extra)
        output = self.output_dense(output * gate if gate is not None else output)
        return (output, scores) if return_attention_scores else output

    def _check_call_shapes(self, query, value, key):
        expected = {"query": self.query_dense, "value": self.value_dense, "key": self.key_dense}
        for label, tensor in (("query", query), ("value", value), ("key", key)):
            built = expected[label]._build_shape
            shape = shape_of(tensor)
            if len(shape) != len(built) or shape[-1] != built[-1]:
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected {label} of shape "
                                 f"{(None,) + tuple(built[1:])}, as built, got shape {shape}")
        self._check_key_value(shape_of(value), shape_of(key))

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None, key_mask=None,
                                attention_mask=None, use_causal_mask=False):
        """The boolean `(B, T, S)` mask of allowed scores (see `combine_masks`)."""
        return combine_masks(self, query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask,
                             self._sliding_window)

    def _expanded_mask(self, mask, rank):
        """`mask` with the heads' axis (and any missing leading axes) inserted, as Keras."""
        axis = -len(self._attention_axes) * 2 - 1
        while mask.ndim < rank:
            mask = np.expand_dims(mask, axis)
        return mask

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        """`(output, scores)` from the projected query, key and value; scores None on the fused path."""
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"{type(self).__name__} {self.name!r}: flash_attention=True cannot return attention "
                             "scores")
        scores_shape = self._scores_shape(query.shape[:-1], key.shape[:-1])
        if attention_mask is not None:
            mask = self._expanded_mask(boolean(attention_mask), len(scores_shape))
            if not broadcasts(mask.shape, scores_shape):
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected attention_mask broadcastable to "
                                 f"the scores' shape without the heads' axis, {scores_shape[:1] + scores_shape[2:]}, "
                                 f"got {np.shape(attention_mask)}")
            attention_mask = mask
        if not (self._dropout > 0 or return_attention_scores or query.ndim != 4):
            return ops.dot_product_attention(query, key, value, mask=attention_mask,
                                             scale=self._inverse_sqrt_key_dim, is_causal=use_causal_mask,
                                             flash_attention=self._flash_attention), None
        if use_causal_mask:
            causal = causal_mask(query.shape[1], key.shape[1])
            attention_mask = causal if attention_mask is None else attention_mask & causal
        query = query * np.asarray(self._inverse_sqrt_key_dim, dtype=query.dtype)
        scores = ops.einsum(self._dot_product_equation, key, query)
        if attention_mask is not None:
            attention_mask = self._expanded_mask(attention_mask, scores.ndim)
        scores = masked_softmax(scores, attention_mask, self._norm_axes)
        dropped = self._dropout_layer(scores, training=training) if self._dropout > 0 else scores
        return ops.einsum(self._combine_equation, dropped, value), scores

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if value_shape is not None:
            self._check_key_value(value_shape, value_shape if key_shape is None else key_shape)
        return query_shape[:-1] + self._output_shape if self._output_shape else query_shape

    def get_config(self):
        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "dropout": self._dropout, "use_bias": self._use_bias,
                "use_gate": self._use_gate, "output_shape": self._output_shape,
                "attention_axes": self._attention_axes, "sliding_window": self._sliding_window,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": regularizers.serialize(self._kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self._bias_regularizer),
                "activity_regularizer": regularizers.serialize(self._activity_regularizer),
                "kernel_constraint": constraints.serialize(self._kernel_constraint),
                "bias_constraint": constraints.serialize(self._bias_constraint), "seed": self.seed}

