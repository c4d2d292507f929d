"""MobileNetV3Small and MobileNetV3Large (Howard et al., 2019) with Keras's layer names and
shapes: `keras.applications.mobilenet_v3`'s names. The models scale their pixels themselves
(`include_preprocessing`), so `preprocess_input` returns its input."""

import warnings

from nablanet.applications import assembly, base, imagenet_utils
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions

__all__ = ["MobileNetV3Large", "MobileNetV3Small", "decode_predictions", "preprocess_input"]

# Keras's hashes of its ImageNet files, by variant: (with the top, without it).
IMAGENET_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}
# Each block: (expansion, output channels before alpha, kernel size or None for the variant's,
# stride, squeeze-and-excitation, activation: "relu" or None for the variant's).
SMALL = ((1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"), (88 / 24, 24, 3, 1, False, "relu"),
         (4, 40, None, 2, True, None), (6, 40, None, 1, True, None), (6, 40, None, 1, True, None),
         (3, 48, None, 1, True, None), (3, 48, None, 1, True, None), (6, 96, None, 2, True, None),
         (6, 96, None, 1, True, None), (6, 96, None, 1, True, None))
LARGE = ((1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
         (3, 40, None, 2, True, "relu"), (3, 40, None, 1, True, "relu"), (3, 40, None, 1, True, "relu"),
         (6, 80, 3, 2, False, None), (2.5, 80, 3, 1, False, None), (2.3, 80, 3, 1, False, None),
         (2.3, 80, 3, 1, False, None), (6, 112, 3, 1, True, None), (6, 112, 3, 1, True, None),
         (6, 160, None, 2, True, None), (6, 160, None, 1, True, None), (6, 160, None, 1, True, None))

_ARGS = """
    Args:
        input_shape: `(height, width, 3)`, each side at least 32 (None sides allowed, also with
            the top); by default the shape of `input_tensor`, else `(None, None, 3)`.
        alpha: The width multiplier (ImageNet weights for 0.75 and 1.0, minimalistic for 1.0).
        minimalistic: Without squeeze-and-excitation, hard-swish and 5x5 kernels (ReLU and 3x3).
        include_top: Whether to end with the classifier (1x1 convolutions on pooled features).
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address and checked against Keras's hash), or the
            path of a weights file (Keras's formats).
        input_tensor: An optional `Input()` tensor (or one computed from it) as the image input.
        classes: The number of classes of the top.
        pooling: Without the top: None (4-D output), "avg" or "max" global pooling.
        dropout_rate: The dropout rate before the classifier.
        classifier_activation: The activation of `predictions`; None gives the logits.
        include_preprocessing: Whether the model scales pixels in [0, 255] to [-1, 1] itself.
        name: The model's name.

    Returns:
        A functional `Model` that takes pixels in [0, 255] (with `include_preprocessing`).
"""


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False, include_top=True, weights="imagenet",
                     input_tensor=None, classes=1000, pooling=None, dropout_rate=0.2,
                     classifier_activation="softmax", include_preprocessing=True, name="MobileNetV3Small"):
    return _mobilenet_v3(SMALL, 1024, "small", input_shape, alpha, minimalistic, include_top, weights, input_tensor,
                         classes, pooling, dropout_rate, classifier_activation, include_preprocessing, name)


def MobileNetV3Large(input_shape=None, alpha=1.0, minimalistic=False, include_top=True, weights="imagenet",
                     input_tensor=None, classes=1000, pooling=None, dropout_rate=0.2,
                     classifier_activation="softmax", include_preprocessing=True, name="MobileNetV3Large"):
    return _mobilenet_v3(LARGE, 1280, "large", input_shape, alpha, minimalistic, include_top, weights, input_tensor,
                         classes, pooling, dropout_rate, classifier_activation, include_preprocessing, name)


MobileNetV3Small.__doc__ = ("The small MobileNetV3: a 3x3 stem, 11 inverted residual blocks (some with "
                            "squeeze-and-excitation), a 1x1 convolution to 576 channels and a 1024-channel head.\n"
                            + _ARGS + """
    Example:
        >>> model = MobileNetV3Small(input_shape=(32, 32, 3), include_top=False, weights=None)
        >>> model.output.shape, model.count_params()
        ((None, 1, 1, 576), 939120)
""")
MobileNetV3Large.__doc__ = ("The large MobileNetV3: a 3x3 stem, 15 inverted residual blocks (some with "
                            "squeeze-and-excitation), a 1x1 convolution to 960 channels and a 1280-channel head.\n"
                            + _ARGS)


def _mobilenet_v3(blocks, last_point_channels, model_type, input_shape, alpha, minimalistic, include_top, weights,
                  input_tensor, classes, pooling, dropout_rate, classifier_activation, include_preprocessing, name):
    from nablanet import layers

    where = name or f"MobileNetV3{model_type.title()}"
    if weights == "imagenet" and (alpha not in (0.75, 1.0) or minimalistic and alpha != 1.0):
        raise ValueError(f"{where}: ImageNet weights exist for alpha 0.75 and 1.0 (minimalistic: 1.0 only), "
                         f"got alpha={alpha}, minimalistic={minimalistic}")
    if input_shape is None:
        input_shape = (None, None, 3)
        if input_tensor is not None and len(getattr(input_tensor, "shape", ())) == 4:
            input_shape = (input_tensor.shape[2], input_tensor.shape[1], 3)  # Keras swaps rows and columns here
    shape = tuple(input_shape)
    if shape[0] and shape[1] and (shape[0] < 32 or shape[1] < 32):
        raise ValueError(f"{where}: the input must be at least 32x32, got input_shape={shape}")
    if weights == "imagenet" and (shape[0] != shape[1] or shape[0] != 224):
        warnings.warn(f"{where}: ImageNet weights exist for 224x224 inputs; the input is {shape[0]}x{shape[1]}, so "
                      "those are loaded", stacklevel=3)
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation, shape=shape)
    variant = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    url_path = base.imagenet_path("mobilenet_v3", include_top, f"weights_mobilenet_v3_{variant}.h5",
                                  f"weights_mobilenet_v3_{variant}_no_top_v2.h5")
    file_hash = IMAGENET_HASHES.get(variant, (None, None))[0 if include_top else 1]
    weights = weight_files.resolve(weights, where, url_path, file_hash)  # a missing file fails before the build
    kernel, activation, squeeze = (3, _relu, False) if minimalistic else (5, _hard_swish, True)
    x = image
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = _batch_norm("conv_bn")(x)
    x = activation(x)
    for block_id, (expansion, filters, size, stride, se, act) in enumerate(blocks):
        x = _inverted_residual(x, expansion, assembly.make_divisible(filters * alpha), size or kernel, stride,
                               se and squeeze, _relu if act == "relu" else activation, block_id)
    x = layers.Conv2D(assembly.make_divisible(x.shape[-1] * 6), kernel_size=1, padding="same", use_bias=False,
                      name="conv_1")(x)
    x = _batch_norm("conv_1_bn")(x)
    x = activation(x)
    if include_top:
        if alpha > 1.0:
            last_point_channels = assembly.make_divisible(last_point_channels * alpha)
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_channels, kernel_size=1, padding="same", use_bias=True, name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = base.top(x, False, pooling, classes, classifier_activation)
    return base.finish(x, inputs, name, weights, where)


def _relu(x):
    from nablanet import layers

    return layers.ReLU()(x)


def _hard_sigmoid(x):
    """ReLU6(x + 3) / 6, written as Keras writes it: graph ops around a ReLU layer."""
    from nablanet import layers

    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _hard_swish(x):
    from nablanet import layers

    return layers.Activation("hard_swish")(x)


def _batch_norm(name):
    from nablanet import layers

    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _squeeze_excite(inputs, filters, prefix):
    from nablanet import layers

    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(assembly.make_divisible(filters * 0.25), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_residual(x, expansion, filters, kernel_size, stride, squeeze, activation, block_id):
    from nablanet import layers

    shortcut = x
    in_channels = x.shape[-1]
    expanded = assembly.make_divisible(in_channels * expansion)
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(expanded, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = _batch_norm(f"{prefix}expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid",
                               use_bias=False, name=f"{prefix}depthwise")(x)
    x = _batch_norm(f"{prefix}depthwise_bn")(x)
    x = activation(x)
    if squeeze:
        x = _squeeze_excite(x, expanded, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _batch_norm(f"{prefix}project_bn")(x)
    if stride == 1 and in_channels == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: the MobileNetV3 models scale their pixels themselves."""
    return x
