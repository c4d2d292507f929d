"""InceptionResNetV2 against Keras's: layers and parameter count (with and without the top, against Keras's
recorded architecture), outputs on Keras's random weights in Keras's ImageNet file format (built
live), the preprocessing."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.applications import inception_resnet_v2

from . import architectures
from .conftest import check_imagenet_weights, check_preprocess_input, keras_reference

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

NOTOP = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.mark.parametrize("variant", list(architectures.VARIANTS))
def test_architecture_is_keras(variant, zero_kernels):
    ours = architectures.build(nn.applications, "InceptionResNetV2", variant)
    assert architectures.summary(ours) == architectures.recorded()["InceptionResNetV2"][variant]


def test_imagenet_weights_give_keras_outputs(monkeypatch, tmp_path, zero_kernels):
    reference = keras_reference("InceptionResNetV2", tmp_path / "keras", NOTOP, inception_resnet_v2.preprocess_input)

    def use_hash(md5):
        monkeypatch.setattr(inception_resnet_v2, "WEIGHTS_HASHES", (inception_resnet_v2.WEIGHTS_HASHES[0], md5))

    where = f"tensorflow/keras-applications/inception_resnet_v2/{NOTOP}"
    check_imagenet_weights("InceptionResNetV2", reference, where, monkeypatch, tmp_path / "home", use_hash)


def test_arguments_are_checked_as_keras_checks_them():
    with pytest.raises(ValueError, match="InceptionResNetV2: the input must be at least 75x75"):
        nn.applications.InceptionResNetV2(include_top=False, weights=None, input_shape=(75, 74, 3))
    with pytest.raises(ValueError, match=r"InceptionResNetV2: with include_top=True and ImageNet weights, "
                                         r"input_shape must be \(299, 299, 3\)"):
        nn.applications.InceptionResNetV2(input_shape=(300, 300, 3))


def test_preprocess_input_is_keras():
    check_preprocess_input(inception_resnet_v2, "inception_resnet_v2")


def test_custom_scale_layer_is_keras(tmp_path):
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer as KerasScale

    from nablanet.applications.inception_resnet_v2 import CustomScaleLayer

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)).astype("float32"), rng.standard_normal((2, 3, 4)).astype("float32")
    ours, theirs = CustomScaleLayer(0.17, name="scale"), KerasScale(0.17, name="scale")
    np.testing.assert_allclose(ours([a, b]).numpy(), np.asarray(theirs([a, b])), rtol=1e-6)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())
    nn.gradcheck(lambda x, y: (CustomScaleLayer(0.17)([x, y]) ** 2).sum(), a.astype("float64"), b.astype("float64"))
    inputs = nn.Input((4,))
    model = nn.Model(inputs, CustomScaleLayer(0.5)([inputs, nn.layers.Dense(4)(inputs)]))
    model.save(tmp_path / "m.keras")  # loading needs the class, as for any layer outside nablanet.layers
    loaded = nn.models.load_model(tmp_path / "m.keras", custom_objects={"CustomScaleLayer": CustomScaleLayer})
    np.testing.assert_allclose(loaded.predict(a[0], verbose=0), model.predict(a[0], verbose=0), rtol=1e-6)
