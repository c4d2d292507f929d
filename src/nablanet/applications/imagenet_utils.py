"""ImageNet helpers shared by the applications, with Keras's names and numerics:
`preprocess_input` (modes "caffe", "tf", "torch"), `decode_predictions` and the input-shape rule.

nablanet downloads nothing: `decode_predictions` reads ImageNet's class index from a file or a
mapping you pass, or from Keras's cache (`~/.keras/models/imagenet_class_index.json`) when
Keras has put it there.
"""

import json
import os

import numpy as np

from nablanet import backend

CAFFE_MEAN = (103.939, 116.779, 123.68)  # ImageNet's mean pixel, in BGR order
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
CLASS_INDEX_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                   "imagenet_class_index.json")
MODES = ("caffe", "tf", "torch")


def keras_cache(filename):
    """Where Keras keeps a downloaded file (`$KERAS_HOME/models`, else `~/.keras/models`)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models", filename)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch (or one image) of RGB pixels in [0, 255] as an ImageNet model expects.

    - "caffe" (VGG): RGB to BGR, then subtract ImageNet's mean pixel `[103.939, 116.779,
      123.68]` (BGR), without scaling.
    - "tf": scale to [-1, 1]: `x / 127.5 - 1`.
    - "torch": scale to [0, 1], then normalize each channel with ImageNet's mean and std.

    Integer input becomes floatx; float input keeps its dtype. Unlike Keras's NumPy path, the
    input array is never modified in place. A nablanet `Tensor` gives a `Tensor` (usable in a
    `Lambda` layer).

    >>> preprocess_input(np.array([[[255, 0, 0]]])).tolist()
    [[[-103.939, -116.779, 131.32]]]
    """
    from nablanet.autodiff.tensor import Tensor

    if mode not in MODES:
        raise ValueError(f"preprocess_input: mode must be one of {MODES}, got {mode!r}")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"preprocess_input: data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    is_tensor = isinstance(x, Tensor)
    if not is_tensor:
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(backend.floatx())
    axis = (0 if x.ndim == 3 else 1) if data_format == "channels_first" else x.ndim - 1
    if x.ndim < 1 or x.shape[axis] != 3:
        raise ValueError(f"preprocess_input: expected 3 color channels on axis {axis} ({data_format}), "
                         f"got an array of shape {tuple(x.shape)}")
    if mode == "tf":
        return x / 127.5 - 1.0
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "torch":
        mean = np.reshape(TORCH_MEAN, shape).astype(x.dtype)
        std = np.reshape(TORCH_STD, shape).astype(x.dtype)
        return (x / 255.0 - mean) / std
    index = [slice(None)] * x.ndim
    index[axis] = [2, 1, 0]
    return x[tuple(index)] - np.reshape(CAFFE_MEAN, shape).astype(x.dtype)


def _read_class_index(class_index):
    if isinstance(class_index, dict):
        return class_index
    path = class_index if class_index is not None else keras_cache("imagenet_class_index.json")
    if class_index is None and not os.path.exists(path):
        raise FileNotFoundError(
            "decode_predictions: ImageNet's class names are not available. nablanet downloads "
            f"nothing; fetch {CLASS_INDEX_URL} yourself and pass its path as class_index=..., or "
            f"put it at {path} (where Keras caches it), or pass a mapping "
            "{index: (class_id, name)}.")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def decode_predictions(preds, top=5, class_index=None):
    """The `top` classes of each prediction, best first, as `(class_id, name, score)` tuples.

    Args:
        preds: Scores of shape `(samples, classes)` (a NumPy array or a Tensor).
        top: How many classes to return per sample.
        class_index: A path to a JSON class index in Keras's format (`{"0": ["n01440764",
            "tench"], ...}`) or such a mapping (keys may be ints). By default, Keras's cached
            `imagenet_class_index.json`, and then the scores must have 1000 classes.

    >>> decode_predictions(np.array([[0.1, 0.7, 0.2]]), top=2,
    ...                    class_index={0: ("c0", "cat"), 1: ("c1", "dog"), 2: ("c2", "fox")})
    [[('c1', 'dog', 0.7), ('c2', 'fox', 0.2)]]
    """
    preds = np.asarray(getattr(preds, "data", preds))
    expected = 1000 if class_index is None else None
    if preds.ndim != 2 or (expected and preds.shape[1] != expected):
        raise ValueError(f"decode_predictions: expected a batch of predictions of shape (samples, "
                         f"{expected or 'classes'}), got shape {preds.shape}")
    index = {str(k): v for k, v in _read_class_index(class_index).items()}
    missing = [i for i in range(preds.shape[1]) if str(i) not in index]
    if missing:
        raise ValueError(f"decode_predictions: the class index has no entry for class {missing[0]} "
                         f"(the predictions have {preds.shape[1]} classes, the index {len(index)})")
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[::-1][:top]
        results.append([tuple(index[str(i)]) + (row[i].item(),) for i in best])
    return results


def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights, where):
    """Keras's rule for an application's input shape (channels last): the default when none
    is given, a fixed shape when the top is included, three channels for ImageNet weights, and
    each spatial side at least `min_size`."""
    default = (default_size, default_size, 3)
    if input_shape is None:
        shape = default if require_flatten else (None, None, 3)
    else:
        shape = tuple(None if d is None else int(d) for d in input_shape)
        if len(shape) != 3:
            raise ValueError(f"{where}: input_shape must be (height, width, channels), got {input_shape!r}")
        if weights == "imagenet" and shape[-1] != 3:
            raise ValueError(f"{where}: ImageNet weights need 3 input channels, got input_shape={shape}")
        if any(d is not None and d < min_size for d in shape[:2]):
            raise ValueError(f"{where}: the input must be at least {min_size}x{min_size}, got "
                             f"input_shape={shape}")
    if require_flatten and weights == "imagenet" and shape != default:
        raise ValueError(f"{where}: with include_top=True and ImageNet weights, input_shape must be "
                         f"{default}, got {shape}")
    if require_flatten and None in shape:
        raise ValueError(f"{where}: include_top=True needs a fixed input_shape, got {shape}")
    return shape


def correct_pad(inputs, kernel_size):
    """The `ZeroPadding2D` padding `((top, bottom), (left, right))` that makes a stride-2
    "valid" convolution of `kernel_size` over `inputs` (channels last) line up as TensorFlow's
    "same" padding does: half the kernel on each side, one less before an even side (or an
    unknown one).

    >>> from nablanet import layers
    >>> correct_pad(layers.Input((32, 31, 3)), 3)
    ((0, 1), (1, 1))
    """
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    height, width = tuple(inputs.shape)[1:3]
    before = (1, 1) if height is None else (1 - height % 2, 1 - width % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - before[0], half[0]), (half[1] - before[1], half[1]))
