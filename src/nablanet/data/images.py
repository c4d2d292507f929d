"""`image_dataset_from_directory`: a folder of class subfolders as a stream of image batches.

Images are decoded with Pillow (the `images` extra) one batch at a time, so the whole set never
has to fit in memory. Keras's arguments and defaults, and Keras's split: the sorted file list is
shuffled with `np.random.RandomState(seed)` and its last `int(validation_split * n)` files are the
validation subset, so one seed picks the same files in both libraries. "bilinear" and "nearest"
resizing match Keras's (no antialiasing); the other filters are Pillow's.
"""

import os

import numpy as np

from nablanet import backend
from nablanet.layers.preprocessing import aspect_crop, aspect_pad
from nablanet.layers.reshaping import resize_matrix

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")


def encode_labels(labels, label_mode, num_classes):
    """Integer class indices as a directory dataset yields them for `label_mode`: one-hot floats
    ("categorical"), a float column ("binary") or int32 ("int")."""
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=backend.floatx())[labels]
    if label_mode == "binary":
        return labels.astype(backend.floatx())[:, None]
    return labels.astype(np.int32)


class ImageDataset:
    """An iterable of `(images, labels)` batches (or `images` alone with `labels=None`).

    Attributes:
        class_names: The class of each label index.
        file_paths: The files, in the order batches are read (before per-epoch shuffling).
    """

    def __init__(self, paths, labels, class_names, label_mode, batch_size, image_size, channels,
                 interpolation, shuffle, seed, crop_to_aspect_ratio, pad_to_aspect_ratio=False,
                 data_format="channels_last"):
        self.pad_to_aspect_ratio, self.data_format = pad_to_aspect_ratio, data_format
        self.file_paths, self.labels = list(paths), labels
        self.class_names, self.label_mode = class_names, label_mode
        self.batch_size, self.image_size, self.channels = batch_size, tuple(image_size), channels
        self.interpolation, self.shuffle, self.crop_to_aspect_ratio = interpolation, shuffle, crop_to_aspect_ratio
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        return len(self.file_paths) if self.batch_size is None else -(-len(self.file_paths) // self.batch_size)

    def __iter__(self):
        order = np.arange(len(self.file_paths))
        if self.shuffle:
            (self._rng or backend.generator()).shuffle(order)
        step = self.batch_size or 1
        for start in range(0, len(order), step):
            index = order[start:start + step]
            images = np.stack([self._load(self.file_paths[i]) for i in index])
            labels = None if self.labels is None else encode_labels(
                self.labels[index], self.label_mode, len(self.class_names))
            if self.batch_size is None:  # unbatched: one image (and label) at a time
                images, labels = images[0], None if labels is None else labels[0]
            yield images if labels is None else (images, labels)

    def _load(self, path):
        from PIL import Image, UnidentifiedImageError

        mode = {1: "L", 3: "RGB", 4: "RGBA"}[self.channels]
        height, width = self.image_size
        try:
            with Image.open(path) as image:
                image = image.convert(mode)
                if self.crop_to_aspect_ratio:
                    top, left, rows, cols = aspect_crop(image.height, image.width, height, width)
                    image = image.crop((left, top, left + cols, top + rows))
                if self.pad_to_aspect_ratio:
                    top, left, rows, cols = aspect_pad(image.height, image.width, height, width)
                    canvas = Image.new(mode, (cols, rows))  # zeros, as Keras pads
                    canvas.paste(image, (left, top))
                    image = canvas
                if self.interpolation in ("bilinear", "nearest"):
                    array = np.asarray(image, dtype=backend.floatx())
                else:
                    resample = {"bicubic": Image.BICUBIC, "area": Image.BOX, "lanczos3": Image.LANCZOS,
                                "lanczos5": Image.LANCZOS}[self.interpolation]
                    array = np.asarray(image.resize((width, height), resample), dtype=backend.floatx())
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise ValueError(f"image_dataset_from_directory: cannot decode {path}: {error}") from None
        array = array[..., None] if array.ndim == 2 else array
        array = self._resized(array, height, width)
        return np.transpose(array, (2, 0, 1)) if self.data_format == "channels_first" else array

    def _resized(self, array, height, width):
        if self.interpolation == "nearest":
            rows = np.minimum(((np.arange(height) + 0.5) * array.shape[0] / height).astype(int), array.shape[0] - 1)
            cols = np.minimum(((np.arange(width) + 0.5) * array.shape[1] / width).astype(int), array.shape[1] - 1)
            return array[rows][:, cols]
        if self.interpolation == "bilinear":
            rows = resize_matrix(array.shape[0], height, array.dtype)
            cols = resize_matrix(array.shape[1], width, array.dtype)
            return np.einsum("hi,ijc,wj->hwc", rows, array, cols, optimize=True)
        return array


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
                                 seed=None, validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                                 data_format=None, format="tf", verbose=True):
    """Images from `directory/<class>/<file>` as batches of `(images, labels)`.

    Args:
        labels: "inferred" (from the subfolders), a list of integer labels (one per file, in
            the order `os.walk` lists them: folder by sorted folder, files sorted within), or None
            (images only).
        label_mode: "int", "categorical", "binary" (two classes) or None (images only).
        class_names: The subfolders to use, in label order (all of them, sorted, by default;
            folders whose names start with "." are skipped).
        batch_size: Images per batch, or None for single images.
        color_mode: "grayscale", "rgb" or "rgba".
        image_size: Every image is resized to this `(height, width)`, after `crop_to_aspect_ratio`
            (the largest centered window of that aspect ratio) or `pad_to_aspect_ratio` (zeros around).
        data_format: "channels_last" (the default) or "channels_first" for the images' axes.
        format: Keras's choice of dataset library ("tf" or "grain"); nablanet always returns its own
            `ImageDataset`, which `fit` takes like either.
        verbose: Print how many files and classes were found, as Keras does.
        validation_split, subset: Hold out a fraction: subset "training", "validation" or "both"
            (which returns both datasets). Use the same `seed` for both halves.

    Returns:
        An `ImageDataset` (two with subset="both").
    """
    try:
        import PIL  # noqa: F401
    except ImportError:
        raise ImportError("image_dataset_from_directory needs Pillow: pip install 'nablanet[images]'") from None
    if not os.path.isdir(directory):
        raise ValueError(f"image_dataset_from_directory: {directory!r} is not a directory")
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(f"image_dataset_from_directory: color_mode must be grayscale, rgb or rgba, got {color_mode!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError("image_dataset_from_directory: label_mode must be int, categorical, binary or None, "
                         f"got {label_mode!r}")
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f"image_dataset_from_directory: labels must be 'inferred', None or a list, got {labels!r}")
    if (validation_split is None) != (subset is None):
        raise ValueError("image_dataset_from_directory: pass validation_split and subset together")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f"image_dataset_from_directory: subset must be training, validation or both, got {subset!r}")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"image_dataset_from_directory: validation_split must be in (0, 1), got {validation_split!r}")
    if validation_split is not None and seed is None and shuffle:
        raise ValueError("image_dataset_from_directory: with validation_split, pass a seed so both subsets agree")
    if class_names is not None and labels not in ("inferred", None):
        raise ValueError("image_dataset_from_directory: class_names only applies with labels='inferred'")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"image_dataset_from_directory: interpolation must be one of {INTERPOLATIONS}, "
                         f"got {interpolation!r}")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
        raise ValueError(f"image_dataset_from_directory: batch_size must be a positive integer or None, "
                         f"got {batch_size!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("image_dataset_from_directory: crop_to_aspect_ratio and pad_to_aspect_ratio cannot both "
                         "be True")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"image_dataset_from_directory: data_format must be channels_last or channels_first, "
                         f"got {data_format!r}")
    if format not in ("tf", "grain"):
        raise ValueError(f"image_dataset_from_directory: format must be 'tf' or 'grain', got {format!r}")
    if labels is None or label_mode is None:  # images alone, as Keras yields them
        labels = label_mode = None
    paths, label_array, names = _index(directory, labels, class_names, follow_links)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError("image_dataset_from_directory: label_mode='binary' needs 2 classes, "
                         f"found {len(names)}: {names}")
    if verbose:
        print(f"Found {len(paths)} files belonging to {len(names)} classes." if labels == "inferred"
              else f"Found {len(paths)} files.")
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]
    order = np.arange(len(paths))
    if shuffle:  # Keras shuffles the file list once, with the seed, before splitting it
        np.random.RandomState(seed if seed is not None else backend.generator().integers(2**31)).shuffle(order)
    parts = {None: order}
    if validation_split is not None:
        validation = int(validation_split * len(paths))
        parts = {"training": order[:len(order) - validation], "validation": order[len(order) - validation:]}

    def make(index, shuffled=shuffle):
        return ImageDataset([paths[i] for i in index], None if label_array is None else label_array[index], names,
                            label_mode, batch_size, image_size, channels, interpolation, shuffled, seed,
                            crop_to_aspect_ratio, pad_to_aspect_ratio, data_format)

    if verbose and validation_split is not None:
        if subset in ("training", "both"):
            print(f"Using {len(parts['training'])} files for training.")
        if subset in ("validation", "both"):
            print(f"Using {len(parts['validation'])} files for validation.")
    if subset == "both":
        return make(parts["training"]), make(parts["validation"], shuffled=False)
    return make(parts[subset])


def _index(directory, labels, class_names, follow_links):
    subfolders = sorted(d for d in os.listdir(directory)
                        if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
    if labels == "inferred":
        names = list(class_names) if class_names is not None else subfolders
        missing = set(names) - set(subfolders)
        if missing:
            raise ValueError(f"image_dataset_from_directory: class_names {sorted(missing)} "
                             f"are not subfolders of {directory}")
        paths, label_list = [], []
        for label, name in enumerate(names):
            for root, _, files in sorted(os.walk(os.path.join(directory, name), followlinks=follow_links)):
                for file in sorted(files):
                    if file.lower().endswith(IMAGE_EXTENSIONS):
                        paths.append(os.path.join(root, file))
                        label_list.append(label)
        if not paths:
            raise ValueError(f"image_dataset_from_directory: no images ({', '.join(IMAGE_EXTENSIONS)}) under "
                             f"{directory}/<class>/")
        return paths, np.array(label_list), names
    paths = [os.path.join(root, f)  # folder by folder, then file by file, as Keras lists them
             for root, _, files in sorted(os.walk(directory, followlinks=follow_links))
             for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]
    if labels is None:
        return paths, None, []
    labels = np.asarray(labels)
    if len(labels) != len(paths):
        raise ValueError(f"image_dataset_from_directory: {len(labels)} labels for {len(paths)} images")
    return paths, labels, [str(i) for i in range(int(labels.max()) + 1)]
