"""EfficientNetB0 to B7 (Tan & Le, 2019) with Keras's layer names and shapes:
`keras.applications.efficientnet`'s names. The models scale and normalize their pixels
themselves (a `Rescaling` and a `Normalization` layer in front), so `preprocess_input` returns
its input."""

import math

from nablanet.applications import assembly, base, imagenet_utils
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions

__all__ = ["EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
           "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "decode_predictions", "preprocess_input"]

# Keras's hashes of its ImageNet files, by variant: (with the top, without it).
IMAGENET_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
# Variant: (width coefficient, depth coefficient, default input size, dropout rate).
VARIANTS = {"b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
            "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
            "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5)}
# The seven stages of B0: (kernel size, repeats, input channels, output channels, expansion, stride).
STAGES = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
SE_RATIO = 0.25
IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
CONV_INITIALIZER = {"class_name": "VarianceScaling",
                    "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
DENSE_INITIALIZER = {"class_name": "VarianceScaling",
                     "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}

_DOC = """The EfficientNet{variant} network: a 3x3 stem, seven stages of mobile inverted
    bottleneck blocks with squeeze-and-excitation (B0's, {width}x as wide and {depth}x as deep),
    a 1x1 convolution and, with `include_top`, pooling, dropout ({dropout}) and `predictions`.

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
        name: The model's name.

    Returns:
        A functional `Model` that takes pixels in [0, 255].
"""


def EfficientNetB0(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb0"):
    return efficientnet("b0", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def EfficientNetB1(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb1"):
    return efficientnet("b1", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def EfficientNetB2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb2"):
    return efficientnet("b2", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def EfficientNetB3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb3"):
    return efficientnet("b3", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def EfficientNetB4(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb4"):
    return efficientnet("b4", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def EfficientNetB5(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb5"):
    return efficientnet("b5", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def EfficientNetB6(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb6"):
    return efficientnet("b6", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def EfficientNetB7(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name="efficientnetb7"):
    return efficientnet("b7", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


for _variant, _fn in zip(VARIANTS, (EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4,
                                    EfficientNetB5, EfficientNetB6, EfficientNetB7)):
    _width, _depth, _size, _dropout = VARIANTS[_variant]
    _fn.__doc__ = _DOC.format(variant=_variant.upper(), width=_width, depth=_depth, size=_size, dropout=_dropout)


def efficientnet(variant, include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                 classes=1000, classifier_activation="softmax", name=None, drop_connect_rate=0.2,
                 activation="swish"):
    """Build EfficientNet `variant` ("b0" to "b7"); `drop_connect_rate` is the largest rate of
    the blocks' stochastic depth (growing linearly from 0 over the blocks).

    >>> model = efficientnet("b0", include_top=False, weights=None, input_shape=(32, 32, 3))
    >>> model.output.shape, model.count_params()
    ((None, 1, 1, 1280), 4049571)
    """
    from nablanet import layers

    width, depth, size, dropout_rate = VARIANTS[variant]
    where = name or f"efficientnet{variant}"
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation, default_size=size)
    url_path = f"keras-applications/{name}{'.h5' if include_top else '_notop.h5'}"  # not below tensorflow/
    imagenet = weights == "imagenet"
    weights = weight_files.resolve(weights, where, url_path, IMAGENET_HASHES[variant][0 if include_top else 1])

    def filters(n):
        return int(assembly.make_divisible(n * width))

    x = layers.Rescaling(1.0 / 255.0)(image)
    x = layers.Normalization(axis=3)(x)
    if imagenet:  # Keras's files hold the variance where the standard deviation belongs
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in IMAGENET_STDDEV_RGB])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(filters(32), 3, strides=2, padding="valid", use_bias=False, kernel_initializer=CONV_INITIALIZER,
                      name="stem_conv")(x)
    x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
    x = layers.Activation(activation, name="stem_activation")(x)
    repeats = [int(math.ceil(depth * stage[1])) for stage in STAGES]
    index, total = 0, float(sum(repeats))
    for stage, ((kernel, _, filters_in, filters_out, expand, strides), count) in enumerate(zip(STAGES, repeats), 1):
        filters_in, filters_out = filters(filters_in), filters(filters_out)
        for j in range(count):
            x = _block(x, activation, drop_connect_rate * index / total, f"block{stage}{chr(j + 97)}_",
                       filters_out if j else filters_in, filters_out, kernel, 1 if j else strides, expand)
            index += 1
    x = layers.Conv2D(filters(1280), 1, padding="same", use_bias=False, kernel_initializer=CONV_INITIALIZER,
                      name="top_conv")(x)
    x = layers.BatchNormalization(axis=3, name="top_bn")(x)
    x = layers.Activation(activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=DENSE_INITIALIZER,
                         name="predictions")(x)
    else:
        x = base.top(x, False, pooling, classes, classifier_activation)
    return base.finish(x, inputs, name, weights, where)


def _block(inputs, activation, drop_rate, name, filters_in, filters_out, kernel_size, strides, expand_ratio):
    """A mobile inverted bottleneck: 1x1 expansion, depthwise convolution, squeeze-and-excitation,
    1x1 projection; the input is added back (after stochastic depth) when the shapes allow."""
    from nablanet import layers

    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=CONV_INITIALIZER,
                          name=f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=3, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="valid" if strides == 2 else "same",
                               use_bias=False, depthwise_initializer=CONV_INITIALIZER, name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    x = squeeze_excite(x, filters, max(1, int(filters_in * SE_RATIO)), activation, name)
    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=CONV_INITIALIZER,
                      name=f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}project_bn")(x)
    if strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def squeeze_excite(x, filters, filters_se, activation, name):
    """Squeeze-and-excitation as the EfficientNets write it: pool, reshape to 1x1, reduce to
    `filters_se` channels, expand back through a sigmoid, scale `x`."""
    from nablanet import layers

    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation, kernel_initializer=CONV_INITIALIZER,
                       name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=CONV_INITIALIZER,
                       name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: the EfficientNets scale and normalize their pixels themselves."""
    return x
