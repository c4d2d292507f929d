"""Weight import from Keras and PyTorch files: layouts, matching by name and by position, and
the files that must be refused with a clear message."""

import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers
from nablanet.applications import VGG16
from nablanet.saving import SavingError
from nablanet.saving.interop import import_weights

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
pytest.importorskip("h5py")
safetensors_torch = pytest.importorskip("safetensors.torch")


def keras_model(names=True):
    """Keras: a nested Sequential (Conv2D, BatchNormalization) inside a functional model."""
    name = (lambda n: n) if names else (lambda n: None)
    block = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(4, 3, name=name("conv")),
                              keras.layers.BatchNormalization(name=name("bn"))], name=name("block"))
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Flatten()(block(inputs))
    outputs = keras.layers.Dense(3, name=name("head"))(x)
    return keras.Model(inputs, outputs)


def our_model(names=True):
    name = (lambda n: n) if names else (lambda n: None)
    block = nn.Sequential([nn.Input((6, 6, 2)), layers.Conv2D(4, 3, name=name("conv")),
                           layers.BatchNormalization(name=name("bn"))], name=name("block"))
    inputs = nn.Input((6, 6, 2))
    x = layers.Flatten()(block(inputs))
    return nn.Model(inputs, layers.Dense(3, name=name("head"))(x))


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """The Keras model, trained a little (so BatchNormalization's statistics are not the
    defaults), in its three formats, with its predictions in inference mode."""
    directory = tmp_path_factory.mktemp("keras_files")
    keras.utils.set_random_seed(0)
    model = keras_model()
    x = np.random.default_rng(0).standard_normal((16, 6, 6, 2)).astype("float32")
    model.compile("adam", "mse")
    model.fit(x * 3 + 1, np.ones((16, 3)), epochs=2, verbose=0)
    paths = {"weights.h5": directory / "m.weights.h5", "keras": directory / "m.keras", "h5": directory / "m.h5"}
    model.save_weights(paths["weights.h5"])
    model.save(paths["keras"])  # with the optimizer's state, which is not a layer's
    model.save(paths["h5"])
    return paths, x, np.asarray(model.predict(x, verbose=0))


@pytest.mark.parametrize("kind", ["weights.h5", "keras", "h5"])
@pytest.mark.parametrize("names", [True, False], ids=["by name", "by position"])
def test_nested_keras_model_with_batchnorm(keras_files, kind, names):
    """Same names: matched by name. Other names (automatic ones): matched by Keras's keys
    (`layers/sequential/layers/conv2d`) in Keras 3 files, by order in legacy ones."""
    paths, x, expected = keras_files
    ours = our_model(names)
    assert ours.load_weights(paths[kind]) == []
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_a_layer_whose_shape_differs_is_named_with_both_shapes(keras_files):
    paths, _, _ = keras_files
    wider = nn.Sequential([nn.Input((6, 6, 2)), layers.Conv2D(5, 3, name="conv"),
                           layers.BatchNormalization(name="bn")], name="block")
    inputs = nn.Input((6, 6, 2))
    model = nn.Model(inputs, layers.Dense(3, name="head")(layers.Flatten()(wider(inputs))))
    before = model.get_weights()
    for kind in ("weights.h5", "h5"):
        with pytest.raises(SavingError, match=r"layer 'conv': weight 'kernel' has shape \(3, 3, 2, 5\) in the "
                                              r"model but \(3, 3, 2, 4\) in the file"):
            model.load_weights(paths[kind])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing was half-loaded
    problems = model.load_weights(paths["weights.h5"], skip_mismatch=True)
    assert len(problems) == 3  # conv, bn (5 features) and head (80 inputs) do not fit


def test_skip_mismatch_loads_the_layers_that_fit(keras_files):
    paths, _, _ = keras_files
    model = our_model()
    reference = our_model()
    reference.load_weights(paths["h5"])
    inputs = nn.Input((6, 6, 2))
    block = model.layers[1]
    other_head = nn.Model(inputs, layers.Dense(4, name="head")(layers.Flatten()(block(inputs))))
    problems = other_head.load_weights(paths["keras"], skip_mismatch=True)
    assert problems == [("layer 'head': weight 'kernel' has shape (64, 4) in the model but (64, 3) in the "
                         "file (matched by Keras's layer keys)")]
    for a, b in zip(block.get_weights(), reference.layers[1].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_file_from_another_architecture_is_refused(keras_files, tmp_path):
    paths, _, _ = keras_files
    other = nn.Sequential([nn.Input((4,)), layers.Dense(8), layers.Dense(8), layers.Dense(2)])
    for kind in paths:
        with pytest.raises(SavingError, match="holds the weights of a different architecture: the model has 3 "
                                              "layers with weights"):
            other.load_weights(paths[kind])
    vgg = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    with pytest.raises(SavingError, match="different architecture: the model has 13 layers with weights"):
        vgg.load_weights(paths["weights.h5"])
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    safetensors_torch.save_file(mlp.state_dict(), tmp_path / "mlp.safetensors")
    with pytest.raises(SavingError, match="layer 'block1_conv1': the file has no module 'features.0'"):
        vgg.load_weights(tmp_path / "mlp.safetensors")
    with pytest.raises(SavingError, match="holds 2 PyTorch modules with weights .* the model 3 layers"):
        other.load_weights(tmp_path / "mlp.safetensors")


def test_pickles_are_refused_and_never_opened(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (print, (f"this must never run: {marker}",))

    model = nn.Sequential([nn.Input((4,)), layers.Dense(2)])
    state = torch.nn.Linear(4, 2).state_dict()
    torch.save(state, tmp_path / "model.pt")  # a zip holding data.pkl
    torch.save(state, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)  # a bare pickle
    (tmp_path / "evil.pth").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "odd.bin").write_bytes(b"garbage that is no known format")
    for name in ("model.pt", "legacy.pth", "evil.pth", "odd.bin"):
        with pytest.raises(SavingError, match="never unpickles.*save_file\\(model.state_dict\\(\\), "
                                              "'x.safetensors'\\)"):
            model.load_weights(tmp_path / name)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(SavingError, match="neither a nablanet nor a Keras archive"):
        model.load_weights(tmp_path / "other.zip")


class TorchNet(torch.nn.Module):
    """Conv2d, BatchNorm2d, Linear after a channels-first flatten, LayerNorm; and Conv1d."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.norm = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 5 * 6, 7)
        self.layer_norm = torch.nn.LayerNorm(7)

    def forward(self, x):
        x = torch.relu(self.norm(self.conv(x)))
        return self.layer_norm(self.fc(torch.flatten(x, 1)))


def test_torch_layouts_for_conv_batchnorm_linear_and_layernorm(tmp_path):
    torch.manual_seed(0)
    net = TorchNet()
    with torch.no_grad():  # statistics other than the defaults
        net.norm.running_mean.uniform_(-1, 1)
        net.norm.running_var.uniform_(0.5, 2)
        net.norm.weight.uniform_(0.5, 2)
        net.norm.bias.uniform_(-1, 1)
        net.layer_norm.weight.uniform_(0.5, 2)
    net.eval()
    safetensors_torch.save_file(net.state_dict(), tmp_path / "net.safetensors")
    ours = nn.Sequential([nn.Input((5, 6, 3)), layers.Conv2D(4, 3, padding="same", name="c"),
                          layers.BatchNormalization(epsilon=1e-5, name="n"), layers.Activation("relu"),
                          layers.Flatten(), layers.Dropout(0.1), layers.Dense(7, name="f"),
                          layers.LayerNormalization(epsilon=1e-5, name="l")])
    names = {"c": "conv", "n": "norm", "f": "fc", "l": "layer_norm"}
    assert import_weights(ours, tmp_path / "net.safetensors", names=names) == []
    x = np.random.default_rng(0).standard_normal((3, 5, 6, 3)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(SavingError, match="in the order of their names; .*pass names="):
        ours.load_weights(tmp_path / "net.safetensors")  # names that sort otherwise: conv, fc, layer_norm, norm


def test_torch_sequential_in_order_and_conv1d(tmp_path):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Conv1d(3, 5, 3), torch.nn.ReLU(), torch.nn.Conv1d(5, 2, 2, groups=1),
                              torch.nn.Flatten(), torch.nn.Linear(2 * 6, 4)).eval()
    for i in range(8, 11):  # 0, 2, 4 then 10: "10" must sort after "4"
        net.append(torch.nn.Identity()) if i < 10 else net.append(torch.nn.Linear(4, 3))
    safetensors_torch.save_file(net.state_dict(), tmp_path / "seq.safetensors")
    ours = nn.Sequential([nn.Input((9, 3)), layers.Conv1D(5, 3, activation="relu"), layers.Conv1D(2, 2),
                          layers.Permute((2, 1)), layers.Flatten(), layers.Dense(4), layers.Dense(3)])
    ours.load_weights(tmp_path / "seq.safetensors")
    x = np.random.default_rng(1).standard_normal((2, 9, 3)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x.transpose(0, 2, 1).copy())).numpy()
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_missing_h5py_is_explained(keras_files, monkeypatch):
    paths, _, _ = keras_files
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(SavingError, match=r"needs h5py: pip install 'nablanet\[h5\]'"):
        our_model().load_weights(paths["weights.h5"])


def test_importing_nablanet_does_not_import_h5py():
    code = "import sys, nablanet, nablanet.applications, nablanet.saving.interop; print('h5py' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("kind", ["weights.h5", "h5"])
@pytest.mark.parametrize("names", [True, False], ids=["by name", "by position"])
def test_recurrent_layers_from_keras_files(tmp_path, kind, names):
    """An LSTM keeps its weights in its `cell`, a Bidirectional in `forward_layer` and
    `backward_layer`: Keras 3 files nest them by attribute, legacy files list them in order."""
    name = (lambda n: n) if names else (lambda n: None)
    keras.utils.set_random_seed(2)
    inputs = keras.Input((5, 3))
    x = keras.layers.LSTM(4, return_sequences=True, name=name("lstm"))(inputs)
    x = keras.layers.Bidirectional(keras.layers.GRU(2), name=name("bi"))(x)
    theirs = keras.Model(inputs, keras.layers.Dense(1, name=name("out"))(x))
    path = tmp_path / f"rnn.{kind}"
    theirs.save_weights(path) if kind == "weights.h5" else theirs.save(path)
    inputs = nn.Input((5, 3))
    x = layers.LSTM(4, return_sequences=True, name=name("lstm"))(inputs)
    x = layers.Bidirectional(layers.GRU(2), name=name("bi"))(x)
    ours = nn.Model(inputs, layers.Dense(1, name=name("out"))(x))
    assert ours.load_weights(path) == []
    x = np.random.default_rng(2).standard_normal((3, 5, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-5)


def test_torch_embedding(tmp_path):
    """Embedding tables share PyTorch's layout; a sequence flattened as (steps, features) is in
    the same order in both (only image features are flattened channels first by PyTorch)."""
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Flatten(), torch.nn.Linear(12, 2)).eval()
    safetensors_torch.save_file(net.state_dict(), tmp_path / "embedding.safetensors")
    ours = nn.Sequential([nn.Input((3,), dtype="int32"), layers.Embedding(10, 4), layers.Flatten(), layers.Dense(2)])
    ours.load_weights(tmp_path / "embedding.safetensors")
    tokens = np.array([[1, 5, 9], [0, 2, 2]])
    with torch.no_grad():
        expected = net(torch.from_numpy(tokens)).numpy()
    np.testing.assert_allclose(ours.predict(tokens, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_keras_2_weights_only_files(tmp_path):
    """The layout of the weights Keras publishes (Keras 2's `save_weights` to .h5: `layer_names`
    at the root), written by Keras's own legacy writer, and with Keras 1's weight names."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(4)
    theirs = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="block1_conv1"),
                               keras.layers.MaxPooling2D(name="block1_pool"), keras.layers.Flatten(name="flatten"),
                               keras.layers.Dense(2, name="fc1")])
    with h5py.File(tmp_path / "keras2.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, theirs)
    with h5py.File(tmp_path / "keras1.h5", "w") as f:  # as in vgg16_weights_tf_dim_ordering_tf_kernels.h5
        f.attrs["layer_names"] = [b"input_1", b"block1_conv1", b"block1_pool", b"flatten", b"fc1"]
        for layer in theirs.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}_{'Wb'[i]}_1:0".encode() for i in range(len(layer.weights))]
            group.attrs["weight_names"] = names
            for name, w in zip(names, layer.weights):
                group.create_dataset(name.decode(), data=np.asarray(w.numpy()))
        f.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S1")
    x = np.random.default_rng(4).standard_normal((2, 8, 8, 3)).astype("float32")
    for name in ("keras2.h5", "keras1.h5"):
        ours = nn.Sequential([nn.Input((8, 8, 3)), layers.Conv2D(4, 3, name="block1_conv1"),
                              layers.MaxPooling2D(name="block1_pool"), layers.Flatten(), layers.Dense(2, name="fc1")])
        assert ours.load_weights(tmp_path / name) == []
        np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)),
                                   rtol=1e-5, atol=1e-6)


# -- Keras files: matched by structure, as Keras matches them ------------------------------------

@pytest.mark.parametrize("kind", ["weights.h5", "h5"])
def test_keras_files_are_matched_by_structure_not_by_names(tmp_path, kind):
    """Keras keys a layer by its place in the model (`layers/dense`, `layers/dense_1`), never by
    its name: two Dense layers created in the other order swap their automatic names, and each
    must still get the weights of its place, as Keras gives them."""
    keras.utils.set_random_seed(5)
    first, second = keras.layers.Dense(3, name="dense"), keras.layers.Dense(3, name="dense_1")
    inputs = keras.Input((3,))
    theirs = keras.Model(inputs, second(keras.activations.relu(first(inputs))))
    path = tmp_path / f"d.{kind}"
    theirs.save_weights(path) if kind == "weights.h5" else theirs.save(path)
    top, bottom = layers.Dense(3, name="dense"), layers.Dense(3, name="dense_1")  # the names swapped
    inputs = nn.Input((3,))
    ours = nn.Model(inputs, top(layers.Activation("relu")(bottom(inputs))))
    assert ours.load_weights(path) == []
    x = np.random.default_rng(5).standard_normal((4, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-6)


def test_layer_names_are_the_fallback_when_the_structure_differs(keras_files):
    paths, x, expected = keras_files
    inputs = nn.Input((6, 6, 2))  # conv and bn by themselves, not in a nested Sequential
    x_ = layers.BatchNormalization(name="bn")(layers.Conv2D(4, 3, name="conv")(inputs))
    flat = nn.Model(inputs, layers.Dense(3, name="head")(layers.Flatten()(x_)))
    for kind in ("weights.h5", "keras"):
        assert flat.load_weights(paths[kind]) == []
        np.testing.assert_allclose(flat.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(SavingError, match="names= applies to PyTorch state dicts, and .* is a Keras file"):
        flat.load_weights(paths["keras"], names={"conv": "0"})


# -- PyTorch: the flatten order -------------------------------------------------------------------

def conv_flatten_mlp():
    """Conv2d, flatten (channels first), Linear, Linear: modules 0, 3 and 5."""
    torch.manual_seed(6)
    T = torch.nn
    return T.Sequential(T.Conv2d(2, 3, 3, padding=1), T.ReLU(), T.Flatten(), T.Linear(60, 6), T.ReLU(),
                        T.Linear(6, 2)).eval()


class SubclassedConvNet(nn.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")
        self.flatten = layers.Flatten()
        self.fc1 = layers.Dense(6, activation="relu", name="fc1")
        self.fc2 = layers.Dense(2, name="fc2")

    def call(self, inputs):
        return self.fc2(self.fc1(self.flatten(self.conv(inputs))))


def test_a_flatten_that_cannot_be_traced_is_asked_for(tmp_path):
    """A subclassed model records no graph, so where its Flatten is cannot be known: loading
    stops and asks for `flatten_from` (fc2 reads fc1's 6 outputs: nothing to ask there)."""
    net = conv_flatten_mlp()
    safetensors_torch.save_file(net.state_dict(), tmp_path / "net.safetensors")
    x = np.random.default_rng(6).standard_normal((2, 4, 5, 2)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    ours = SubclassedConvNet()
    ours(x)
    before = ours.get_weights()
    with pytest.raises(SavingError, match=r"layer 'fc1' reads 60 features from module '3', and nablanet cannot "
                                          r"tell .* subclassed model .* flatten_from=\{'fc1': \(height, width, "
                                          r"channels\)\}"):
        ours.load_weights(tmp_path / "net.safetensors")
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(SavingError, match=r"layer 'fc1' reads 60 features, but flatten_from gives it \(4, 5, 2\)"):
        ours.load_weights(tmp_path / "net.safetensors", flatten_from={"fc1": (4, 5, 2)})
    assert ours.load_weights(tmp_path / "net.safetensors", flatten_from={"fc1": (4, 5, 3)}) == []
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_flattens_are_traced_through_reshape_and_nested_models(tmp_path):
    net = conv_flatten_mlp()
    safetensors_torch.save_file(net.state_dict(), tmp_path / "net.safetensors")
    x = np.random.default_rng(7).standard_normal((2, 4, 5, 2)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    inputs = nn.Input((4, 5, 2))
    h = layers.Reshape((60,))(layers.Conv2D(3, 3, padding="same", activation="relu")(inputs))
    reshaped = nn.Model(inputs, layers.Dense(2)(layers.Dense(6, activation="relu")(h)))
    base = nn.Sequential([nn.Input((4, 5, 2)), layers.Conv2D(3, 3, padding="same", activation="relu", name="c"),
                          layers.Flatten()], name="base")
    head = nn.Sequential([nn.Input((60,)), layers.Dense(6, activation="relu", name="f1"), layers.Dense(2, name="f2")],
                         name="head")
    inputs = nn.Input((4, 5, 2))
    nested = nn.Model(inputs, head(base(inputs)))
    assert reshaped.load_weights(tmp_path / "net.safetensors") == []
    assert nested.load_weights(tmp_path / "net.safetensors", names={"c": "0", "f1": "3", "f2": "5"}) == []
    for model in (reshaped, nested):
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    head_alone = nn.Sequential([nn.Input((60,)), layers.Dense(6, name="f1")])  # fed from outside
    problems = head_alone.load_weights(tmp_path / "net.safetensors", names={"f1": "3"}, skip_mismatch=True)
    assert "layer 'f1' reads 60 features" in problems[0] and "it reads the model's input" in problems[0]


def test_batchnorm_of_flattened_features_is_reordered_too(tmp_path):
    torch.manual_seed(8)
    T = torch.nn
    net = T.Sequential(T.Conv2d(2, 3, 3, padding=1), T.Flatten(), T.BatchNorm1d(60), T.Linear(60, 2)).eval()
    with torch.no_grad():
        for tensor in (net[2].weight, net[2].bias, net[2].running_mean, net[2].running_var):
            tensor.uniform_(0.5, 2)
    safetensors_torch.save_file(net.state_dict(), tmp_path / "net.safetensors")
    ours = nn.Sequential([nn.Input((4, 5, 2)), layers.Conv2D(3, 3, padding="same"), layers.Flatten(),
                          layers.BatchNormalization(epsilon=1e-5), layers.Dense(2)])
    assert ours.load_weights(tmp_path / "net.safetensors") == []
    x = np.random.default_rng(8).standard_normal((2, 4, 5, 2)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_subclassed_models_without_convolutions_load_as_they_are(tmp_path):
    torch.manual_seed(9)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2)).eval()
    safetensors_torch.save_file(net.state_dict(), tmp_path / "mlp.safetensors")

    class MLP(nn.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = layers.Dense(5, activation="relu"), layers.Dense(2)

        def call(self, inputs):
            return self.b(self.a(inputs))

    ours = MLP()
    x = np.random.default_rng(9).standard_normal((3, 4)).astype("float32")
    ours(x)
    assert ours.load_weights(tmp_path / "mlp.safetensors") == []
    with torch.no_grad():
        np.testing.assert_allclose(ours.predict(x, verbose=0), net(torch.from_numpy(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_torch_normalization_into_another_epsilon_warns(tmp_path):
    T = torch.nn
    net = T.Sequential(T.Linear(4, 3), T.BatchNorm1d(3), T.LayerNorm(3))
    safetensors_torch.save_file(net.state_dict(), tmp_path / "norm.safetensors")
    ours = nn.Sequential([nn.Input((4,)), layers.Dense(3), layers.BatchNormalization(name="bn"),
                          layers.LayerNormalization(epsilon=1e-5, name="ln")])
    with pytest.warns(UserWarning, match=r"layer 'bn' \(BatchNormalization\) has epsilon 0.001, but PyTorch's "
                                         r"BatchNorm defaults to eps=1e-5") as record:
        ours.load_weights(tmp_path / "norm.safetensors")
    assert len(record) == 1  # not for the LayerNormalization built with PyTorch's epsilon


# -- what a file may hold, and failed loads --------------------------------------------------------

def two_dense():
    return nn.Sequential([nn.Input((4,)), layers.Dense(3, name="a"), layers.Dense(2, name="b")])


def legacy_file(path, kernel_b):
    """A legacy HDF5 file for `two_dense` whose kernel of 'b' `kernel_b(group, name)` writes."""
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"a", b"b"]
        group = f.create_group("a")
        group.attrs["weight_names"] = [b"a/kernel:0", b"a/bias:0"]
        group["a/kernel:0"], group["a/bias:0"] = np.ones((4, 3), "f4"), np.ones(3, "f4")
        group = f.create_group("b")
        group.attrs["weight_names"] = [b"b/kernel:0", b"b/bias:0"]
        kernel_b(group, "b/kernel:0")
        group["b/bias:0"] = np.ones(2, "f4")


def test_hdf5_datasets_must_be_numbers_stored_in_the_file(tmp_path):
    import h5py

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.ones((3, 2), "f4")

    def virtual(group, name):
        layout = h5py.VirtualLayout(shape=(3, 2), dtype="f4")
        layout[:] = h5py.VirtualSource(str(tmp_path / "other.h5"), "x", shape=(3, 2))
        group.create_virtual_dataset(name, layout)

    def through_a_link(group, name):  # "b/kernel:0" is kernel:0 in group b, here linked elsewhere
        group.file.create_group("elsewhere")["kernel:0"] = np.ones((3, 2), "f4")
        group["b"] = h5py.SoftLink("/elsewhere")

    cases = {
        "holds |S1, not floats or integers": lambda g, n: g.create_dataset(n, data=np.array([[b"x"] * 2] * 3)),
        "holds complex128": lambda g, n: g.create_dataset(n, data=np.ones((3, 2), complex)),
        "holds bool": lambda g, n: g.create_dataset(n, data=np.ones((3, 2), bool)),
        r"holds \[\('p', '<f4'\)": lambda g, n: g.create_dataset(n, data=np.zeros((3, 2), [("p", "f4"), ("q", "i4")])),
        "holds object": lambda g, n: g.create_dataset(n, data=g.file["a"].ref),
        "keeps its data outside the file \\(in external files\\)": lambda g, n: g.create_dataset(
            n, shape=(3, 2), dtype="u1", external=[(str(secret), 0, 6)]),
        "outside the file \\(as a virtual dataset\\)": virtual,
        "is a SoftLink to somewhere else": lambda g, n: g.__setitem__(n, h5py.SoftLink("/a/a/kernel:0")),
        "is a ExternalLink to somewhere else": lambda g, n: g.__setitem__(n, h5py.ExternalLink("other.h5", "x")),
        "is a Group, not a Dataset": lambda g, n: g.create_group(n),
        "/b/b is a SoftLink to somewhere else": through_a_link,
    }
    model = two_dense()
    before = model.get_weights()
    for message, kernel_b in cases.items():
        legacy_file(tmp_path / "bad.h5", kernel_b)
        with pytest.raises(SavingError, match=message):
            model.load_weights(tmp_path / "bad.h5", skip_mismatch=True)
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_torch_file_that_fails_late_assigns_nothing(tmp_path):
    state = {"0.weight": torch.ones(3, 4), "0.bias": torch.ones(3), "1.weight": torch.ones(2, 3, dtype=torch.bool),
             "1.bias": torch.ones(2)}
    safetensors_torch.save_file(state, tmp_path / "bool.safetensors")
    model = two_dense()
    before = model.get_weights()
    with pytest.raises(SavingError, match="layer 'b': weight 'kernel' has dtype bool in the file, not floats"):
        model.load_weights(tmp_path / "bool.safetensors")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # not even layer 'a', which came first and fit


def test_datasets_are_read_only_when_they_fit_the_model(tmp_path, monkeypatch):
    """Shapes are checked against the model before any data is read: a file that declares a huge
    dataset (144 MB here, a few KB on disk) costs nothing unless the model has a place for it."""
    import tracemalloc

    import h5py

    from nablanet.saving import interop

    def huge(group, name):
        group.create_dataset(name, shape=(6000, 6000), dtype="f4", chunks=(1000, 1000), compression="gzip")

    legacy_file(tmp_path / "huge.h5", huge)
    with h5py.File(tmp_path / "huge.h5", "a") as f:
        f.attrs["layer_names"] = [b"a", b"b", b"junk"]
        huge(f.create_group("junk"), "w")
        f["junk"].attrs["weight_names"] = [b"w"]
    model = two_dense()
    tracemalloc.start()
    try:
        problems = model.load_weights(tmp_path / "huge.h5", skip_mismatch=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    assert "weight 'kernel' has shape (3, 2) in the model but (6000, 6000) in the file" in problems[0]
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), np.ones((4, 3)))
    monkeypatch.setattr(interop, "INFLATION_FLOOR", 1 << 20)
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * (4 << 20))
    with pytest.raises(SavingError, match=r"entry model.weights.h5 inflates to 4194304 bytes from \d+, more than"):
        model.load_weights(tmp_path / "bomb.keras")
