"""`TextVectorization`: strings to token ids (or bag-of-words vectors), as Keras 3's layer.

It follows Keras's layer rule for rule, so a vocabulary learned here indexes tokens as Keras's
would: standardize (Keras's tf.strings ops lowercase ASCII letters only and strip the 32 ASCII
punctuation marks), split (runs of ASCII whitespace, or single characters), optionally join
n-grams, then look each token up. Index 0 is padding (''), 1 is the out-of-vocabulary token
'[UNK]', then the learned tokens by descending count, ties in descending string order. Keras
runs this layer on TensorFlow; this one is pure Python and NumPy, and takes string inputs in a
functional model (`Input(shape=(1,), dtype="string")`) as well as before one.
"""

import itertools
import os
import re
import string
from collections import Counter

import numpy as np

from nablanet import backend
from nablanet.layers.base import Layer
from nablanet.symbolic import KerasTensor

__all__ = ["TextVectorization"]

PAD, OOV = "", "[UNK]"
STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = ("whitespace", "character")
OUTPUT_MODES = ("int", "multi_hot", "count", "tf_idf")
_TABLES = {
    "lower": str.maketrans(string.ascii_uppercase, string.ascii_lowercase),
    "strip_punctuation": str.maketrans("", "", string.punctuation),
    "lower_and_strip_punctuation": str.maketrans(string.ascii_uppercase, string.ascii_lowercase,
                                                 string.punctuation),
}
_WORD = re.compile(r"[^ \t\n\v\f\r]+")  # tf.strings.split: runs of ASCII whitespace separate tokens
# what str.split() also takes for whitespace; strings without any split the fast way
_OTHER_SPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


class _Index(dict):
    """token -> id; a missing token gets the out-of-vocabulary id."""

    def __init__(self, items, missing):
        super().__init__(items)
        self.missing = missing

    def __missing__(self, token):
        return self.missing


class TextVectorization(Layer):
    """Map strings to token ids (or to multi-hot, count or TF-IDF vectors), as Keras's layer.

    Learn a vocabulary with `adapt(texts)` or pass one as `vocabulary`, then call the layer on
    a string or a list (or 1-D array) of strings, before a model or inside one (on
    `Input(shape=(1,), dtype="string")`), then feed the ids to an `Embedding`.

    Args:
        max_tokens: The vocabulary's largest size, padding and '[UNK]' included (only '[UNK]'
            in the vector modes); None for no limit.
        standardize: "lower_and_strip_punctuation", "lower", "strip_punctuation", None, or a
            callable that takes a 1-D NumPy array of strings and returns one of the same shape
            (`np.char.lower`, for example, lowercases beyond ASCII).
        split: "whitespace", "character", None (each string is one token), or a callable that
            takes the 1-D array of standardized strings and returns one list of tokens per string.
        ngrams: None, n (all n-grams up to n), or a tuple of n-gram sizes.
        output_mode: "int" (token ids), "multi_hot", "count" or "tf_idf" (one vector per string).
        output_sequence_length: In "int" mode, pad or cut every row (at the end) to this length;
            otherwise rows are padded to the batch's longest.
        pad_to_max_tokens: In the vector modes, make vectors `max_tokens` long.
        vocabulary: A list of tokens, or the path of a file with one token per line. The special
            tokens may lead it ('', '[UNK]' in "int" mode) or be left out.
        idf_weights: With `vocabulary` in "tf_idf" mode: one weight per vocabulary entry.
        sparse, ragged: Keras allows these only with TensorFlow; they must stay False.
        encoding: How bytes inputs are decoded.

    Example:
        >>> vectorizer = TextVectorization(output_sequence_length=4)
        >>> vectorizer.adapt(["foo bar", "bar baz", "baz bada boom"])
        >>> vectorizer.get_vocabulary()
        ['', '[UNK]', 'baz', 'bar', 'foo', 'boom', 'bada']
        >>> vectorizer(["Foo qux bar!", "qux baz"])
        array([[4, 1, 3, 0],
               [1, 2, 0, 0]])
        >>> vectorizer.decode([4, 1, 3, 0], separator=" ")
        'foo [UNK] bar'
    """

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace",
                 ngrams=None, output_mode="int", output_sequence_length=None, pad_to_max_tokens=False,
                 vocabulary=None, idf_weights=None, sparse=False, ragged=False, encoding="utf-8",
                 name=None, **kwargs):
        kwargs.pop("vocabulary_size", None)  # in Keras's config; here it follows from the vocabulary
        super().__init__(name=name, **kwargs)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        _check_choice("standardize", standardize, STANDARDIZE)
        _check_choice("split", split, SPLIT)
        _check_options(max_tokens, ngrams, output_mode, output_sequence_length, pad_to_max_tokens,
                       sparse, ragged, idf_weights, vocabulary)
        self.max_tokens, self.pad_to_max_tokens = max_tokens, pad_to_max_tokens
        self.standardize, self.split, self.ngrams = standardize, split, ngrams
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        self.encoding = encoding
        self._widths = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._start = 2 if output_mode == "int" else 1  # the index of the first learned token
        self._set([], None)
        self._has_vocabulary = False
        self._has_input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        self.built = True

    # -- the vocabulary ----------------------------------------------------------------------

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and in "tf_idf" mode the IDF weights) from `data`, replacing
        any learned before.

        Args:
            data: A string, a list or array of strings, or an iterable of such batches.
            batch_size: Unused (Keras's signature).
            steps: With an iterable of batches, read at most this many.
        """
        if self._has_input_vocabulary:
            raise ValueError(f"TextVectorization {self.name!r}: cannot adapt a layer built with a "
                             "vocabulary; make a new layer without vocabulary= to learn one")
        counts, documents, seen = Counter(), Counter(), 0
        for batch in _batches(data, steps):
            rows, _ = self._tokenize(batch)
            counts.update(itertools.chain.from_iterable(rows))
            if self.output_mode == "tf_idf":
                documents.update(itertools.chain.from_iterable(set(row) for row in rows))
            seen += len(rows)
        for special in (PAD, OOV):
            counts.pop(special, None)
        if not counts:
            raise ValueError(f"TextVectorization.adapt: found no tokens in {seen} strings; pass a list "
                             "of strings with words in them")
        ranked = sorted(counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens is not None:
            ranked = ranked[:self.max_tokens - self._start]
        tokens = [token for token, _ in ranked]
        idf = None
        if self.output_mode == "tf_idf":  # Keras's smoothed IDF; '[UNK]' gets the mean weight
            idf = np.log(1 + seen / (1 + np.array([documents[t] for t in tokens], dtype=np.float64)))
            idf = np.concatenate([np.full(self._start, idf.mean()), idf])
        self._set(tokens, idf)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Replace the vocabulary: a list of tokens or a file with one per line (see `vocabulary`)."""
        if (self.output_mode == "tf_idf") != (idf_weights is not None):
            raise ValueError("TextVectorization: pass idf_weights with, and only with, "
                             "output_mode='tf_idf'")
        if isinstance(vocabulary, (str, os.PathLike)):
            if not os.path.isfile(vocabulary):
                raise ValueError(f"TextVectorization: vocabulary file {os.fspath(vocabulary)!r} "
                                 "does not exist")
            with open(vocabulary, encoding=self.encoding) as file:  # one token per line, as Keras reads
                vocabulary = file.read().split("\n")
            vocabulary = vocabulary[:-1] if vocabulary[-1] == "" else vocabulary
        vocabulary = [_text(token, self.encoding, i)
                      for i, token in enumerate(np.asarray(vocabulary, dtype=object).ravel().tolist())]
        if not vocabulary:
            raise ValueError("TextVectorization: cannot set an empty vocabulary")
        specials = [PAD, OOV][2 - self._start:]
        has_specials = vocabulary[:self._start] == specials
        tokens = vocabulary[self._start:] if has_specials else vocabulary
        repeated = sorted(token for token, count in Counter(tokens).items() if count > 1)
        if repeated:
            raise ValueError(f"TextVectorization: the vocabulary repeats {repeated[:10]}; "
                             "each token may appear once")
        if PAD in tokens:
            raise ValueError(f"TextVectorization: the padding token '' is at vocabulary index "
                             f"{vocabulary.index(PAD)}; leave it out, or put {specials} first")
        size = self._start + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"TextVectorization: a vocabulary of {size} (special tokens included) "
                             f"exceeds max_tokens={self.max_tokens}")
        idf = None
        if idf_weights is not None:
            idf = np.asarray(idf_weights, dtype=np.float64)
            if idf.shape != (len(vocabulary),):
                raise ValueError(f"TextVectorization: expected {len(vocabulary)} idf_weights (one per "
                                 f"vocabulary entry), got shape {idf.shape}")
            if not has_specials:  # Keras gives the special tokens the mean weight
                idf = np.concatenate([np.full(self._start, idf.mean()), idf])
        self._set(tokens, idf)

    def _set(self, tokens, idf):
        self._tokens = list(tokens)
        self._lookup = None  # the vocabulary as an array, made when decode first needs it
        # Keras maps the padding (mask) token to 0 in "int" mode and drops it in the others
        pad, oov = (0, 1) if self.output_mode == "int" else (-1, 0)
        ids = {token: i for i, token in enumerate(self._tokens, start=self._start)}
        self._index = _Index({PAD: pad, **ids}, oov)
        if idf is not None and self.pad_to_max_tokens:
            idf = np.concatenate([idf, np.zeros(self.max_tokens - len(idf))])
        self._idf = None if idf is None else idf.astype(backend.floatx())
        self._has_vocabulary = True

    def get_vocabulary(self, include_special_tokens=True):
        """The tokens by index: `['', '[UNK]', ...]` in "int" mode, `['[UNK]', ...]` otherwise."""
        specials = [PAD, OOV][2 - self._start:] if include_special_tokens else []
        return specials + list(self._tokens)

    def vocabulary_size(self):
        """The number of indices, special tokens included."""
        return self._start + len(self._tokens)

    def decode(self, ids, separator=None):
        """The tokens of `ids` (the inverse of calling the layer in "int" mode).

        Args:
            ids: Token ids, any shape.
            separator: None returns an array of tokens shaped like `ids`. A string joins the
                tokens of each row with it, padding left out: one string for 1-D ids, a list for
                2-D (use "" with split="character").

        Example:
            >>> vectorizer = TextVectorization(vocabulary=["the", "cat"])
            >>> vectorizer.decode([[2, 3, 0], [3, 1, 0]])
            array([['the', 'cat', ''],
                   ['cat', '[UNK]', '']], dtype='<U5')
        """
        ids = np.asarray(ids)
        if ids.size and ids.dtype.kind not in "iu":
            raise TypeError(f"TextVectorization.decode: expected integer token ids, got dtype {ids.dtype}")
        size = self.vocabulary_size()
        if ids.size and (ids.min() < 0 or ids.max() >= size):
            raise ValueError(f"TextVectorization.decode: ids must be in [0, {size}) (the vocabulary "
                             f"size), got values in [{ids.min()}, {ids.max()}]")
        if self._lookup is None:
            self._lookup = np.array(self.get_vocabulary())
        tokens = self._lookup[ids.astype(np.int64)]
        if separator is None:
            return str(tokens) if tokens.ndim == 0 else tokens
        if ids.ndim not in (1, 2):
            raise ValueError(f"TextVectorization.decode: joining needs 1-D or 2-D ids, got shape {ids.shape}")
        keep = ids != 0 if self.output_mode == "int" else np.ones(ids.shape, dtype=bool)
        rows = [separator.join(row[kept].tolist())
                for row, kept in zip(np.atleast_2d(tokens), np.atleast_2d(keep))]
        return rows[0] if ids.ndim == 1 else rows

    # -- calling -----------------------------------------------------------------------------

    @property
    def output_dtype(self):
        return "int64" if self.output_mode == "int" else backend.floatx()

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, KerasTensor):  # a node of a functional model, on a string Input
            return super().__call__(inputs, *args, **kwargs)
        return self.call(inputs)  # strings stay Python strings; the ids come back as NumPy

    def call(self, inputs):
        """Token ids `(batch, length)` in "int" mode, vectors `(batch, depth)` otherwise; one
        string gives one row without the batch axis."""
        rows, scalar = self._tokenize(inputs)
        if self.output_mode == "int":
            lookup = self._index.__getitem__
            ids = [list(map(lookup, row)) for row in rows]
            length = max(map(len, ids), default=0) if self.output_sequence_length is None else \
                self.output_sequence_length
            out = np.zeros((len(ids), length), dtype=np.int64)  # padded and cut at the end, as Keras
            for row, found in zip(out, ids):
                row[:min(length, len(found))] = found[:length]
        else:
            out = self._encode(rows)
        return out[0] if scalar else out

    def _encode(self, rows):
        if not (self._has_vocabulary or self.pad_to_max_tokens):
            raise RuntimeError(f"TextVectorization {self.name!r}: in output_mode={self.output_mode!r}, "
                               "set the vocabulary first (adapt(texts) or vocabulary=), or pass "
                               "pad_to_max_tokens=True")
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        tokens = itertools.chain.from_iterable(rows)
        ids = np.fromiter(map(self._index.__getitem__, tokens), dtype=np.int64)
        row_of = np.repeat(np.arange(len(rows)), [len(row) for row in rows])
        kept = ids >= 0  # the padding token counts nowhere
        cells, counts = np.unique(row_of[kept] * depth + ids[kept], return_counts=True)
        out = np.zeros((len(rows), depth), dtype=backend.floatx())
        out.ravel()[cells] = counts
        if self.output_mode == "multi_hot":
            return np.minimum(out, 1)
        if self.output_mode == "tf_idf":
            return out * self._idf[:depth]
        return out

    def _tokenize(self, inputs):
        """Standardized, split (and n-grammed) tokens: one list per string, and whether the
        input was a single string."""
        strings, scalar = self._strings(inputs)
        if callable(self.standardize):
            strings = _standardize(self.standardize, strings, self.encoding)
        elif self.standardize is not None:
            table = _TABLES[self.standardize]
            strings = [s.translate(table) for s in strings]
        if self.split is None:
            rows = [[s] for s in strings]
        elif self.split == "whitespace":
            rows = [s.split() if not _OTHER_SPACE.search(s) else _WORD.findall(s) for s in strings]
        elif self.split == "character":
            rows = [list(s) for s in strings]
        else:
            rows = _split(self.split, strings, self.encoding)
        if self._widths:  # all 1-grams, then all 2-grams, ... as tf.strings.ngrams orders them
            rows = [[" ".join(row[i:i + n]) for n in self._widths for i in range(len(row) - n + 1)]
                    for row in rows]
        return rows, scalar

    def _strings(self, inputs):
        if isinstance(inputs, (str, bytes)):
            return [_text(inputs, self.encoding, 0)], True
        array = np.asarray(inputs, dtype=object)
        if array.ndim == 2 and array.shape[-1] == 1:  # Keras takes (batch, 1) as well as (batch,)
            array = array[:, 0]
        if array.ndim > 1:
            raise ValueError(f"TextVectorization {self.name!r}: expected a string, a list of strings or "
                             f"an array of shape (batch,) or (batch, 1), got shape {array.shape}")
        strings = [_text(value, self.encoding, i) for i, value in enumerate(array.ravel().tolist())]
        return strings, array.ndim == 0

    def _sublayers(self):
        return []  # holds no layers; spares walking the vocabulary whenever weights are listed

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size())

    def save_own_variables(self, store):
        """Keras's variable of the layer: the IDF weights in TF-IDF mode."""
        if self.output_mode == "tf_idf" and self._idf is not None:
            store["idf_weights"] = self._idf

    def load_own_variables(self, store):
        """Take the stored IDF weights (a Keras file's vocabulary then comes from its assets)."""
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self._idf = np.asarray(store["idf_weights"], dtype=backend.floatx()).reshape(-1)

    def save_assets(self, dir_path):
        """Write the vocabulary to `dir_path/vocabulary.txt`, one token a line, as Keras."""
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(self.get_vocabulary()))

    def load_assets(self, dir_path):
        """Read the vocabulary of a Keras file, which keeps it out of the config."""
        path = os.path.join(dir_path, "vocabulary.txt")
        if self._tokens or self._has_input_vocabulary or not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        idf = None if self._idf is None else self._idf[:len(lines)]
        self.set_vocabulary(lines, idf)

    def get_config(self):
        learned = self._has_vocabulary
        idf = self._idf[:self.vocabulary_size()].tolist() if learned and self._idf is not None else None
        return {
            **super().get_config(),
            "max_tokens": self.max_tokens, "standardize": self.standardize, "split": self.split,
            "ngrams": self.ngrams, "output_mode": self.output_mode,
            "output_sequence_length": self.output_sequence_length,
            "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False, "ragged": False,
            "encoding": self.encoding,
            # the learned vocabulary too (Keras keeps it in a separate asset), so from_config restores it
            "vocabulary": self.get_vocabulary() if learned else None, "idf_weights": idf,
            "vocabulary_size": self.vocabulary_size(),
        }


def _check_choice(name, value, choices):
    if value is not None and not callable(value) and value not in choices:
        raise ValueError(f"TextVectorization: {name} must be one of {choices}, None or a callable, "
                         f"got {value!r}")


def _check_options(max_tokens, ngrams, output_mode, output_sequence_length, pad_to_max_tokens, sparse,
                   ragged, idf_weights, vocabulary):
    if output_mode not in OUTPUT_MODES:
        raise ValueError(f"TextVectorization: output_mode must be one of {OUTPUT_MODES}, "
                         f"got {output_mode!r}")
    if max_tokens is not None and (not _is_int(max_tokens) or max_tokens <= 1):
        raise ValueError(f"TextVectorization: max_tokens must be an integer greater than 1 (it counts "
                         f"the padding and '[UNK]' tokens) or None, got {max_tokens!r}")
    if pad_to_max_tokens and max_tokens is None:
        raise ValueError("TextVectorization: pad_to_max_tokens=True needs max_tokens")
    if not (ngrams is None or (_is_int(ngrams) and ngrams > 0)
            or (isinstance(ngrams, tuple) and ngrams and all(_is_int(n) and n > 0 for n in ngrams))):
        raise ValueError(f"TextVectorization: ngrams must be None, a positive integer or a tuple of "
                         f"them, got {ngrams!r}")
    if output_sequence_length is not None:
        if output_mode != "int":
            raise ValueError("TextVectorization: output_sequence_length applies only to output_mode='int'")
        if not _is_int(output_sequence_length) or output_sequence_length < 0:
            raise ValueError(f"TextVectorization: output_sequence_length must be a non-negative integer "
                             f"or None, got {output_sequence_length!r}")
    if sparse or ragged:
        raise ValueError("TextVectorization: sparse=True and ragged=True need TensorFlow tensors (Keras "
                         "allows them only with that backend); leave them False")
    if idf_weights is not None and output_mode != "tf_idf":
        raise ValueError("TextVectorization: idf_weights applies only to output_mode='tf_idf'")
    if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
        raise ValueError("TextVectorization: with a vocabulary in output_mode='tf_idf', pass idf_weights too")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _text(value, encoding, position):
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode(encoding)
    raise TypeError(f"TextVectorization: expected strings, got {type(value).__name__} {value!r} at "
                    f"position {position}")


def _batches(data, steps):
    """adapt's data as batches: one for a string, list or array, else each item of an iterable."""
    if isinstance(data, (str, bytes, list, tuple, np.ndarray)):
        yield data
        return
    if not hasattr(data, "__iter__"):
        raise TypeError(f"TextVectorization.adapt: expected strings or an iterable of batches of "
                        f"strings, got {type(data).__name__}")
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            return
        yield batch


def _standardize(function, strings, encoding):
    result = np.asarray(function(np.array(strings, dtype=str)), dtype=object)
    if result.shape != (len(strings),):
        raise ValueError(f"TextVectorization: the standardize callable must return one string per "
                         f"input string (shape {(len(strings),)}), got shape {result.shape}")
    return [_text(value, encoding, i) for i, value in enumerate(result.tolist())]


def _split(function, strings, encoding):
    rows = function(np.array(strings, dtype=str))
    if len(rows) != len(strings):
        raise ValueError(f"TextVectorization: the split callable must return one list of tokens per "
                         f"string ({len(strings)}), got {len(rows)}")
    return [[_text(token, encoding, i) for token in row] for i, row in enumerate(rows)]
