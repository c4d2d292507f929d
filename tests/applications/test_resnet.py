"""ResNet50/101/152 and ResNet50V2/101V2/152V2 against Keras's: layers and parameter counts (all of
them, against Keras's recorded architectures; ResNet50 and ResNet50V2 also built live), outputs on
Keras's random weights read from Keras's ImageNet file format, and the preprocessing."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.applications import resnet, resnet50, resnet_v2, weights

from . import architectures
from .conftest import close, images, md5, randomize, save_keras_application_weights

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

NAMES = ["ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2"]
PREPROCESS = {"ResNet50": resnet.preprocess_input, "ResNet50V2": resnet_v2.preprocess_input}


@pytest.mark.parametrize("variant", list(architectures.VARIANTS))
@pytest.mark.parametrize("name", NAMES)
def test_architecture_is_keras(name, variant, zero_kernels):
    ours = architectures.build(nn.applications, name, variant)
    assert architectures.summary(ours) == architectures.recorded()[name][variant]


@pytest.fixture(scope="module", params=["ResNet50", "ResNet50V2"])
def keras_model(request, tmp_path_factory):
    """Keras's model (no top, 32x32) with random weights, saved as Keras's ImageNet files are."""
    name = request.param
    model = randomize(getattr(keras.applications, name)(weights=None, include_top=False, input_shape=(32, 32, 3)))
    filename = f"{name.lower()}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    path = save_keras_application_weights(model, tmp_path_factory.mktemp(name) / filename)
    x = images(2, 32, PREPROCESS[name])
    return name, model, path, x, np.asarray(model.predict(x, verbose=0))


def test_keras_weights_give_keras_outputs(keras_model):
    name, theirs, path, x, expected = keras_model
    ours = getattr(nn.applications, name)(weights=path, include_top=False, input_shape=(32, 32, 3))
    assert architectures.layers_of(ours) == architectures.layers_of(theirs)
    close(ours.predict(x, verbose=0), expected)


def test_imagenet_weights_are_keras_file_in_keras_cache(keras_model, tmp_path, monkeypatch):
    name, _, path, x, expected = keras_model
    build = getattr(nn.applications, name)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"{name}: weights='imagenet' reads Keras's file {path.name}, "
                                               "which is not in Keras's cache") as caught:
        build(include_top=False, input_shape=(32, 32, 3))
    assert weights.origin(f"tensorflow/keras-applications/resnet/{path.name}") in str(caught.value)
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / path.name).write_bytes(path.read_bytes())
    hashes = dict(resnet.WEIGHTS_HASHES)
    hashes[name.lower()] = (hashes[name.lower()][0], md5(path))
    monkeypatch.setattr(resnet, "WEIGHTS_HASHES", hashes)
    close(build(include_top=False, input_shape=(32, 32, 3)).predict(x, verbose=0), expected)


def test_arguments_are_checked_as_keras_checks_them():
    with pytest.raises(ValueError, match="ResNet50: the input must be at least 32x32"):
        nn.applications.ResNet50(include_top=False, weights=None, input_shape=(31, 40, 3))
    with pytest.raises(ValueError, match="ResNet101V2: ImageNet weights with include_top=True need classes=1000"):
        nn.applications.ResNet101V2(classes=10)
    with pytest.raises(ValueError, match="ResNet152: pooling must be None, 'avg' or 'max'"):
        nn.applications.ResNet152(include_top=False, weights=None, pooling="sum")
    with pytest.raises(ValueError, match="ResNet50V2: with pretrained weights, classifier_activation"):
        nn.applications.ResNet50V2(classifier_activation="relu")
    with pytest.raises(ValueError, match=r"ResNet50: with include_top=True and ImageNet weights, input_shape must "
                                         r"be \(224, 224, 3\)"):
        nn.applications.ResNet50(input_shape=(64, 64, 3))


@pytest.mark.parametrize("module, keras_name", [(resnet, "resnet"), (resnet50, "resnet50"), (resnet_v2, "resnet_v2")])
def test_preprocess_input_is_keras(module, keras_name):
    import importlib

    theirs = importlib.import_module(f"keras.applications.{keras_name}")
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    for data_format in ("channels_last", "channels_first"):
        x = pixels if data_format == "channels_last" else pixels.transpose(0, 3, 1, 2)
        np.testing.assert_allclose(module.preprocess_input(x, data_format=data_format),
                                   theirs.preprocess_input(x.copy(), data_format=data_format), rtol=1e-6, atol=1e-4)
    assert module.decode_predictions is nn.applications.imagenet_utils.decode_predictions
    assert sorted(n for n in dir(theirs) if not n.startswith("_")) == sorted(module.__all__)
