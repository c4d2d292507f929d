"""Vocabulary lookups: `StringLookup` and `IntegerLookup`, as Keras 3's.

A vocabulary is passed or learned by `adapt()` (tokens by descending count, ties by descending
token, as Keras sorts them). Ids start after the special indices: the mask token's (0, with a
`mask_token` and `output_mode="int"`), then `num_oov_indices` out-of-vocabulary ids; an unknown
token takes the OOV id its hash (or, for integers by default, its value modulo the count)
chooses. `invert=True` maps ids back to tokens. Other output modes encode the ids as one-hot,
multi-hot, count or TF-IDF vectors. Keras keeps an adapted vocabulary out of the config, as
`vocabulary.txt` in the file's assets, and TF-IDF weights as the variable `idf_weights`;
`save_assets`/`load_assets` and `save_own_variables`/`load_own_variables` do the same here.
"""

import collections
import os

import numpy as np

from nablanet import backend
from nablanet.autodiff import Tensor
from nablanet.layers.base import Layer
from nablanet.layers.preprocessing_structured import as_numpy, check_sparse, encode
from nablanet.layers.preprocessing_structured_hashing import fingerprint64, siphash

__all__ = ["IntegerLookup", "StringLookup"]

MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _salt(name, salt):
    if salt is None or (isinstance(salt, (tuple, list)) and len(salt) == 2):
        return None if salt is None else list(salt)
    if isinstance(salt, int):
        return [salt, salt]
    raise ValueError(f"{name}: salt must be an integer or a pair of integers, got salt={salt!r}")


class IndexLookup(Layer):
    """What `StringLookup` and `IntegerLookup` share: the vocabulary, adapt and the lookup."""

    fixed_last_axis = False
    text = True  # string tokens (StringLookup) or integer ones

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", name=None, salt=None, **kwargs):
        kind = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{kind}: expected max_tokens > 1 when set, got max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{kind}: pad_to_max_tokens=True needs max_tokens, got max_tokens=None")
        if num_oov_indices < 0:
            raise ValueError(f"{kind}: expected num_oov_indices >= 0, got num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{kind}: expected oov_method in ('floormod', 'farmhash'), got {oov_method!r}")
        if salt is not None and not self.text and oov_method != "farmhash":
            raise ValueError(f"{kind}: salt is used only with oov_method='farmhash', got oov_method={oov_method!r}")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in MODES:
            raise ValueError(f"{kind}: expected output_mode in {MODES}, got output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{kind}: invert=True needs output_mode='int', got output_mode={output_mode!r}")
        check_sparse(kind, sparse, output_mode)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{kind}: idf_weights are used only with output_mode='tf_idf', got "
                             f"output_mode={output_mode!r}")
        if isinstance(vocabulary, str):
            raise ValueError(f"{kind}: a vocabulary file path cannot be a constructor argument here, got "
                             f"{vocabulary!r}; read the file and pass its tokens, or call set_vocabulary(path)")
        frozen = kwargs.pop("vocabulary_size", None)
        has_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise TypeError(f"{kind}: unexpected argument(s) {sorted(kwargs)}")
        super().__init__(name=name)
        self.invert, self.max_tokens, self.num_oov_indices = invert, max_tokens, num_oov_indices
        self.mask_token, self.oov_token, self.output_mode = mask_token, oov_token, output_mode
        self.sparse, self.pad_to_max_tokens, self.vocabulary_dtype = sparse, pad_to_max_tokens, vocabulary_dtype
        self.oov_method, self.salt = oov_method, _salt(kind, salt)
        self.input_vocabulary, self.input_idf_weights = vocabulary, idf_weights
        self._has_input_vocabulary, self._frozen_vocab_size = has_vocabulary, frozen
        self._tokens, self._index, self.idf_weights = [], {}, None
        self.reset_state()
        if output_mode == "tf_idf" and has_vocabulary and idf_weights is None:
            raise ValueError(f"{kind}: with a vocabulary and output_mode='tf_idf', pass idf_weights too")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    @property
    def output_dtype(self):
        if self.invert:
            return "object" if self.text else "int64"
        return "int64" if self.output_mode == "int" else backend.floatx()

    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    # -- the vocabulary --------------------------------------------------------------------------

    def vocabulary_size(self):
        """The vocabulary's size, the mask and OOV indices included."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary, indexed as the layer's ids (special tokens first unless excluded)."""
        vocabulary = [self.oov_token] * self._token_start_index() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocabulary[0] = self.mask_token
        return vocabulary if include_special_tokens else vocabulary[self._token_start_index():]

    def _token(self, value):
        if self.text:
            return value.decode(getattr(self, "encoding", "utf-8")) if isinstance(value, bytes) else str(value)
        return int(value)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list or array of tokens, or a text file of one token a line) and,
        for `output_mode="tf_idf"`, the IDF weights."""
        kind = f"{type(self).__name__} {self.name!r}"
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{kind}: set_vocabulary needs idf_weights with output_mode='tf_idf'")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{kind}: idf_weights are used only with output_mode='tf_idf', got "
                             f"output_mode={self.output_mode!r}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{kind}: output_mode='tf_idf' cannot read its vocabulary from a file")
            if not os.path.exists(vocabulary):
                raise ValueError(f"{kind}: the vocabulary file {os.fspath(vocabulary)!r} does not exist")
            with open(vocabulary, encoding="utf-8") as f:
                vocabulary = f.read().splitlines()
        vocabulary = [self._token(v) for v in as_numpy(vocabulary).reshape(-1).tolist()]
        if not vocabulary:
            raise ValueError(f"{kind}: expected a non-empty vocabulary, got an empty one")
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = vocabulary[:start] == special
        tokens = vocabulary[start:] if found_special else vocabulary
        repeated = [t for t, n in collections.Counter(tokens).items() if n > 1]
        if repeated:
            raise ValueError(f"{kind}: expected a vocabulary without repeated tokens, got repeated {repeated}")
        for token, what in ((self.mask_token, "mask"), (self.oov_token if self.invert else None, "OOV")):
            if token is not None and token in tokens:
                raise ValueError(f"{kind}: the {what} token {token!r} is in the vocabulary at index "
                                 f"{vocabulary.index(token)}; leave the special tokens out, or put them first in "
                                 f"this order: {special}")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"{kind}: expected a vocabulary of at most max_tokens={self.max_tokens} entries, got "
                             f"{start + len(tokens)}")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            weights = np.asarray(as_numpy(idf_weights), dtype="float64")
            if weights.ndim != 1 or len(weights) != len(vocabulary):
                raise ValueError(f"{kind}: expected idf_weights as long as the vocabulary ({len(vocabulary)}), got "
                                 f"shape {weights.shape}")
            front = 0 if found_special else start
            back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens else 0
            weights = np.concatenate([np.full(front, weights.mean()), weights, np.zeros(back)])
            self.idf_weights = weights.astype(backend.floatx())

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {token: start + i for i, token in enumerate(self._tokens)}
        self._frozen_vocab_size = self.vocabulary_size()

    # -- adapt -----------------------------------------------------------------------------------

    def adapt(self, data, steps=None):
        """Learn the vocabulary from `data` (an array, a list, or an iterable of batches)."""
        self.reset_state()
        if isinstance(data, (list, tuple, np.ndarray, Tensor)):
            array = self._array(data, "adapt")
            self.update_state(array[:, None] if array.ndim == 1 else array)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch[0] if isinstance(batch, tuple) else batch)
        if not self._counts:
            raise ValueError(f"{type(self).__name__} {self.name!r}.adapt: expected at least one token to learn "
                             f"from, got empty data ({type(data).__name__})")
        self.finalize_state()

    def update_state(self, data):
        """Count the tokens of a batch (each row a document for TF-IDF)."""
        if self._has_input_vocabulary:
            raise ValueError(f"{type(self).__name__} {self.name!r}: cannot adapt a layer given a vocabulary "
                             "(the vocabulary argument or set_vocabulary)")
        array = self._array(data, "adapt")
        array = array.reshape(1, -1) if array.ndim < 2 else array
        tokens = [self._token(v) for v in array.reshape(-1).tolist()]
        self._counts.update(tokens)
        if self.output_mode == "tf_idf":
            for row in array.reshape(len(array), -1):
                self._documents.update({self._token(v) for v in row.tolist()})
            self._num_documents += len(array)

    def finalize_state(self):
        """Turn the counts into the vocabulary (and the IDF weights)."""
        if self._has_input_vocabulary or not self._counts:
            return
        for special in (self.mask_token, self.oov_token):
            self._counts.pop(special, None)
        ranked = sorted(self._counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start_index()]
        self._set_tokens(token for token, _ in ranked)
        if self.output_mode == "tf_idf":
            counts = np.array([self._documents[token] for token in self._tokens], dtype="float64")
            idf = np.log(1 + self._num_documents / (1 + counts)).astype(backend.floatx())
            idf = np.concatenate([np.full(self._token_start_index(), idf.mean(), dtype=idf.dtype), idf])
            if self.pad_to_max_tokens:
                idf = np.concatenate([idf, np.zeros(self.max_tokens - len(idf), dtype=idf.dtype)])
            self.idf_weights = idf
        self.reset_state()

    def reset_state(self):
        """Forget the counts gathered by `update_state`."""
        self._counts, self._documents, self._num_documents = collections.Counter(), collections.Counter(), 0

    # -- calling ---------------------------------------------------------------------------------

    def _convert(self, x):
        return x if isinstance(x, Tensor) else np.asarray(x)

    def _array(self, data, where):
        array = as_numpy(data)
        kind = f"{type(self).__name__} {self.name!r}"
        if self.text and not self.invert and array.dtype.kind not in "USO":
            raise TypeError(f"{kind}.{where}: expected strings (a str, bytes or object array), got dtype "
                            f"{array.dtype}; use IntegerLookup for integer tokens")
        if (not self.text or self.invert) and array.dtype.kind not in "iub":
            raise TypeError(f"{kind}.{where}: expected integers, got dtype {array.dtype}"
                            + ("; use StringLookup for strings" if array.dtype.kind in "USO" else ""))
        return array

    def call(self, inputs):
        values = self._array(inputs, "call")
        if self.invert:
            return self._invert(values)
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is None:
            raise RuntimeError(f"{type(self).__name__} {self.name!r}: with output_mode={self.output_mode!r}, set "
                               "a vocabulary (the vocabulary argument or adapt) before calling the layer")
        ids = self._lookup(values)
        if self.output_mode == "int":
            return Tensor._wrap(ids)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode != "tf_idf":
            return encode(ids, self.output_mode, depth, "int64")
        return Tensor._wrap(encode(ids, "count", depth, "int64").numpy().astype(self.idf_weights.dtype)
                            * self.idf_weights)

    def _lookup(self, values):
        unique, inverse = np.unique(values.reshape(-1), return_inverse=True)
        tokens = [self._token(v) for v in unique.tolist()]
        missing = -1 if self.num_oov_indices != 1 else self._oov_start_index()
        ids = np.array([self._index.get(t, missing) for t in tokens], dtype=np.int64)
        masked = np.array([t == self.mask_token for t in tokens], dtype=bool) if self.mask_token is not None else None
        unknown = ids == -1
        if masked is not None:
            unknown &= ~masked
        if unknown.any() and self.num_oov_indices == 0:
            raise ValueError(f"{type(self).__name__} {self.name!r}: with num_oov_indices=0 every input must be in "
                             f"the vocabulary, got out-of-vocabulary values {unique[unknown].tolist()}; set "
                             "num_oov_indices=1")
        if unknown.any():
            ids[unknown] = self._oov_ids(unique[unknown]) + self._oov_start_index()
        if masked is not None:
            ids[masked] = 0 if self.output_mode == "int" else -1  # -1 encodes as no token
        return ids[inverse].reshape(values.shape)

    def _oov_ids(self, values):
        if not self.text and self.oov_method != "farmhash":
            return np.mod(values.astype(np.int64), self.num_oov_indices)
        hashes = siphash(values, self.salt) if self.salt is not None else fingerprint64(values)
        return (hashes % np.uint64(self.num_oov_indices)).astype(np.int64)

    def _invert(self, values):
        vocabulary = self.get_vocabulary()
        out = np.empty(values.shape, dtype=object)
        flat = values.reshape(-1)
        ids = np.where((flat >= 0) & (flat < len(vocabulary)), flat, -1)
        table = np.array(vocabulary + [self.oov_token], dtype=object)
        if self.mask_token is None:
            table[:self._token_start_index()] = self.oov_token
        out.reshape(-1)[:] = table[ids]
        return out.astype(str) if self.text else Tensor._wrap(out.astype(np.int64))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot" and not (len(input_shape) > 1 and input_shape[-1] == 1):
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    # -- saving ----------------------------------------------------------------------------------

    def get_config(self):
        def listed(x):
            return None if x is None else as_numpy(x).tolist() if not isinstance(x, list) else x

        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token, "mask_token": self.mask_token,
                "output_mode": self.output_mode, "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": listed(self.input_idf_weights),
                "vocabulary": listed(self.input_vocabulary), "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method, "salt": self.salt}

    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.built = True

    def save_own_variables(self, store):
        """Keras's variables of the layer: the IDF weights in TF-IDF mode."""
        if self.output_mode == "tf_idf":
            store["idf_weights"] = self.idf_weights

    def load_own_variables(self, store):
        """Set the IDF weights `save_own_variables` stored."""
        if self.output_mode == "tf_idf":
            if "idf_weights" not in store:
                raise ValueError(f"{type(self).__name__} {self.name!r}: the stored variables have no idf_weights")
            self.idf_weights = np.asarray(store["idf_weights"], dtype=backend.floatx()).reshape(-1)

    def save_assets(self, dir_path):
        """Write a learned vocabulary to `dir_path/vocabulary.txt`, one token a line, as Keras."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(token) for token in self.get_vocabulary()))

    def load_assets(self, dir_path):
        """Read the vocabulary `save_assets` wrote."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        values = lines if self.text else [int(line) for line in lines]
        self.set_vocabulary(values, self.idf_weights if self.output_mode == "tf_idf" else None)


class StringLookup(IndexLookup):
    """Map strings to integer ids through a vocabulary (or back, with `invert=True`).

    Example:
        >>> layer = StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer(np.array([["a", "c", "d"], ["d", "z", "b"]])).numpy()
        array([[1, 3, 4],
               [4, 0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]", vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", pad_to_max_tokens=False, sparse=False,
                 encoding="utf-8", name=None, salt=None, **kwargs):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def adapt(self, data, steps=None):
        """Learn the vocabulary of the strings in `data` (an array, a list, or batches)."""
        super().adapt(data, steps=steps)

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}


class IntegerLookup(IndexLookup):
    """Map integer tokens to contiguous ids through a vocabulary (or back, with `invert=True`).

    Example:
        >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).numpy()
        array([[1, 3, 4],
               [4, 0, 2]])
    """

    text = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1, vocabulary=None,
                 vocabulary_dtype="int64", idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError(f"IntegerLookup: only vocabulary_dtype='int64' is supported, got {vocabulary_dtype!r}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, vocabulary_dtype=vocabulary_dtype,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name, **kwargs)

    def adapt(self, data, steps=None):
        """Learn the vocabulary of the integers in `data` (an array, a list, or batches)."""
        super().adapt(data, steps=steps)

    def get_config(self):
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
