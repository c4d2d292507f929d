"""VGG16 and VGG19 (Simonyan & Zisserman, 2015) with Keras's layer names and shapes, so the
weights Keras publishes (and those of torchvision, converted to safetensors) load into them.

One builder serves both: a configuration lists the filters of each block. `weights="imagenet"`
reads Keras's file from Keras's cache, or downloads it as Keras does (see `weights`).
"""

from nablanet.applications import base
from nablanet.applications import weights as weight_files

# Filters of each convolution, block by block (torchvision's configurations "D" and "E").
CONFIGS = {"vgg16": ((64, 64), (128, 128), (256,) * 3, (512,) * 3, (512,) * 3),
           "vgg19": ((64, 64), (128, 128), (256,) * 4, (512,) * 4, (512,) * 4)}

# Keras's file names and MD5 hashes of its ImageNet weights: (with the top, without it).
IMAGENET_FILES = {
    "vgg16": (("vgg16_weights_tf_dim_ordering_tf_kernels.h5", "64373286793e3c8b2b4e3219cbf3544b"),
              ("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", "6d6bbae143d832006294945121d1f1fc")),
    "vgg19": (("vgg19_weights_tf_dim_ordering_tf_kernels.h5", "cbe5617147190e668d6c5d5026f83318"),
              ("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5", "253f8cb515780f3b799900260a226db6")),
}


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg16"):
    """The VGG16 network: 13 3x3 convolutions in five blocks, each block ending in 2x2 max
    pooling, then (with `include_top`) Flatten and three Dense layers (`fc1`, `fc2`,
    `predictions`).

    Args:
        include_top: Whether to include the three fully connected layers at the top.
        weights: None (random initialization), a path to a weights file (Keras `.weights.h5`,
            legacy `.h5` or `.keras`; a PyTorch state dict saved as `.safetensors`, e.g.
            torchvision's `vgg16`; a nablanet file), or "imagenet": Keras's ImageNet weights,
            read from Keras's cache (`~/.keras/models`) or downloaded there from Keras's address.
        input_tensor: An optional `Input()` tensor (or a tensor computed from one) to use as the
            image input.
        input_shape: `(height, width, 3)`, each side at least 32; by default `(224, 224, 3)`
            with the top and `(None, None, 3)` without. With the top and ImageNet weights it
            must be `(224, 224, 3)`.
        pooling: With `include_top=False`: None keeps the 4-D output of the last block, "avg"
            and "max" apply global average or max pooling.
        classes: The number of classes of the top (1000 for ImageNet weights).
        classifier_activation: The activation of `predictions`; None gives the logits.
        name: The model's name.

    Returns:
        A functional `Model`. Feed it images through `preprocess_input` (RGB to BGR, ImageNet's
        mean subtracted), as Keras's VGG16 expects.

    Example:
        >>> model = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
        >>> model.output.shape, model.count_params()
        ((None, 512), 14714688)
    """
    return build_vgg("vgg16", include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation, name)


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
          classes=1000, classifier_activation="softmax", name="vgg19"):
    """The VGG19 network: VGG16 with a fourth convolution in blocks 3, 4 and 5 (the arguments
    are VGG16's)."""
    return build_vgg("vgg19", include_top, weights, input_tensor, input_shape, pooling, classes,
                     classifier_activation, name)


def build_vgg(kind, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=None, top_units=4096):
    """Build a VGG of configuration `kind` ("vgg16" or "vgg19"); `top_units` (4096 in the
    paper) sizes `fc1` and `fc2`, so that small VGG-shaped models can be built for tests."""
    from nablanet import layers

    where = kind.upper()
    image, inputs, _ = base.prepare_input(where, include_top, weights, input_tensor, input_shape, pooling, classes,
                                          classifier_activation)
    (top_file, top_hash), (notop_file, notop_hash) = IMAGENET_FILES[kind]
    url_path = base.imagenet_path(kind, include_top, top_file, notop_file)
    weights = weight_files.resolve(weights, where, url_path, top_hash if include_top else notop_hash)
    x = image
    for block, filters in enumerate(CONFIGS[kind], start=1):
        for i, n in enumerate(filters, start=1):
            x = layers.Conv2D(n, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(top_units, activation="relu", name="fc1")(x)
        x = layers.Dense(top_units, activation="relu", name="fc2")(x)
    x = base.top(x, include_top, pooling, classes, classifier_activation, pool_names=(None, None),
                 pool_on_top=False)
    model = base.finish(x, inputs, name or kind, None, where)
    names = torchvision_names(kind)
    model._torch_names = {k: v for k, v in names.items() if include_top or not k.startswith(("fc", "pred"))}
    model._torch_optional = tuple(v for k, v in names.items() if k not in model._torch_names)  # the top
    return weight_files.load_weights(model, weights, where)


def torchvision_names(kind):
    """Each layer's module in torchvision's `vgg16()`/`vgg19()` state dict: the convolutions
    are `features.<i>` (a ReLU follows each, a max pooling ends each block), the top is
    `classifier.0`, `.3` and `.6` (ReLU and Dropout between)."""
    names, index = {}, 0
    for block, filters in enumerate(CONFIGS[kind], start=1):
        for i in range(1, len(filters) + 1):
            names[f"block{block}_conv{i}"] = f"features.{index}"
            index += 2
        index += 1
    names.update({"fc1": "classifier.0", "fc2": "classifier.3", "predictions": "classifier.6"})
    return names
