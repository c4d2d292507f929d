"""What every application shares with Keras's: the checks of its arguments, its image input, the
classifier or pooling at its top, and the functional model around them.

A family module checks its arguments, resolves its weights (`weights.resolve`, so that a missing
ImageNet file fails before anything is built), builds its layers between `image_input` and `top`,
then calls `finish`:

>>> from nablanet import layers
>>> image, inputs = image_input(None, (32, 32, 3))
>>> x = layers.Conv2D(4, 3, name="conv")(image)
>>> model = finish(top(x, False, "avg", 1000, "softmax"), inputs, "tiny", None, "Tiny")
>>> model.output.shape, [layer.name for layer in model.layers][1:]
((None, 4), ['conv', 'avg_pool'])
"""

from nablanet.applications import imagenet_utils, weights as weight_files

POOLINGS = (None, "avg", "max")


def check_arguments(where, include_top, weights, pooling, classes, classifier_activation=None):
    """Keras's checks of `weights`, `classes`, `pooling` and (with the top and pretrained weights)
    `classifier_activation`, with errors that name the application."""
    from nablanet import backend

    if backend.image_data_format() != "channels_last":
        raise ValueError(f"{where}: nablanet builds applications for channels-last images, but the image data "
                         f"format is {backend.image_data_format()!r}; call "
                         "keras.config.set_image_data_format('channels_last') first")
    weight_files.check_weights(where, weights)
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"{where}: ImageNet weights with include_top=True need classes=1000, got {classes}")
    if pooling not in POOLINGS:
        raise ValueError(f"{where}: pooling must be None, 'avg' or 'max', got {pooling!r}")
    if include_top:
        check_activation(where, classifier_activation, weights)


def check_activation(where, classifier_activation, weights):
    """Pretrained classifiers allow only softmax or no activation (the logits), as in Keras."""
    from nablanet import activations

    if weights is None:
        return
    chosen = activations.get(classifier_activation)
    if chosen not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(f"{where}: with pretrained weights, classifier_activation must be None or 'softmax', "
                         f"got {classifier_activation!r}")


def input_shape(where, input_shape, default_size, min_size, include_top, weights):
    """The model's input shape by Keras's rule (see `imagenet_utils.obtain_input_shape`)."""
    return imagenet_utils.obtain_input_shape(input_shape, default_size, min_size, include_top, weights, where)


def image_input(input_tensor, shape, where="application"):
    """`(image, inputs)`: the tensor the network starts from (a new `Input` of `shape`, or
    `input_tensor`) and the model's inputs (the `Input`s that tensor was computed from)."""
    from nablanet import layers

    if input_tensor is None:
        image = layers.Input(shape=shape)
        return image, image
    return input_tensor, source_inputs(input_tensor, where)


def source_inputs(tensor, where):
    """The `Input()` tensors that `tensor` was computed from."""
    from nablanet.layers import InputLayer, KerasTensor

    if not isinstance(tensor, KerasTensor):
        raise TypeError(f"{where}: input_tensor must be a symbolic tensor from Input() (or computed "
                        f"from one), got {type(tensor).__name__}")
    found, pending, seen = [], [tensor], set()
    while pending:
        t = pending.pop()
        node = t.history[0]
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.layer, InputLayer):
            found.append(node.outputs)
        else:
            pending.extend(reversed(node.input_tensors()))
    return found[0] if len(found) == 1 else found


def top(x, include_top, pooling, classes, classifier_activation, top_pool="avg_pool",
        pool_names=("avg_pool", "max_pool"), classifier_name="predictions", pool_on_top=True):
    """Keras's usual top: with `include_top`, global average pooling named `top_pool` (unless
    `pool_on_top` is False) and the `classes`-way Dense classifier; without, `pooling`'s global
    pooling (named by `pool_names`) or nothing. A None name leaves Keras's automatic one."""
    from nablanet import layers

    if include_top:
        if pool_on_top:
            x = layers.GlobalAveragePooling2D(name=top_pool)(x)
        return layers.Dense(classes, activation=classifier_activation, name=classifier_name)(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=pool_names[0])(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=pool_names[1])(x)
    return x


def finish(outputs, inputs, name, weights, where, url_path=None, file_hash=None, filename=None):
    """The functional model from `inputs` to `outputs`, with `weights` loaded (see
    `weights.load_weights`; `url_path`, `file_hash` and `filename` name Keras's ImageNet file)."""
    from nablanet.models import Model

    model = Model(inputs, outputs, name=name)
    return weight_files.load_weights(model, weights, where, url_path, file_hash, filename)


def prepare_input(where, include_top, weights, input_tensor, requested_shape, pooling, classes,
                  classifier_activation, default_size=224, min_size=32, shape=None):
    """Check an application's arguments (`check_arguments`) and make its image input.

    Args:
        where: The architecture's name, for messages.
        requested_shape: The `input_shape` argument the user gave.
        shape: The input shape already decided by the caller (MobileNetV3 decides it itself);
            by default Keras's `obtain_input_shape` rule with `default_size` and `min_size`.

    Returns:
        `(image, inputs, shape)`: the tensor the network starts from (`input_tensor` or a new
        `Input`), the model's inputs (the `Input` tensors `input_tensor` was computed from) and
        the input shape Keras's rule decided (which names some models).
    """
    check_arguments(where, include_top, weights, pooling, classes, classifier_activation)
    if shape is None:
        shape = input_shape(where, requested_shape, default_size, min_size, include_top, weights)
    image, inputs = image_input(input_tensor, shape, where)
    return image, inputs, shape


def imagenet_path(family, include_top, top_file, notop_file):
    """Keras's path (below `weights.STORAGE`) of a family's ImageNet file in its folder of
    `tensorflow/keras-applications/`."""
    return f"{weight_files.KERAS_APPLICATIONS}{family}/{top_file if include_top else notop_file}"


def tf_kernels_files(stem):
    """The names Keras's older applications give their ImageNet files: `<stem>_weights_tf_dim_ordering_
    tf_kernels.h5` with the top, `..._notop.h5` without.

    >>> tf_kernels_files("xception")[1]
    'xception_weights_tf_dim_ordering_tf_kernels_notop.h5'
    """
    return f"{stem}_weights_tf_dim_ordering_tf_kernels.h5", f"{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5"


_CLASSIC_ARGUMENTS = """    Args:
        include_top: Whether to include the classifier (`avg_pool` and `predictions`).
        weights: None (random), "imagenet" (Keras's file: from Keras's cache `~/.keras/models`,
            or downloaded there from Keras's address and checked against Keras's hash), or the
            path of a weights file.
        input_tensor: An optional `Input()` tensor (or one computed from it) to use as the image.
        input_shape: `(height, width, 3)`, each side at least {low}; `({side}, {side}, 3)` by default
            with the top (and then required with ImageNet weights), `(None, None, 3)` without.
        pooling: Without the top: None keeps the 4-D output of the last block, "avg" and "max"
            apply global average or max pooling.
        classes: The number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: The classifier's activation; None gives the logits (with
            pretrained weights only None and "softmax" are allowed).
        name: The model's name.

    Returns:
        A functional `Model`; feed it `preprocess_input(images)`.

"""


def classic_arguments(min_size, default_size):
    """Decorator: the Args and Returns sections shared by the builders with Keras's classic signature
    (`include_top, weights, input_tensor, input_shape, pooling, classes, classifier_activation,
    name`), put into the builder's docstring before its Example."""

    def document(builder):
        head, example = builder.__doc__.split("    Example:", 1)
        builder.__doc__ = (head + _CLASSIC_ARGUMENTS.format(low=min_size, side=default_size)
                           + "    Example:" + example)
        return builder

    return document
