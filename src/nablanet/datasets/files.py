"""Where the datasets come from, and how their files are read without running code from them.

Each file is looked up in Keras's cache folder (`$KERAS_HOME/datasets`, default `~/.keras/datasets`,
where Keras itself keeps them, so a machine that has run Keras loads them offline) and otherwise
downloaded from the origin Keras uses, checked against the same sha256/md5 checksums.

IMDB and Reuters store ragged sequences as NumPy object arrays and CIFAR as Python pickles. nablanet
never unpickles data freely: `SafeUnpickler` builds only NumPy arrays and dtypes (plus the plain
containers, numbers, strings and bytes pickle makes without looking anything up), and refuses every
other global by name, so a tampered file cannot run code.
"""

import io
import os
import pickle
import zipfile

import numpy as np

from nablanet.utils.file_utils import get_file, keras_home

__all__ = ["SOURCES", "DatasetError", "SafeUnpickler", "fetch", "load_npz", "safe_unpickle"]

_TF = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SOURCES = {  # file name -> (origin, checksum) as Keras downloads them
    "mnist.npz": (_TF + "mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),
    "train-labels-idx1-ubyte.gz": (_TF + "train-labels-idx1-ubyte.gz", None),
    "train-images-idx3-ubyte.gz": (_TF + "train-images-idx3-ubyte.gz", None),
    "t10k-labels-idx1-ubyte.gz": (_TF + "t10k-labels-idx1-ubyte.gz", None),
    "t10k-images-idx3-ubyte.gz": (_TF + "t10k-images-idx3-ubyte.gz", None),
    "cifar-10-batches-py-target": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                                   "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    "cifar-100-python-target": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                                "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"),
    "imdb.npz": (_TF + "imdb.npz", "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
    "imdb_word_index.json": (_TF + "imdb_word_index.json", "bfafd718b763782e994055a2d397834f"),
    "reuters.npz": (_TF + "reuters.npz", "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"),
    "reuters_word_index.json": (_TF + "reuters_word_index.json", "4d44cc38712099c9e383dc6e5f11a921"),
    "boston_housing.npz": (_TF + "boston_housing.npz",
                           "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"),
    "california_housing.npz": (_TF + "california_housing.npz",
                               "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"),
}


class DatasetError(OSError):
    """A dataset file that is neither cached nor downloadable, or not in the expected format."""


def fetch(where, key, fname=None, cache_subdir="datasets", extract=False):
    """The local path of the dataset file `key` (named `fname` in the cache): cached, else downloaded."""
    origin, checksum = SOURCES[key]
    fname = fname or key
    try:
        return get_file(fname, origin=origin, file_hash=checksum, cache_subdir=cache_subdir, extract=extract)
    except ValueError as error:  # a checksum that does not match
        raise DatasetError(f"{where}: {error}") from None
    except OSError as error:
        folder = os.path.join(keras_home(), cache_subdir)
        raise DatasetError(
            f"{where}: {fname} is not in Keras's cache folder {folder} and could not be downloaded from {origin} "
            f"({error}). Download it on a machine with network access (or run Keras's load_data there) and copy "
            f"it to {os.path.join(folder, fname)}, or set KERAS_HOME to a folder that holds datasets/{fname}"
        ) from None


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds NumPy arrays and nothing else that needs a lookup."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            if module.startswith("numpy.core.") and hasattr(np, "_core"):
                module = "numpy._core." + module[len("numpy.core."):]  # NumPy 2's home; the old one warns
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"nablanet.datasets: refusing to load {module}.{name} from a data file; "
                                     "only NumPy arrays are allowed")


def safe_unpickle(stream, encoding="bytes"):
    """Read one pickle from `stream` with `SafeUnpickler`."""
    return SafeUnpickler(stream, encoding=encoding).load()


def load_npz(path, where):
    """The arrays of an `.npz` file as a dict; object arrays go through `SafeUnpickler`."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                with archive.open(member) as raw:
                    stream = io.BytesIO(raw.read())
                version = np.lib.format.read_magic(stream)
                shape, fortran, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                         else np.lib.format.read_array_header_2_0)(stream)
                if dtype.hasobject:
                    array = safe_unpickle(stream, encoding="latin1")
                    if not isinstance(array, np.ndarray):
                        raise DatasetError(f"{where}: {path} member {member} is not an array")
                else:
                    stream.seek(0)
                    array = np.lib.format.read_array(stream, allow_pickle=False)
                arrays[member[:-4] if member.endswith(".npy") else member] = array
    except (zipfile.BadZipFile, ValueError, pickle.UnpicklingError, EOFError) as error:
        raise DatasetError(f"{where}: cannot read {path} as an .npz file: {error}") from None
    return arrays


def split(where, x, y, test_split, seed):
    """Keras's shuffle (`np.random.RandomState(seed)`) and train/test cut of `(x, y)`."""
    if not 0 <= test_split < 1:
        raise ValueError(f"{where}: test_split must be in [0, 1), got {test_split}")
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
