"""Keras's dataset helpers on NumPy: `split_dataset`, `pack_x_y_sample_weight` and
`unpack_x_y_sample_weight`, `text_dataset_from_directory`, `audio_dataset_from_directory`.

The `*_from_directory` functions return a `DirectoryDataset`: an iterable of batches that
`fit`/`evaluate`/`predict` take as `x`, as they take Keras's `tf.data.Dataset`.
"""

import os
import wave

import numpy as np

from nablanet import backend
from nablanet.data.images import encode_labels
from nablanet.tree import flatten, map_structure

__all__ = [
    "DirectoryDataset", "audio_dataset_from_directory", "pack_x_y_sample_weight", "split_dataset",
    "text_dataset_from_directory", "unpack_x_y_sample_weight",
]


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """What `unpack_x_y_sample_weight` takes apart: `x` alone (wrapped as `(x,)` when it is a list
    or tuple, so it stays one input), `(x, y)` or `(x, y, sample_weight)`.

    >>> pack_x_y_sample_weight(1), pack_x_y_sample_weight([1, 2]), pack_x_y_sample_weight(1, 2, 3)
    (1, ([1, 2],), (1, 2, 3))
    """
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, with None for what is missing.

    >>> unpack_x_y_sample_weight((1,)), unpack_x_y_sample_weight([1, 2])
    ((1, None, None), (1, 2, None))
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(f"unpack_x_y_sample_weight: expected (x,), (x, y) or (x, y, sample_weight), got a tuple of "
                     f"{len(data)} items")


def _size(where, value, total, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: {name} must be an int, a float or None, got {type(value).__name__}")
    if isinstance(value, (float, np.floating)):
        if not 0 < value < 1:
            raise ValueError(f"{where}: a float {name} must be in (0, 1), got {value}")
        return round(value * total)
    if not 0 < value < total:
        raise ValueError(f"{where}: an int {name} must be in (0, {total}), got {value}")
    return int(value)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None, preferred_backend=None):
    """Split samples in two: `(left, right)` in the dataset's own form.

    Args:
        dataset: An array, a tuple/list/dict of arrays with one sample per row, or a sequence of samples.
        left_size: Samples on the left: a fraction in (0, 1) or a count (default: what `right_size` leaves).
        right_size: Samples on the right, likewise (default: what `left_size` leaves).
        shuffle: Shuffle the samples (with `seed`) before splitting.
        seed: The shuffle's seed.
        preferred_backend: Accepted for Keras's signature: the halves are NumPy either way.

    >>> left, right = split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.8)
    >>> left[1].tolist(), right[0].tolist()
    ([0, 2, 4, 6, 8, 10, 12, 14], [8, 9])
    """
    where = "split_dataset"
    if left_size is None and right_size is None:
        raise ValueError(f"{where}: pass left_size or right_size (a fraction or a count)")
    arrays = isinstance(dataset, (np.ndarray, tuple, dict)) or (
        isinstance(dataset, list) and dataset and all(isinstance(a, np.ndarray) for a in dataset))
    if arrays:
        leaves = [np.asarray(a) for a in flatten(dataset)]
        if not leaves or any(a.ndim == 0 for a in leaves):
            raise ValueError(f"{where}: expected arrays with one sample per row, got {dataset!r:.80}")
        total = len(leaves[0])
        if any(len(a) != total for a in leaves):
            raise ValueError(f"{where}: the arrays have different numbers of samples {[len(a) for a in leaves]}")
    elif hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__"):
        total = len(dataset)
    elif hasattr(dataset, "__iter__"):
        dataset = list(dataset)
        total = len(dataset)
    else:
        raise TypeError(f"{where}: expected arrays, a tuple/list/dict of arrays or a sequence of samples, "
                        f"got {type(dataset).__name__}")
    left = _size(where, left_size, total, "left_size")
    right = _size(where, right_size, total, "right_size")
    if isinstance(left_size, float) and isinstance(right_size, float) and left_size + right_size > 1:
        raise ValueError(f"{where}: left_size + right_size must be at most 1, got {left_size + right_size}")
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"{where}: left_size + right_size = {left + right} is more than the {total} samples")
    if left == 0 or right == 0:
        raise ValueError(f"{where}: the split leaves an empty side ({left} and {right} of {total} samples)")
    order = np.arange(total)
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    halves = order[:left], order[left:left + right]
    if arrays:
        return tuple(map_structure(lambda a, index=index: np.asarray(a)[index], dataset) for index in halves)
    return tuple([dataset[int(i)] for i in index] for index in halves)


class DirectoryDataset:
    """Batches of samples read from files when iterated (one pass per iteration), each
    `(inputs, labels)` or inputs alone; `len()` is the number of batches."""

    def __init__(self, paths, labels, class_names, label_mode, batch_size, shuffle, seed, read):
        self.paths, self.labels, self.class_names = list(paths), labels, list(class_names)
        self.label_mode, self.batch_size, self.shuffle, self.seed, self._read = (
            label_mode, batch_size, shuffle, seed, read)
        self._epoch = 0

    def __len__(self):
        if self.batch_size is None:
            return len(self.paths)
        return (len(self.paths) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        order = np.arange(len(self.paths))
        if self.shuffle:  # a new order each pass, reproducible from the seed
            np.random.default_rng(None if self.seed is None else [self.seed, self._epoch]).shuffle(order)
        self._epoch += 1
        step = self.batch_size or 1
        for start in range(0, len(order), step):
            index = order[start:start + step]
            inputs = self._read([self.paths[i] for i in index])
            labels = None if self.labels is None else encode_labels(
                self.labels[index], self.label_mode, len(self.class_names))
            if self.batch_size is None:
                inputs = inputs[0]
                labels = None if labels is None else labels[0]
            yield inputs if labels is None else (inputs, labels)


def _index(where, directory, labels, class_names, follow_links, extensions):
    if not os.path.isdir(directory):
        raise ValueError(f"{where}: {directory!r} is not a directory")
    if labels == "inferred":
        found = sorted(d for d in os.listdir(directory)
                       if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if class_names is not None:
            missing = sorted(set(class_names) - set(found))
            if missing:
                raise ValueError(f"{where}: class_names {missing} are not subfolders of {directory} (found {found})")
            found = list(class_names)
        folders = [(os.path.join(directory, name), k) for k, name in enumerate(found)]
        names = found
    else:
        folders, names = [(directory, None)], []
    paths, label_list = [], []
    for folder, label in folders:
        for root, dirs, files in os.walk(folder, followlinks=follow_links):
            dirs.sort()
            for name in sorted(files):
                if name.lower().endswith(extensions):
                    paths.append(os.path.join(root, name))
                    label_list.append(label)
    if labels == "inferred":
        return paths, np.asarray(label_list, dtype=np.int64), names
    if labels is None:
        return paths, None, names
    given = np.asarray(labels)
    if len(given) != len(paths):
        raise ValueError(f"{where}: {len(given)} labels given for {len(paths)} files in {directory}")
    return paths, given.astype(np.int64), [str(k) for k in range(int(given.max()) + 1 if given.size else 0)]


def _from_directory(where, directory, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split,
                    subset, follow_links, extensions, read):
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"{where}: label_mode must be 'int', 'categorical', 'binary' or None, got {label_mode!r}")
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f"{where}: labels must be 'inferred', None or a list of ints, got {labels!r}")
    if (validation_split is None) != (subset is None):
        raise ValueError(f"{where}: pass validation_split and subset together")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f"{where}: subset must be 'training', 'validation' or 'both', got {subset!r}")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"{where}: validation_split must be in (0, 1), got {validation_split!r}")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
        raise ValueError(f"{where}: batch_size must be a positive integer or None, got {batch_size!r}")
    if labels is None or label_mode is None:
        labels = label_mode = None
    paths, label_array, names = _index(where, directory, labels, class_names, follow_links, extensions)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"{where}: label_mode='binary' needs 2 classes, found {len(names)}: {names}")
    if seed is None:
        seed = int(backend.generator().integers(2**31))
    order = np.arange(len(paths))
    if shuffle:  # one shuffle of the file list before the split, so both subsets agree for a seed
        np.random.RandomState(seed).shuffle(order)
    parts = {None: order}
    if validation_split is not None:
        cut = len(order) - int(validation_split * len(order))
        parts = {"training": order[:cut], "validation": order[cut:]}

    def make(index, shuffled=shuffle):
        return DirectoryDataset([paths[i] for i in index], None if label_array is None else label_array[index], names,
                                label_mode, batch_size, shuffled, seed, read)

    if subset == "both":
        return make(parts["training"]), make(parts["validation"], shuffled=False)
    return make(parts[subset])


def _print_found(result):
    """Keras's "Found N files belonging to K classes." for one dataset or a (training, validation) pair."""
    datasets = result if isinstance(result, tuple) else (result,)
    total = sum(len(d.paths) for d in datasets)
    print(f"Found {total} files belonging to {len(datasets[0].class_names)} classes.")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """Text files (`.txt`) from `directory/<class>/...` as batches of `(strings, labels)`.

    Args:
        labels: "inferred" (from the subfolders), a list of ints (one per file, in sorted order) or None.
        label_mode: "int", "categorical", "binary" or None.
        class_names: The subfolders to use, in label order (default: all, sorted).
        batch_size: Texts per batch, or None for single texts.
        max_length: Cut each text to this many characters.
        validation_split, subset: Hold out a fraction: "training", "validation" or "both".
        format: "tf" or "grain" in Keras; the batches here are NumPy either way.
        verbose: Print how many files and classes were found.

    Returns:
        A `DirectoryDataset` (two with subset="both") yielding `(np.ndarray of str, labels)`.
    """
    where = "text_dataset_from_directory"
    if max_length is not None and (not isinstance(max_length, int) or max_length <= 0):
        raise ValueError(f"{where}: max_length must be a positive integer or None, got {max_length!r}")

    def read(paths):
        texts = []
        for path in paths:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            texts.append(text if max_length is None else text[:max_length])
        out = np.empty(len(texts), dtype=object)
        out[:] = texts
        return out

    result = _from_directory(where, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                             validation_split, subset, follow_links, (".txt",), read)
    if verbose:
        _print_found(result)
    return result


def read_wav(path, where="audio_dataset_from_directory"):
    """`(samples, rate)` of a PCM `.wav` file: float32 in [-1, 1], shape `(frames, channels)`."""
    try:
        with wave.open(os.fspath(path), "rb") as f:
            width, channels, rate, frames = f.getsampwidth(), f.getnchannels(), f.getframerate(), f.getnframes()
            raw = f.readframes(frames)
    except (wave.Error, EOFError) as error:
        raise ValueError(f"{where}: cannot read {path} as a PCM wav file: {error}") from None
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width in (2, 4):
        kind = np.int16 if width == 2 else np.int32
        data = np.frombuffer(raw, f"<i{width}").astype(np.float32) / -np.iinfo(kind).min
    elif width == 3:
        bytes3 = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        value = bytes3[:, 0] | (bytes3[:, 1] << 8) | (bytes3[:, 2] << 16)
        data = (np.where(value >= 1 << 23, value - (1 << 24), value)).astype(np.float32) / (1 << 23)
    else:
        raise ValueError(f"{where}: {path} has {8 * width}-bit samples; expected 8, 16, 24 or 32-bit PCM")
    return data.reshape(-1, channels), rate


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None, follow_links=False, verbose=True):
    """PCM `.wav` files from `directory/<class>/...` as batches of `(audio, labels)`: float32 arrays
    `(batch, frames, channels)`, each clip cut or zero-padded to `output_sequence_length` (default:
    the longest clip of the batch).

    Args:
        sampling_rate: The rate every file must have (files are never resampled), or None.
        ragged: Keras's ragged batches need TensorFlow; must be False.
        The other arguments are `text_dataset_from_directory`'s.
    """
    where = "audio_dataset_from_directory"
    if ragged:
        raise ValueError(f"{where}: ragged=True needs TensorFlow's ragged tensors; use output_sequence_length "
                         "or batch_size=None")
    if output_sequence_length is not None and (not isinstance(output_sequence_length, int)
                                               or output_sequence_length <= 0):
        raise ValueError(f"{where}: output_sequence_length must be a positive integer or None, "
                         f"got {output_sequence_length!r}")

    def read(paths):
        clips = []
        for path in paths:
            data, rate = read_wav(path, where)
            if sampling_rate is not None and rate != sampling_rate:
                raise ValueError(f"{where}: {path} is sampled at {rate} Hz, expected sampling_rate={sampling_rate}")
            clips.append(data)
        length = output_sequence_length or max(len(c) for c in clips)
        channels = max(c.shape[1] for c in clips)
        out = np.zeros((len(clips), length, channels), dtype=np.float32)
        for k, clip in enumerate(clips):
            out[k, :min(length, len(clip)), :clip.shape[1]] = clip[:length]
        return out

    result = _from_directory(where, directory, labels, label_mode, class_names, batch_size, shuffle, seed,
                             validation_split, subset, follow_links, (".wav",), read)
    if verbose:
        _print_found(result)
    return result
