"""ResNet50, ResNet101 and ResNet152 (He et al., "Deep Residual Learning for Image Recognition",
CVPR 2016) with Keras's layer names, so Keras's ImageNet files load into them; the residual
blocks of both versions (`resnet_v2` builds the pre-activation ones).

Images go through `preprocess_input` first: RGB to BGR and ImageNet's mean pixel subtracted
("caffe" mode), as for VGG.
"""

from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess

__all__ = ["ResNet101", "ResNet152", "ResNet50", "decode_predictions", "preprocess_input"]

EPSILON = 1.001e-5  # the BatchNormalization epsilon of the original Caffe models
# Keras's MD5 hashes of its ImageNet files: (with the top, without it).
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
# Bottleneck blocks per stage (conv2 to conv5).
DEPTHS = {"resnet50": (3, 4, 6, 3), "resnet101": (3, 4, 23, 3), "resnet152": (3, 8, 36, 3)}
FILTERS = (64, 128, 256, 512)


def build_resnet(kind, preact, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """A ResNet of depth `kind` ("resnet50", "resnet101", "resnet152"): version 1 (batch
    normalization after each convolution) or, with `preact`, version 2 (before it); `name`
    defaults to `kind`, with "v2" appended for version 2."""
    from nablanet import layers

    weights_name = kind + ("v2" if preact else "")
    where = f"ResNet{kind[len('resnet'):]}" + ("V2" if preact else "")
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation)
    url_path = base.imagenet_path("resnet", include_top, *base.tf_kernels_files(weights_name))
    weights = weight_files.resolve(weights, where, url_path, WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(image)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(epsilon=EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks) in enumerate(zip(FILTERS, DEPTHS[kind]), start=2):
        if preact:  # version 2 strides at the end of each stage but the last
            x = stack_v2(x, filters, blocks, stride1=1 if stage == 5 else 2, name=f"conv{stage}")
        else:
            x = stack_v1(x, filters, blocks, stride1=1 if stage == 2 else 2, name=f"conv{stage}")
    if preact:
        x = layers.BatchNormalization(epsilon=EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    x = base.top(x, include_top, pooling, classes, classifier_activation)
    return base.finish(x, inputs, name or weights_name, weights, where)


def block_v1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """A version-1 bottleneck: 1x1, `kernel_size`, 1x1 (to `4 * filters`) convolutions, each
    batch-normalized, added to the shortcut (a strided 1x1 convolution or the input), then ReLU."""
    from nablanet import layers

    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_v1(x, filters, blocks, stride1=2, name=None):
    """`blocks` version-1 bottlenecks; the first has the convolution shortcut and the stride."""
    x = block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """A version-2 (pre-activation) bottleneck: batch normalization and ReLU first, shared by the
    shortcut (a 1x1 convolution, or the input strided by a 1x1 max pooling) and the three
    convolutions (the middle one strided)."""
    from nablanet import layers

    preact = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_v2(x, filters, blocks, stride1=2, name=None):
    """`blocks` version-2 bottlenecks: the first with the convolution shortcut, the last strided."""
    x = block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = block_v2(x, filters, name=f"{name}_block{i}")
    return block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


@base.classic_arguments(min_size=32, default_size=224)
def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="resnet50"):
    """ResNet50: a 7x7 stem, then 3, 4, 6 and 3 bottleneck blocks (64 to 512 filters, expanded
    four times), then (with `include_top`) global average pooling and the classifier.

    Example:
        >>> model = ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
        >>> model.output.shape, model.count_params()
        ((None, 2048), 23587712)
    """
    return build_resnet("resnet50", False, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name="resnet101"):
    """ResNet101: ResNet50 with 23 blocks in its third stage (the arguments are ResNet50's)."""
    return build_resnet("resnet101", False, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name="resnet152"):
    """ResNet152: 3, 8, 36 and 3 bottleneck blocks (the arguments are ResNet50's)."""
    return build_resnet("resnet152", False, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def preprocess_input(x, data_format=None):
    """ResNet's preprocessing ("caffe"): RGB to BGR, then ImageNet's mean pixel subtracted.

    >>> preprocess_input([[[0, 0, 255]]]).tolist()
    [[[151.061, -116.779, -123.68]]]
    """
    return _preprocess(x, data_format=data_format, mode="caffe")
