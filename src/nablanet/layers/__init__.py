"""Layers with Keras's names, arguments and defaults."""

from nablanet.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from nablanet.layers.attention import MultiHeadAttention
from nablanet.layers.attention_dot import AdditiveAttention, Attention
from nablanet.layers.attention_grouped import GroupedQueryAttention
from nablanet.layers.audio import MelSpectrogram, STFTSpectrogram
from nablanet.layers.base import Layer
from nablanet.layers.conv import (
    Conv1D,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Conv3D,
    Conv3DTranspose,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from nablanet.layers.conv_recurrent import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from nablanet.layers.core import (
    Activation,
    ActivityRegularization,
    Dense,
    Dropout,
    Flatten,
    Identity,
    Input,
    InputLayer,
    Lambda,
    Permute,
    RepeatVector,
    Reshape,
)
from nablanet.layers.einsum_dense import EinsumDense
from nablanet.layers.embedding import Embedding, Masking, ReversibleEmbedding
from nablanet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from nablanet.layers.input_spec import InputSpec
from nablanet.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    RMSNormalization,
)
from nablanet.layers.normalization_vector import SpectralNormalization, UnitNormalization
from nablanet.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from nablanet.layers.pooling_adaptive import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from nablanet.layers.preprocessing import (
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
from nablanet.layers.preprocessing_color import (
    RandomBrightness,
    RandomColorDegeneration,
    RandomColorJitter,
    RandomGaussianBlur,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
)
from nablanet.layers.preprocessing_geometry import RandomElasticTransform, RandomErasing, RandomPerspective, RandomShear
from nablanet.layers.preprocessing_histogram import (
    AutoContrast,
    ContrastLimitedAdaptiveHistogramEqualization,
    Equalization,
)
from nablanet.layers.preprocessing_image import CenterCrop, MaxNumBoundingBoxes, Pipeline
from nablanet.layers.preprocessing_mix import AugMix, CutMix, MixUp, RandAugment
from nablanet.layers.preprocessing_structured import CategoryEncoding, Discretization, Normalization
from nablanet.layers.preprocessing_structured_hashing import HashedCrossing, Hashing
from nablanet.layers.preprocessing_structured_lookup import IntegerLookup, StringLookup
from nablanet.layers.preprocessing_structured_text import TextVectorization
from nablanet.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from nablanet.layers.recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from nablanet.layers.regularization import (
    AlphaDropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from nablanet.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from nablanet.layers.wrappers import Bidirectional, TimeDistributed, Wrapper
from nablanet.symbolic import KerasTensor

__all__ = [
    "AvgPool1D", "AvgPool2D", "Convolution1D", "Convolution1DTranspose", "Convolution2D", "Convolution2DTranspose",
    "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "MaxPool1D", "MaxPool2D",
    "SeparableConvolution2D", "deserialize", "serialize",
    "Bidirectional", "Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "Masking", "RNN", "SimpleRNN",
    "SimpleRNNCell", "StackedRNNCells", "TimeDistributed",
    "RandomContrast", "RandomCrop", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    "Rescaling", "Resizing",
    "AugMix", "AutoContrast", "CenterCrop", "ContrastLimitedAdaptiveHistogramEqualization", "CutMix", "Equalization",
    "MaxNumBoundingBoxes", "MixUp", "Pipeline", "RandAugment", "RandomBrightness", "RandomColorDegeneration",
    "RandomColorJitter", "RandomElasticTransform", "RandomErasing", "RandomGaussianBlur", "RandomGrayscale",
    "RandomHue", "RandomInvert", "RandomPerspective", "RandomPosterization", "RandomSaturation", "RandomSharpness",
    "RandomShear", "Solarization",
    "CategoryEncoding", "Discretization", "HashedCrossing", "Hashing", "IntegerLookup", "Normalization",
    "StringLookup", "TextVectorization",
    "AveragePooling1D", "AveragePooling2D", "BatchNormalization", "Conv1D", "Conv1DTranspose",
    "Conv2D", "Conv2DTranspose", "Cropping1D", "Cropping2D", "DepthwiseConv2D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
    "GroupNormalization", "LayerNormalization", "MaxPooling1D", "MaxPooling2D", "SeparableConv2D",
    "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D",
    "AlphaDropout", "GaussianDropout", "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D",
    "ELU", "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "Dropout", "Flatten",
    "Input", "InputLayer", "KerasTensor", "Lambda", "Layer", "LeakyReLU", "Maximum", "Minimum",
    "AdditiveAttention", "Attention", "EinsumDense", "GroupQueryAttention", "GroupedQueryAttention",
    "MultiHeadAttention", "RMSNormalization",
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D", "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D", "AveragePooling3D", "AvgPool3D", "Conv3D", "Conv3DTranspose",
    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Convolution3D", "Convolution3DTranspose", "Cropping3D",
    "DepthwiseConv1D", "GlobalAveragePooling3D", "GlobalAvgPool3D", "GlobalMaxPool3D", "GlobalMaxPooling3D",
    "MaxPool3D", "MaxPooling3D", "SeparableConv1D", "SeparableConvolution1D", "SpatialDropout3D", "UpSampling3D",
    "ZeroPadding3D",
    "ActivityRegularization", "Identity", "InputSpec", "ReversibleEmbedding", "SpectralNormalization",
    "UnitNormalization", "Wrapper", "MelSpectrogram", "STFTSpectrogram",
    "Multiply", "PReLU", "Permute", "ReLU", "RepeatVector", "Reshape", "Softmax", "Subtract", "add",
    "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract",
]

from nablanet import serialization

# Keras's other names for the same classes
AvgPool1D, AvgPool2D, MaxPool1D, MaxPool2D = AveragePooling1D, AveragePooling2D, MaxPooling1D, MaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
Convolution1D, Convolution2D, SeparableConvolution2D = Conv1D, Conv2D, SeparableConv2D
Convolution1DTranspose, Convolution2DTranspose = Conv1DTranspose, Conv2DTranspose
GroupQueryAttention = GroupedQueryAttention
AvgPool3D, MaxPool3D, GlobalAvgPool3D, GlobalMaxPool3D = (AveragePooling3D, MaxPooling3D, GlobalAveragePooling3D,
                                                          GlobalMaxPooling3D)
Convolution3D, Convolution3DTranspose, SeparableConvolution1D = Conv3D, Conv3DTranspose, SeparableConv1D

serialization.register_table(
    "layers",
    {name: value for name, value in globals().items() if isinstance(value, type) and issubclass(value, Layer)},
    "keras.layers")


def serialize(layer):
    """The layer's config in Keras 3's schema (see `nablanet.serialization`)."""
    return serialization.serialize(layer)


def deserialize(config, custom_objects=None):
    """A layer from its config, from the allowlist of layer classes."""
    return serialization.deserialize(config, custom_objects, kind="layers")
