"""Reference architectures with Keras's names, which load weights from files (Keras's and,
converted to safetensors, PyTorch's). `base` and `weights` hold what every family shares."""

from nablanet.applications import imagenet_utils, vgg16, vgg19
from nablanet.applications.vgg import VGG16, VGG19

__all__ = ["VGG16", "VGG19", "imagenet_utils", "vgg16", "vgg19"]
