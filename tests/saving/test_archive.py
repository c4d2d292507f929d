"""Saving and loading: round trips, exact resumption, crashes, corruption and hostile files."""

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import nablanet as nn
from nablanet import callbacks, layers
from nablanet.saving import SavingError, register_keras_serializable
from nablanet.saving import safetensors as st

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 6)).astype(np.float32)
Y = RNG.integers(0, 3, 64)


def sequential():
    model = nn.Sequential([layers.Dense(16, activation="relu", input_shape=(6,),
                                        kernel_regularizer="l2", kernel_constraint="max_norm"),
                           layers.Dropout(0.2), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=nn.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", nn.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    return model


def functional():
    a, b = layers.Input(shape=(6,), name="a"), layers.Input(shape=(6,), name="b")
    shared = layers.Dense(8, activation="tanh", name="shared")
    inner = nn.Sequential([layers.Dense(4, input_shape=(16,), name="inner_dense")], name="inner")
    merged = inner(layers.concatenate([shared(a), shared(b)]))
    model = nn.Model([a, b], [layers.Dense(3, activation="softmax", name="label")(merged),
                              layers.Dense(1, name="value")(merged)])
    model.compile(optimizer="rmsprop", loss={"label": "sparse_categorical_crossentropy", "value": "mse"},
                  loss_weights={"label": 1.0, "value": 0.3})
    return model


@register_keras_serializable(package="tests")
def twice(x):
    return x * 2.0


@register_keras_serializable(package="tests")
class Scaled(nn.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = layers.Dense(units)

    def call(self, inputs, training=None):
        return self.dense(inputs) * 0.5

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def predictions(model, x):
    return model.predict(x, verbose=0)


def test_round_trip_keeps_predictions_config_and_compile(tmp_path):
    nn.utils.set_random_seed(0)
    model = sequential()
    model.fit(X, Y, epochs=2, verbose=0)
    path = model.save(tmp_path / "model.keras")  # any extension: always nablanet's archive
    loaded = nn.models.load_model(path)
    np.testing.assert_array_equal(predictions(loaded, X), predictions(model, X))
    assert loaded.get_config() == model.get_config()
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert [m.name for m in loaded.metrics] == ["loss", "compile_metrics"]  # as in Keras: one entry for them all
    logs = loaded.evaluate(X, Y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "top2"}
    assert zipfile.is_zipfile(path)


def test_round_trip_functional_nested_shared_subclassed_and_lambda(tmp_path):
    model = functional()
    model.fit([X, X[::-1]], [Y, X[:, :1]], epochs=1, verbose=0)
    loaded = nn.models.load_model(model.save(tmp_path / "f.nbz"))
    for ours, theirs in zip(predictions(model, [X, X]), predictions(loaded, [X, X])):
        np.testing.assert_array_equal(ours, theirs)
    assert loaded.get_config() == model.get_config()

    scaled = Scaled(units=3)
    scaled(X)
    again = nn.models.load_model(scaled.save(tmp_path / "s.nbz"))
    np.testing.assert_array_equal(predictions(again, X), predictions(scaled, X))

    inputs = layers.Input(shape=(6,))
    with_lambda = nn.Model(inputs, layers.Lambda(twice)(layers.Dense(2)(inputs)))
    again = nn.models.load_model(with_lambda.save(tmp_path / "l.nbz"))
    np.testing.assert_array_equal(predictions(again, X), predictions(with_lambda, X))
    anonymous = nn.Model(inputs, layers.Lambda(lambda t: t + 1)(inputs))
    with pytest.raises(ValueError, match="cannot be saved|register"):
        anonymous.save(tmp_path / "anon.nbz")


def test_fit_four_equals_fit_two_save_load_fit_two(tmp_path):
    nn.utils.set_random_seed(1)
    straight = sequential()
    start = straight.get_weights()
    straight.fit(X, Y, epochs=4, batch_size=16, verbose=0)

    nn.utils.set_random_seed(1)
    first = sequential()
    first.set_weights(start)
    first.fit(X, Y, epochs=2, batch_size=16, verbose=0)
    resumed = nn.models.load_model(first.save(tmp_path / "half.nbz"))
    resumed.fit(X, Y, epochs=4, initial_epoch=2, batch_size=16, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert resumed.optimizer.iterations == straight.optimizer.iterations


class Crash(callbacks.Callback):
    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.at:
            raise RuntimeError("simulated crash")


def test_backup_and_restore_resumes_to_the_same_weights(tmp_path):
    nn.utils.set_random_seed(2)
    straight = sequential()
    start = straight.get_weights()
    straight.fit(X, Y, epochs=4, batch_size=16, verbose=0)

    nn.utils.set_random_seed(2)
    crashing = sequential()
    crashing.set_weights(start)
    backup = callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.fit(X, Y, epochs=4, batch_size=16, verbose=0, callbacks=[backup, Crash(2, 1)])
    assert (tmp_path / "backup" / "latest.nbz").exists()

    nn.utils.set_random_seed(99)  # a fresh process would start elsewhere: the backup restores it
    fresh = sequential()
    history = fresh.fit(X, Y, epochs=4, batch_size=16, verbose=0,
                        callbacks=[callbacks.BackupAndRestore(tmp_path / "backup")])
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only
    for a, b in zip(straight.get_weights(), fresh.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert not (tmp_path / "backup" / "latest.nbz").exists()  # deleted once training finished


def test_weights_by_name_with_mismatches(tmp_path):
    model = sequential()
    path = model.save_weights(tmp_path / "w.safetensors")
    other = sequential()
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    wider = nn.Sequential([layers.Dense(17, input_shape=(6,), name=model.layers[0].name)])
    with pytest.raises(SavingError, match=r"has shape \(6, 16\) in the file, \(6, 17\) in the model"):
        wider.load_weights(path)
    problems = wider.load_weights(path, skip_mismatch=True)
    assert problems


def test_transposed_and_strided_arrays_are_written_in_order(tmp_path):
    kernel = np.arange(12, dtype=np.float32).reshape(3, 4)
    model = nn.Sequential([layers.Dense(3, input_shape=(4,))])
    model.set_weights([kernel.T, np.zeros(3, np.float32)])  # a transposed (Fortran-order) view
    model.layers[0].kernel.data = kernel.T  # keep the strided view as the variable's storage
    path = model.save_weights(tmp_path / "t.safetensors")
    with open(path, "rb") as handle:
        tensors, _ = st.loads(handle.read())
    np.testing.assert_array_equal(tensors[f"{model.layers[0].name}/kernel"], kernel.T)
    np.testing.assert_array_equal(st.loads(st.dumps({"x": kernel[:, ::2]}))[0]["x"], kernel[:, ::2])


def test_truncated_and_bit_flipped_files_raise_the_documented_error(tmp_path):
    model = sequential()
    path = model.save(tmp_path / "m.nbz")
    with open(path, "rb") as handle:
        blob = handle.read()
    for cut in (10, len(blob) // 3, len(blob) - 30):
        (tmp_path / "cut.nbz").write_bytes(blob[:cut])
        with pytest.raises(SavingError, match=r"cut.nbz (is truncated or corrupted|is not a nablanet)"):
            nn.models.load_model(tmp_path / "cut.nbz")
    flips = 0
    for position in range(100, len(blob), max(1, len(blob) // 40)):
        damaged = bytearray(blob)
        damaged[position] ^= 0x10
        (tmp_path / "flip.nbz").write_bytes(bytes(damaged))
        try:
            nn.models.load_model(tmp_path / "flip.nbz")
        except SavingError as error:
            assert "flip.nbz" in str(error)
            flips += 1
    assert flips >= 35  # a flip anywhere in the data is caught (by CRC or SHA-256)


def test_hostile_files_are_rejected_without_running_anything(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.keras").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(SavingError, match="is a Python pickle. nablanet never unpickles"):
        nn.models.load_model(tmp_path / "evil.keras")
    with zipfile.ZipFile(tmp_path / "torch.pt", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(Payload()))
    with pytest.raises(SavingError, match="PyTorch pickle archive"):
        nn.models.load_model(tmp_path / "torch.pt")
    # an archive whose config names something outside the allowlist
    model = sequential()
    good = model.save(tmp_path / "good.nbz")
    with zipfile.ZipFile(good) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    import hashlib
    import json

    config = json.loads(entries["config.json"])
    config["config"]["layers"][1]["class_name"] = "os.system"  # the first layer after the InputLayer
    entries["config.json"] = json.dumps(config).encode()
    manifest = json.loads(entries["nablanet.json"])
    manifest["sha256"]["config.json"] = hashlib.sha256(entries["config.json"]).hexdigest()
    entries["nablanet.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "crafted.nbz", "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="'os.system' that is neither built into nablanet nor registered"):
        nn.models.load_model(tmp_path / "crafted.nbz")
    assert not marker.exists()


def test_keras_files_load_and_weights_files_get_a_pointer(tmp_path):
    keras = pytest.importorskip("keras")
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.save(tmp_path / "k.keras")
    loaded = nn.models.load_model(tmp_path / "k.keras")  # Keras's .keras format is nablanet's too
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    model.save_weights(tmp_path / "k.weights.h5")
    with pytest.raises(SavingError, match="HDF5"):
        nn.models.load_model(tmp_path / "k.weights.h5")


KILL_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import nablanet as nn
    model = nn.Sequential([nn.layers.Dense(256, input_shape=(512,)), nn.layers.Dense(64)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 512)), np.ones((8, 64)), verbose=0)
    path = sys.argv[1]
    model.save(path)
    print("ready", flush=True)
    i = 0
    while True:
        model.layers[0].kernel.assign(np.full((512, 256), float(i), np.float32))
        model.save(path)
        i += 1
""")


def test_sigkill_during_saves_never_leaves_a_broken_file(tmp_path):
    script = tmp_path / "saver.py"
    script.write_text(KILL_SCRIPT)
    path = tmp_path / "live.nbz"
    rng = np.random.default_rng(0)
    for _ in range(6):
        with subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True) as process:
            assert process.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 0.4))
            process.send_signal(signal.SIGKILL)
            process.wait()
        model = nn.models.load_model(path)  # whichever save finished last, whole
        kernel = model.layers[0].kernel.numpy()
        assert np.all(kernel == kernel.flat[0])
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 6  # a killed writer may leave its temporary file, never the target


def test_an_interrupted_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    model = sequential()
    path = model.save(tmp_path / "m.nbz")
    before = nn.models.load_model(path).get_weights()
    model.layers[0].kernel.assign(np.zeros((6, 16), np.float32))
    original = zipfile.ZipFile.writestr

    def interrupted(self, name, *args, **kwargs):
        if name == "model.weights.h5":
            raise KeyboardInterrupt
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    monkeypatch.undo()
    for a, b in zip(nn.models.load_model(path).get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["m.nbz"]  # the temporary file is gone too


def _safetensors(header, data=b""):
    import json
    import struct

    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def test_safetensors_headers_are_checked_exactly():
    f32 = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    cases = {
        "does not fill its 0 bytes": ({"w": {**f32, "shape": [2**32, 2**32], "data_offsets": [0, 0]}}, b""),
        "malformed header entry.*1.7": ({"w": {**f32, "shape": [1.7]}}, b"\0" * 4),
        "malformed header entry.*True": ({"w": {**f32, "shape": [True]}}, b"\0" * 4),
        "malformed header entry.*-1": ({"w": {**f32, "shape": [-1]}}, b"\0" * 4),
        "malformed header entry.*4.0": ({"w": {**f32, "data_offsets": [0, 4.0]}}, b"\0" * 4),
        "__metadata__ must map strings to strings": ({"__metadata__": [1], "w": f32}, b"\0" * 4),
        "__metadata__ must map strings to strings, got {'n': 1}": ({"__metadata__": {"n": 1}, "w": f32}, b"\0" * 4),
        "dtype 'BF16', which nablanet does not read": ({"w": {**f32, "dtype": "BF16", "shape": [2]}}, b"\0" * 4),
    }
    for message, (header, data) in cases.items():
        with pytest.raises(st.SafetensorsError, match=message):
            st.loads(_safetensors(header, data))
    assert st.loads(_safetensors({"__metadata__": {"a": "b"}, "w": f32}, b"\0" * 4))[1] == {"a": "b"}


def test_a_load_that_fails_assigns_nothing(tmp_path):
    def two_layers(units):
        return nn.Sequential([nn.Input((4,)), layers.Dense(3, name="a"), layers.Dense(units, name="b")])

    path = two_layers(5).save_weights(tmp_path / "w.safetensors")
    model = two_layers(6)
    before = model.get_weights()
    with pytest.raises(SavingError, match="'b/kernel' has shape"):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # layer 'a' fit, but was not assigned either
    assert len(model.load_weights(path, skip_mismatch=True)) == 2
    tensors, _ = st.loads((tmp_path / "w.safetensors").read_bytes())
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), tensors["a/kernel"])


def test_archives_read_only_their_listed_entries_and_refuse_zip_bombs(tmp_path, monkeypatch):
    from nablanet.saving import archive as archive_module

    model = sequential()
    path = model.save(tmp_path / "m.nbz")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("unlisted.bin", b"\0" * (4 << 20))  # 4 MiB of zeros in a few KB
    read = []
    original = archive_module.read_member
    monkeypatch.setattr(archive_module, "read_member",
                        lambda archive, name, *rest: read.append(name) or original(archive, name, *rest))
    nn.models.load_model(path)
    assert "unlisted.bin" not in read and "config.json" in read
    read.clear()
    model.load_weights(path)
    assert sorted(read) == ["model.weights.h5", "nablanet.json"]  # the weights and their checksum, not the rest
    monkeypatch.setattr(archive_module, "INFLATION_FLOOR", 1 << 20)
    with zipfile.ZipFile(tmp_path / "bomb.nbz", "w") as bomb, zipfile.ZipFile(path) as good:
        for name in good.namelist():
            data = good.read(name) if name != "config.json" else b" " * (4 << 20)
            bomb.writestr(name, data, zipfile.ZIP_DEFLATED)
    with pytest.raises(SavingError, match=r"entry config.json inflates to 4194304 bytes from \d+, more than"):
        nn.models.load_model(tmp_path / "bomb.nbz")
