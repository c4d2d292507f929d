"""Attention without projections, on `[query, value]` or `[query, value, key]` lists: Attention (dot
product, Luong et al., 2015, or "concat" scores) and AdditiveAttention (Bahdanau et al., 2015).

Scores `(batch, Tq, Tv)` are softmaxed over the values; masked values get `score - 1e9` (Keras's
rule, so a row with every value masked still averages), and masked query steps give zeros.
"""

import numpy as np

from nablanet import ops
from nablanet.layers.attention import add_scores_output, boolean, causal_mask, shape_of
from nablanet.layers.seeded import SeededLayer


class Attention(SeededLayer):
    """Dot-product attention: `softmax(query key^T) value`, optionally scaled by a learned scalar.

    Args:
        use_scale: Multiply the scores by a learned scalar `scale`.
        score_mode: "dot" (`query . key`) or "concat" (`concat_score_weight * sum(tanh(query + key))`).
        dropout: Dropout on the attention probabilities in training.
        seed: Seed of that dropout.

    Call: `layer([query, value(, key)], mask=[query_mask, value_mask], training=False,
    return_attention_scores=False, use_causal_mask=False)`; the key is the value when not given.
    Masks not given are the inputs' Keras masks.

    Example:
        >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> Attention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{type(self).__name__}: score_mode must be 'dot' or 'concat', got {score_mode!r}")
        self.use_scale, self.score_mode, self.dropout = use_scale, score_mode, dropout

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(shape=(), initializer="ones", name="concat_score_weight")

    def _validate(self, inputs, mask=None):
        where = f"{type(self).__name__} {self.name!r}"
        single = not isinstance(inputs, (list, tuple)) or all(d is None or isinstance(d, int) for d in inputs)
        if single or not 2 <= len(inputs) <= 3:
            shape = tuple(inputs) if isinstance(inputs, tuple) else shape_of(inputs)  # build gets a shape
            got = f"a single input of shape {shape}" if single else f"{len(inputs)} inputs"
            raise ValueError(f"{where}: expected a list [query, value] or [query, value, key], got {got}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{where}: expected mask as a list [query_mask, value_mask(, key_mask)], got {mask!r}")
        shapes = [shape_of(x) if not isinstance(x, tuple) else x for x in inputs]
        query, value = shapes[0], shapes[1]
        key = shapes[2] if len(shapes) > 2 else value
        if len({len(query), len(value), len(key)}) != 1 or key[-2] != value[-2] and None not in (key[-2], value[-2]):
            raise ValueError(f"{where}: expected query (batch, Tq, dim), value (batch, Tv, dim) and key (batch, Tv, "
                             f"dim), got shapes {query}, {value} and {key}")
        if query[-1] is not None and key[-1] is not None and query[-1] != key[-1]:
            raise ValueError(f"{where}: expected query and key with the same last axis, got shapes {query} and {key}")

    def _calculate_scores(self, query, key):
        """`(batch, Tq, Tv)` scores of each query step against each key step."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))
            return scores * self.scale if self.scale is not None else scores
        summed = ops.expand_dims(query, -2) + ops.expand_dims(key, -3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * ops.sum(ops.tanh(summed), axis=-1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """`(softmax(scores) value, softmax(scores))`, masked values pushed down by 1e9."""
        if scores_mask is not None:
            padding = ~scores_mask
            if padding.ndim == 2:
                padding = padding[:, None, :]
            scores = ops.where(padding, scores - np.asarray(1e9, dtype=scores.dtype), scores)
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            keep = self._rng().random(weights.shape) >= self.dropout
            weights = weights * (keep.astype(weights.dtype) / np.asarray(1 - self.dropout, dtype=weights.dtype))
        return ops.matmul(weights, value), weights

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = boolean(mask[0]) if mask else None
        value_mask = boolean(mask[1]) if mask else None
        for label, m, tensor in (("query", query_mask, query), ("value", value_mask, value)):
            if m is not None and m.shape != tuple(shape_of(tensor)[:-1]):
                raise ValueError(f"{type(self).__name__} {self.name!r}: expected a {label} mask of shape "
                                 f"{tuple(shape_of(tensor)[:-1])}, got {m.shape}")
        scores = self._calculate_scores(query, key)
        scores_mask = value_mask
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            scores_mask = causal if value_mask is None else value_mask[:, None, :] & causal
        output, weights = self._apply_scores(scores, value, scores_mask, training=training)
        if query_mask is not None:
            output = ops.where(query_mask[..., None], output, np.zeros((), dtype=output.dtype))
        return (output, weights) if return_attention_scores else output

    def _symbolic_call(self, inputs, args, kwargs):
        self._validate(inputs, kwargs.get("mask"))
        outputs = super()._symbolic_call(inputs, args, kwargs)
        if not kwargs.get("return_attention_scores"):
            return outputs
        key = inputs[2] if len(inputs) > 2 else inputs[1]
        return add_scores_output(self, outputs, tuple(inputs[0].shape[:-1]) + (key.shape[-2],))

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (input_shape[1][-1],)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout}


class AdditiveAttention(Attention):
    """Additive attention: scores `sum(scale * tanh(query + key))` over the features.

    Args:
        use_scale: Multiply each feature's `tanh` by a learned `scale` vector.
        dropout: Dropout on the attention probabilities in training.

    Example:
        >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
        >>> AdditiveAttention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(input_shape[0][-1],), initializer="glorot_uniform", name="scale")

    def _calculate_scores(self, query, key):
        summed = ops.tanh(ops.expand_dims(query, -2) + ops.expand_dims(key, -3))
        return ops.sum(self.scale * summed if self.scale is not None else summed, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
