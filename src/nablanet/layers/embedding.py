"""Embedding (token ids to dense vectors), ReversibleEmbedding (and back to logits), and Masking
(skip padded time steps)."""

import numpy as np

from nablanet import constraints, initializers, ops, regularizers
from nablanet.autodiff.tensor import Tensor
from nablanet.compat import warn_ignored
from nablanet.layers.base import Layer
from nablanet.layers.core import refuse_unavailable, set_weight_roles


class Embedding(Layer):
    """Turns token ids into dense vectors: row `i` of an `(input_dim, output_dim)` matrix for id `i`.

    Args:
        input_dim: The vocabulary size: ids must lie in `[0, input_dim)`.
        output_dim: The length of each vector.
        embeddings_initializer: Initializer of the matrix (Keras's default: uniform in
            [-0.05, 0.05]).
        embeddings_regularizer, embeddings_constraint: A penalty on, and a projection of, the matrix.
        mask_zero: Whether id 0 is padding: the output then carries a mask that recurrent layers
            honour, and id 0 must not be a real token (so `input_dim` is vocabulary + 1).

    Example:
        >>> Embedding(10, 3)(np.array([[1, 2, 0]])).shape
        (1, 3, 3)
    """

    accepts_integer_inputs = True
    fixed_last_axis = False  # any sequence length
    supports_masking = property(lambda self: self.mask_zero)

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, input_length=None, **kwargs):
        super().__init__(**kwargs)
        refuse_unavailable("Embedding", lora_rank=lora_rank, quantization_config=quantization_config)
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: {name} must be a positive integer, got {value!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        set_weight_roles(self, embeddings=(embeddings_initializer, embeddings_regularizer, embeddings_constraint))
        self.mask_zero = bool(mask_zero)
        warn_ignored("Embedding", "input_length", input_length, "shapes come from the data")
        self.input_length = input_length  # accepted for old Keras programs; shapes come from the data
        if weights is not None:  # Keras builds at once and starts from the given table
            weights = np.asarray(weights[0] if isinstance(weights, (list, tuple)) else weights)
            if weights.shape != (self.input_dim, self.output_dim):
                raise ValueError(f"Embedding: weights must have shape ({self.input_dim}, {self.output_dim}), "
                                 f"got {weights.shape}")
            self._build_once((None,))
            self.embeddings.assign(weights)

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, name="embeddings")

    def _ids(self, inputs):
        ids = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        if ids.dtype.kind == "f":
            whole = np.isfinite(ids).all() and (ids == np.round(ids)).all()
            if not whole:
                raise TypeError(f"Embedding {self.name!r}: expected integer token ids, got {ids.dtype} "
                                "values that are not whole numbers; pass ids as an integer array")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding {self.name!r}: expected integer token ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids.max() if ids.max() >= self.input_dim else ids.min()
            raise IndexError(f"Embedding {self.name!r}: token id {bad} is out of range [0, {self.input_dim}); "
                             f"input_dim must be larger than the largest id (vocabulary size + 1 with padding)")
        return ids

    def call(self, inputs):
        return ops.take(self.embeddings, self._ids(inputs), axis=0)

    def compute_mask(self, inputs, previous_mask=None):
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return ids != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "quantization_config": None}


class Masking(Layer):
    """Marks time steps whose features all equal `mask_value` as padding, for the layers after it,
    and zeroes them (as Keras does).

    Example:
        >>> x = np.array([[[1.0], [0.0]]])
        >>> Masking()(x)._keras_mask
        array([[ True, False]])
    """

    keeps_shape = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value

    def _keep(self, inputs):
        data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return np.any(data != self.mask_value, axis=-1)

    def call(self, inputs):
        keep = self._keep(inputs)
        return inputs * keep[..., None].astype(inputs.dtype)

    def compute_mask(self, inputs, previous_mask=None):
        return self._keep(inputs)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


class ReversibleEmbedding(Embedding):
    """An `Embedding` that also maps vectors back to logits over the vocabulary:
    `layer(ids)` embeds, `layer(vectors, reverse=True)` multiplies by the transposed embeddings
    (or by a separate `reverse_embeddings` matrix when `tie_weights=False`), as a language
    model's output layer.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer, embeddings_constraint,
            mask_zero: As `Embedding`'s.
        tie_weights: Whether the reverse direction uses the embeddings themselves.
        reverse_dtype: A dtype for the reverse matmul (its inputs and kernel are cast to it), or None.
        logit_soft_cap: When set, the logits become `tanh(logits / cap) * cap`.

    Example:
        >>> layer = ReversibleEmbedding(10, 3)
        >>> layer(layer(np.array([[1, 2]])), reverse=True).shape
        (1, 2, 10)
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        self.tie_weights, self.reverse_dtype, self.logit_soft_cap = tie_weights, reverse_dtype, logit_soft_cap
        self._symbolic_reverse = False

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(shape=(self.output_dim, self.input_dim),
                                                      initializer=self.embeddings_initializer,
                                                      name="reverse_embeddings")

    def call(self, inputs, reverse=False):
        if not reverse:
            result = super().call(inputs)
            mask = super().compute_mask(inputs)
            if mask is not None:
                result._keras_mask = mask
            return result
        if inputs.shape[-1] != self.output_dim:
            raise ValueError(f"ReversibleEmbedding {self.name!r}: reverse=True takes vectors of length "
                             f"{self.output_dim} (output_dim), got shape {tuple(inputs.shape)}")
        kernel = ops.transpose(self.embeddings) if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            inputs, kernel = ops.cast(inputs, self.reverse_dtype), ops.cast(kernel, self.reverse_dtype)
        logits = ops.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = ops.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, previous_mask=None):
        """The forward direction's padding mask, for integer ids only (the reverse one has none)."""
        dtype = getattr(inputs, "dtype", None)
        if dtype is None or np.dtype(dtype).kind == "f":
            return None
        return super().compute_mask(inputs, previous_mask)

    def _symbolic_call(self, inputs, args, kwargs):
        self._symbolic_reverse = bool(kwargs.get("reverse", args[0] if args else False))
        try:
            return super()._symbolic_call(inputs, args, kwargs)
        finally:
            self._symbolic_reverse = False

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse or self._symbolic_reverse:
            return tuple(input_shape[:-1]) + (self.input_dim,)
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}
