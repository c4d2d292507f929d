"""Keras's applications as data: each architecture's layers (names, classes, output and weight
shapes), parameter count and output shape, recorded from Keras (`KERAS_BACKEND=torch`) in
`keras_architectures.json`, because building the large Keras models in every test run would cost
minutes. Each family's test also builds one member in Keras live and compares it whole.

Regenerate (for the Keras version the tests pin) with
`KERAS_BACKEND=torch python tests/applications/architectures.py [Name ...]`.
"""

import hashlib
import json
import os
import re
import sys

RECORDED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_architectures.json")

# Each architecture at the smallest input Keras allows, with a small top.
SIZES = {"ResNet50": 32, "ResNet101": 32, "ResNet152": 32, "ResNet50V2": 32, "ResNet101V2": 32,
         "ResNet152V2": 32, "DenseNet121": 32, "DenseNet169": 32, "DenseNet201": 32, "Xception": 71,
         "InceptionV3": 75, "InceptionResNetV2": 75, "NASNetMobile": 32, "NASNetLarge": 32}
VARIANTS = {"top": dict(include_top=True, classes=10), "features": dict(include_top=False),
            "avg": dict(include_top=False, pooling="avg"), "max": dict(include_top=False, pooling="max")}


def layer_name(layer):
    """The layer's name, with the number an automatic name carries dropped (each library counts
    its own layers): `max_pooling2d_3` becomes `max_pooling2d`."""
    stem = re.sub(r"_\d+$", "", layer.name)
    return stem if stem.replace("_", "") == type(layer).__name__.lower() else layer.name


def layers_of(model):
    """One line per layer: its name, class, output shape and weight shapes."""
    lines = []
    for layer in model.layers:
        output = tuple(layer.output.shape)
        lines.append(f"{layer_name(layer)} {type(layer).__name__} {output} "
                     f"{[tuple(w.shape) for w in layer.weights]}")
    return lines


def summary(model):
    """What the tests compare: the model's name, parameter count, output shape, layer count and
    a digest of `layers_of` (the layers themselves for a live comparison)."""
    lines = layers_of(model)
    return {"name": model.name, "params": int(model.count_params()), "output": list(model.output.shape),
            "layers": len(lines), "digest": hashlib.sha256("\n".join(lines).encode()).hexdigest()}


def recorded():
    with open(RECORDED, encoding="utf-8") as handle:
        return json.load(handle)


def build(applications, name, variant, **kwargs):
    """`applications.<name>` at its smallest size, as `variant` configures it."""
    size = SIZES[name]
    function = getattr(applications, name)
    if name == "NASNetMobile" and applications.__name__.startswith("keras"):
        function = keras_nasnet_mobile
    return function(weights=None, input_shape=(size, size, 3), **VARIANTS[variant], **kwargs)


def keras_nasnet_mobile(**kwargs):
    """Keras's NASNetMobile, which Keras refuses to build with the torch backend (citing a bug
    it does not name): its configuration passed to Keras's NASNet builder directly."""
    from keras.src.applications import nasnet

    return nasnet.NASNet(penultimate_filters=1056, num_blocks=4, stem_block_filters=32, skip_reduction=False,
                         filter_multiplier=2, default_size=224, **{"name": "nasnet_mobile", **kwargs})


def main(names):
    import keras

    table = recorded() if os.path.exists(RECORDED) else {}
    for name in names or SIZES:
        table[name] = {variant: summary(build(keras.applications, name, variant)) for variant in VARIANTS}
        print(name, table[name]["top"]["params"], flush=True)
    with open(RECORDED, "w", encoding="utf-8") as handle:
        json.dump(table, handle, indent=1, sort_keys=True)
        handle.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
