"""ConvNeXtTiny, Small, Base, Large and XLarge (Liu et al., 2022) with Keras's layer names and
shapes, and Keras's two internal layers (`LayerScale`, `StochasticDepth`) under Keras's names
and configs, so that `.keras` files move between the libraries: `keras.applications.convnext`'s
names. The models normalize their pixels themselves (`include_preprocessing`), so
`preprocess_input` returns its input."""

import numpy as np

from nablanet import backend, serialization
from nablanet.applications import base
from nablanet.applications import weights as weight_files
from nablanet.applications.imagenet_utils import decode_predictions
from nablanet.layers.base import Layer

__all__ = ["ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge", "LayerScale",
           "StochasticDepth", "decode_predictions", "preprocess_input"]

KERAS_MODULE = "keras.src.applications.convnext"
# Keras's SHA-256 hashes of its ImageNet files, by variant: (with the top, without it).
IMAGENET_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
# Variant: (blocks per stage, channels per stage).
VARIANTS = {"tiny": ((3, 3, 9, 3), (96, 192, 384, 768)), "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
            "base": ((3, 3, 27, 3), (128, 256, 512, 1024)), "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
            "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048))}
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_VARIANCE = ((0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2)


class LayerScale(Layer):
    """Scales each channel by a learned factor (`gamma`, starting at `init_values`): Keras's
    ConvNeXt layer of that name.

    >>> LayerScale(0.5, 3)(np.ones((1, 3), "float32")).numpy().tolist()
    [[0.5, 0.5, 0.5]]
    """

    _keras_module = KERAS_MODULE

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        from nablanet import initializers

        self.gamma = self.add_weight(shape=(self.projection_dim,), initializer=initializers.Constant(self.init_values),
                                     trainable=True, name="variable")
        self.built = True

    def call(self, inputs):
        return inputs * self.gamma

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


class StochasticDepth(Layer):
    """In training, drops the whole residual branch of a sample with probability
    `drop_path_rate` (and scales the kept ones up to keep the mean); the identity otherwise:
    Keras's ConvNeXt layer of that name."""

    _keras_module = KERAS_MODULE

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def call(self, inputs, training=None):
        if not training or not self.drop_path_rate:
            return inputs
        keep = 1.0 - self.drop_path_rate
        shape = (inputs.shape[0],) + (1,) * (len(inputs.shape) - 1)
        kept = np.floor(keep + backend.generator().uniform(0.0, 1.0, shape)).astype(inputs.dtype)
        return inputs / keep * kept

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


serialization.register_table("layers", {"LayerScale": LayerScale, "StochasticDepth": StochasticDepth}, "keras.layers")

_DOC = """The ConvNeXt-{variant} network: a 4x4 patchifying stem, four stages of ConvNeXt blocks
    ({depths} blocks of {dims} channels: a 7x7 depthwise convolution, layer normalization, an
    inverted MLP with GELU, a learned per-channel scale, a residual connection) with 2x2 strided
    downsampling between them; with `include_top`, pooling, layer normalization and a classifier.

    Args:
        include_top: Whether to end with the classifier.
        include_preprocessing: Whether the model normalizes pixels in [0, 255] with ImageNet's
            mean and standard deviation itself.
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address and checked against Keras's hash), or the
            path of a weights file (Keras's formats).
        input_tensor: An optional `Input()` tensor (or one computed from it) as the image input.
        input_shape: `(height, width, 3)`, each side at least 32; by default `(224, 224, 3)`
            with the top and `(None, None, 3)` without.
        pooling: Without the top: None (4-D output), "avg" or "max" global pooling (a layer
            normalization follows in every case, as in Keras).
        classes: The number of classes of the top.
        classifier_activation: The activation of the classifier; None gives the logits.
        name: The model's name (with ImageNet weights it must contain "convnext_{lower}").

    Returns:
        A functional `Model` that takes pixels in [0, 255] (with `include_preprocessing`).
"""


def ConvNeXtTiny(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                 input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", name="convnext_tiny"):
    return convnext("tiny", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def ConvNeXtSmall(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                  input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
                  name="convnext_small"):
    return convnext("small", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation, name)


def ConvNeXtBase(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                 input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", name="convnext_base"):
    return convnext("base", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def ConvNeXtLarge(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                  input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
                  name="convnext_large"):
    return convnext("large", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation, name)


def ConvNeXtXLarge(include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
                   input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
                   name="convnext_xlarge"):
    return convnext("xlarge", include_top, include_preprocessing, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation, name)


for _variant, _fn in zip(VARIANTS, (ConvNeXtTiny, ConvNeXtSmall, ConvNeXtBase, ConvNeXtLarge, ConvNeXtXLarge)):
    _fn.__doc__ = _DOC.format(variant=_variant.title(), lower=_variant, depths=VARIANTS[_variant][0],
                              dims=VARIANTS[_variant][1])


def convnext(variant, include_top=True, include_preprocessing=True, weights="imagenet", input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax", name=None,
             drop_path_rate=0.0, layer_scale_init_value=1e-6):
    """Build ConvNeXt `variant` ("tiny" to "xlarge"); `drop_path_rate` is the largest rate of the
    blocks' stochastic depth (growing linearly from 0 over the blocks), `layer_scale_init_value`
    the initial `LayerScale` (None leaves it out).

    >>> model = convnext("tiny", include_top=False, weights=None, input_shape=(32, 32, 3))
    >>> model.output.shape, model.count_params()
    ((None, 1, 1, 768), 27820128)
    """
    from nablanet import layers
    from nablanet.models import Sequential

    depths, dims = VARIANTS[variant]
    weights_name = f"convnext_{variant}"
    name = name or weights_name
    where = name
    if weights == "imagenet" and weights_name not in name:
        raise ValueError(f"{where}: with ImageNet weights the model's name must contain {weights_name!r} (Keras "
                         f"names its file after the model), got name={name!r}")
    x, inputs, shape = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation)
    url_path = base.imagenet_path("convnext", include_top, f"{name}.h5", f"{name}_notop.h5")
    weights = weight_files.resolve(weights, where, url_path, IMAGENET_HASHES[weights_name][0 if include_top else 1])
    if isinstance(inputs, list):
        inputs = inputs[0]
    if include_preprocessing and shape[-1] == 3:
        x = layers.Normalization(mean=list(IMAGENET_MEAN), variance=list(IMAGENET_VARIANCE),
                                 name=f"{name}_prestem_normalization")(x)
    x = Sequential([layers.Conv2D(dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
                    layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")], name=f"{name}_stem")(x)
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    for stage, (depth, dim) in enumerate(zip(depths, dims)):
        if stage:
            x = Sequential([layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{stage - 1}"),
                            layers.Conv2D(dim, kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{stage - 1}")],
                           name=f"{name}_downsampling_block_{stage - 1}")(x)
        for j in range(depth):
            x = _block(x, dim, rates[sum(depths[:stage]) + j], layer_scale_init_value,
                       f"{name}_stage_{stage}_block_{j}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        x = layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    else:
        x = base.top(x, False, pooling, classes, classifier_activation, pool_names=(None, None))
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    return base.finish(x, inputs, name, weights, where)


def _block(inputs, dim, drop_path_rate, layer_scale_init_value, name):
    """A ConvNeXt block: depthwise 7x7, layer norm, 4x MLP with GELU, layer scale, residual."""
    from nablanet import layers

    x = layers.Conv2D(filters=dim, kernel_size=7, padding="same", groups=dim, name=f"{name}_depthwise_conv")(inputs)
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * dim, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(dim, name=f"{name}_pointwise_conv_2")(x)
    if layer_scale_init_value is not None:
        x = LayerScale(layer_scale_init_value, dim, name=f"{name}_layer_scale")(x)
    if drop_path_rate:
        x = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")(x)
    else:
        x = layers.Activation("linear", name=f"{name}_identity")(x)
    return inputs + x


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: the ConvNeXts normalize their pixels themselves."""
    return x
