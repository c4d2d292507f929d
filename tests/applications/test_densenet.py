"""DenseNet121/169/201 against Keras's: layers and parameter counts (all three, with and without the
top, against Keras's recorded architectures), outputs on Keras's random weights in Keras's ImageNet
file format (DenseNet121, built live), the preprocessing."""

import pytest

import nablanet as nn
from nablanet.applications import densenet

from . import architectures
from .conftest import check_imagenet_weights, check_preprocess_input, keras_reference

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

NOTOP = "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.mark.parametrize("variant", list(architectures.VARIANTS))
@pytest.mark.parametrize("name", ["DenseNet121", "DenseNet169", "DenseNet201"])
def test_architecture_is_keras(name, variant, zero_kernels):
    ours = architectures.build(nn.applications, name, variant)
    assert architectures.summary(ours) == architectures.recorded()[name][variant]


def test_imagenet_weights_give_keras_outputs(monkeypatch, tmp_path, zero_kernels):
    reference = keras_reference("DenseNet121", tmp_path / "keras", NOTOP, densenet.preprocess_input)

    def use_hash(md5):
        hashes = dict(densenet.WEIGHTS_HASHES)
        hashes["densenet121"] = (hashes["densenet121"][0], md5)
        monkeypatch.setattr(densenet, "WEIGHTS_HASHES", hashes)

    check_imagenet_weights("DenseNet121", reference, f"tensorflow/keras-applications/densenet/{NOTOP}", monkeypatch,
                           tmp_path / "home", use_hash)


def test_arguments_are_checked_as_keras_checks_them():
    with pytest.raises(ValueError, match="DenseNet169: the input must be at least 32x32"):
        nn.applications.DenseNet169(include_top=False, weights=None, input_shape=(32, 16, 3))
    with pytest.raises(ValueError, match="DenseNet201: ImageNet weights need 3 input channels"):
        nn.applications.DenseNet201(include_top=False, input_shape=(64, 64, 1))


def test_preprocess_input_is_keras():
    check_preprocess_input(densenet, "densenet")
