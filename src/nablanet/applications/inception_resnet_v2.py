"""InceptionResNetV2 (Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual
Connections on Learning", AAAI 2017) with Keras's layer names, so Keras's ImageNet files load into
it.

A stem and an Inception module (`mixed_5b`), then 10 Inception-ResNet-A blocks (`block35_*`), a
reduction (`mixed_6a`), 20 B blocks (`block17_*`), a reduction (`mixed_7a`) and 10 C blocks
(`block8_*`): each block adds to its input a scaled 1x1 projection of its concatenated branches.
Images go through `preprocess_input` first: scaled to [-1, 1] ("tf" mode).
"""

from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess
from nablanet.layers.base import Layer

__all__ = ["InceptionResNetV2", "decode_predictions", "preprocess_input"]

# Keras's MD5 hashes of its ImageNet files: (with the top, without it).
WEIGHTS_HASHES = ("e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4")
# Each block type's branches: lists of (filters, kernel size) convolutions, applied in turn.
BRANCHES = {
    "block35": [[(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]],
    "block17": [[(192, 1)], [(128, 1), (160, (1, 7)), (192, (7, 1))]],
    "block8": [[(192, 1)], [(192, 1), (224, (1, 3)), (256, (3, 1))]],
}


class CustomScaleLayer(Layer):
    """`inputs[0] + scale * inputs[1]`: a residual branch scaled before it joins the shortcut
    (Keras's name for it). Not in `nablanet.layers`: loading a saved model that holds it takes
    `custom_objects={"CustomScaleLayer": CustomScaleLayer}`.

    >>> import numpy as np
    >>> CustomScaleLayer(0.5)([np.ones(2, "float32"), np.full(2, 4.0, "float32")]).numpy().tolist()
    [3.0, 3.0]
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                      classes=1000, classifier_activation="softmax", name="inception_resnet_v2"):
    """The InceptionResNetV2 network.

    Args:
        include_top: Whether to include the classifier (`avg_pool` and `predictions`).
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address and checked against Keras's hash), or the
            path of a weights file.
        input_tensor: An optional `Input()` tensor (or one computed from it) to use as the image.
        input_shape: `(height, width, 3)`, each side at least 75; `(299, 299, 3)` by default
            with the top (and then required with ImageNet weights), `(None, None, 3)` without.
        pooling: Without the top: None keeps the 4-D output of the last block, "avg" and "max"
            apply global average or max pooling.
        classes: The number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: The classifier's activation; None gives the logits (with
            pretrained weights only None and "softmax" are allowed).
        name: The model's name.

    Returns:
        A functional `Model`; feed it `preprocess_input(images)`.
    """
    from nablanet import layers

    where = "InceptionResNetV2"
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation, default_size=299, min_size=75)
    url_path = base.imagenet_path("inception_resnet_v2", include_top, *base.tf_kernels_files("inception_resnet_v2"))
    weights = weight_files.resolve(weights, where, url_path, WEIGHTS_HASHES[0 if include_top else 1])
    x = conv2d_bn(image, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branch_0 = conv2d_bn(x, 96, 1)
    branch_1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    branch_pool = conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)
    x = layers.Concatenate(axis=3, name="mixed_5b")([branch_0, branch_1, branch_2, branch_pool])
    for i in range(1, 11):
        x = inception_resnet_block(x, 0.17, "block35", i)
    branch_0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=3, name="mixed_6a")([branch_0, branch_1, branch_pool])
    for i in range(1, 21):
        x = inception_resnet_block(x, 0.1, "block17", i)
    branch_0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=3, name="mixed_7a")([branch_0, branch_1, branch_2, branch_pool])
    for i in range(1, 10):
        x = inception_resnet_block(x, 0.2, "block8", i)
    x = inception_resnet_block(x, 1.0, "block8", 10, activation=None)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    x = base.top(x, include_top, pooling, classes, classifier_activation, pool_names=(None, None))
    return base.finish(x, inputs, name, weights, where)


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu", use_bias=False, name=None):
    """A convolution, then (without a bias) batch normalization without scale, then the
    activation (named `name`, `name_bn`, `name_ac`, or automatically)."""
    from nablanet import layers

    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=3, scale=False, name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    """`x + scale * r`, `r` the 1x1 projection (`<type>_<idx>_conv`, with a bias) of the
    concatenated branches of `block_type` ("block35", "block17" or "block8"), then the
    activation."""
    from nablanet import layers

    if block_type not in BRANCHES:
        raise ValueError(f"inception_resnet_block: block_type must be one of {sorted(BRANCHES)}, got {block_type!r}")
    branches = []
    for convolutions in BRANCHES[block_type]:
        branch = x
        for filters, kernel_size in convolutions:
            branch = conv2d_bn(branch, filters, kernel_size)
        branches.append(branch)
    block_name = f"{block_type}_{block_idx}"
    mixed = layers.Concatenate(axis=3, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[3], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def preprocess_input(x, data_format=None):
    """InceptionResNetV2's preprocessing ("tf"): pixels in [0, 255] scaled to [-1, 1].

    >>> preprocess_input([[[0, 127.5, 255]]]).tolist()
    [[[-1.0, 0.0, 1.0]]]
    """
    return _preprocess(x, data_format=data_format, mode="tf")
