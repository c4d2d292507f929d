"""NASNetMobile and NASNetLarge against Keras's: layers and parameter counts (both, with and without
the top, against Keras's recorded architectures), outputs on Keras's random weights in Keras's
ImageNet file format (NASNetMobile, built live through Keras's NASNet builder, since Keras refuses
NASNetMobile itself with the torch backend), the preprocessing."""

import pytest

import nablanet as nn
from nablanet.applications import nasnet

from . import architectures
from .conftest import check_imagenet_weights, check_preprocess_input, keras_reference

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")


@pytest.mark.parametrize("variant", list(architectures.VARIANTS))
@pytest.mark.parametrize("name", ["NASNetMobile", "NASNetLarge"])
def test_architecture_is_keras(name, variant, zero_kernels):
    ours = architectures.build(nn.applications, name, variant)
    assert architectures.summary(ours) == architectures.recorded()[name][variant]


def test_imagenet_weights_give_keras_outputs(monkeypatch, tmp_path, zero_kernels):
    reference = keras_reference("NASNetMobile", tmp_path / "keras", "nasnet_mobile_no_top.h5",
                                nasnet.preprocess_input)

    def use_hash(md5):
        files = dict(nasnet.IMAGENET_FILES)
        files["mobile"] = (files["mobile"][0], files["mobile"][1][:2] + (md5,))
        monkeypatch.setattr(nasnet, "IMAGENET_FILES", files)

    where = "tensorflow/keras-applications/nasnet/NASNet-mobile-no-top.h5"  # cached under Keras's other name
    check_imagenet_weights("NASNetMobile", reference, where, monkeypatch, tmp_path / "home", use_hash)


def test_arguments_are_checked_as_keras_checks_them(zero_kernels):
    assert nn.applications.NASNetMobile(include_top=False, weights=None).input.shape == (None, 224, 224, 3)
    assert nn.applications.NASNetLarge(include_top=False, weights=None, pooling="avg").input.shape == (None, None,
                                                                                                       None, 3)
    with pytest.raises(ValueError, match=r"NASNetLarge: with ImageNet weights the input shape must be static"):
        nn.applications.NASNetLarge(include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match=r"NASNetMobile: with include_top=True and ImageNet weights, "
                                         r"input_shape must be \(224, 224, 3\)"):
        nn.applications.NASNetMobile(input_shape=(331, 331, 3))
    with pytest.raises(ValueError, match=r"NASNet: penultimate_filters must be a multiple of "
                                         r"24 \* filter_multiplier \*\* 2 = 96"):
        nasnet.NASNet((32, 32, 3), penultimate_filters=1000, weights=None)


def test_preprocess_input_is_keras():
    check_preprocess_input(nasnet, "nasnet")
