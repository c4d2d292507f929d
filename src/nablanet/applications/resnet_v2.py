"""ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., "Identity Mappings in Deep Residual
Networks", ECCV 2016): pre-activation blocks (see `resnet.block_v2`), with Keras's layer names.

Images go through `preprocess_input` first: pixels scaled to [-1, 1] ("tf" mode).
"""

from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess
from nablanet.applications.resnet import build_resnet

__all__ = ["ResNet101V2", "ResNet152V2", "ResNet50V2", "decode_predictions", "preprocess_input"]


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet50v2"):
    """ResNet50V2: ResNet50's stages of pre-activation blocks, each stage but the last strided at
    its end, and a final batch normalization and ReLU (`post_bn`, `post_relu`); the arguments are
    `resnet.ResNet50`'s.

    Example:
        >>> model = ResNet50V2(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="max")
        >>> model.output.shape, model.count_params()
        ((None, 2048), 23564800)
    """
    return build_resnet("resnet50", True, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet101v2"):
    """ResNet101V2: ResNet50V2 with 23 blocks in its third stage (the arguments are ResNet50's)."""
    return build_resnet("resnet101", True, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
                classes=1000, classifier_activation="softmax", name="resnet152v2"):
    """ResNet152V2: 3, 8, 36 and 3 pre-activation blocks (the arguments are ResNet50's)."""
    return build_resnet("resnet152", True, include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def preprocess_input(x, data_format=None):
    """ResNetV2's preprocessing ("tf"): pixels in [0, 255] scaled to [-1, 1].

    >>> preprocess_input([[[0, 127.5, 255]]]).tolist()
    [[[-1.0, 0.0, 1.0]]]
    """
    return _preprocess(x, data_format=data_format, mode="tf")
