"""Every application test runs offline: Keras's download address points at a folder that does
not exist, so `weights="imagenet"` without a cached file fails instead of fetching."""

import pytest

from nablanet.applications import weights


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Keras (torch backend) runs these small models on one thread: threads cost more than they
    save on inputs this small, and the numbers do not change."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch, tmp_path_factory):
    missing = tmp_path_factory.getbasetemp() / "no-such-storage"
    monkeypatch.setattr(weights, "STORAGE", missing.as_uri() + "/")


def save_keras_application_weights(model, path):
    """Write a Keras model's weights as Keras's ImageNet files hold them: legacy HDF5, one group
    per layer under the root's `layer_names`."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return path


def md5(path):
    import hashlib
    import pathlib

    return hashlib.md5(pathlib.Path(path).read_bytes(), usedforsecurity=False).hexdigest()


def randomize(model, seed=0):
    """Give a Keras model's normalizations and biases random values (Keras starts them at 0 and
    1, which would leave them untested); the kernels keep Keras's random initialization."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape, name = tuple(w.shape), w.path.rsplit("/", 1)[-1]
        if name in ("gamma", "moving_variance"):
            w.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif name in ("beta", "moving_mean", "bias"):
            w.assign(rng.normal(0, 0.1, shape).astype("float32"))
    return model


def images(n, size, preprocess, seed=0):
    """Random RGB images in [0, 255], preprocessed for the family."""
    import numpy as np

    pixels = np.random.default_rng(seed).uniform(0, 255, (n, size, size, 3)).astype("float32")
    return preprocess(pixels)


def close(ours, expected):
    """Equal to 1e-4 relative to the largest output (deep networks reach outputs of any scale)."""
    import numpy as np

    scale = float(np.max(np.abs(expected)))
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * scale)


@pytest.fixture
def zero_kernels(monkeypatch):
    """Kernels start at zero instead of random: the architecture tests look at shapes only, and
    drawing tens of millions of random numbers is most of what building a large model costs."""
    import numpy as np

    from nablanet import initializers

    monkeypatch.setattr(initializers.VarianceScaling, "__call__",
                        lambda self, shape, dtype=None: np.zeros(shape, dtype or "float32"))


def keras_reference(name, folder, filename, preprocess):
    """Keras's `name` without the top at its smallest size, with random weights saved as Keras's
    ImageNet file `filename` in `folder`: `(model, path, images, outputs)`."""
    import numpy as np

    from . import architectures

    model = randomize(architectures.build(keras_module().applications, name, "features"))
    folder.mkdir(parents=True, exist_ok=True)
    path = save_keras_application_weights(model, folder / filename)
    size = architectures.SIZES[name]
    x = images(2, size, preprocess)
    return model, path, x, np.asarray(model.predict(x, verbose=0))


def keras_module():
    return pytest.importorskip("keras")


def check_imagenet_weights(name, reference, where, monkeypatch, tmp_path, use_hash, filename=None):
    """`name(weights="imagenet")` without the top: an error naming the file, the place looked at
    and Keras's address `where` while Keras's cache lacks it; Keras's layers and outputs once
    the file (with its hash made Keras's by `use_hash`) is there."""
    import nablanet as nn

    from . import architectures
    from nablanet.applications import weights

    theirs, path, x, expected = reference
    filename = filename or path.name
    size = architectures.SIZES[name]
    build = getattr(nn.applications, name)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"{name}: weights='imagenet' reads Keras's file {filename}, which "
                                               "is not in Keras's cache") as caught:
        build(include_top=False, input_shape=(size, size, 3))
    assert str(tmp_path / "models" / filename) in str(caught.value)
    assert weights.origin(where) in str(caught.value)
    (tmp_path / "models").mkdir(parents=True, exist_ok=True)
    (tmp_path / "models" / filename).write_bytes(path.read_bytes())
    use_hash(md5(path))
    ours = build(include_top=False, input_shape=(size, size, 3))
    assert architectures.layers_of(ours) == architectures.layers_of(theirs)
    close(ours.predict(x, verbose=0), expected)


def check_preprocess_input(module, keras_name):
    """The family's `preprocess_input` is Keras's (both data formats), and the module has Keras's names."""
    import importlib

    import numpy as np

    import nablanet as nn

    theirs = importlib.import_module(f"keras.applications.{keras_name}")
    pixels = np.random.default_rng(1).uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    for data_format in ("channels_last", "channels_first"):
        x = pixels if data_format == "channels_last" else pixels.transpose(0, 3, 1, 2)
        np.testing.assert_allclose(module.preprocess_input(x, data_format=data_format),
                                   theirs.preprocess_input(x.copy(), data_format=data_format), rtol=1e-6, atol=1e-4)
    assert module.decode_predictions is nn.applications.imagenet_utils.decode_predictions
    assert sorted(n for n in dir(theirs) if not n.startswith("_")) == sorted(module.__all__)
