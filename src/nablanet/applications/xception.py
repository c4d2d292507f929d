"""Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017)
with Keras's layer names, so Keras's ImageNet files load into it.

An entry flow (two convolutions, three strided separable-convolution blocks with 1x1 convolution
shortcuts), a middle flow (eight residual blocks of three separable convolutions at 728 channels)
and an exit flow. Images go through `preprocess_input` first: scaled to [-1, 1] ("tf" mode).
"""

from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess

__all__ = ["Xception", "decode_predictions", "preprocess_input"]

# Keras's MD5 hashes of its ImageNet files: (with the top, without it).
WEIGHTS_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")


@base.classic_arguments(min_size=71, default_size=299)
def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="xception"):
    """The Xception network.

    Example:
        >>> model = Xception(include_top=False, weights=None, input_shape=(71, 71, 3), pooling="avg")
        >>> model.output.shape, model.count_params()
        ((None, 2048), 20861480)
    """
    from nablanet import layers

    where = "Xception"
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation, default_size=299, min_size=71)
    url_path = base.imagenet_path("xception", include_top, *base.tf_kernels_files("xception"))
    weights = weight_files.resolve(weights, where, url_path, WEIGHTS_HASHES[0 if include_top else 1])
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(image)
    x = layers.BatchNormalization(name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)
    for block, filters in ((2, (128, 128)), (3, (256, 256)), (4, (728, 728))):
        x = downsampling_block(x, block, filters)
    for block in range(5, 13):
        residual = x
        for i in (1, 2, 3):
            x = layers.Activation("relu", name=f"block{block}_sepconv{i}_act")(x)
            x = separable_bn(x, 728, f"block{block}_sepconv{i}")
        x = layers.add([x, residual])
    x = downsampling_block(x, 13, (728, 1024))
    for i, filters in ((1, 1536), (2, 2048)):
        x = separable_bn(x, filters, f"block14_sepconv{i}")
        x = layers.Activation("relu", name=f"block14_sepconv{i}_act")(x)
    x = base.top(x, include_top, pooling, classes, classifier_activation, pool_names=(None, None))
    return base.finish(x, inputs, name, weights, where)


def separable_bn(x, filters, name):
    """A 3x3 separable convolution (no bias) and its batch normalization, named `name`, `name_bn`."""
    from nablanet import layers

    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(name=f"{name}_bn")(x)


def downsampling_block(x, block, filters):
    """Two separable convolutions (ReLU before each, except the first of block 2, whose input
    is already activated) and a strided 3x3 max pooling, added to a strided 1x1 convolution of
    the input."""
    from nablanet import layers

    residual = layers.Conv2D(filters[1], (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization()(residual)
    for i, n in enumerate(filters, start=1):
        if block != 2 or i == 2:
            x = layers.Activation("relu", name=f"block{block}_sepconv{i}_act")(x)
        x = separable_bn(x, n, f"block{block}_sepconv{i}")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


def preprocess_input(x, data_format=None):
    """Xception's preprocessing ("tf"): pixels in [0, 255] scaled to [-1, 1].

    >>> preprocess_input([[[0, 127.5, 255]]]).tolist()
    [[[-1.0, 0.0, 1.0]]]
    """
    return _preprocess(x, data_format=data_format, mode="tf")
