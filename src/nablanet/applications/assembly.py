"""What the mobile and efficient families (MobileNet V1-V3, EfficientNet V1-V2, ConvNeXt) share
on top of `base`: Keras's width rounding, and their input made and checked in one call.
"""

from nablanet.applications import base


def image_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, default_size=224, min_size=32, shape=None):
    """Check an application's arguments (`base.check_arguments`) and make its image input.

    Args:
        where: The architecture's name, for messages.
        shape: The input shape already decided by the caller (MobileNetV3 decides it itself);
            by default Keras's `obtain_input_shape` rule with `default_size` and `min_size`.

    Returns:
        `(image, inputs, shape)`: the tensor the network starts from (`input_tensor` or a new
        `Input`), the model's inputs (the `Input` tensors `input_tensor` was computed from) and
        the input shape Keras's rule decided (which names some models).
    """
    base.check_arguments(where, include_top, weights, pooling, classes, classifier_activation)
    if shape is None:
        shape = base.input_shape(where, input_shape, default_size, min_size, include_top, weights)
    image, inputs = base.image_input(input_tensor, shape, where)
    return image, inputs, shape


def make_divisible(value, divisor=8, min_value=None):
    """The multiple of `divisor` nearest to `value` (at least `min_value`, by default `divisor`),
    raised by one step when rounding would lose more than a tenth: the width rule of the
    MobileNets and EfficientNets.

    >>> make_divisible(32 * 0.35), make_divisible(20), make_divisible(1280 * 1.3)
    (16, 24, 1664)
    """
    rounded = max(min_value or divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def imagenet_path(family, include_top, top_file, notop_file):
    """Keras's path (below `weights.STORAGE`) of a family's ImageNet file in its folder of
    `tensorflow/keras-applications/`."""
    from nablanet.applications import weights

    return f"{weights.KERAS_APPLICATIONS}{family}/{top_file if include_top else notop_file}"
