"""`keras.applications.resnet50`'s names: ResNet50 and its "caffe" preprocessing."""

from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.applications.resnet import ResNet50, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
