"""InceptionV3 against Keras's: layers and parameter count (with and without the top, against Keras's
recorded architecture), outputs on Keras's random weights in Keras's ImageNet file format (built
live), the preprocessing."""

import pytest

import nablanet as nn
from nablanet.applications import inception_v3

from . import architectures
from .conftest import check_imagenet_weights, check_preprocess_input, keras_reference

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

NOTOP = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.mark.parametrize("variant", list(architectures.VARIANTS))
def test_architecture_is_keras(variant, zero_kernels):
    ours = architectures.build(nn.applications, "InceptionV3", variant)
    assert architectures.summary(ours) == architectures.recorded()["InceptionV3"][variant]


def test_imagenet_weights_give_keras_outputs(monkeypatch, tmp_path, zero_kernels):
    reference = keras_reference("InceptionV3", tmp_path / "keras", NOTOP, inception_v3.preprocess_input)

    def use_hash(md5):
        monkeypatch.setattr(inception_v3, "WEIGHTS_HASHES", (inception_v3.WEIGHTS_HASHES[0], md5))

    where = f"tensorflow/keras-applications/inception_v3/{NOTOP}"
    check_imagenet_weights("InceptionV3", reference, where, monkeypatch, tmp_path / "home", use_hash)


def test_arguments_are_checked_as_keras_checks_them():
    with pytest.raises(ValueError, match="InceptionV3: the input must be at least 75x75"):
        nn.applications.InceptionV3(include_top=False, weights=None, input_shape=(75, 74, 3))
    with pytest.raises(ValueError, match=r"InceptionV3: with include_top=True and ImageNet weights, "
                                         r"input_shape must be \(299, 299, 3\)"):
        nn.applications.InceptionV3(input_shape=(300, 300, 3))


def test_preprocess_input_is_keras():
    check_preprocess_input(inception_v3, "inception_v3")
