"""nablanet.datasets on small files in the real formats, served from 127.0.0.1: the same arrays as
Keras's load_data on the same files, Keras's cache folder read first, checksums, hostile pickles."""

import gzip
import hashlib
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from nablanet import datasets
from nablanet.datasets import files

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _ragged(n, low=1, high=60):
    out = np.empty(n, dtype=object)
    out[:] = [RNG.integers(0, 40, size=int(RNG.integers(low, high))).tolist() for _ in range(n)]
    return out


def _idx(array, labels):
    header = (b"\0\0\x08\x01" + len(array).to_bytes(4, "big")) if labels else (
        b"\0\0\x08\x03" + len(array).to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big"))
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _cifar_pickle(data, labels):
    raw = pickle.dumps({b"batch_label": b"x", b"data": data, labels[0]: labels[1]}, protocol=3)
    # the real files name numpy.core (protocol 3 writes globals as text, so the name can be swapped)
    return raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def _tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _fixtures():
    mnist = {k: RNG.integers(0, 256, size=s).astype(np.uint8) for k, s in
             [("x_train", (6, 28, 28)), ("y_train", (6,)), ("x_test", (3, 28, 28)), ("y_test", (3,))]}
    fashion_x, fashion_y = RNG.integers(0, 256, size=(5, 28, 28)), RNG.integers(0, 10, size=5)
    fashion_tx, fashion_ty = RNG.integers(0, 256, size=(2, 28, 28)), RNG.integers(0, 10, size=2)
    cifar100 = {}
    for split, n in (("train", 7), ("test", 4)):
        data = RNG.integers(0, 256, size=(n, 3072)).astype(np.uint8)
        raw = pickle.dumps({b"data": data, b"fine_labels": RNG.integers(0, 100, n).tolist(),
                            b"coarse_labels": RNG.integers(0, 20, n).tolist()}, protocol=3)
        cifar100[f"cifar-100-python/{split}"] = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    cifar10 = {f"cifar-10-batches-py/data_batch_{i}": _cifar_pickle(
        RNG.integers(0, 256, size=(2, 3072)).astype(np.uint8), (b"labels", RNG.integers(0, 10, 2).tolist()))
        for i in range(1, 6)}
    cifar10["cifar-10-batches-py/test_batch"] = _cifar_pickle(
        RNG.integers(0, 256, size=(3, 3072)).astype(np.uint8), (b"labels", [1, 2, 3]))
    return {
        "mnist.npz": _npz(**mnist),
        "train-labels-idx1-ubyte.gz": _idx(fashion_y, True), "train-images-idx3-ubyte.gz": _idx(fashion_x, False),
        "t10k-labels-idx1-ubyte.gz": _idx(fashion_ty, True), "t10k-images-idx3-ubyte.gz": _idx(fashion_tx, False),
        "cifar-10-batches-py-target": _tar(cifar10),
        "cifar-100-python-target": _tar(cifar100),
        "imdb.npz": _npz(x_train=_ragged(30), y_train=RNG.integers(0, 2, 30), x_test=_ragged(20),
                         y_test=RNG.integers(0, 2, 20)),
        "reuters.npz": _npz(x=_ragged(40), y=RNG.integers(0, 46, 40)),
        "imdb_word_index.json": json.dumps({"the": 1, "film": 2}).encode(),
        "reuters_word_index.json": json.dumps({"said": 1}).encode(),
        "boston_housing.npz": _npz(x=RNG.standard_normal((20, 13)), y=RNG.standard_normal(20)),
        "california_housing.npz": _npz(x=RNG.standard_normal((700, 8)).astype(np.float32),
                                       y=RNG.standard_normal(700).astype(np.float32)),
    }


FIXTURES = _fixtures()


@pytest.fixture
def origin(served, tmp_path, monkeypatch):
    """Every dataset file served locally with its checksum; KERAS_HOME an empty folder."""
    folder, url = served
    for name, data in FIXTURES.items():
        (folder / name).write_bytes(data)
        monkeypatch.setitem(files.SOURCES, name, (url + name, hashlib.sha256(data).hexdigest()))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    return folder


@pytest.fixture
def keras_reads(served, tmp_path, monkeypatch):
    """Keras's load_data pointed at the same files (its get_file answers with the local copy)."""
    folder = tmp_path / "keras_files"
    folder.mkdir()

    def local(fname=None, origin=None, extract=False, **kwargs):
        name = os.path.basename(origin)
        key = {"cifar-10-python.tar.gz": "cifar-10-batches-py-target",
               "cifar-100-python.tar.gz": "cifar-100-python-target"}.get(name, name)
        path = folder / key
        path.write_bytes(FIXTURES[key])
        if extract:
            with tarfile.open(path) as archive:
                archive.extractall(folder / (key + "_x"), filter="data")
            return str(folder / (key + "_x"))
        return str(path)

    for module in ("mnist", "fashion_mnist", "cifar100", "imdb", "reuters", "boston_housing", "california_housing"):
        monkeypatch.setattr(f"keras.src.datasets.{module}.get_file", local)


def _same(ours, theirs):
    assert type(ours) is type(theirs)
    if isinstance(ours, tuple):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    if ours.dtype == object:
        assert [list(x) for x in ours] == [list(x) for x in theirs]
    else:
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name, kwargs", [
    ("mnist", {}), ("fashion_mnist", {}), ("cifar100", {}), ("cifar100", {"label_mode": "coarse"}),
    ("imdb", {}), ("imdb", {"num_words": 20, "skip_top": 3, "maxlen": 30, "seed": 5}),
    ("imdb", {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 25}),
    ("reuters", {}), ("reuters", {"num_words": 15, "maxlen": 40, "test_split": 0.3, "seed": 1, "oov_char": None}),
    ("boston_housing", {}), ("boston_housing", {"test_split": 0.5, "seed": 3}),
    ("california_housing", {}), ("california_housing", {"version": "small", "test_split": 0.25}),
])
def test_load_data_matches_keras_on_the_same_files(origin, keras_reads, name, kwargs):
    ours = getattr(datasets, name).load_data(**kwargs)
    theirs = getattr(keras.datasets, name).load_data(**kwargs)
    _same(ours, theirs)


def test_cifar10_shapes_dtypes_and_values(origin):
    (x_train, y_train), (x_test, y_test) = datasets.cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (10, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (3, 32, 32, 3) and y_test.ravel().tolist() == [1, 2, 3]
    with tarfile.open(fileobj=io.BytesIO(FIXTURES["cifar-10-batches-py-target"])) as archive:
        raw = archive.extractfile("cifar-10-batches-py/test_batch").read()
    data = pickle.loads(raw)[b"data"].reshape(3, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_test, data)


def test_word_indexes_and_label_names(origin):
    assert datasets.imdb.get_word_index() == {"the": 1, "film": 2}
    assert datasets.reuters.get_word_index() == {"said": 1}
    assert datasets.reuters.get_label_names() == keras.datasets.reuters.get_label_names()


def test_files_land_in_keras_cache_and_load_offline(origin, tmp_path):
    datasets.mnist.load_data()
    assert (tmp_path / "home" / "datasets" / "mnist.npz").exists()
    for name in os.listdir(origin):
        os.remove(origin / name)
    assert datasets.mnist.load_data()[0][0].shape == (6, 28, 28)


def test_no_network_and_no_cache_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setitem(files.SOURCES, "boston_housing.npz", ("http://127.0.0.1:9/boston_housing.npz", None))
    with pytest.raises(OSError) as caught:
        datasets.boston_housing.load_data()
    message = str(caught.value)
    assert "boston_housing.load_data" in message and str(tmp_path / "home" / "datasets") in message
    assert "KERAS_HOME" in message and "copy" in message


def test_a_file_that_does_not_match_its_checksum_is_refused(origin, monkeypatch):
    url, _ = files.SOURCES["mnist.npz"]
    monkeypatch.setitem(files.SOURCES, "mnist.npz", (url, "0" * 64))
    with pytest.raises(OSError, match="checksum"):
        datasets.mnist.load_data()


def test_a_pickle_that_would_run_code_is_refused(origin, tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    payload = np.empty(1, dtype=object)
    payload[0] = Evil()
    path = tmp_path / "evil.npz"
    np.savez(path, x=payload, y=np.zeros(1))
    with pytest.raises(files.DatasetError, match="refusing to load"):
        files.load_npz(str(path), "reuters.load_data")
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system|refusing to load nt.system"):
        files.safe_unpickle(io.BytesIO(pickle.dumps(Evil())))


@pytest.mark.parametrize("call, match", [
    (lambda: datasets.cifar100.load_data(label_mode="medium"), "label_mode"),
    (lambda: datasets.boston_housing.load_data(test_split=1.0), "test_split"),
    (lambda: datasets.california_housing.load_data(version="tiny"), "version"),
])
def test_bad_arguments_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()
