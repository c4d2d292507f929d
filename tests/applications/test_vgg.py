"""VGG16 and VGG19 against Keras's (architecture, weights from its three file formats, the
ImageNet helpers) and against torchvision's layout (a state dict saved as safetensors)."""

import json
import re

import numpy as np
import pytest

import nablanet as nn
from nablanet.applications import VGG16, VGG19, imagenet_utils, vgg16
from nablanet.applications.vgg import build_vgg

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytest.importorskip("h5py")
safetensors_torch = pytest.importorskip("safetensors.torch")
tnn = torch.nn

# -- torchvision's VGG, rebuilt ------------------------------------------------------------------
# torchvision cannot be installed beside the pinned torch (PyPI's build fails to import with it;
# the matching pair is a 5 GB CUDA download), so this reproduces `torchvision.models.vgg16()` /
# `vgg19()` exactly: `features` (Conv2d 3x3 padding 1 + ReLU, MaxPool2d(2, 2) at torchvision's
# indices for configurations "D" and "E"), `avgpool`, `classifier`, torchvision's initialization;
# its state-dict keys (features.0.weight ... classifier.6.bias) are torchvision's. `pool`, `hidden`
# and `classes` shrink the top for cheap tests (torchvision: 7, 4096, 1000).

CONFIGS = {
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


class TorchVGG(tnn.Module):
    def __init__(self, config="D", pool=7, hidden=4096, classes=1000):
        super().__init__()
        modules, channels = [], 3
        for v in CONFIGS[config]:
            if v == "M":
                modules.append(tnn.MaxPool2d(kernel_size=2, stride=2))
            else:
                modules += [tnn.Conv2d(channels, v, kernel_size=3, padding=1), tnn.ReLU(inplace=True)]
                channels = v
        self.features = tnn.Sequential(*modules)
        self.avgpool = tnn.AdaptiveAvgPool2d((pool, pool))
        self.classifier = tnn.Sequential(
            tnn.Linear(512 * pool * pool, hidden), tnn.ReLU(True), tnn.Dropout(p=0.5),
            tnn.Linear(hidden, hidden), tnn.ReLU(True), tnn.Dropout(p=0.5),
            tnn.Linear(hidden, classes),
        )
        for m in self.modules():  # torchvision's initialization
            if isinstance(m, tnn.Conv2d):
                tnn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                tnn.init.constant_(m.bias, 0)
            elif isinstance(m, tnn.Linear):
                tnn.init.normal_(m.weight, 0, 0.01)
                tnn.init.constant_(m.bias, 0)

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def torch_vgg(config, seed=0, **top):
    """An eval-mode TorchVGG whose biases are random too (torchvision starts them at zero, which
    would leave the biases untested)."""
    torch.manual_seed(seed)
    model = TorchVGG(config, **top).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("bias"):
                parameter.copy_(torch.randn(parameter.shape) * 0.1)
    return model


def nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def images(n, size, seed=0):
    """Random RGB images in [0, 255], preprocessed as VGG expects (BGR, mean subtracted)."""
    pixels = np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")
    return vgg16.preprocess_input(pixels)


def close(ours, reference):
    """Equal to 1e-4, relative and absolute (the outputs here are of order 1 to 100)."""
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-4)


# -- architecture --------------------------------------------------------------------------------

@pytest.mark.parametrize("name, include_top, shape, pooling", [
    ("VGG16", True, (32, 32, 3), None), ("VGG16", False, (48, 64, 3), "avg"),
    ("VGG16", False, (32, 32, 3), None), ("VGG19", False, (32, 32, 3), "max")])
def test_layers_names_and_shapes_are_keras(name, include_top, shape, pooling):
    ours = getattr(nn.applications, name)(include_top=include_top, weights=None, input_shape=shape,
                                          pooling=pooling, classes=7)
    theirs = getattr(keras.applications, name)(include_top=include_top, weights=None, input_shape=shape,
                                               pooling=pooling, classes=7)
    assert ours.name == theirs.name
    automatic = re.compile(r"(input_layer|global_\w+_pooling2d)(_\d+)?$")  # numbered by each library

    def names(model):
        return [automatic.sub(r"\1", layer.name) for layer in model.layers]

    assert names(ours) == names(theirs)
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in theirs.layers]
    assert ours.output.shape == tuple(theirs.output_shape)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()


def test_arguments_are_checked_as_keras_checks_them():
    with pytest.raises(ValueError, match="at least 32x32"):
        VGG16(include_top=False, weights=None, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"input_shape must be \(224, 224, 3\)"):
        VGG16(weights="imagenet", input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="classes=1000"):
        VGG16(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="pooling must be"):
        VGG16(include_top=False, weights=None, pooling="mean")
    with pytest.raises(ValueError, match="does not exist"):
        VGG16(weights="no/such/file.h5")
    with pytest.raises(ValueError, match="include_top=True needs a fixed input_shape"):
        VGG16(weights=None, input_shape=(None, None, 3))


def test_input_tensor_may_come_from_layers():
    inputs = nn.Input(shape=(32, 32, 3))
    scaled = nn.layers.Rescaling(1.0)(inputs)
    model = VGG16(include_top=False, weights=None, input_tensor=scaled, pooling="avg")
    assert model.input is inputs and len(model.inputs) == 1 and model.inputs[0] is inputs
    assert model.output.shape == (None, 512)
    with pytest.raises(TypeError, match="input_tensor must be a symbolic tensor"):
        VGG16(include_top=False, weights=None, input_tensor=np.zeros((1, 32, 32, 3)))


def test_imagenet_weights_come_from_keras_cache_or_keras_address(tmp_path, monkeypatch):
    """Offline (the tests' conftest points Keras's address at nothing), a missing or damaged file
    is an error naming the file, the place looked at and the address to fetch it from."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    cached = tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(FileNotFoundError, match="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, which is not "
                                               "in Keras's cache.*downloading it failed") as caught:
        VGG16(include_top=False, input_shape=(32, 32, 3))
    assert str(cached) in str(caught.value)
    assert ("tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
            in str(caught.value))
    cached.parent.mkdir(exist_ok=True)
    cached.write_bytes(b"not it")
    with pytest.raises(ValueError, match="is not Keras's vgg16_weights.*MD5.*6d6bbae143d832006294945121d1f1fc"):
        VGG16(include_top=False, input_shape=(32, 32, 3))


# -- weights from Keras --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keras_vgg16(tmp_path_factory):
    """A random Keras VGG16 (no top, 32x32) saved in Keras's three formats, and its predictions."""
    directory = tmp_path_factory.mktemp("keras_vgg16")
    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    paths = {"weights.h5": directory / "vgg16.weights.h5", "keras": directory / "vgg16.keras",
             "legacy h5": directory / "vgg16.h5"}
    model.save_weights(paths["weights.h5"])
    model.save(paths["keras"])
    model.save(paths["legacy h5"])  # Keras 3 still writes the legacy HDF5 format for .h5
    x = images(4, 32)
    return paths, x, np.asarray(model.predict(x, verbose=0))


@pytest.mark.parametrize("kind", ["weights.h5", "keras", "legacy h5"])
def test_keras_vgg16_files_give_keras_predictions(keras_vgg16, kind):
    paths, x, expected = keras_vgg16
    ours = VGG16(include_top=False, weights=paths[kind], input_shape=(32, 32, 3))
    close(ours.predict(x, verbose=0), expected)


def test_load_weights_reads_keras_files_too(keras_vgg16):
    paths, x, expected = keras_vgg16
    ours = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert not np.allclose(ours.predict(x, verbose=0), expected, atol=1e-2)  # random until loaded
    assert ours.load_weights(paths["weights.h5"]) == []
    close(ours.predict(x, verbose=0), expected)


@pytest.mark.parametrize("name, include_top", [("VGG16", True), ("VGG19", False)])
def test_keras_top_and_vgg19(tmp_path, name, include_top):
    theirs = getattr(keras.applications, name)(weights=None, include_top=include_top, input_shape=(32, 32, 3),
                                               classifier_activation=None)
    theirs.save_weights(tmp_path / "m.weights.h5")
    ours = getattr(nn.applications, name)(weights=tmp_path / "m.weights.h5", include_top=include_top,
                                          input_shape=(32, 32, 3), classifier_activation=None)
    x = images(3, 32, seed=1)
    close(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)))


# -- weights from PyTorch ------------------------------------------------------------------------

@pytest.mark.parametrize("config, build", [("D", VGG16), ("E", VGG19)])
def test_torchvision_state_dict_gives_torch_features(tmp_path, config, build):
    """torchvision's full key layout; the top (here shrunk) is left out of a model without one."""
    reference = torch_vgg(config, pool=1, hidden=8, classes=4)
    safetensors_torch.save_file(reference.state_dict(), tmp_path / "vgg.safetensors")
    ours = build(include_top=False, weights=tmp_path / "vgg.safetensors", input_shape=(32, 32, 3))
    x = images(4, 32, seed=2)
    with torch.no_grad():
        expected = reference.features(nchw(x)).permute(0, 2, 3, 1).numpy()
    close(ours.predict(x, verbose=0), expected)


def test_torchvision_top_maps_through_the_flatten_order(tmp_path):
    """The top: Linear (out, in) becomes Dense (in, out), and fc1's rows go from PyTorch's
    channels-first flattening to the channels-last one. A 64x64 input leaves 2x2x512 features,
    which torchvision's pooling (to 2x2 here, 7x7 at 224x224 in torchvision) keeps as they are."""
    reference = torch_vgg("D", pool=2, hidden=64, classes=10)
    state = reference.state_dict()
    safetensors_torch.save_file(state, tmp_path / "vgg.safetensors")
    ours = build_vgg("vgg16", include_top=True, weights=tmp_path / "vgg.safetensors", input_shape=(64, 64, 3),
                     classes=10, classifier_activation=None, top_units=64)
    x = images(3, 64, seed=3)
    with torch.no_grad():
        expected = reference(nchw(x)).numpy()
    close(ours.predict(x, verbose=0), expected)
    naive = state["classifier.0.weight"].numpy().T
    assert not np.allclose(ours.get_layer("fc1").kernel.numpy(), naive)  # the reordering mattered
    np.testing.assert_array_equal(np.sort(ours.get_layer("fc1").kernel.numpy(), axis=0), np.sort(naive, axis=0))


# -- ImageNet helpers ----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format, shape", [("channels_last", (2, 5, 4, 3)), ("channels_first", (2, 3, 5, 4)),
                                                ("channels_first", (3, 5, 4)), ("channels_last", (5, 4, 3))])
def test_preprocess_input_is_keras(mode, data_format, shape):
    from keras.src.applications import imagenet_utils as keras_utils

    pixels = np.random.default_rng(0).uniform(0, 255, shape).astype("float32")
    original = pixels.copy()
    ours = imagenet_utils.preprocess_input(pixels, data_format=data_format, mode=mode)
    np.testing.assert_array_equal(pixels, original)  # never modified in place (Keras's NumPy path does)
    expected = keras_utils.preprocess_input(pixels.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-4)
    assert ours.dtype == np.float32
    tensor = imagenet_utils.preprocess_input(nn.Tensor(original), data_format=data_format, mode=mode)
    np.testing.assert_allclose(tensor.numpy(), ours, rtol=1e-6)


def test_preprocess_input_caffe_by_hand():
    x = vgg16.preprocess_input(np.array([[[[10, 20, 30]]]], dtype=np.uint8))
    np.testing.assert_allclose(x[0, 0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68], rtol=1e-6)
    with pytest.raises(ValueError, match="expected 3 color channels"):
        vgg16.preprocess_input(np.zeros((2, 4, 4, 1)))


def test_decode_predictions_is_keras(tmp_path, monkeypatch):
    from keras.src.applications import imagenet_utils as keras_utils

    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    preds = np.random.default_rng(0).random((3, 1000)).astype("float32")
    monkeypatch.setattr(keras_utils, "CLASS_INDEX", index)  # Keras would download it
    expected = keras_utils.decode_predictions(preds, top=4)
    path = tmp_path / "imagenet_class_index.json"
    path.write_text(json.dumps(index))
    for source in (path, index):
        ours = vgg16.decode_predictions(preds, top=4, class_index=source)
        assert [[(a, b) for a, b, _ in row] for row in ours] == [[(a, b) for a, b, _ in row] for row in expected]
        np.testing.assert_allclose([[s for _, _, s in row] for row in ours],
                                   [[s for _, _, s in row] for row in expected])
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="nablanet downloads nothing.*imagenet_class_index.json"):
        vgg16.decode_predictions(preds)
    (tmp_path / "empty" / "models").mkdir(parents=True)
    (tmp_path / "empty" / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    assert vgg16.decode_predictions(preds, top=1)[0][0][:2] == tuple(expected[0][0][:2])
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        vgg16.decode_predictions(preds[:, :10])
