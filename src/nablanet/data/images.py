"""`image_dataset_from_directory`: a folder of class subfolders as a stream of image batches.

Images are decoded with Pillow (the `images` extra) one batch at a time, so the whole set never
has to fit in memory. Keras's arguments and defaults; the split is Keras's too (the file list,
shuffled with `seed`, split at `1 - validation_split`).
"""

import os

import numpy as np

from nablanet import backend

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


class ImageDataset:
    """An iterable of `(images, labels)` batches (or `images` alone with `labels=None`).

    Attributes:
        class_names: The class of each label index.
        file_paths: The files, in the order batches are read (before per-epoch shuffling).
    """

    def __init__(self, paths, labels, class_names, label_mode, batch_size, image_size, channels,
                 interpolation, shuffle, seed, crop_to_aspect_ratio):
        self.file_paths, self.labels = list(paths), labels
        self.class_names, self.label_mode = class_names, label_mode
        self.batch_size, self.image_size, self.channels = batch_size, tuple(image_size), channels
        self.interpolation, self.shuffle, self.crop_to_aspect_ratio = interpolation, shuffle, crop_to_aspect_ratio
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self):
        return -(-len(self.file_paths) // self.batch_size)

    def __iter__(self):
        order = np.arange(len(self.file_paths))
        if self.shuffle:
            (self._rng or backend.generator()).shuffle(order)
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            images = np.stack([self._load(self.file_paths[i]) for i in index])
            if self.labels is None:
                yield images
            else:
                yield images, self._encode(self.labels[index])

    def _encode(self, labels):
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=backend.floatx())[labels]
        if self.label_mode == "binary":
            return labels.astype(backend.floatx())[:, None]
        return labels.astype(np.int32)

    def _load(self, path):
        from PIL import Image, UnidentifiedImageError

        mode = {1: "L", 3: "RGB", 4: "RGBA"}[self.channels]
        try:
            with Image.open(path) as image:
                image = image.convert(mode)
                if self.crop_to_aspect_ratio:
                    image = _crop_to_aspect(image, self.image_size)
                resample = {"bilinear": Image.BILINEAR, "nearest": Image.NEAREST, "bicubic": Image.BICUBIC,
                            "lanczos": Image.LANCZOS, "area": Image.BOX}[self.interpolation]
                image = image.resize((self.image_size[1], self.image_size[0]), resample)
                array = np.asarray(image, dtype=backend.floatx())
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise ValueError(f"image_dataset_from_directory: cannot decode {path}: {error}") from None
        return array[..., None] if array.ndim == 2 else array


def _crop_to_aspect(image, size):
    width, height = image.size
    target = size[1] / size[0]
    if width / height > target:
        new_width = int(round(height * target))
        left = (width - new_width) // 2
        return image.crop((left, 0, left + new_width, height))
    new_height = int(round(width / target))
    top = (height - new_height) // 2
    return image.crop((0, top, width, top + new_height))


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True,
                                 seed=None, validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False):
    """Images from `directory/<class>/<file>` as batches of `(images, labels)`.

    Args:
        labels: "inferred" (from the subfolders), a list of integer labels (one per file, in
            sorted path order), or None (images only).
        label_mode: "int", "categorical", "binary" (two classes) or None.
        class_names: The subfolders to use, in label order (all of them, sorted, by default).
        color_mode: "grayscale", "rgb" or "rgba".
        image_size: Every image is resized to this `(height, width)`.
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
        raise ValueError(f"image_dataset_from_directory: label_mode must be int, categorical, binary or None, got {label_mode!r}")
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError(f"image_dataset_from_directory: labels must be 'inferred', None or a list, got {labels!r}")
    if (validation_split is None) != (subset is None):
        raise ValueError("image_dataset_from_directory: pass validation_split and subset together")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f"image_dataset_from_directory: subset must be training, validation or both, got {subset!r}")
    if validation_split is not None and seed is None and shuffle:
        raise ValueError("image_dataset_from_directory: with validation_split, pass a seed so both subsets agree")
    paths, label_array, names = _index(directory, labels, class_names, follow_links)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"image_dataset_from_directory: label_mode='binary' needs 2 classes, found {len(names)}: {names}")
    if labels is None:
        label_mode = None
    channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode]
    if validation_split is not None:
        order = np.random.default_rng(seed).permutation(len(paths)) if shuffle else np.arange(len(paths))
        cut = int(len(paths) * (1 - validation_split))
        parts = {"training": order[:cut], "validation": order[cut:]}
    else:
        parts = {None: np.arange(len(paths))}

    def make(index):
        return ImageDataset([paths[i] for i in index], None if label_array is None else label_array[index], names,
                            label_mode, batch_size, image_size, channels, interpolation, shuffle, seed,
                            crop_to_aspect_ratio)

    if subset == "both":
        return make(parts["training"]), make(parts["validation"])
    return make(parts[subset])


def _index(directory, labels, class_names, follow_links):
    subfolders = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    if labels == "inferred":
        names = list(class_names) if class_names is not None else subfolders
        missing = set(names) - set(subfolders)
        if missing:
            raise ValueError(f"image_dataset_from_directory: class_names {sorted(missing)} are not subfolders of {directory}")
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
    paths = sorted(os.path.join(root, f) for root, _, files in os.walk(directory, followlinks=follow_links)
                   for f in files if f.lower().endswith(IMAGE_EXTENSIONS))
    if labels is None:
        return paths, None, []
    labels = np.asarray(labels)
    if len(labels) != len(paths):
        raise ValueError(f"image_dataset_from_directory: {len(labels)} labels for {len(paths)} images")
    return paths, labels, [str(i) for i in range(int(labels.max()) + 1)]
