"""Where an application's weights come from: Keras's ImageNet files, found in Keras's cache folder
(`$KERAS_HOME/models`, else `~/.keras/models`) or downloaded from the address Keras downloads them
from and checked against Keras's hash; or a file the user names.

Nothing is fetched when a module is imported: only `weights="imagenet"` asks for a file, and only
when Keras's cache lacks it (or holds a copy whose hash is not Keras's).
"""

import os

# Keras's applications download from this host; each family names its file's path below it.
STORAGE = "https://storage.googleapis.com/"
KERAS_APPLICATIONS = "tensorflow/keras-applications/"


def origin(url_path):
    """The address Keras downloads `url_path` from (`STORAGE` + the path)."""
    return STORAGE + url_path


def check_weights(where, weights):
    """Keras's rule: None, "imagenet" or the path of an existing file."""
    if not (weights is None or weights == "imagenet" or isinstance(weights, (str, os.PathLike))):
        raise ValueError(f"{where}: weights must be None, 'imagenet' or the path to a weights file, "
                         f"got {weights!r}")
    if weights not in (None, "imagenet") and not os.path.exists(weights):
        raise ValueError(f"{where}: the weights file {os.fspath(weights)!r} does not exist; pass an existing "
                         "file, 'imagenet' or None")


def imagenet_file(where, url_path, file_hash, filename=None):
    """The local path of Keras's ImageNet weight file `url_path` (below `STORAGE`): the copy in
    Keras's cache (named `filename`, by default as in the address) when its hash is `file_hash`,
    else one downloaded there (and checked).

    Raises:
        FileNotFoundError: the file is not cached and cannot be downloaded; the message names the
            file, the place looked at and the address to fetch it from.
        ValueError: the cached copy does not match Keras's hash and cannot be downloaded again,
            or a download does not match it.
    """
    from nablanet.utils.file_utils import get_file, keras_home, validate_file

    filename = filename or url_path.rsplit("/", 1)[-1]
    url = origin(url_path)
    path = os.path.join(os.path.expanduser(keras_home()), "models", filename)
    cached = os.path.exists(path)
    if cached and (file_hash is None or validate_file(path, file_hash)):  # Keras gives no hash for some files
        return path
    try:
        return get_file(filename, url, cache_subdir="models", file_hash=file_hash)
    except OSError as error:
        how = (f"download {url} yourself and put it at {path} (or anywhere, and pass weights=<its path>), "
               "or pass weights=None for random weights")
        if cached:
            from nablanet.utils.file_utils import hash_file

            algorithm = "sha256" if len(file_hash) == 64 else "md5"
            raise ValueError(f"{where}: {path} is not Keras's {filename} (its {algorithm.upper()} is "
                             f"{hash_file(path, algorithm)}, Keras's is {file_hash}), and downloading it again "
                             f"failed ({error}); {how}") from None
        raise FileNotFoundError(f"{where}: weights='imagenet' reads Keras's file {filename}, which is not in "
                                f"Keras's cache (looked at {path}), and downloading it failed ({error}); "
                                f"{how}") from None


def resolve(weights, where, url_path=None, file_hash=None, filename=None):
    """What `weights` names, as a path (or None): "imagenet" becomes Keras's file `url_path`
    (see `imagenet_file`), found or fetched before the model is built, so that a missing file
    fails fast."""
    if weights != "imagenet":
        return weights
    if url_path is None:
        raise ValueError(f"{where}: Keras publishes no ImageNet weights for this configuration; pass "
                         "weights=None or the path to a weights file")
    return imagenet_file(where, url_path, file_hash, filename)


def load_weights(model, weights, where, url_path=None, file_hash=None, filename=None):
    """Load `weights` into `model`: None leaves it random, "imagenet" reads Keras's file
    `url_path` (see `resolve`), anything else is a path `nablanet.saving` reads (Keras's legacy
    HDF5 files, matched layer by layer and else by layer name; `.weights.h5`; `.keras`;
    safetensors)."""
    weights = resolve(weights, where, url_path, file_hash, filename)
    if weights is None:
        return model
    from nablanet.saving.interop import import_weights

    import_weights(model, weights)
    return model
