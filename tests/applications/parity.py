"""Helpers the application tests share: an architecture compared with Keras's (layer names,
classes, weight shapes, parameter count), and Keras's random weights given values that matter
(batch statistics, scales, biases) and saved as Keras's ImageNet files hold them."""

import re

import numpy as np

from .conftest import save_keras_application_weights

# Names each library numbers by its own counters; the rest of the name must agree.
AUTOMATIC = re.compile(r"(input_layer|global_\w+_pooling2d|re_lu|activation|rescaling|normalization|dropout|flatten"
                       r"|layer_normalization|add|multiply)(_\d+)?$")


def structure(model):
    """What an application must share with Keras's: names (automatic ones without their number),
    layer classes, each layer's weight shapes, the output shape and the parameter count."""
    return {"name": model.name,
            "names": [AUTOMATIC.sub(r"\1", layer.name) for layer in model.layers],
            "classes": [type(layer).__name__ for layer in model.layers],
            "weights": [[tuple(w.shape) for w in layer.weights] for layer in model.layers],
            "output": tuple(model.outputs[0].shape),
            "params": model.count_params()}


def assert_same_structure(ours, theirs):
    mine, keras = structure(ours), structure(theirs)
    for key in mine:
        assert mine[key] == keras[key], key


def randomize(model, seed=0):
    """Give every weight of a Keras model random values of a sensible scale: kernels keep their
    initialization, variances lie in [0.5, 1.5], other vectors (means, offsets, scales) are
    drawn around their initial values."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for weight in layer.weights:
            value = np.asarray(weight.numpy())
            leaf = weight.path.rsplit("/", 1)[-1]
            if value.dtype.kind != "f" or value.ndim > 1:
                values.append(value)
            elif "variance" in leaf:
                values.append(rng.uniform(0.5, 1.5, value.shape).astype(value.dtype))
            elif leaf in ("gamma",) and np.all(np.abs(value) < 1e-3):  # LayerScale starts near zero
                values.append(rng.uniform(0.2, 0.6, value.shape).astype(value.dtype))
            else:
                values.append((value + rng.normal(0, 0.1, value.shape)).astype(value.dtype))
        if values:
            layer.set_weights(values)
    return model


def keras_weights_file(model, path, seed=0):
    """`model` (a Keras application) with random weights, saved in Keras's ImageNet format."""
    return save_keras_application_weights(randomize(model, seed), path)


def images(n=2, size=32, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")


def assert_close(ours, expected):
    """Equal to 1e-4, relative to the largest output."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))


def digest(model):
    """A short fingerprint of `structure(model)` without the model's name, to record Keras's
    structure of architectures too slow to build in Keras on every run."""
    import hashlib
    import json

    facts = {k: v for k, v in structure(model).items() if k != "name"}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]


def keras_predictions(model, x):
    """A Keras model's outputs in inference mode, as NumPy."""
    return np.asarray(model(x, training=False).detach().cpu().numpy())


def assert_preprocess_is_keras(ours, theirs):
    """A family's `preprocess_input` equals Keras's on pixels, without touching its input."""
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    original = pixels.copy()
    mine = ours.preprocess_input(pixels)
    np.testing.assert_array_equal(pixels, original)
    np.testing.assert_allclose(mine, theirs.preprocess_input(pixels.copy()), rtol=1e-6, atol=1e-6)


def assert_decode_is_keras(ours, monkeypatch):
    """A family's `decode_predictions` gives Keras's classes, on a class index passed to both."""
    from keras.src.applications import imagenet_utils as keras_utils

    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    preds = np.random.default_rng(1).random((2, 1000)).astype("float32")
    monkeypatch.setattr(keras_utils, "CLASS_INDEX", index)  # Keras would download it
    expected = keras_utils.decode_predictions(preds, top=3)
    mine = ours.decode_predictions(preds, top=3, class_index=index)
    assert [[row[:2] for row in sample] for sample in mine] == [[tuple(row[:2]) for row in sample]
                                                                for sample in expected]


def imagenet_cache(tmp_path, monkeypatch, model, filename):
    """Put Keras's `model` (random weights) in a Keras cache under Keras's ImageNet file name."""
    folder = tmp_path / "keras_home"
    (folder / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(folder))
    return save_keras_application_weights(model, folder / "models" / filename)


def assert_recorded_architecture(build, record, cheap):
    """`build`'s model at 32x32 has Keras's recorded `(parameters, digest, parameters without the
    top)`: with the top its structure, and without it (when `cheap`) its parameter count."""
    parameters, fingerprint, without_top = record
    ours = build(weights=None, input_shape=(32, 32, 3))
    assert (ours.count_params(), digest(ours)) == (parameters, fingerprint)
    if cheap:
        assert build(weights=None, include_top=False, input_shape=(32, 32, 3)).count_params() == without_top
