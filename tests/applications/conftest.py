"""Every application test runs offline: Keras's download address points at a folder that does
not exist, so `weights="imagenet"` without a cached file fails instead of fetching."""

import pytest

from nablanet.applications import weights


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
