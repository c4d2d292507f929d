"""`keras.applications.vgg16`'s names: VGG16 and its caffe-mode preprocessing."""

from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.imagenet_utils import preprocess_input as _preprocess
from nablanet.applications.vgg import VGG16

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]


def preprocess_input(x, data_format=None):
    """VGG16's preprocessing: RGB to BGR, then ImageNet's mean pixel subtracted (no scaling)."""
    return _preprocess(x, data_format=data_format, mode="caffe")
