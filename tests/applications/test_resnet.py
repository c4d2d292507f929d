"""ResNet50/101/152 and ResNet50V2/101V2/152V2 against Keras's: layers and parameter counts (all of
them, with and without the top, against Keras's recorded architectures), outputs on Keras's random
weights in Keras's ImageNet file format (ResNet50 and ResNet50V2, built live), the preprocessing."""

import pytest

import nablanet as nn
from nablanet.applications import resnet, resnet50, resnet_v2

from . import architectures
from .conftest import check_imagenet_weights, check_preprocess_input, keras_reference

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

NAMES = ["ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2"]
PREPROCESS = {"ResNet50": resnet.preprocess_input, "ResNet50V2": resnet_v2.preprocess_input}


@pytest.mark.parametrize("variant", list(architectures.VARIANTS))
@pytest.mark.parametrize("name", NAMES)
def test_architecture_is_keras(name, variant, zero_kernels):
    ours = architectures.build(nn.applications, name, variant)
    assert architectures.summary(ours) == architectures.recorded()[name][variant]


@pytest.fixture(scope="module", params=list(PREPROCESS))
def reference(request, tmp_path_factory):
    name = request.param
    filename = f"{name.lower()}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    return name, keras_reference(name, tmp_path_factory.mktemp(name), filename, PREPROCESS[name])


def test_imagenet_weights_give_keras_outputs(reference, monkeypatch, tmp_path, zero_kernels):
    name, built = reference

    def use_hash(md5):
        hashes = dict(resnet.WEIGHTS_HASHES)
        hashes[name.lower()] = (hashes[name.lower()][0], md5)
        monkeypatch.setattr(resnet, "WEIGHTS_HASHES", hashes)

    check_imagenet_weights(name, built, f"tensorflow/keras-applications/resnet/{built[1].name}", monkeypatch,
                           tmp_path, use_hash)


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
    check_preprocess_input(module, keras_name)
