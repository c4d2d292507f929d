"""GroupedQueryAttention (Keras's `GroupQueryAttention`): query heads share fewer key/value heads
(Ainslie et al., 2023), with Keras's weights `_query_dense`, `_key_dense`, `_value_dense` (and
`_gate_dense`) and `_output_dense`."""

import math

import numpy as np

from nablanet import constraints, initializers, ops, regularizers
from nablanet.layers.attention import (
    QueryValueKeyLayer, add_scores_output, boolean, causal_mask, combine_masks, masked_softmax, shape_of)
from nablanet.layers.base import keras_mask
from nablanet.layers.core import Dropout
from nablanet.layers.einsum_dense import EinsumDense


class GroupedQueryAttention(QueryValueKeyLayer):
    """Attention whose `num_query_heads` query heads share `num_key_value_heads` key and value heads,
    each of size `head_dim`; query head i reads key/value head `i // (num_query_heads // num_key_value_heads)`.

    Args:
        head_dim: The size of each head.
        num_query_heads: The number of query heads.
        num_key_value_heads: The number of key and value heads (it must divide num_query_heads).
        dropout: Dropout on the attention probabilities in training.
        use_bias: Whether the projections have biases.
        sliding_window: Positions farther apart than this are masked.
        flash_attention: Keras's; there is no flash kernel here (True is refused by the op).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
            kernel_constraint, bias_constraint: Passed to every projection.
        use_gate: A sigmoid gate from the query multiplies the heads' outputs.
        seed: Seed of the attention dropout.

    Call: `layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)`; masks
    not given are the tensors' Keras masks.

    Example:
        >>> x = np.ones((2, 5, 8), "float32")
        >>> GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)(x, x).shape
        (2, 5, 8)
    """

    supports_masking = True
    _keras_class_name = "GroupQueryAttention"  # Keras's exported name, in configs
    _keras_path_name = "GroupedQueryAttention"  # Keras's class, in weight paths

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0, use_bias=True,
                 sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        name = type(self).__name__
        for argument, value in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                                ("num_key_value_heads", num_key_value_heads)):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"{name}: {argument} must be a positive integer, got {value!r}")
        if num_query_heads % num_key_value_heads:
            raise ValueError(f"{name}: num_query_heads ({num_query_heads}) must be a multiple of "
                             f"num_key_value_heads ({num_key_value_heads})")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError(f"{name}: sliding_window must be None or a positive integer, got {sliding_window!r}")
        if flash_attention and dropout > 0:
            raise ValueError(f"{name}: flash_attention=True does not support dropout; got dropout={dropout}")
        super().__init__(**kwargs)
        self.head_dim, self.num_query_heads = int(head_dim), int(num_query_heads)
        self.num_key_value_heads = int(num_key_value_heads)
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self.dropout, self.use_bias, self.use_gate, self.sliding_window = dropout, use_bias, use_gate, sliding_window
        self._flash_attention = flash_attention
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)  # Keras also penalizes the output
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.seed = seed
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(self.head_dim))
        self._build_shapes = None

    def _projection(self, equation, sizes, bias_axes, name, input_shape, activation=None):
        kernel_init, bias_init = self.kernel_initializer, self.bias_initializer  # fresh copies for each projection
        layer = EinsumDense(
            equation, output_shape=sizes, bias_axes=bias_axes if self.use_bias else None, activation=activation,
            name=name, kernel_initializer=type(kernel_init).from_config(kernel_init.get_config()),
            bias_initializer=type(bias_init).from_config(bias_init.get_config()),
            kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.activity_regularizer, kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint, dtype=self.dtype)
        layer._build_once(tuple(input_shape))
        return layer

    def build(self, query_shape, value_shape=None, key_shape=None):
        query_shape, value_shape, key_shape = self._record_shapes(query_shape, value_shape, key_shape)
        self.feature_dim = query_shape[-1]
        heads, kv_heads, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self._query_dense = self._projection("bqm,muh->bquh", (None, heads, dim), "uh", "query", query_shape)
        self._key_dense = self._projection("bkm,mvh->bkvh", (None, kv_heads, dim), "vh", "key", key_shape)
        if self.use_gate:
            self._gate_dense = self._projection("bqm,muh->bquh", (None, heads, dim), "uh", "gate", query_shape,
                                                "sigmoid")
        self._value_dense = self._projection("bkm,mvh->bkvh", (None, kv_heads, dim), "vh", "value", value_shape)
        self._dropout_layer = Dropout(rate=self.dropout, seed=self.seed, dtype=self.dtype)
        self._output_dense = self._projection("bquh,uhm->bqm", (None, self.feature_dim), "m", "attention_output",
                                              (None, None, heads, dim))
        self.built = True

    def _symbolic_call(self, inputs, args, kwargs):
        value = args[0] if args else kwargs["value"]
        key = kwargs.get("key")
        self.compute_output_shape(shape_of(inputs), shape_of(value), None if key is None else shape_of(key))
        outputs = super()._symbolic_call(inputs, args, kwargs)
        if not kwargs.get("return_attention_scores"):
            return outputs
        query_shape, key_shape = shape_of(inputs), shape_of(value if key is None else key)
        return add_scores_output(self, outputs, (query_shape[0], self.num_query_heads, query_shape[1], key_shape[1]))

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        query_mask = keras_mask(query) if query_mask is None else query_mask  # Keras's __call__ fills them
        value_mask = keras_mask(value) if value_mask is None else value_mask
        if key is None:
            key = value
        elif key_mask is None:
            key_mask = keras_mask(key)
        for label, tensor, sublayer in (("query", query, self._query_dense), ("value", value, self._value_dense),
                                        ("key", key, self._key_dense)):
            built, shape = sublayer._build_shape, shape_of(tensor)
            if len(shape) != 3 or shape[-1] != built[-1]:
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected {label} of shape "
                                 f"{(None,) + tuple(built[1:])}, as built, got shape {shape}")
        self._check_key_value(shape_of(value), shape_of(key))
        causal_only = (use_causal_mask and attention_mask is None and self.sliding_window is None
                       and query_mask is None and value_mask is None and key_mask is None)
        if not causal_only:
            attention_mask = combine_masks(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                                           use_causal_mask, self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        query, key, value = self._query_dense(query), self._key_dense(key), self._value_dense(value)
        output, scores = self._compute_attention(query, key, value, attention_mask, training,
                                                 return_attention_scores, use_causal_mask=causal_only)
        output = self._output_dense(output * gate if gate is not None else output)
        return (output, scores) if return_attention_scores else output

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        """`(output, scores)` from the projected heads; scores None on the fused path."""
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"{type(self).__name__} {self.name!r}: flash_attention=True cannot return attention "
                             "scores")
        if attention_mask is not None:
            attention_mask = boolean(attention_mask)
            while attention_mask.ndim < 4:
                attention_mask = np.expand_dims(attention_mask, -3)
            scores_shape = (query.shape[0], self.num_query_heads, query.shape[1], key.shape[1])
            try:
                np.broadcast_shapes(attention_mask.shape, scores_shape)
            except ValueError:
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected attention_mask broadcastable to "
                                 f"(batch, query length, key length) = {scores_shape[:1] + scores_shape[2:]}, got "
                                 f"{attention_mask.shape[:1] + attention_mask.shape[2:]}") from None
        if not (self.dropout > 0 or return_attention_scores):  # the op shares the key/value heads itself
            return ops.dot_product_attention(query, key, value, mask=attention_mask,
                                             scale=self._inverse_sqrt_head_dim, is_causal=use_causal_mask,
                                             flash_attention=self._flash_attention), None
        key, value = ops.repeat(key, self.num_repeats, axis=2), ops.repeat(value, self.num_repeats, axis=2)
        if use_causal_mask:
            attention_mask = causal_mask(query.shape[1], key.shape[1])[None]
        query = query * np.asarray(self._inverse_sqrt_head_dim, dtype=query.dtype)
        scores = masked_softmax(ops.einsum("bquh,bkuh->buqk", query, key), attention_mask, -1)
        dropped = self._dropout_layer(scores, training=training) if self.dropout > 0 else scores
        return ops.einsum("buqk,bkuh->bquh", dropped, value), scores

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is not None:
            if query_shape[-1] != value_shape[-1]:
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected query and value with the same last "
                                 f"axis, got shapes {tuple(query_shape)} and {tuple(value_shape)}")
            self._check_key_value(value_shape, value_shape if key_shape is None else key_shape)
        return tuple(query_shape)

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
                "use_gate": self.use_gate, "sliding_window": self.sliding_window, "dropout": self.dropout,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "seed": self.seed}
