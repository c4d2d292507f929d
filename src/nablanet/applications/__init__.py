"""Reference architectures with Keras's names, which load weights from files (Keras's and,
converted to safetensors, PyTorch's). `base` and `weights` hold what every family shares."""

from nablanet.applications import (densenet, imagenet_utils, inception_resnet_v2, inception_v3, nasnet, resnet,
                                   resnet50, resnet_v2, vgg16, vgg19, xception)
from nablanet.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from nablanet.applications.inception_resnet_v2 import InceptionResNetV2
from nablanet.applications.inception_v3 import InceptionV3
from nablanet.applications.nasnet import NASNetLarge, NASNetMobile
from nablanet.applications.resnet import ResNet50, ResNet101, ResNet152
from nablanet.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from nablanet.applications.vgg import VGG16, VGG19
from nablanet.applications.xception import Xception

__all__ = [
    "DenseNet121", "DenseNet169", "DenseNet201", "InceptionResNetV2", "InceptionV3", "NASNetLarge", "NASNetMobile",
    "ResNet101", "ResNet101V2", "ResNet152", "ResNet152V2", "ResNet50", "ResNet50V2", "VGG16", "VGG19", "Xception",
    "densenet", "imagenet_utils", "inception_resnet_v2", "inception_v3", "nasnet", "resnet", "resnet50",
    "resnet_v2", "vgg16", "vgg19", "xception",
]
