"""Structured-data preprocessing layers: `Normalization`, `Discretization`, `CategoryEncoding`.

They follow Keras 3's layers of the same names: the same arguments, configs, weights and
outputs, and `adapt()` learns the same statistics from a NumPy array, a list of batches, a
`PyDataset` or any iterable of batches (an `(x, y)` batch counts by its `x`). Categorical
outputs are encoded as Keras's `encode_categorical_inputs` does on its PyTorch backend; the
helpers here (`encode`, `adapt_batches`) are shared by the hashing and lookup layers.
"""

import math

import numpy as np

from nablanet import backend
from nablanet.autodiff import Tensor
from nablanet.layers.base import Layer

__all__ = ["CategoryEncoding", "Discretization", "Normalization", "adapt_batches", "encode"]

ENCODINGS = ("int", "one_hot", "multi_hot", "count")


def check_sparse(layer, sparse, output_mode):
    """Refuse `sparse=True`: nablanet has dense outputs only."""
    if sparse:
        raise NotImplementedError(f"{layer}: sparse=True is not available in nablanet (outputs are dense NumPy "
                                  f"arrays), got sparse=True with output_mode={output_mode!r}; pass sparse=False")


def as_numpy(x):
    """`x` (a Tensor, array, list or scalar) as a NumPy array."""
    return x.numpy() if isinstance(x, Tensor) or hasattr(x, "numpy") else np.asarray(x)


def encode(ids, output_mode, depth, dtype, count_weights=None):
    """Integer ids as Keras's `encode_categorical_inputs` gives them: cast for "int"; otherwise
    one-hot vectors of length `depth` (a trailing axis of 1 dropped), or their max ("multi_hot")
    or sum ("count", weighted by `count_weights`) over axis 1 (axis 0 for one sample). Negative
    ids encode as zeros, as on Keras's PyTorch backend."""
    ids = as_numpy(ids)
    if output_mode == "int":
        return Tensor._wrap(ids.astype(dtype or "int64"))
    if ids.ndim == 0:
        ids = ids[None]
    if output_mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids[..., 0]
    if count_weights is not None:
        dtype = as_numpy(count_weights).dtype
    hot = (ids[..., None] == np.arange(depth)).astype(dtype)
    if output_mode == "one_hot":
        return Tensor._wrap(hot)
    axis = 1 if ids.ndim > 1 else 0
    if output_mode == "multi_hot":
        return Tensor._wrap(hot.max(axis=axis))
    if count_weights is not None:
        hot = hot * as_numpy(count_weights).astype(dtype)[..., None]
    return Tensor._wrap(hot.sum(axis=axis))


def output_width(input_shape, output_mode, depth):
    """The output shape of `encode` for an input shape (Hashing's and the lookups' rule)."""
    if output_mode == "int":
        return tuple(input_shape)
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot" and input_shape[-1] != 1:
        return tuple(input_shape) + (depth,)
    return tuple(input_shape[:-1]) + (depth,)


def _first(batch):
    return batch[0] if isinstance(batch, tuple) else batch


def adapt_batches(data, layer, steps=None):
    """The batches `adapt()` learns from, as NumPy arrays: one for an array, a Tensor or a flat
    list of values; each element for a `PyDataset` or another iterable (the `x` of an `(x, y)`
    element), at most `steps` of them. Raises if there are none."""
    if isinstance(data, (np.ndarray, Tensor)) or np.isscalar(data):
        found = [as_numpy(data)]
    elif isinstance(data, (list, tuple)) and data and (np.isscalar(data[0]) or isinstance(data[0], (list, tuple))):
        found = [np.asarray(data)]  # a list of values (or of rows) is one batch of them
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__") and hasattr(data, "num_batches"):
        count = data.num_batches if steps is None else min(steps, data.num_batches or steps)
        if count is None:
            raise ValueError(f"{layer}.adapt: the PyDataset has no end (num_batches is None); pass steps")
        found = [as_numpy(_first(data[i])) for i in range(count)]
    elif hasattr(data, "__iter__"):
        found = []
        for batch in data:
            if steps is not None and len(found) >= steps:
                break
            found.append(as_numpy(_first(batch)))
    else:
        raise TypeError(f"{layer}.adapt: expected a NumPy array, a list, a PyDataset or an iterable of batches, "
                        f"got {type(data).__name__}")
    if not found or all(batch.size == 0 for batch in found):
        raise ValueError(f"{layer}.adapt: expected at least one value to learn from, got empty data "
                         f"({type(data).__name__})")
    return found


class Normalization(Layer):
    """Shift and scale inputs by a mean and variance, `(x - mean) / sqrt(variance)`, learned
    with `adapt()` or given.

    Example:
        >>> layer = Normalization(axis=None)
        >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
        >>> layer(np.array([1.0, 2.0, 3.0])).numpy().round(4)
        array([-1.4142, -0.7071,  0.    ], dtype=float32)
    """

    keeps_shape = True
    fixed_last_axis = False

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
        self.input_mean, self.input_variance, self.invert = mean, variance, invert
        self.supports_masking = True
        self.mean = self.variance = None
        if (mean is None) != (variance is None):
            raise ValueError(f"Normalization: expected both mean and variance or neither, got mean={mean} and "
                             f"variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(f"Normalization: expected mean and variance of the same shape, got "
                                 f"{np.shape(mean)} and {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"Normalization: expected mean of rank at most {len(self.axis)} (the number of "
                                 f"axes {self.axis}), got shape {np.shape(mean)}")

    def build(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"Normalization: expected axis in [-{ndim}, {ndim}) for inputs of shape "
                             f"{tuple(input_shape)}, got axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(f"Normalization: expected a known size on the kept axis {d}, got inputs of shape "
                                 f"{tuple(input_shape)}")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        self._stat_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(name="mean", shape=self._stat_shape, initializer="zeros",
                                              trainable=False)
            self.adapt_variance = self.add_weight(name="variance", shape=self._stat_shape, initializer="ones",
                                                  trainable=False)
            self.count = self.add_weight(name="count", shape=(), dtype="int32", initializer="zeros", trainable=False)
            self.built = True
            self.finalize_state()
            return
        mean, variance = np.asarray(self.input_mean), np.asarray(self.input_variance)
        if mean.ndim:  # the given values line up with the last kept axes
            shape = [1] * ndim
            for i in range(1, mean.ndim + 1):
                shape[self._keep_axis[-i]] = mean.shape[-i]
            mean, variance = mean.reshape(shape), variance.reshape(shape)
        try:
            self.mean = np.broadcast_to(mean, self._broadcast_shape).astype(self.dtype)
            self.variance = np.broadcast_to(variance, self._broadcast_shape).astype(self.dtype)
        except ValueError:
            raise ValueError(f"Normalization: mean of shape {np.shape(self.input_mean)} does not broadcast to the "
                             f"kept axes' shape {self._broadcast_shape}") from None
        self.built = True

    def adapt(self, data):
        """Learn the mean and variance of `data` (an array, or an iterable of batches)."""
        batches = adapt_batches(data, f"Normalization {self.name!r}")
        shape = batches[0].shape
        if not self.built:
            self._build_once(tuple(shape))
        for batch in batches:
            if batch.ndim != len(self._broadcast_shape) or any(batch.shape[d] != self._broadcast_shape[d]
                                                               for d in self._keep_axis):
                raise ValueError(f"Normalization {self.name!r}.adapt: the layer was built for inputs of shape "
                                 f"{self._build_shape}, got a batch of shape {batch.shape}")
        if len(batches) == 1:
            mean, var = batches[0].mean(axis=self._reduce_axis), batches[0].var(axis=self._reduce_axis)
        else:  # Chan's update, batch by batch, as Keras merges them
            mean, var, total = np.zeros(self._stat_shape), np.zeros(self._stat_shape), 0
            for batch in batches:
                batch = batch.astype(self.dtype)
                count = math.prod(batch.shape[d] for d in self._reduce_axis)
                total += count
                w = count / total
                new_mean = mean * (1 - w) + batch.mean(axis=self._reduce_axis) * w
                var = ((var + (mean - new_mean) ** 2) * (1 - w)
                       + (batch.var(axis=self._reduce_axis) + (batch.mean(axis=self._reduce_axis) - new_mean) ** 2) * w)
                mean = new_mean
        self.adapt_mean.assign(np.asarray(mean, dtype=self.dtype).reshape(self._stat_shape))
        self.adapt_variance.assign(np.asarray(var, dtype=self.dtype).reshape(self._stat_shape))
        self.finalize_state()

    def finalize_state(self):
        """Take the learned statistics into use (after `adapt` or loading)."""
        if self.input_mean is not None or not self.built:
            return
        self.mean = self.adapt_mean.numpy().reshape(self._broadcast_shape)
        self.variance = self.adapt_variance.numpy().reshape(self._broadcast_shape)

    def call(self, inputs):
        if self.mean is None:
            raise ValueError(f"Normalization {self.name!r}: build the layer (or adapt it) before calling it")
        if self.input_mean is None:
            self.finalize_state()  # the variables may have been assigned since (set_weights, loading)
        scale = np.maximum(np.sqrt(self.variance), backend.epsilon()).astype(self.dtype)
        mean = self.mean.astype(self.dtype)
        if self.invert:
            return inputs * scale + mean
        return (inputs - mean) / scale

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()}


def _summarize(values, epsilon):
    """Sorted `values` thinned to about `1 / epsilon` points: (points, the weight each stands for)."""
    values = np.sort(values.reshape(-1))
    step = max(values.size * epsilon, 1)
    points = values[int(step - 1)::int(step)]
    return np.stack([points, np.full_like(points, step)])


def _compress(summary, epsilon):
    """A summary re-read at the cumulative-weight fractions `epsilon, 2 epsilon, ..., 1`."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    share = cumulative / cumulative[-1]
    points = np.interp(fractions, share, summary[0])
    weights = np.diff(np.interp(fractions, share, cumulative), prepend=0.0)
    return np.stack([points, weights]).astype("float32")


class Discretization(Layer):
    """Bucket values by bin boundaries (given, or learned as quantiles by `adapt`).

    Example:
        >>> Discretization(bin_boundaries=[0.0, 1.0])(np.array([-1.0, 0.5, 2.0])).numpy()
        array([0, 1, 2], dtype=int32)
    """

    fixed_last_axis = False

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False, dtype=None,
                 name=None):
        super().__init__(name=name, dtype=dtype)
        check_sparse("Discretization", sparse, output_mode)
        if output_mode not in ENCODINGS:
            raise ValueError(f"Discretization: expected output_mode in {ENCODINGS}, got {output_mode!r}")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"Discretization: expected num_bins >= 0, got num_bins={num_bins}")
        if (num_bins is None) == (bin_boundaries is None):
            raise ValueError("Discretization: expected exactly one of bin_boundaries and num_bins, got "
                             f"bin_boundaries={bin_boundaries} and num_bins={num_bins}")
        self.bin_boundaries, self.num_bins, self.epsilon = bin_boundaries, num_bins, epsilon
        self.output_mode, self.sparse = output_mode, sparse
        self.summary = None if bin_boundaries else np.zeros((2, 0), dtype="float32")

    @property
    def output_dtype(self):
        return self.dtype if self.output_mode != "int" else "int32"

    def adapt(self, data, steps=None):
        """Learn `num_bins` quantile boundaries from `data` (an array or an iterable of batches)."""
        if self.num_bins is None:
            raise ValueError(f"Discretization {self.name!r}.adapt: the layer was given bin_boundaries; "
                             "construct it with num_bins to adapt it")
        batches = adapt_batches(data, f"Discretization {self.name!r}", steps)
        self.reset_state()
        for batch in batches:
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data):
        """Add a batch to the quantile summary."""
        summary = _summarize(np.asarray(as_numpy(data), dtype="float32"), self.epsilon)
        merged = np.concatenate([summary, self.summary], axis=1)
        self.summary = _compress(merged[:, np.argsort(merged[0], kind="stable")], self.epsilon)

    def finalize_state(self):
        """Set the bin boundaries from the summary."""
        if self.num_bins is not None:
            self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self):
        """Forget the summary."""
        if self.num_bins is not None:
            self.summary = np.zeros((2, 0), dtype="float32")

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization {self.name!r}: pass bin_boundaries or call adapt() before calling it")
        values = as_numpy(inputs).astype(backend.floatx())
        ids = np.digitize(values, np.asarray(self.bin_boundaries, dtype=values.dtype)).astype("int32")
        return encode(ids, self.output_mode, len(self.bin_boundaries) + 1, self.output_dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        if self.output_mode == "one_hot":
            if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
                return tuple(input_shape[:-1]) + (depth,)
            return tuple(input_shape) + (depth,)
        return (input_shape[0],) + tuple(input_shape[2:]) + (depth,) if len(input_shape) >= 2 else (depth,)

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name")
        boundaries = config.pop("bin_boundaries", None) if config.get("num_bins") is not None else None
        layer = cls(**config)
        if boundaries is not None:  # an adapted layer keeps both
            layer.bin_boundaries = boundaries
        return layer


class CategoryEncoding(Layer):
    """Encode integer ids in `[0, num_tokens)` as one-hot, multi-hot or count vectors.

    Example:
        >>> CategoryEncoding(num_tokens=4)(np.array([[0, 1], [3, 3]])).numpy()
        array([[1., 1., 0., 0.],
               [0., 0., 0., 1.]], dtype=float32)
    """

    accepts_integer_inputs = True
    fixed_last_axis = False

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError(f"CategoryEncoding: expected output_mode in ('count', 'one_hot', 'multi_hot'), "
                             f"got {output_mode!r}")
        if num_tokens is None or num_tokens < 1:
            raise ValueError(f"CategoryEncoding: expected num_tokens >= 1, got num_tokens={num_tokens}. Use "
                             "IntegerLookup when the number of tokens is not known beforehand")
        check_sparse("CategoryEncoding", sparse, output_mode)
        self.num_tokens, self.output_mode, self.sparse = num_tokens, output_mode, sparse

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError(f"CategoryEncoding {self.name!r}: count_weights is used only with output_mode='count', "
                             f"got output_mode={self.output_mode!r}")
        ids = as_numpy(inputs)
        if ids.size and ids.max() >= self.num_tokens:
            raise ValueError(f"CategoryEncoding {self.name!r}: expected ids in [0, num_tokens={self.num_tokens}), "
                             f"got an id of {ids.max()}; raise num_tokens to at least {ids.max() + 1}")
        if count_weights is not None:
            count_weights = as_numpy(count_weights).astype(self.dtype)
        return encode(ids, self.output_mode, self.num_tokens, self.dtype, count_weights)

    def compute_output_shape(self, input_shape):
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
            return tuple(input_shape) + (self.num_tokens,)
        return tuple(input_shape[:-1]) + (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
