"""Where applications find weights (shared by every family, shown on VGG16): Keras's cache, Keras's
download address (a local server here) with Keras's hash checked, or a path."""

import numpy as np
import pytest

from nablanet.applications import VGG16, vgg, vgg16, weights

from .conftest import md5, save_keras_application_weights

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")

NOTOP = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
URL_PATH = f"tensorflow/keras-applications/vgg16/{NOTOP}"


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    """Keras's random VGG16 (no top, 32x32) in Keras's ImageNet file format, and its predictions."""
    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    path = save_keras_application_weights(model, tmp_path_factory.mktemp("vgg16") / NOTOP)
    x = vgg16.preprocess_input(np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32"))
    return path, x, np.asarray(model.predict(x, verbose=0))


@pytest.fixture
def keras_hash(keras_file, monkeypatch):
    """Keras's table made to name the test's file, as it names the real one."""
    path = keras_file[0]
    files = dict(vgg.IMAGENET_FILES)
    files["vgg16"] = (files["vgg16"][0], (NOTOP, md5(path)))
    monkeypatch.setattr(vgg, "IMAGENET_FILES", files)
    return md5(path)


def imagenet_vgg16():
    return VGG16(include_top=False, weights="imagenet", input_shape=(32, 32, 3))


def test_missing_file_error_says_which_file_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError) as caught:
        imagenet_vgg16()
    message = str(caught.value)
    assert message.startswith("VGG16: weights='imagenet' reads Keras's file " + NOTOP)
    assert str(tmp_path / "home" / "models" / NOTOP) in message  # where nablanet looked
    assert weights.origin(URL_PATH) in message and "weights=<its path>" in message  # how to get it


def test_keras_cached_file_is_read_without_downloading(tmp_path, monkeypatch, keras_file, keras_hash):
    path, x, expected = keras_file
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / NOTOP).write_bytes(path.read_bytes())
    np.testing.assert_allclose(imagenet_vgg16().predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)


def test_download_from_keras_address_checks_the_hash(tmp_path, monkeypatch, served, keras_file, keras_hash):
    path, x, expected = keras_file
    folder, url = served
    (folder / "tensorflow/keras-applications/vgg16").mkdir(parents=True)
    (folder / URL_PATH).write_bytes(path.read_bytes())
    monkeypatch.setattr(weights, "STORAGE", url)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    cached = tmp_path / "home" / "models" / NOTOP
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"a truncated earlier download")  # not Keras's hash: fetched again
    np.testing.assert_allclose(imagenet_vgg16().predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    assert md5(cached) == keras_hash  # kept in Keras's cache, where Keras would find it

    cached.unlink()
    (folder / URL_PATH).write_bytes(path.read_bytes()[:-10] + b"0123456789")  # changed at the origin
    with pytest.raises(ValueError, match=f"get_file: the file from {url}{URL_PATH} does not match its md5"):
        imagenet_vgg16()
    assert not cached.exists()


def test_a_path_is_loaded_as_is(keras_file):
    path, x, expected = keras_file
    ours = VGG16(include_top=False, weights=str(path), input_shape=(32, 32, 3))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="VGG16: the weights file .*nothing.h5' does not exist"):
        VGG16(include_top=False, weights=str(path.parent / "nothing.h5"), input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="VGG16: weights must be None, 'imagenet' or the path"):
        VGG16(include_top=False, weights=3, input_shape=(32, 32, 3))


def test_every_family_shares_the_input_checks(zero_kernels):
    import nablanet as nn

    inputs = nn.Input(shape=(40, 40, 3))
    model = nn.applications.DenseNet121(include_top=False, weights=None, input_tensor=nn.layers.Rescaling(0.5)(inputs))
    assert model.inputs == [inputs] and model.output.shape == (None, 1, 1, 1024)
    with pytest.raises(TypeError, match="Xception: input_tensor must be a symbolic tensor"):
        nn.applications.Xception(include_top=False, weights=None, input_tensor=np.zeros((1, 71, 71, 3)))
    with pytest.raises(ValueError, match=r"InceptionV3: input_shape must be \(height, width, channels\)"):
        nn.applications.InceptionV3(include_top=False, weights=None, input_shape=(75, 75))
    with pytest.raises(ValueError, match="ResNet50: include_top=True needs a fixed input_shape"):
        nn.applications.ResNet50(weights=None, input_shape=(None, None, 3))
    nn.config.set_image_data_format("channels_first")
    try:
        with pytest.raises(ValueError, match="NASNetLarge: nablanet builds applications for channels-last images"):
            nn.applications.NASNetLarge(weights=None)
    finally:
        nn.config.set_image_data_format("channels_last")
