"""EfficientNetV2B0 to B3, S, M and L (Tan & Le, 2021) with Keras's layer names and shapes:
`keras.applications.efficientnet_v2`'s names. The models scale their pixels themselves
(`include_preprocessing`), so `preprocess_input` returns its input."""

import math

from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.efficientnet import CONV_INITIALIZER, DENSE_INITIALIZER, squeeze_excite
from nablanet.applications.imagenet_utils import decode_predictions

__all__ = ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2L",
           "EfficientNetV2M", "EfficientNetV2S", "decode_predictions", "preprocess_input"]

# Keras's hashes of its ImageNet files, by variant: (with the top, without it).
IMAGENET_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
# Stages: (kernel size, repeats, input channels, output channels, expansion, squeeze ratio, stride, fused).
_B = ((3, 1, 32, 16, 1, 0, 1, True), (3, 2, 16, 32, 4, 0, 2, True), (3, 2, 32, 48, 4, 0, 2, True),
      (3, 3, 48, 96, 4, 0.25, 2, False), (3, 5, 96, 112, 6, 0.25, 1, False), (3, 8, 112, 192, 6, 0.25, 2, False))
STAGES = {
    "b": _B,
    "s": ((3, 2, 24, 24, 1, 0, 1, True), (3, 4, 24, 48, 4, 0, 2, True), (3, 4, 48, 64, 4, 0, 2, True),
          (3, 6, 64, 128, 4, 0.25, 2, False), (3, 9, 128, 160, 6, 0.25, 1, False),
          (3, 15, 160, 256, 6, 0.25, 2, False)),
    "m": ((3, 3, 24, 24, 1, 0, 1, True), (3, 5, 24, 48, 4, 0, 2, True), (3, 5, 48, 80, 4, 0, 2, True),
          (3, 7, 80, 160, 4, 0.25, 2, False), (3, 14, 160, 176, 6, 0.25, 1, False),
          (3, 18, 176, 304, 6, 0.25, 2, False), (3, 5, 304, 512, 6, 0.25, 1, False)),
    "l": ((3, 4, 32, 32, 1, 0, 1, True), (3, 7, 32, 64, 4, 0, 2, True), (3, 7, 64, 96, 4, 0, 2, True),
          (3, 10, 96, 192, 4, 0.25, 2, False), (3, 19, 192, 224, 6, 0.25, 1, False),
          (3, 25, 224, 384, 6, 0.25, 2, False), (3, 7, 384, 640, 6, 0.25, 1, False)),
}
# Variant (Keras's weights name): (width coefficient, depth coefficient, default input size).
VARIANTS = {"b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 260), "b3": (1.2, 1.4, 300),
            "-s": (1.0, 1.0, 384), "-m": (1.0, 1.0, 480), "-l": (1.0, 1.0, 480)}
BN_MOMENTUM = 0.9

_DOC = """The EfficientNetV2-{variant} network: a 3x3 stem, stages of fused (a full 3x3
    convolution in place of expansion and depthwise) and plain mobile inverted bottleneck blocks,
    a 1x1 convolution and, with `include_top`, pooling, dropout and `predictions`.

    Args:
        include_top: Whether to end with the classifier.
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address and checked against Keras's hash), or the
            path of a weights file (Keras's formats).
        input_tensor: An optional `Input()` tensor (or one computed from it) as the image input.
        input_shape: `(height, width, 3)`, each side at least 32; by default ({size}, {size}, 3)
            with the top and `(None, None, 3)` without.
        pooling: Without the top: None (4-D output), "avg" or "max" global pooling.
        classes: The number of classes of the top.
        classifier_activation: The activation of `predictions`; None gives the logits.
        include_preprocessing: Whether the model scales its pixels in [0, 255] itself.
        name: The model's name.

    Returns:
        A functional `Model` that takes pixels in [0, 255] (with `include_preprocessing`).
"""


def EfficientNetV2B0(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b0"):
    return efficientnet_v2("b0", include_top, weights, input_tensor, input_shape, pooling, classes,
                           classifier_activation, include_preprocessing, name)


def EfficientNetV2B1(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b1"):
    return efficientnet_v2("b1", include_top, weights, input_tensor, input_shape, pooling, classes,
                           classifier_activation, include_preprocessing, name)


def EfficientNetV2B2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b2"):
    return efficientnet_v2("b2", include_top, weights, input_tensor, input_shape, pooling, classes,
                           classifier_activation, include_preprocessing, name)


def EfficientNetV2B3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                     classes=1000, classifier_activation="softmax", include_preprocessing=True,
                     name="efficientnetv2-b3"):
    return efficientnet_v2("b3", include_top, weights, input_tensor, input_shape, pooling, classes,
                           classifier_activation, include_preprocessing, name)


def EfficientNetV2S(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", include_preprocessing=True,
                    name="efficientnetv2-s"):
    return efficientnet_v2("-s", include_top, weights, input_tensor, input_shape, pooling, classes,
                           classifier_activation, include_preprocessing, name)


def EfficientNetV2M(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", include_preprocessing=True,
                    name="efficientnetv2-m"):
    return efficientnet_v2("-m", include_top, weights, input_tensor, input_shape, pooling, classes,
                           classifier_activation, include_preprocessing, name)


def EfficientNetV2L(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                    classes=1000, classifier_activation="softmax", include_preprocessing=True,
                    name="efficientnetv2-l"):
    return efficientnet_v2("-l", include_top, weights, input_tensor, input_shape, pooling, classes,
                           classifier_activation, include_preprocessing, name)


for _variant, _fn in zip(VARIANTS, (EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2, EfficientNetV2B3,
                                    EfficientNetV2S, EfficientNetV2M, EfficientNetV2L)):
    _fn.__doc__ = _DOC.format(variant=_variant.strip("-").upper(), size=VARIANTS[_variant][2])


def _round_filters(filters, width, divisor=8):
    """Keras's EfficientNetV2 width rule: the nearest multiple of `divisor` (at least `divisor`),
    without V1's correction upwards."""
    return int(max(divisor, int(filters * width + divisor / 2) // divisor * divisor))


def efficientnet_v2(variant, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax", include_preprocessing=True,
                    name=None, dropout_rate=0.2, drop_connect_rate=0.2, activation="swish"):
    """Build EfficientNetV2 `variant` (Keras's weights names: "b0" to "b3", "-s", "-m", "-l").

    >>> model = efficientnet_v2("b0", include_top=False, weights=None, input_shape=(32, 32, 3))
    >>> model.output.shape, model.count_params()
    ((None, 1, 1, 1280), 5919312)
    """
    from nablanet import layers

    width, depth, size = VARIANTS[variant]
    stages = STAGES[variant.strip("-")[0]]
    name = name or f"efficientnetv2-{variant.strip('-')}"
    where = name
    x, inputs, shape = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation, default_size=size)
    url_path = base.imagenet_path("efficientnet_v2", include_top, f"{name}.h5", f"{name}_notop.h5")
    weights = weight_files.resolve(weights, where, url_path, IMAGENET_HASHES[variant][0 if include_top else 1])
    if include_preprocessing:
        if variant.startswith("b") and shape[-1] == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                                     axis=3)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    x = layers.Conv2D(_round_filters(stages[0][2], width), kernel_size=3, strides=2, padding="same",
                      use_bias=False, kernel_initializer=CONV_INITIALIZER, name="stem_conv")(x)
    x = layers.BatchNormalization(axis=3, momentum=BN_MOMENTUM, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)
    index, total = 0, float(sum(stage[1] for stage in stages))
    for i, (kernel, repeats, filters_in, filters_out, expand, se_ratio, strides, fused) in enumerate(stages, 1):
        filters_in, filters_out = _round_filters(filters_in, width), _round_filters(filters_out, width)
        block = _fused_block if fused else _block
        for j in range(int(math.ceil(depth * repeats))):
            x = block(x, filters_out if j else filters_in, filters_out, expand, kernel, 1 if j else strides,
                      se_ratio, activation, drop_connect_rate * index / total, f"block{i}{chr(j + 97)}_")
            index += 1
    x = layers.Conv2D(_round_filters(1280, width), kernel_size=1, strides=1, padding="same", use_bias=False,
                      kernel_initializer=CONV_INITIALIZER, name="top_conv")(x)
    x = layers.BatchNormalization(axis=3, momentum=BN_MOMENTUM, name="top_bn")(x)
    x = layers.Activation(activation=activation, name="top_activation")(x)
    if include_top:
        from nablanet import initializers

        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=DENSE_INITIALIZER,
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
    else:
        x = base.top(x, False, pooling, classes, classifier_activation)
    return base.finish(x, inputs, name, weights, where)


def _batch_norm(name):
    from nablanet import layers

    return layers.BatchNormalization(axis=3, momentum=BN_MOMENTUM, name=name)


def _residual(x, inputs, filters_in, filters_out, strides, rate, name):
    """The input added back when the shapes allow; Keras's drop rate grows over the blocks
    (and is given to `Dropout` as its rate, as Keras does)."""
    from nablanet import layers

    if strides == 1 and filters_in == filters_out:
        if rate:
            x = layers.Dropout(rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def _block(inputs, filters_in, filters_out, expand, kernel, strides, se_ratio, activation, rate, name):
    """A mobile inverted bottleneck: 1x1 expansion, depthwise convolution, squeeze-and-excitation,
    1x1 projection."""
    from nablanet import layers

    filters = filters_in * expand
    x = inputs
    if expand != 1:
        x = layers.Conv2D(filters, kernel_size=1, strides=1, kernel_initializer=CONV_INITIALIZER, padding="same",
                          use_bias=False, name=f"{name}expand_conv")(x)
        x = _batch_norm(f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    x = layers.DepthwiseConv2D(kernel_size=kernel, strides=strides, depthwise_initializer=CONV_INITIALIZER,
                               padding="same", use_bias=False, name=f"{name}dwconv2")(x)
    x = _batch_norm(f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name)
    x = layers.Conv2D(filters_out, kernel_size=1, strides=1, kernel_initializer=CONV_INITIALIZER, padding="same",
                      use_bias=False, name=f"{name}project_conv")(x)
    x = _batch_norm(f"{name}project_bn")(x)
    return _residual(x, inputs, filters_in, filters_out, strides, rate, name)


def _fused_block(inputs, filters_in, filters_out, expand, kernel, strides, se_ratio, activation, rate, name):
    """A fused mobile inverted bottleneck: one full convolution expands (or, without expansion,
    is the projection itself)."""
    from nablanet import layers

    filters = filters_in * expand
    x = inputs
    if expand != 1:
        x = layers.Conv2D(filters, kernel_size=kernel, strides=strides, kernel_initializer=CONV_INITIALIZER,
                          padding="same", use_bias=False, name=f"{name}expand_conv")(x)
        x = _batch_norm(f"{name}expand_bn")(x)
        x = layers.Activation(activation=activation, name=f"{name}expand_activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name)
    x = layers.Conv2D(filters_out, kernel_size=1 if expand != 1 else kernel, strides=1 if expand != 1 else strides,
                      kernel_initializer=CONV_INITIALIZER, padding="same", use_bias=False,
                      name=f"{name}project_conv")(x)
    x = _batch_norm(f"{name}project_bn")(x)
    if expand == 1:
        x = layers.Activation(activation=activation, name=f"{name}project_activation")(x)
    return _residual(x, inputs, filters_in, filters_out, strides, rate, name)


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: the EfficientNetV2s scale their pixels themselves."""
    return x
