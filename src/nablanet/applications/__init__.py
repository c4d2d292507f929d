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

# The mobile and efficient families (MobileNet V1-V3, EfficientNet V1-V2, ConvNeXt).
from nablanet.applications import convnext, efficientnet, efficientnet_v2, mobilenet, mobilenet_v2, mobilenet_v3  # noqa: E402
from nablanet.applications.convnext import (ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny,  # noqa: E402
                                            ConvNeXtXLarge)
from nablanet.applications.efficientnet import (EfficientNetB0, EfficientNetB1, EfficientNetB2,  # noqa: E402
                                                EfficientNetB3, EfficientNetB4, EfficientNetB5, EfficientNetB6,
                                                EfficientNetB7)
from nablanet.applications.efficientnet_v2 import (EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2,  # noqa: E402
                                                   EfficientNetV2B3, EfficientNetV2L, EfficientNetV2M,
                                                   EfficientNetV2S)
from nablanet.applications.mobilenet import MobileNet  # noqa: E402
from nablanet.applications.mobilenet_v2 import MobileNetV2  # noqa: E402
from nablanet.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small  # noqa: E402

__all__ += [
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge", "EfficientNetB0",
    "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4", "EfficientNetB5", "EfficientNetB6",
    "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S", "MobileNet", "MobileNetV2", "MobileNetV3Large",
    "MobileNetV3Small", "convnext", "efficientnet", "efficientnet_v2", "mobilenet", "mobilenet_v2", "mobilenet_v3",
]
