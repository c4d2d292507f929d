"""MobileNet (Howard et al., 2017) with Keras's layer names and shapes, and its preprocessing
(pixels scaled to [-1, 1]): `keras.applications.mobilenet`'s names."""

import warnings

from nablanet.applications import base, imagenet_utils
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.mobilenet_v2 import _square_side

__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]

IMAGENET_ALPHAS = {0.25: "2_5", 0.5: "5_0", 0.75: "7_5", 1.0: "1_0"}  # as Keras's file names spell them
IMAGENET_SIZES = (128, 160, 192, 224)
# The depthwise separable blocks 1 to 13: (pointwise channels before alpha, stride).
BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
          (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True, weights="imagenet",
              input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """The MobileNet network: a 3x3 convolution, then 13 depthwise separable blocks (3x3
    depthwise and 1x1 pointwise convolutions, each with batch normalization and ReLU6); with
    `include_top`, global average pooling, dropout and a 1x1 convolution as the classifier.

    Args:
        input_shape: `(height, width, 3)`, each side at least 32; by default `(224, 224, 3)`
            with the top and `(None, None, 3)` without. ImageNet weights exist for square inputs
            of side 128, 160, 192 and 224 (other shapes get the 224 ones).
        alpha: The width multiplier (ImageNet weights for 0.25, 0.5, 0.75 and 1.0).
        depth_multiplier: The channel multiplier of the depthwise convolutions (1 for ImageNet
            weights).
        dropout: The dropout rate before the classifier.
        include_top: Whether to end with the classifier.
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address, which publishes no hash for it), or the
            path of a weights file (Keras's formats).
        input_tensor: An optional `Input()` tensor (or one computed from it) as the image input.
        pooling: Without the top: None (4-D output), "avg" or "max" global pooling.
        classes: The number of classes of the top.
        classifier_activation: The activation of `predictions`; None gives the logits.
        name: The model's name; by default `mobilenet_<alpha>_<rows>`, as Keras names it.

    Returns:
        A functional `Model`; feed it `preprocess_input(pixels)`.

    Example:
        >>> model = MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False, weights=None)
        >>> model.output.shape, model.count_params()
        ((None, 1, 1, 256), 218544)
    """
    from nablanet import layers

    where = "MobileNet"
    if weights == "imagenet" and depth_multiplier != 1:
        raise ValueError(f"{where}: ImageNet weights need depth_multiplier=1, got {depth_multiplier}")
    if weights == "imagenet" and alpha not in IMAGENET_ALPHAS:
        raise ValueError(f"{where}: ImageNet weights exist for alpha in {tuple(IMAGENET_ALPHAS)}, got alpha={alpha}")
    rows = _square_side(input_shape, IMAGENET_SIZES)
    image, inputs, (rows, cols, _) = base.prepare_input(where, include_top, weights, input_tensor, input_shape,
                                                        pooling, classes, classifier_activation,
                                                        default_size=rows or 224)
    if weights == "imagenet" and (rows != cols or rows not in IMAGENET_SIZES):
        warnings.warn(f"{where}: ImageNet weights exist for square inputs of side {IMAGENET_SIZES}; the input is "
                      f"{rows}x{cols}, so the weights for 224x224 are loaded", stacklevel=2)
        rows = 224
    filename = f"mobilenet_{IMAGENET_ALPHAS.get(alpha)}_{rows}_tf"
    url_path = base.imagenet_path("mobilenet", include_top, f"{filename}.h5", f"{filename}_no_top.h5")
    weights = weight_files.resolve(weights, where, url_path)  # a missing file fails before the build
    x = layers.Conv2D(int(32 * alpha), 3, padding="same", use_bias=False, strides=(2, 2), name="conv1")(image)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(BLOCKS, start=1):
        x = _separable_block(x, int(filters * alpha), depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = base.top(x, False, pooling, classes, classifier_activation, pool_names=(None, None))
    return base.finish(x, inputs, name or f"mobilenet_{alpha:0.2f}_{rows}", weights, where)


def _separable_block(inputs, filters, depth_multiplier, stride, block_id):
    from nablanet import layers

    x = inputs
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid", depth_multiplier=depth_multiplier,
                               strides=(stride, stride), use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def preprocess_input(x, data_format=None):
    """MobileNet's preprocessing: pixels in [0, 255] scaled to [-1, 1] ("tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
