"""MobileNetV2 (Sandler et al., 2018) with Keras's layer names and shapes, and its preprocessing
(pixels scaled to [-1, 1]): `keras.applications.mobilenet_v2`'s names."""

import warnings

from nablanet.applications import assembly, base, imagenet_utils
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

IMAGENET_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)
IMAGENET_SIZES = (96, 128, 160, 192, 224)
# The inverted residual blocks: (expansion, output channels before alpha, stride), blocks 0 to 16.
BLOCKS = ((1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 2), (6, 32, 1), (6, 32, 1), (6, 64, 2), (6, 64, 1),
          (6, 64, 1), (6, 64, 1), (6, 96, 1), (6, 96, 1), (6, 96, 1), (6, 160, 2), (6, 160, 1), (6, 160, 1),
          (6, 320, 1))


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet", input_tensor=None,
                pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """The MobileNetV2 network: a 3x3 stem, 17 inverted residual blocks (1x1 expansion, 3x3
    depthwise convolution, linear 1x1 projection, ReLU6 between) and a 1x1 convolution to 1280
    channels; with `include_top`, global average pooling and `predictions`.

    Args:
        input_shape: `(height, width, 3)`, each side at least 32; by default `(224, 224, 3)`
            with the top and `(None, None, 3)` without. ImageNet weights exist for square inputs
            of side 96, 128, 160, 192 and 224 (other shapes get the 224 ones).
        alpha: The width multiplier: every layer's channels scaled by it (ImageNet weights for
            0.35, 0.5, 0.75, 1.0, 1.3 and 1.4).
        include_top: Whether to end with the classifier.
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address, which publishes no hash for it), or the
            path of a weights file (Keras's formats).
        input_tensor: An optional `Input()` tensor (or one computed from it) as the image input.
        pooling: Without the top: None (4-D output), "avg" or "max" global pooling.
        classes: The number of classes of the top.
        classifier_activation: The activation of `predictions`; None gives the logits.
        name: The model's name; by default `mobilenetv2_<alpha>_<rows>`, as Keras names it.

    Returns:
        A functional `Model`; feed it `preprocess_input(pixels)`.

    Example:
        >>> model = MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, include_top=False, weights=None)
        >>> model.output.shape, model.count_params()
        ((None, 1, 1, 1280), 410208)
    """
    from nablanet import layers

    where = "MobileNetV2"
    if weights == "imagenet" and alpha not in IMAGENET_ALPHAS:
        raise ValueError(f"{where}: ImageNet weights exist for alpha in {IMAGENET_ALPHAS}, got alpha={alpha}")
    rows = _square_side(input_shape, IMAGENET_SIZES)
    if input_shape is None and input_tensor is not None:
        rows = _square_side(tuple(getattr(input_tensor, "shape", ()))[1:], IMAGENET_SIZES)
    image, inputs, (rows, cols, _) = base.prepare_input(where, include_top, weights, input_tensor, input_shape,
                                                        pooling, classes, classifier_activation,
                                                        default_size=rows or 224)
    if weights == "imagenet" and (rows != cols or rows not in IMAGENET_SIZES):
        warnings.warn(f"{where}: ImageNet weights exist for square inputs of side {IMAGENET_SIZES}; the input is "
                      f"{rows}x{cols}, so the weights for 224x224 are loaded", stacklevel=2)
        rows = 224
    filename = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
    url_path = base.imagenet_path("mobilenet_v2", include_top, f"{filename}.h5", f"{filename}_no_top.h5")
    weights = weight_files.resolve(weights, where, url_path)  # a missing file fails before the build
    x = layers.Conv2D(assembly.make_divisible(32 * alpha), 3, strides=(2, 2), padding="same", use_bias=False,
                      name="Conv1")(image)
    x = _batch_norm("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (expansion, filters, stride) in enumerate(BLOCKS):
        x = _inverted_residual(x, expansion, stride, alpha, filters, block_id)
    x = layers.Conv2D(assembly.make_divisible(1280 * alpha) if alpha > 1.0 else 1280, 1, use_bias=False,
                      name="Conv_1")(x)
    x = _batch_norm("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = base.top(x, include_top, pooling, classes, classifier_activation, top_pool=None, pool_names=(None, None))
    return base.finish(x, inputs, name or f"mobilenetv2_{alpha:0.2f}_{rows}", weights, where)


def _square_side(input_shape, sizes):
    """The side of a square `input_shape` among `sizes`, else None (Keras's default-size rule)."""
    if input_shape is not None and len(input_shape) == 3 and input_shape[0] == input_shape[1]:
        return input_shape[0] if input_shape[0] in sizes else None
    return None


def _batch_norm(name):
    from nablanet import layers

    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _inverted_residual(inputs, expansion, stride, alpha, filters, block_id):
    """Expand (not in block 0), filter depthwise, project linearly; add the input back when the
    shapes allow."""
    from nablanet import layers

    channels = inputs.shape[-1]
    out_channels = assembly.make_divisible(int(filters * alpha))
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    x = inputs
    if block_id:
        x = layers.Conv2D(expansion * channels, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = _batch_norm(f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(3, strides=stride, use_bias=False, padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = _batch_norm(f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(out_channels, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _batch_norm(f"{prefix}project_BN")(x)
    if channels == out_channels and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def preprocess_input(x, data_format=None):
    """MobileNetV2's preprocessing: pixels in [0, 255] scaled to [-1, 1] ("tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
