"""Hostile `.keras` files: refused with a message naming the file and the reason, before anything
is imported, run or allocated."""

import io
import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers
from nablanet.saving import SavingError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

X = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)


def saved(tmp_path):
    model = nn.Sequential([layers.Input((6,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.zeros((4, 2), np.float32), verbose=0)
    return model, model.save(tmp_path / "good.keras")


def rewritten(path, out, mutate=None, entries=None):
    """A copy of a .keras archive as Keras would write it (no nablanet.json), with its config
    changed by `mutate` and entries replaced by `entries`."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist() if name != "nablanet.json"}
    if mutate is not None:
        config = json.loads(contents["config.json"])
        mutate(config)
        contents["config.json"] = json.dumps(config).encode()
    contents.update(entries or {})
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return out


def dense(config, index=1):
    return config["config"]["layers"][index]


def test_names_outside_the_allowlist_are_refused_and_never_imported(tmp_path):
    _, path = saved(tmp_path)
    cases = {
        "'system' \\(from module 'os'": lambda c: dense(c).update(class_name="system", module="os"),
        "'Dense' \\(from module 'subprocess'": lambda c: dense(c).update(module="subprocess"),
        "'EvilLayer'": lambda c: dense(c).update(class_name="EvilLayer", module="keras.layers"),
        "'evil_activation'": lambda c: dense(c)["config"].update(activation={
            "module": "builtins", "class_name": "function", "config": "evil_activation", "registered_name": None}),
        "'Pwn'": lambda c: dense(c)["config"].update(kernel_initializer={"module": "keras.initializers",
                                                                        "class_name": "Pwn", "config": {}}),
    }
    for message, mutate in cases.items():
        hostile = rewritten(path, tmp_path / "hostile.keras", mutate)
        with pytest.raises(SavingError, match=f"hostile.keras.*{message}.*neither built into nablanet nor registered"):
            nn.models.load_model(hostile)


def test_lambda_layers_from_keras_are_refused(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t + 1)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(SavingError, match="lambda.keras.*Lambda layer .* refused.*lambda function.*never runs code"):
        nn.models.load_model(tmp_path / "lambda.keras")


@pytest.mark.parametrize("mutate, what", [
    (lambda c: dense(c)["config"].update(units=10**12),
     r"layer 'dense\w*' declares a weight 'kernel' of shape \(6, 1000000000000\) \(24000000000000 bytes\)"),
    (lambda c: dense(c, 2)["config"].update(units=10**9), r"layer 'dense\w*' declares a weight 'kernel' of shape"),
    (lambda c: dense(c, 0)["config"].update(batch_shape=[None, 10**12]), r"input .* declares shape \[None, 10+\]"),
], ids=["dense_units", "second_dense", "input_shape"])
def test_absurd_declared_sizes_are_refused_before_allocating(tmp_path, mutate, what):
    _, path = saved(tmp_path)
    hostile = rewritten(path, tmp_path / "huge.keras", mutate)
    tracemalloc.start()
    try:
        with pytest.raises(SavingError, match=f"huge.keras.*{what}"):
            nn.models.load_model(hostile)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20  # nothing near the declared size was allocated


def test_zip_bombs_are_refused(tmp_path, monkeypatch):
    from nablanet.saving import archive

    _, path = saved(tmp_path)
    monkeypatch.setattr(archive, "INFLATION_FLOOR", 1 << 20)
    for entry in ("config.json", "model.weights.h5"):
        bomb = rewritten(path, tmp_path / "bomb.keras", entries={entry: b"\0" * (8 << 20)})
        with pytest.raises(SavingError, match=f"bomb.keras: entry {entry} inflates to 8388608 bytes"):
            nn.models.load_model(bomb)


def _flips(blob, count):
    for position in range(0, len(blob), max(1, len(blob) // count)):
        damaged = bytearray(blob)
        damaged[position] ^= 0x10
        yield bytes(damaged)


@pytest.mark.parametrize("writer", ["nablanet", "keras"])
def test_truncated_and_bit_flipped_files_are_refused_naming_the_file(tmp_path, writer):
    model, path = saved(tmp_path)
    if writer == "keras":
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.Dense(2)])
        model.save(path)
    with open(path, "rb") as handle:
        blob = handle.read()
    expected = np.asarray(model.predict(X, verbose=0))
    for cut in (10, len(blob) // 3, len(blob) // 2, len(blob) - 30):
        (tmp_path / "cut.keras").write_bytes(blob[:cut])
        with pytest.raises(SavingError, match="cut.keras"):
            nn.models.load_model(tmp_path / "cut.keras")
    refused = 0
    for damaged in _flips(blob, 60):
        (tmp_path / "flip.keras").write_bytes(damaged)
        try:
            loaded = nn.models.load_model(tmp_path / "flip.keras")
        except SavingError as error:
            assert "flip.keras" in str(error)
            refused += 1
        else:  # the flip hit a byte nothing reads (a zip timestamp): the model is intact
            np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, rtol=1e-6, atol=1e-6)
    assert refused >= 45


def test_a_keras_file_with_a_wrong_weight_shape_names_the_layer(tmp_path):
    _, path = saved(tmp_path)
    other = nn.Sequential([layers.Input((6,)), layers.Dense(5), layers.Dense(2)])
    weights = io.BytesIO()
    with zipfile.ZipFile(other.save(tmp_path / "other.keras")) as archive:
        weights.write(archive.read("model.weights.h5"))
    hostile = rewritten(path, tmp_path / "mixed.keras", entries={"model.weights.h5": weights.getvalue()})
    with pytest.raises(SavingError, match=r"mixed.keras.*layer 'dense\w*' weight .* has shape \(6, 5\) in the file, "
                                          r"\(6, 4\) in the model"):
        nn.models.load_model(hostile)


def test_load_weights_checks_the_checksum_nablanet_wrote(tmp_path):
    import h5py

    model, path = saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    weights = io.BytesIO(contents["model.weights.h5"])
    with h5py.File(weights, "r+") as f:
        kernel = [name for name in _datasets(f) if name.startswith("layers/dense/vars/0")][0]
        f[kernel][0, 0] = 1234.0  # one weight changed, the manifest left as it was
    contents["model.weights.h5"] = weights.getvalue()
    with zipfile.ZipFile(tmp_path / "edited.keras", "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    with pytest.raises(SavingError, match=r"load_weights: .*edited\.keras is corrupted: the checksum of model"):
        model.load_weights(tmp_path / "edited.keras")
    assert model.layers[0].kernel.numpy()[0, 0] != 1234.0


def _datasets(f):
    found = []
    f.visit(lambda name: found.append(name))
    return found


def _peak_while_refused(path, match):
    tracemalloc.start()
    try:
        with pytest.raises(SavingError, match=match):
            nn.models.load_model(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_an_older_nablanet_archive_declaring_absurd_sizes_is_refused_before_allocating(tmp_path):
    import hashlib

    source = os.path.join(os.path.dirname(__file__), "data", "old_sequential.nbz")
    with zipfile.ZipFile(source) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(contents["config.json"])
    config["model"]["config"]["layers"][0]["config"]["units"] = 2_000_000
    contents["config.json"] = json.dumps(config).encode()
    manifest = json.loads(contents["nablanet.json"])  # a consistent file: the checksum matches the edit
    manifest["sha256"]["config.json"] = hashlib.sha256(contents["config.json"]).hexdigest()
    contents["nablanet.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "huge.nbz", "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    peak = _peak_while_refused(tmp_path / "huge.nbz", r"huge\.nbz.*declares a weight 'kernel' of shape \(6, 2000000\)")
    assert peak < 20 << 20


def test_a_literal_array_of_a_huge_non_numeric_dtype_is_refused(tmp_path):
    _, path = saved(tmp_path)

    literal = {"class_name": "__numpy__", "config": {"value": ["x"], "dtype": "S60000000"}}
    hostile = rewritten(path, tmp_path / "literal.keras", entries={"config.json": json.dumps(literal).encode()})
    peak = _peak_while_refused(hostile, r"literal\.keras.*literal array of dtype \|S60000000 is not a number array")
    assert peak < 20 << 20


@pytest.mark.parametrize("where", ["input_shape", "build_config"])
def test_an_absurd_input_shape_declared_anywhere_is_refused(tmp_path, where):
    _, path = saved(tmp_path)

    def mutate(config):
        if where == "input_shape":
            dense(config)["config"]["input_shape"] = [6000, 6000]
        else:
            dense(config)["build_config"] = {"input_shape": [None, 6000, 6000]}

    hostile = rewritten(path, tmp_path / "wide.keras", mutate)
    peak = _peak_while_refused(hostile, r"wide\.keras.*declares shape \[(None, )?6000, 6000\] \(144000000 bytes")
    assert peak < 20 << 20


def test_a_config_that_is_not_a_model_is_named(tmp_path):
    _, path = saved(tmp_path)
    hostile = rewritten(path, tmp_path / "layer.keras", entries={"config.json": json.dumps(
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2}, "registered_name": None}).encode()})
    with pytest.raises(SavingError, match=r"layer\.keras: config\.json describes a Dense, not a model"):
        nn.models.load_model(hostile)


def test_an_oversized_optimizer_variable_is_refused_before_reading_it(tmp_path):
    """`optimizer/vars/2` declaring 20,000,000 floats (in a small file: HDF5 need not store an
    unwritten dataset) is refused from its declared shape; its data is never read."""
    import h5py

    _, path = saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        weights = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(weights, "a") as f:
        del f["optimizer/vars/2"]
        f["optimizer/vars"].create_dataset("2", shape=(20_000_000,), dtype="float32")
    assert len(weights.getvalue()) < 64 << 10
    hostile = rewritten(path, tmp_path / "slot.keras", entries={"model.weights.h5": weights.getvalue()})
    tracemalloc.start()
    try:
        with pytest.raises(SavingError, match=r"slot.keras:model.weights.h5: optimizer variable 2 \(2\) has shape "
                                              r"\(20000000,\) .*expects slot_0 of shape \(6, 4\)"):
            nn.models.load_model(hostile)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20  # the declared 80 MB was never allocated


def test_an_optimizer_variable_of_the_wrong_dtype_is_refused(tmp_path):
    import h5py

    _, path = saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        weights = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(weights, "a") as f:
        del f["optimizer/vars/3"]
        f["optimizer/vars"].create_dataset("3", data=np.zeros((6, 4), np.int32))
    hostile = rewritten(path, tmp_path / "ints.keras", entries={"model.weights.h5": weights.getvalue()})
    with pytest.raises(SavingError, match=r"ints.keras.*optimizer variable 3 \(3\) has shape \(6, 4\) and dtype int32"):
        nn.models.load_model(hostile)
