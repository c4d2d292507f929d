"""Default names: Keras's snake case of the class name, made unique as Keras does."""

import re
import types

import pytest

from nablanet import layers, metrics, optimizers
from nablanet.names import snake_case, unique_name

keras = pytest.importorskip("keras")

# constructor arguments for the layers that require some
ARGS = {
    "Activation": ("relu",), "AlphaDropout": (0.1,), "CategoryEncoding": (3,), "Conv1D": (2, 2),
    "Conv1DTranspose": (2, 2), "Conv2D": (2, 2), "Conv2DTranspose": (2, 2), "Dense": (2,),
    "DepthwiseConv2D": (2,), "Dot": (1,), "Dropout": (0.1,), "EinsumDense": ("ab,bc->ac", 2), "Embedding": (3, 2),
    "GaussianDropout": (0.1,), "MultiHeadAttention": (2, 2),
    "GaussianNoise": (0.1,), "GRU": (2,), "GRUCell": (2,), "Lambda": (lambda x: x,), "LSTM": (2,),
    "LSTMCell": (2,), "Permute": ((1,),), "RandomContrast": (0.1,), "RandomCrop": (2, 2),
    "RandomRotation": (0.1,), "RandomTranslation": (0.1, 0.1), "RandomZoom": (0.1,), "RepeatVector": (2,),
    "Rescaling": (1.0,), "Reshape": ((2,),), "Resizing": (2, 2), "SeparableConv2D": (2, 2),
    "SimpleRNN": (2,), "SimpleRNNCell": (2,), "SpatialDropout1D": (0.1,), "SpatialDropout2D": (0.1,),
    "Discretization": (None, 2), "Hashing": (2,), "HashedCrossing": (2,),
    "ReversibleEmbedding": (3, 2), "SpectralNormalization": (keras.layers.Dense(2),),
    "Wrapper": (keras.layers.Dense(2),), "StackedRNNCells": ([keras.layers.LSTMCell(2)],),
}
ARGS.update({name: (2,) for name in ("AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
                                     "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
                                     "AveragePooling3D", "DepthwiseConv1D")})
ARGS.update({name: (2, 2) for name in ("Conv3D", "Conv3DTranspose", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
                                       "SeparableConv1D")})
ARGS["SpatialDropout3D"] = (0.1,)
ARGS.update({  # image augmentation layers
    "CenterCrop": (2, 2), "MaxNumBoundingBoxes": (2,), "Pipeline": ([],), "RandomBrightness": (0.1,),
    "RandomColorDegeneration": (0.1,), "RandomHue": (0.1,), "RandomPosterization": (2,), "RandomSaturation": (0.1,),
    "RandomSharpness": (0.1,),
})


def keras_layer(name):
    cls = getattr(keras.layers, name)
    if name in ("Bidirectional", "TimeDistributed"):
        return cls(keras.layers.LSTM(2) if name == "Bidirectional" else keras.layers.Dense(2))
    if name == "RNN":
        return cls(keras.layers.LSTMCell(2))
    if name in ("AveragePooling1D", "AveragePooling2D"):
        return cls(2)
    try:
        return cls(*ARGS.get(name, ()))
    except ImportError:  # Keras builds these only on TensorFlow: the name its Operation base gives them
        from keras.src.utils.naming import auto_name

        return types.SimpleNamespace(name=auto_name(name))


LAYERS = sorted(name for name in dir(layers) if isinstance(getattr(layers, name), type)
                and issubclass(getattr(layers, name), layers.Layer) and hasattr(keras.layers, name)
                and name not in ("Layer", "InputLayer")
                and getattr(layers, name).__name__ == name)  # an alias (MaxPool2D) is its class, tested by name


def test_the_comparison_covers_the_usual_layers():
    assert {"Conv2D", "LSTM", "GRU", "SimpleRNN", "BatchNormalization", "LeakyReLU", "PReLU"} <= set(LAYERS)


@pytest.mark.parametrize("name", LAYERS)
def test_layer_names_are_keras_names(name):
    theirs = keras_layer(name).name
    assert re.fullmatch(rf"{snake_case(name)}(_\d+)?", theirs), (snake_case(name), theirs)


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad"])
def test_optimizer_names_are_keras_names(name):
    ours, theirs = getattr(optimizers, name)().name, getattr(keras.optimizers, name)().name
    assert re.sub(r"_\d+$", "", ours) == re.sub(r"_\d+$", "", theirs)


@pytest.mark.parametrize("name", ["AUC", "Precision", "Recall", "TopKCategoricalAccuracy", "KLDivergence", "Mean"])
def test_metric_names_are_keras_names(name):
    ours, theirs = getattr(metrics, name)().name, getattr(keras.metrics, name)().name
    assert ours == re.sub(r"_\d+$", "", theirs)  # Keras numbers some of its metric names


def test_unique_names_count_per_prefix():
    first = unique_name("names_test_prefix")
    assert (first, unique_name("names_test_prefix"), unique_name("names_test_prefix")) == (
        "names_test_prefix", "names_test_prefix_1", "names_test_prefix_2")
