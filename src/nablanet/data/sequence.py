"""Sequences as arrays: `pad_sequences`, next-token training pairs, and sliding windows over a
timeseries (`timeseries_dataset_from_array`).

`pad_sequences` and `timeseries_dataset_from_array` take Keras's arguments and defaults and
produce Keras's arrays. Windows are gathered with one fancy index per batch, never a Python
loop over time steps.
"""

import math

import numpy as np

from nablanet import backend


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pad (or cut) a list of sequences to one length: shape `(len(sequences), maxlen)`.

    Args:
        sequences: A list (or iterable) of sequences: lists or arrays of values, or of equally
            shaped samples (then the result is `(len(sequences), maxlen) + sample_shape`).
        maxlen: The length of every row; the longest sequence's length when None.
        dtype: The result's dtype; `object` (or a str dtype) for strings.
        padding: "pre" or "post": where `value` fills a short sequence.
        truncating: "pre" or "post": which end of a long sequence is dropped.
        value: The padding value.

    Returns:
        A NumPy array.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post", truncating="post")
        array([[1, 0],
               [2, 3],
               [4, 5]], dtype=int32)
    """
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__iter__"):
        raise ValueError(f"pad_sequences: expected a list of sequences, got {type(sequences).__name__} "
                         f"{_short(sequences)}")
    for name, option in (("padding", padding), ("truncating", truncating)):
        if option not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {name} must be 'pre' or 'post', got {option!r}")
    sequences = list(sequences)
    lengths = np.array([_length(s, i) for i, s in enumerate(sequences)], dtype=np.int64)
    if maxlen is None:
        maxlen = int(lengths.max()) if len(lengths) else 0
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be a non-negative integer or None, got {maxlen!r}")
    is_str_dtype = dtype is not object and np.dtype(dtype).kind in "SU"
    if isinstance(value, str) and dtype is not object and not is_str_dtype:
        raise ValueError(f"pad_sequences: value {value!r} is a string but dtype is {dtype!r}; "
                         "pass dtype=object for variable-length strings")
    first = next((s for s in sequences if len(s)), None)
    sample_shape = np.asarray(first).shape[1:] if first is not None else ()
    try:
        with np.errstate(invalid="raise"):  # NaN into an integer dtype
            out = np.full((len(sequences), int(maxlen)) + sample_shape, value, dtype=dtype)
    except (ValueError, TypeError, OverflowError, FloatingPointError) as error:
        raise ValueError(f"pad_sequences: value {value!r} does not fit dtype {dtype!r} ({error})") from None
    for i, (sequence, length) in enumerate(zip(sequences, lengths)):
        kept = min(int(length), int(maxlen))
        if kept == 0:
            continue
        piece = sequence[length - kept:] if truncating == "pre" else sequence[:kept]
        try:
            piece = np.asarray(piece, dtype=dtype)
        except (ValueError, TypeError) as error:
            raise ValueError(f"pad_sequences: sequence {i} does not convert to dtype {dtype!r} ({error}); "
                             "pass dtype=object for strings") from None
        if piece.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: the samples of sequence {i} have shape {piece.shape[1:]}, "
                             f"expected {sample_shape} (the shape of the first non-empty sequence's)")
        if padding == "pre":
            out[i, maxlen - kept:] = piece
        else:
            out[i, :kept] = piece
    return out


def _length(sequence, position):
    if isinstance(sequence, (str, bytes)):
        raise ValueError(f"pad_sequences: expected a list of sequences, got the string {_short(sequence)} at "
                         f"position {position}; split text into tokens first (see TextVectorization)")
    try:
        return len(sequence)
    except TypeError:
        raise ValueError(f"pad_sequences: expected a list of sequences (lists or arrays), got "
                         f"{type(sequence).__name__} {_short(sequence)} at position {position}") from None


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def next_token_pairs(tokens, context_length, stride=1):
    """Training pairs for next-token prediction: each window of `context_length` tokens and the
    token that follows it.

    Pair `i` is `tokens[i*stride : i*stride + context_length]` and `tokens[i*stride +
    context_length]`. With a list of token streams (documents, or the rows of a 2-D array), the
    pairs of each are concatenated and no window crosses from one to the next; padding inside a
    row counts as tokens, so pass unpadded streams. `x` is a read-only view of the stream (no
    copy; `np.array(x)` makes a writable one).

    Args:
        tokens: A 1-D sequence of token ids, or a list of them.
        context_length: Tokens in each input window.
        stride: Tokens between the starts of successive windows.

    Returns:
        `(x, y)`: `x` of shape `(n, context_length)` and `y` of shape `(n,)`, the stream's dtype.

    Example:
        >>> x, y = next_token_pairs(np.array([5, 6, 7, 8, 9]), context_length=3)
        >>> x
        array([[5, 6, 7],
               [6, 7, 8]])
        >>> y
        array([8, 9])
    """
    for name, number in (("context_length", context_length), ("stride", stride)):
        if isinstance(number, bool) or not isinstance(number, (int, np.integer)) or number <= 0:
            raise ValueError(f"next_token_pairs: {name} must be a positive integer, got {number!r}")
    streams = _streams(tokens)
    windows = [np.lib.stride_tricks.sliding_window_view(s, context_length + 1)[::stride]
               for s in streams if len(s) > context_length]
    if not windows:
        longest = max((len(s) for s in streams), default=0)
        raise ValueError(f"next_token_pairs: the longest stream has {longest} tokens; a pair needs "
                         f"context_length + 1 = {context_length + 1}. Pass more text or a shorter "
                         "context_length")
    pairs = windows[0] if len(windows) == 1 else np.concatenate(windows)
    return pairs[:, :-1], pairs[:, -1]


def _streams(tokens):
    if isinstance(tokens, (str, bytes)):
        raise ValueError("next_token_pairs: expected token ids, got a string; turn text into ids first "
                         "(e.g. with TextVectorization)")
    if not isinstance(tokens, np.ndarray):
        try:
            tokens = list(tokens)
        except TypeError:
            raise ValueError(f"next_token_pairs: expected a sequence of token ids, "
                             f"got {type(tokens).__name__}") from None
        if not tokens:
            raise ValueError("next_token_pairs: expected token ids, got an empty sequence")
    if isinstance(tokens, list) and any(hasattr(t, "__len__") for t in tokens):
        streams = [np.asarray(t) for t in tokens]  # documents: no window crosses from one to the next
    else:
        array = np.asarray(tokens)
        if array.ndim not in (1, 2):
            raise ValueError(f"next_token_pairs: expected a 1-D stream of token ids (or a list of them), got "
                             f"shape {array.shape}")
        streams = [array] if array.ndim == 1 else list(array)
    for s in streams:
        if s.ndim != 1 or (s.size and s.dtype.kind not in "iu"):
            raise ValueError(f"next_token_pairs: expected 1-D streams of integer token ids, got shape "
                             f"{s.shape} and dtype {s.dtype}")
    return streams


class TimeseriesDataset:
    """An iterable of `(windows, targets)` batches (or `windows` alone without targets).

    Made by `timeseries_dataset_from_array`; `len()` is the number of batches, and `fit`,
    `evaluate` and `predict` take it as they take any iterable of batches.
    """

    def __init__(self, data, targets, starts, offsets, batch_size, shuffle, seed):
        self.data, self.targets = data, targets
        self.starts, self.offsets = starts, offsets  # window i is data[starts[i] + offsets]
        self.batch_size, self.shuffle = batch_size, shuffle
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        return len(self.starts) if self.batch_size is None else math.ceil(len(self.starts) / self.batch_size)

    def __iter__(self):
        starts = self.starts
        if self.shuffle:  # a fresh order each epoch, reproducible from the seed
            starts = (self._rng or backend.generator()).permutation(starts)
        step = self.batch_size or 1
        for first in range(0, len(starts), step):
            batch = starts[first:first + step]
            windows = self.data[batch[:, None] + self.offsets]
            targets = None if self.targets is None else self.targets[batch]
            if self.batch_size is None:  # unbatched: one window (and target) at a time
                windows, targets = windows[0], None if targets is None else targets[0]
            yield windows if targets is None else (windows, targets)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None,
                                  format="tf"):
    """Sliding windows over a timeseries (axis 0 is time), in batches, as Keras makes them.

    Window `i` holds the steps `s, s + sampling_rate, ..., s + (sequence_length - 1) *
    sampling_rate` of `data`, where `s = start_index + i * sequence_stride`, and its target is
    `targets[s]` (so for next-step forecasting pass `data[:-k]` and `targets=data[k:]`). Only
    steps in `[start_index, end_index)` are used; windows that would run past it are dropped.
    With `shuffle`, the windows come in a new order each epoch (reproducible with `seed`); which
    windows exist does not change. Keras's order, drawn by tf.data's shuffle buffer, is not copied.

    Args:
        data: An array of consecutive time steps, time on axis 0.
        targets: One target per step of `data` (indexed by each window's first step), or None
            to yield the windows alone.
        sequence_length: Steps in each window.
        sequence_stride: Steps between the starts of successive windows.
        sampling_rate: Steps between the entries of one window.
        batch_size: Windows per batch (the last may be smaller), or None for single windows.
        shuffle: Whether to shuffle the windows each epoch.
        seed: Seed of the shuffle.
        start_index, end_index: Use only steps `start_index <= t < end_index`.
        format: Keras's choice of dataset library ("tf" or "grain"); nablanet always returns its
            own `TimeseriesDataset`, which `fit` takes like either.

    Returns:
        A `TimeseriesDataset`: an iterable of `(windows, targets)` batches that `fit` takes.

    Example:
        >>> dataset = timeseries_dataset_from_array(np.arange(10), np.arange(10) * 10,
        ...                                         sequence_length=3, sequence_stride=2, batch_size=2)
        >>> len(dataset)
        2
        >>> windows, targets = next(iter(dataset))
        >>> windows
        array([[0, 1, 2],
               [2, 3, 4]])
        >>> targets
        array([ 0, 20])
    """
    where = "timeseries_dataset_from_array"
    if format not in ("tf", "grain"):
        raise ValueError(f"{where}: format must be 'tf' or 'grain', got {format!r}")
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"{where}: data must be an array with time on axis 0, got a scalar")
    n = len(data)
    _check_count(where, "sequence_length", sequence_length)
    _check_count(where, "sampling_rate", sampling_rate, below=n)
    _check_count(where, "sequence_stride", sequence_stride, below=n)
    start = 0 if start_index is None else _check_index(where, "start_index", start_index, 0, n)
    end = n if end_index is None else _check_index(where, "end_index", end_index, max(start + 1, 1), n)
    if batch_size is not None:
        _check_count(where, "batch_size", batch_size)
    span = (sequence_length - 1) * sampling_rate + 1
    count = end - start - span + 1  # windows that fit in [start, end)
    if count <= 0:
        raise ValueError(f"{where}: no window fits: one spans (sequence_length - 1) * sampling_rate + 1 = "
                         f"{span} steps, and only {end - start} lie between start_index and end_index")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.ndim == 0:
            raise ValueError(f"{where}: targets must have one entry per time step, got a scalar")
        count = min(count, len(targets) - start)  # Keras's cap on windows, counted from start_index
        if count <= 0:
            raise ValueError(f"{where}: targets has {len(targets)} entries; the first window starts at step "
                             f"{start} and needs targets[{start}]")
    starts = start + np.arange(0, count, sequence_stride)
    offsets = np.arange(sequence_length) * sampling_rate
    return TimeseriesDataset(data, targets, starts, offsets, batch_size, shuffle, seed)


def _check_count(where, name, value, below=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    if below is not None and value >= below:
        raise ValueError(f"{where}: {name} must be lower than the length of the data ({below}), got {value}")


def _check_index(where, name, value, low, n):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{where}: {name} must be an integer, got {value!r}")
    if not low <= value < n:
        raise ValueError(f"{where}: {name} must be in [{low}, {n}) for data of length {n}, got {value}")
    return int(value)
