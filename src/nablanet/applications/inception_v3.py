"""InceptionV3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
CVPR 2016) with Keras's layer names, so Keras's ImageNet files load into it.

A stem of five convolutions and two poolings, then eleven Inception modules (`mixed0` to
`mixed10`): three of parallel 1x1, 5x5 and double 3x3 branches, a grid reduction, four with
factorized 7x7 branches, a second reduction, and two whose 3x3 branches split into 1x3 and 3x1.
Every convolution is followed by batch normalization (without a scale) and ReLU. Images go
through `preprocess_input` first: scaled to [-1, 1] ("tf" mode).
"""

from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]

# Keras's MD5 hashes of its ImageNet files: (with the top, without it).
WEIGHTS_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")


@base.classic_arguments(min_size=75, default_size=299)
def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="inception_v3"):
    """The InceptionV3 network.

    Example:
        >>> model = InceptionV3(include_top=False, weights=None, input_shape=(75, 75, 3), pooling="avg")
        >>> model.output.shape, model.count_params()
        ((None, 2048), 21802784)
    """
    from nablanet import layers

    where = "InceptionV3"
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation, default_size=299, min_size=75)
    url_path = base.imagenet_path("inception_v3", include_top, *base.tf_kernels_files("inception_v3"))
    weights = weight_files.resolve(weights, where, url_path, WEIGHTS_HASHES[0 if include_top else 1])
    x = conv2d_bn(image, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = module_a(x, pool_filters, f"mixed{i}")
    x = reduction_b(x)
    for i, filters in enumerate((128, 160, 160, 192), start=4):
        x = module_c(x, filters, f"mixed{i}")
    x = reduction_d(x)
    for i in range(2):
        x = module_e(x, i)
    x = base.top(x, include_top, pooling, classes, classifier_activation, pool_names=(None, None))
    return base.finish(x, inputs, name, weights, where)


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """A convolution without bias, batch normalization without scale, and ReLU (named
    `name_conv`, `name_bn` and `name`, or automatically)."""
    from nablanet import layers

    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=3, scale=False, name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def average_branch(x, filters):
    from nablanet import layers

    pooled = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(pooled, filters, 1, 1)


def module_a(x, pool_filters, name):
    """1x1; 1x1 then 5x5; 1x1 then two 3x3; 3x3 average pooling then 1x1."""
    from nablanet import layers

    branch1x1 = conv2d_bn(x, 64, 1, 1)
    branch5x5 = conv2d_bn(conv2d_bn(x, 48, 1, 1), 64, 5, 5)
    branch3x3dbl = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
    branch_pool = average_branch(x, pool_filters)
    return layers.concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=3, name=name)


def reduction_b(x):
    """A strided 3x3; 1x1 then two 3x3 (the last strided); strided max pooling (`mixed3`)."""
    from nablanet import layers

    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 64, 1, 1), 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.concatenate([branch3x3, branch3x3dbl, branch_pool], axis=3, name="mixed3")


def module_c(x, filters, name):
    """7x7 convolutions factorized into 1x7 and 7x1 (`filters` wide inside, 192 out)."""
    from nablanet import layers

    branch1x1 = conv2d_bn(x, 192, 1, 1)
    branch7x7 = conv2d_bn(x, filters, 1, 1)
    branch7x7 = conv2d_bn(branch7x7, filters, 1, 7)
    branch7x7 = conv2d_bn(branch7x7, 192, 7, 1)
    branch7x7dbl = conv2d_bn(x, filters, 1, 1)
    for rows, cols, n in ((7, 1, filters), (1, 7, filters), (7, 1, filters), (1, 7, 192)):
        branch7x7dbl = conv2d_bn(branch7x7dbl, n, rows, cols)
    branch_pool = average_branch(x, 192)
    return layers.concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=3, name=name)


def reduction_d(x):
    """1x1 then a strided 3x3; 1x1, 1x7, 7x1 then a strided 3x3; strided max pooling (`mixed8`)."""
    from nablanet import layers

    branch3x3 = conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(x, 192, 1, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.concatenate([branch3x3, branch7x7x3, branch_pool], axis=3, name="mixed8")


def module_e(x, i):
    """`mixed9` and `mixed10`: the 3x3 branches end in parallel 1x3 and 3x1 convolutions."""
    from nablanet import layers

    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3 = layers.concatenate([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)], axis=3,
                                   name=f"mixed9_{i}")
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
    branch3x3dbl = layers.concatenate([conv2d_bn(branch3x3dbl, 384, 1, 3), conv2d_bn(branch3x3dbl, 384, 3, 1)],
                                      axis=3)
    branch_pool = average_branch(x, 192)
    return layers.concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=3, name=f"mixed{9 + i}")


def preprocess_input(x, data_format=None):
    """InceptionV3's preprocessing ("tf"): pixels in [0, 255] scaled to [-1, 1].

    >>> preprocess_input([[[0, 127.5, 255]]]).tolist()
    [[[-1.0, 0.0, 1.0]]]
    """
    return _preprocess(x, data_format=data_format, mode="tf")
