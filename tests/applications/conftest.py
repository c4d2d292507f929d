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
