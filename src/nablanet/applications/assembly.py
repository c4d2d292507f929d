"""The parts every image classifier of `keras.applications` shares, in Keras's terms: the image
input (checked as Keras checks it), the optional global pooling, Keras's way of rounding channel
counts, and the weights (a file, or Keras's cached ImageNet file checked against its hash).

nablanet downloads nothing: `weights="imagenet"` reads the file Keras keeps in its cache folder
(`~/.keras/models`, or `$KERAS_HOME/models`), where `keras.applications` put it.
"""

import hashlib
import os

from nablanet.applications import imagenet_utils
from nablanet.applications.vgg import _check_arguments, source_inputs


def image_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, default_size=224, min_size=32, shape=None):
    """Check an application's arguments and make its image input.

    Args:
        where: The architecture's name, for messages.
        shape: The input shape already decided by the caller (MobileNetV3 decides it itself);
            by default Keras's `obtain_input_shape` rule with `default_size` and `min_size`.

    Returns:
        `(image, inputs, shape)`: the tensor the network starts from (`input_tensor` or a new
        `Input`), the model's inputs (the `Input` tensors `input_tensor` was computed from) and
        the input shape Keras's rule decided (which names some models).
    """
    from nablanet import layers

    _check_arguments(where, include_top, weights, pooling, classes, classifier_activation)
    if shape is None:
        shape = imagenet_utils.obtain_input_shape(input_shape, default_size, min_size, include_top, weights, where)
    if input_tensor is None:
        image = layers.Input(shape=shape)
        return image, image, shape
    return input_tensor, source_inputs(input_tensor, where), shape


def global_pool(x, pooling, avg_name=None, max_name=None):
    """Global average or max pooling for `pooling="avg"`/`"max"`, else `x` as it is."""
    from nablanet import layers

    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def make_divisible(value, divisor=8, min_value=None):
    """The multiple of `divisor` nearest to `value` (at least `min_value`, by default `divisor`),
    raised by one step when rounding would lose more than a tenth: the width rule of the
    MobileNets and EfficientNets.

    >>> make_divisible(32 * 0.35), make_divisible(20), make_divisible(1280 * 1.3)
    (16, 24, 1664)
    """
    rounded = max(min_value or divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def correct_pad(x, kernel_size):
    """The zero padding (Keras's `correct_pad`) before a strided `valid` convolution, so that
    it samples the positions TensorFlow's `same` padding would: one row and column less before
    than after for an even side."""
    size = x.shape[1:3]
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    half = (kernel[0] // 2, kernel[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def load(model, weights, imagenet=None):
    """Load `weights` into `model`: a path, or `"imagenet"`, for which `imagenet()` gives
    `(file name, URL, hash or None)` of Keras's file."""
    if weights == "imagenet":
        weights = cached_file(model.name, *imagenet())
    if weights is not None:
        from nablanet.saving.interop import import_weights

        import_weights(model, weights)
    return model


def cached_file(where, filename, url, file_hash=None):
    """The path of Keras's cached `filename`, checked against `file_hash` (SHA-256 when it has
    64 hex digits, else MD5, as Keras's `get_file` decides)."""
    path = imagenet_utils.keras_cache(filename)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{where}: weights='imagenet' reads Keras's file {filename}, which is not at {path}. "
            f"nablanet downloads nothing: fetch {url} and pass weights=<its path> (or put it at that "
            "place), or pass weights=None for random weights.")
    if file_hash:
        digest = hashlib.sha256() if len(file_hash) == 64 else hashlib.md5(usedforsecurity=False)
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != file_hash:
            raise ValueError(f"{where}: {path} is not Keras's {filename} (its hash is {digest.hexdigest()}, "
                             f"Keras's is {file_hash}); download it again")
    return path
