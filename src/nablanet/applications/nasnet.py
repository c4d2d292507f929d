"""NASNetMobile and NASNetLarge (Zoph et al., "Learning Transferable Architectures for Scalable
Image Recognition", CVPR 2018): NASNet-A's searched normal and reduction cells with Keras's layer
names, so Keras's ImageNet files load into them.

Each cell combines its input `ip` and the previous cell's input `p` (first brought to the same
resolution and width by `adjust_block`) through five pairs of separable convolutions, poolings and
identities, and concatenates the results. Images go through `preprocess_input` first: scaled to
[-1, 1] ("tf" mode).
"""

from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import correct_pad, decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess

__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]

MOMENTUM, EPSILON = 0.9997, 1e-3  # the batch normalization of NASNet's TensorFlow checkpoints
# Keras's ImageNet files: (name in its cache, name at its address, MD5 hash), with the top, then without.
IMAGENET_FILES = {
    "mobile": (("nasnet_mobile.h5", "NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
               ("nasnet_mobile_no_top.h5", "NASNet-mobile-no-top.h5", "1ed92395b5b598bdda52abe5c0dbfd63")),
    "large": (("nasnet_large.h5", "NASNet-large.h5", "11577c9a518f0070763c2b964a382f17"),
              ("nasnet_large_no_top.h5", "NASNet-large-no-top.h5", "d81d89dc07e6e56530c4e77faddd61b5")),
}


def NASNet(input_shape=None, penultimate_filters=4032, num_blocks=6, stem_block_filters=96, skip_reduction=True,
           filter_multiplier=2, include_top=True, weights="imagenet", input_tensor=None, pooling=None, classes=1000,
           default_size=None, classifier_activation="softmax", name="NASNet"):
    """A NASNet-A network: a strided stem convolution, two reduction cells, then three stacks of
    `num_blocks` normal cells with reduction cells between (widths `penultimate_filters // 24`
    times 1, `filter_multiplier` and its square). ImageNet weights exist for the mobile
    (`default_size` 224) and large (331) configurations; the other arguments are `NASNetLarge`'s.
    """
    from nablanet import layers

    where = {224: "NASNetMobile", 331: "NASNetLarge"}.get(default_size, "NASNet")
    base.check_arguments(where, include_top, weights, pooling, classes, classifier_activation)
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError(f"{where}: with ImageNet weights the input shape must be static (no None), got "
                         f"input_shape={input_shape}")
    default_size = default_size or 331
    shape = base.input_shape(where, input_shape, default_size, 32, include_top, weights)
    if penultimate_filters % (24 * filter_multiplier ** 2) != 0:
        raise ValueError(f"{where}: penultimate_filters must be a multiple of 24 * filter_multiplier ** 2 = "
                         f"{24 * filter_multiplier ** 2}, got {penultimate_filters}")
    url_path = filename = file_hash = None
    kind = {224: "mobile", 331: "large"}.get(default_size)
    if kind is not None:
        filename, remote, file_hash = IMAGENET_FILES[kind][0 if include_top else 1]
        url_path = f"{weight_files.KERAS_APPLICATIONS}nasnet/{remote}"
    weights = weight_files.resolve(weights, where, url_path, file_hash, filename)
    image, inputs = base.image_input(input_tensor, shape, where)
    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid", use_bias=False,
                      name="stem_conv1", kernel_initializer="he_normal")(image)
    x = layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name="stem_bn1")(x)
    x, p = reduction_a_cell(x, None, filters // filter_multiplier ** 2, block_id="stem_1")
    x, p = reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stack in range(3):
        width = filters * filter_multiplier ** stack
        if stack:
            x, p0 = reduction_a_cell(x, p, width, block_id=f"reduce_{stack * num_blocks}")
            p = p if skip_reduction else p0
        for i in range(num_blocks):
            x, p = normal_a_cell(x, p, width, block_id=f"{stack * num_blocks + i + (1 if stack else 0)}")
    x = layers.Activation("relu")(x)
    x = base.top(x, include_top, pooling, classes, classifier_activation, top_pool=None, pool_names=(None, None))
    return base.finish(x, inputs, name, weights, where)


def separable_conv_block(ip, filters, kernel_size=(3, 3), strides=(1, 1), block_id=None):
    """ReLU, a separable convolution (strided ones padded as TensorFlow's "same"), batch
    normalization, and again at stride 1."""
    from nablanet import layers

    x = layers.Activation("relu")(ip)
    padding = "same"
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=correct_pad(x, kernel_size), name=f"separable_conv_1_pad_{block_id}")(x)
        padding = "valid"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, name=f"separable_conv_1_{block_id}",
                               padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name=f"separable_conv_1_bn_{block_id}")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, name=f"separable_conv_2_{block_id}", padding="same",
                               use_bias=False)(x)
    return layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name=f"separable_conv_2_bn_{block_id}")(x)


def adjust_block(p, ip, filters, block_id=None):
    """The previous input `p` brought to `ip`'s resolution (two strided 1x1 paths, the second
    shifted by one pixel, concatenated) or to `filters` channels (a 1x1 projection)."""
    from nablanet import layers

    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False, name=f"adjust_conv_1_{block_id}",
                           kernel_initializer="he_normal")(p1)
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False, name=f"adjust_conv_2_{block_id}",
                           kernel_initializer="he_normal")(p2)
        p = layers.concatenate([p1, p2], axis=-1)
        return layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name=f"adjust_bn_{block_id}")(p)
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same", name=f"adjust_conv_projection_{block_id}",
                          use_bias=False, kernel_initializer="he_normal")(p)
        return layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name=f"adjust_bn_{block_id}")(p)
    return p


def squeeze(ip, filters, kind, block_id):
    """ReLU, a 1x1 convolution to `filters` and batch normalization: the cell's view of `ip`."""
    from nablanet import layers

    h = layers.Activation("relu")(ip)
    h = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same", name=f"{kind}_conv_1_{block_id}",
                      use_bias=False, kernel_initializer="he_normal")(h)
    return layers.BatchNormalization(momentum=MOMENTUM, epsilon=EPSILON, name=f"{kind}_bn_1_{block_id}")(h)


def normal_a_cell(ip, p, filters, block_id=None):
    """NASNet-A's normal cell (the paper's figure 4); returns `(output, ip)`."""
    from nablanet import layers

    p = adjust_block(p, ip, filters, block_id)
    h = squeeze(ip, filters, "normal", block_id)

    def pool(x, side):
        return layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same", name=f"normal_{side}_{block_id}")(x)

    x1 = layers.add([separable_conv_block(h, filters, kernel_size=(5, 5), block_id=f"normal_left1_{block_id}"),
                     separable_conv_block(p, filters, block_id=f"normal_right1_{block_id}")],
                    name=f"normal_add_1_{block_id}")
    x2 = layers.add([separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}"),
                     separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")],
                    name=f"normal_add_2_{block_id}")
    x3 = layers.add([pool(h, "left3"), p], name=f"normal_add_3_{block_id}")
    x4 = layers.add([pool(p, "left4"), pool(p, "right4")], name=f"normal_add_4_{block_id}")
    x5 = layers.add([separable_conv_block(h, filters, block_id=f"normal_left5_{block_id}"), h],
                    name=f"normal_add_5_{block_id}")
    return layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}"), ip


def reduction_a_cell(ip, p, filters, block_id=None):
    """NASNet-A's reduction cell (the paper's figure 4): halves the resolution; returns `(output, ip)`."""
    from nablanet import layers

    p = adjust_block(p, ip, filters, block_id)
    h = squeeze(ip, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(padding=correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)

    def pool(kind, x, name, strides=(2, 2), padding="valid"):
        return kind((3, 3), strides=strides, padding=padding, name=f"reduction_{name}_{block_id}")(x)

    x1 = layers.add([separable_conv_block(h, filters, (5, 5), strides=(2, 2), block_id=f"reduction_left1_{block_id}"),
                     separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right1_{block_id}")],
                    name=f"reduction_add_1_{block_id}")
    x2 = layers.add([pool(layers.MaxPooling2D, h3, "left2"),
                     separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right2_{block_id}")],
                    name=f"reduction_add_2_{block_id}")
    x3 = layers.add([pool(layers.AveragePooling2D, h3, "left3"),
                     separable_conv_block(p, filters, (5, 5), strides=(2, 2), block_id=f"reduction_right3_{block_id}")],
                    name=f"reduction_add3_{block_id}")
    x4 = layers.add([x2, pool(layers.AveragePooling2D, x1, "left4", strides=(1, 1), padding="same")])
    x5 = layers.add([separable_conv_block(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}"),
                     pool(layers.MaxPooling2D, h3, "right5")], name=f"reduction_add4_{block_id}")
    return layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}"), ip


def NASNetMobile(input_shape=None, include_top=True, weights="imagenet", input_tensor=None, pooling=None,
                 classes=1000, classifier_activation="softmax", name="nasnet_mobile"):
    """NASNet-A (4 @ 1056) for 224x224 images: 4 normal cells per stack, a 32-filter stem.

    Args:
        input_shape: `(height, width, 3)`, each side at least 32; `(224, 224, 3)` by default
            (with or without the top) and with the top and ImageNet weights.
        include_top: Whether to include the classifier (global average pooling and
            `predictions`).
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address and checked against Keras's hash), or the
            path of a weights file.
        input_tensor: An optional `Input()` tensor (or one computed from it) to use as the image.
        pooling: Without the top: None keeps the 4-D output of the last cell, "avg" and "max"
            apply global average or max pooling.
        classes: The number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: The classifier's activation; None gives the logits (with
            pretrained weights only None and "softmax" are allowed).
        name: The model's name.

    Returns:
        A functional `Model`; feed it `preprocess_input(images)`.
    """
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32, skip_reduction=False,
                  filter_multiplier=2, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  pooling=pooling, classes=classes, default_size=224, classifier_activation=classifier_activation,
                  name=name)


def NASNetLarge(input_shape=None, include_top=True, weights="imagenet", input_tensor=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="nasnet_large"):
    """NASNet-A (6 @ 4032) for 331x331 images: 6 normal cells per stack, a 96-filter stem, each
    reduction cell's input skipped by the next cell. The arguments are `NASNetMobile`'s, with
    `(331, 331, 3)` the shape ImageNet weights with the top need (and the default with the top;
    `(None, None, 3)` without)."""
    return NASNet(input_shape, penultimate_filters=4032, num_blocks=6, stem_block_filters=96, skip_reduction=True,
                  filter_multiplier=2, include_top=include_top, weights=weights, input_tensor=input_tensor,
                  pooling=pooling, classes=classes, default_size=331, classifier_activation=classifier_activation,
                  name=name)


def preprocess_input(x, data_format=None):
    """NASNet's preprocessing ("tf"): pixels in [0, 255] scaled to [-1, 1].

    >>> preprocess_input([[[0, 127.5, 255]]]).tolist()
    [[[-1.0, 0.0, 1.0]]]
    """
    return _preprocess(x, data_format=data_format, mode="tf")
