"""DenseNet121, DenseNet169 and DenseNet201 (Huang et al., "Densely Connected Convolutional
Networks", CVPR 2017) with Keras's layer names, so Keras's ImageNet files load into them.

Each dense block concatenates to its input the 32 new channels each of its layers computes;
transition blocks halve the channels and the resolution between them. Images go through
`preprocess_input` first: scaled to [0, 1] and normalized with ImageNet's per-channel mean and
standard deviation ("torch" mode).
"""

from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions", "preprocess_input"]

EPSILON = 1.001e-5
GROWTH_RATE = 32
# Layers per dense block, and Keras's MD5 hashes of its ImageNet files (with the top, without it).
BLOCKS = {"densenet121": (6, 12, 24, 16), "densenet169": (6, 12, 32, 32), "densenet201": (6, 12, 48, 32)}
WEIGHTS_HASHES = {
    "densenet121": ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    "densenet169": ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    "densenet201": ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}


def build_densenet(kind, include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                   classes=1000, classifier_activation="softmax", name=None):
    """A DenseNet of depth `kind` ("densenet121", "densenet169" or "densenet201")."""
    from nablanet import layers

    where = f"DenseNet{kind[len('densenet'):]}"
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation)
    url_path = base.imagenet_path("densenet", include_top, *base.tf_kernels_files(kind))
    weights = weight_files.resolve(weights, where, url_path, WEIGHTS_HASHES[kind][0 if include_top else 1])
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(image)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, blocks in enumerate(BLOCKS[kind], start=2):
        x = dense_block(x, blocks, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.BatchNormalization(epsilon=EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = base.top(x, include_top, pooling, classes, classifier_activation)
    return base.finish(x, inputs, name or kind, weights, where)


def dense_block(x, blocks, name):
    """`blocks` layers, each adding `GROWTH_RATE` channels to the running concatenation."""
    for i in range(1, blocks + 1):
        x = conv_block(x, GROWTH_RATE, name=f"{name}_block{i}")
    return x


def conv_block(x, growth_rate, name):
    """Batch normalization, ReLU and a 1x1 convolution to `4 * growth_rate` channels, again with
    a 3x3 convolution to `growth_rate`, concatenated to the input."""
    from nablanet import layers

    y = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_0_bn")(x)
    y = layers.Activation("relu", name=f"{name}_0_relu")(y)
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_1_bn")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(y)
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, y])


def transition_block(x, reduction, name):
    """Batch normalization, ReLU, a 1x1 convolution keeping `reduction` of the channels, and 2x2
    average pooling."""
    from nablanet import layers

    x = layers.BatchNormalization(epsilon=EPSILON, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


@base.classic_arguments(min_size=32, default_size=224)
def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet121"):
    """DenseNet121: a 7x7 stem, dense blocks of 6, 12, 24 and 16 layers with transitions between,
    then (with `include_top`) global average pooling and the classifier.

    Example:
        >>> model = DenseNet121(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
        >>> model.output.shape, model.count_params()
        ((None, 1024), 7037504)
    """
    return build_densenet("densenet121", include_top, weights, input_tensor, input_shape, pooling, classes,
                          classifier_activation, name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet169"):
    """DenseNet169: dense blocks of 6, 12, 32 and 32 layers (the arguments are DenseNet121's)."""
    return build_densenet("densenet169", include_top, weights, input_tensor, input_shape, pooling, classes,
                          classifier_activation, name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="densenet201"):
    """DenseNet201: dense blocks of 6, 12, 48 and 32 layers (the arguments are DenseNet121's)."""
    return build_densenet("densenet201", include_top, weights, input_tensor, input_shape, pooling, classes,
                          classifier_activation, name)


def preprocess_input(x, data_format=None):
    """DenseNet's preprocessing ("torch"): pixels scaled to [0, 1], then normalized per channel
    with ImageNet's mean and standard deviation.

    >>> [round(v, 4) for v in preprocess_input([[[0, 0, 0]]])[0, 0].tolist()]
    [-2.1179, -2.0357, -1.8044]
    """
    return _preprocess(x, data_format=data_format, mode="torch")
