"""Keras's legacy HDF5 model format (`model.save("m.h5")`), both ways with Keras 3, and the
`.h5` files that must be refused with a clear message."""

import os

import numpy as np
import pytest

import nablanet as nn
from nablanet.saving import SavingError
from nablanet.saving.legacy_h5 import is_legacy_h5

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

# Keras's own reader of optimizer_weights
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402  (needs Keras, so after the skip)

KINDS = ["mlp_dropout", "cnn_batchnorm", "embedding_bilstm", "gru", "nested_functional"]
DETERMINISTIC = [k for k in KINDS if k != "mlp_dropout"]  # Dropout draws from each library's own generator


def build(lib, kind):
    """The same architecture in Keras (`lib=keras`) or nablanet (`lib=nn`)."""
    L = lib.layers
    if kind == "mlp_dropout":
        return lib.Sequential([lib.Input((6,)), L.Dense(8, activation="relu"), L.Dropout(0.3), L.Dense(3)])
    if kind == "cnn_batchnorm":
        return lib.Sequential([lib.Input((8, 8, 2)), L.Conv2D(4, 3, activation="relu"), L.BatchNormalization(),
                               L.MaxPooling2D(), L.Flatten(), L.Dense(3)])
    if kind == "embedding_bilstm":
        return lib.Sequential([lib.Input((5,), dtype="int32"), L.Embedding(10, 4, mask_zero=True),
                               L.Bidirectional(L.LSTM(3)), L.Dense(3)])
    if kind == "gru":
        return lib.Sequential([lib.Input((5, 2)), L.GRU(4), L.Dense(3)])
    inner_in = lib.Input((6,))
    hidden = L.BatchNormalization()(L.Dense(5, activation="tanh")(inner_in))  # moving statistics mid-block
    inner = lib.Model(inner_in, L.Dense(4)(hidden), name="block")
    outer_in = lib.Input((6,))
    return lib.Model(outer_in, L.Dense(3)(inner(outer_in)), name="outer")


def data(kind):
    rng = np.random.default_rng(1)
    y = rng.standard_normal((16, 3)).astype("float32")
    if kind == "cnn_batchnorm":
        return rng.standard_normal((16, 8, 8, 2)).astype("float32") * 2 + 1, y
    if kind == "embedding_bilstm":
        ids = rng.integers(1, 10, (16, 5))
        ids[:, 3:] = 0  # padding, masked by mask_zero
        return ids.astype("int32"), y
    if kind == "gru":
        return rng.standard_normal((16, 5, 2)).astype("float32"), y
    return rng.standard_normal((16, 6)).astype("float32") * 2 + 1, y


def trained(lib, kind, epochs=2):
    """A model of `kind`, compiled with Adam and trained a little (moving statistics and
    optimizer slots are then not their initial values)."""
    model = build(lib, kind)
    model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss=lib.losses.MeanSquaredError(),
                  metrics=[lib.metrics.MeanAbsoluteError()])
    x, y = data(kind)
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def keras_slots(optimizer):
    """Adam's state in Keras: the step, the rate, then per variable its momentum and velocity."""
    values = [np.asarray(v.numpy()) for v in optimizer.variables]
    return values[0], values[1], values[2::2], values[3::2]


def our_slots(optimizer):
    """Adam's state in nablanet: every momentum, then every velocity."""
    state, _ = optimizer.get_state()
    slots = [state[k] for k in sorted(k for k in state if k.startswith("slot/"))]
    n = len(slots) // 2
    return int(state["iterations"]), slots[:n], slots[n:]


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def group_of(f, prefix):
    """The `model_weights` group of the model's first layer whose name starts with `prefix`."""
    names = [text(n) for n in f["model_weights"].attrs["layer_names"]]
    return f["model_weights"][next(n for n in names if n.startswith(prefix))]


def assert_same_arrays(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- Keras writes, nablanet reads -------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_keras_h5_loads_in_nablanet(tmp_path, kind):
    keras.utils.set_random_seed(0)
    theirs = trained(keras, kind)
    path = tmp_path / "model.h5"
    theirs.save(path)
    ours = nn.models.load_model(path)
    x, _ = data(kind)
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), rtol=1e-5, atol=1e-5)
    assert type(ours.optimizer).__name__ == "Adam"
    assert ours.optimizer.learning_rate == pytest.approx(0.01)
    assert type(ours.loss).__name__ == "MeanSquaredError"
    step, momentums, velocities = our_slots(ours.optimizer)
    their_step, their_rate, their_momentums, their_velocities = keras_slots(theirs.optimizer)
    assert step == int(their_step) == 4
    assert float(their_rate) == pytest.approx(0.01)
    assert_same_arrays(momentums, their_momentums)
    assert_same_arrays(velocities, their_velocities)


@pytest.mark.parametrize("kind", DETERMINISTIC)
def test_training_continues_from_a_keras_h5_as_in_keras(tmp_path, kind):
    """The restored optimizer state is Keras's: one more epoch on both sides lands on the same model."""
    keras.utils.set_random_seed(0)
    theirs = trained(keras, kind)
    theirs.save(tmp_path / "model.h5")
    ours = nn.saving.load_model(tmp_path / "model.h5")
    x, y = data(kind)
    theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    ours.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), rtol=1e-5, atol=1e-5)


# -- nablanet writes, Keras reads -------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_nablanet_h5_loads_in_keras(tmp_path, kind):
    nn.backend.set_random_seed(0)
    ours = trained(nn, kind)
    path = tmp_path / "model.h5"
    ours.save(path)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89HDF\r\n\x1a\n"
    theirs = keras.saving.load_model(path)
    x, _ = data(kind)
    np.testing.assert_allclose(predict(theirs, x), predict(ours, x), rtol=1e-5, atol=1e-5)
    assert type(theirs.optimizer).__name__ == "Adam"
    assert float(theirs.optimizer.learning_rate) == pytest.approx(0.01)
    assert int(theirs.optimizer.iterations) == ours.optimizer.iterations == 4  # Keras restores the step, rate


@pytest.mark.parametrize("kind", KINDS)
def test_nablanet_optimizer_weights_are_in_keras_order(tmp_path, kind):
    """Keras's own reader of `optimizer_weights` fills a Keras Adam built on the model (it checks
    every shape in its order), and the values are nablanet's."""
    nn.backend.set_random_seed(0)
    ours = trained(nn, kind)
    ours.save(tmp_path / "model.h5")
    reference = build(keras, kind)
    optimizer = keras.optimizers.Adam(learning_rate=0.5)
    optimizer.build(reference.trainable_variables)
    with h5py.File(tmp_path / "model.h5", "r") as f:
        optimizer.set_weights([np.asarray(d) for d in legacy_h5_format.load_optimizer_weights_from_hdf5_group(f)])
    step, momentums, velocities = our_slots(ours.optimizer)
    their_step, their_rate, their_momentums, their_velocities = keras_slots(optimizer)
    assert int(their_step) == step == 4
    assert float(their_rate) == pytest.approx(0.01)
    assert_same_arrays(momentums, their_momentums)
    assert_same_arrays(velocities, their_velocities)


def test_the_layout_is_keras_own(tmp_path):
    """The same groups, attributes and dataset shapes as the file Keras writes for the model."""
    nn.backend.set_random_seed(0)
    trained(nn, "cnn_batchnorm").save(tmp_path / "ours.h5")
    keras.utils.set_random_seed(0)
    trained(keras, "cnn_batchnorm").save(tmp_path / "theirs.h5")

    def layout(path):
        with h5py.File(path, "r") as f:
            root = sorted(k for k in f.attrs if k != "nablanet_sha256")
            weights = f["model_weights"]
            names = [text(n) for n in weights.attrs["layer_names"]]
            shapes = [[weights[n][text(w)].shape for w in weights[n].attrs["weight_names"]] for n in names]
            optimizer = [f["optimizer_weights"][text(w)].shape for w in f["optimizer_weights"].attrs["weight_names"]]
            return root, sorted(weights.attrs), len(names), shapes, optimizer

    assert layout(tmp_path / "ours.h5") == layout(tmp_path / "theirs.h5")


# -- nablanet writes, nablanet reads -----------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_nablanet_h5_round_trip(tmp_path, kind):
    nn.backend.set_random_seed(0)
    model = trained(nn, kind)
    model.save(tmp_path / "model.hdf5")
    loaded = nn.saving.load_model(tmp_path / "model.hdf5")
    x, _ = data(kind)
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), rtol=1e-6, atol=1e-7)
    assert [v.name for v in loaded.weights] == [v.name for v in model.weights]
    saved, extras = model.optimizer.get_state()
    restored, restored_extras = loaded.optimizer.get_state()
    assert restored_extras == pytest.approx(extras)
    assert sorted(restored) == sorted(saved)
    for key in saved:
        np.testing.assert_array_equal(restored[key], saved[key])
    assert type(loaded.loss).__name__ == "MeanSquaredError"
    assert [type(m).__name__ for m in loaded._metric_spec] == ["MeanAbsoluteError"]


def test_an_uncompiled_model_round_trips_without_training_config(tmp_path):
    model = build(nn, "gru")
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    x, _ = data("gru")
    np.testing.assert_allclose(predict(nn.saving.load_model(tmp_path / "m.h5"), x), predict(model, x), atol=1e-7)


def test_compile_false_skips_the_training_state(tmp_path):
    trained(nn, "gru").save(tmp_path / "m.h5")
    assert not nn.saving.load_model(tmp_path / "m.h5", compile=False).compiled


def test_model_checkpoint_h5_is_hdf5_that_keras_loads(tmp_path):
    nn.backend.set_random_seed(0)
    model = build(nn, "mlp_dropout")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])  # Keras reads its own "mse" as a metric: not ours
    x, y = data("mlp_dropout")
    path = tmp_path / "best_model.h5"
    model.fit(x, y, epochs=3, validation_data=(x, y), verbose=0,
              callbacks=[nn.callbacks.ModelCheckpoint(filepath=str(path), save_best_only=True)])
    with h5py.File(path, "r") as f:
        assert "model_config" in f.attrs and "model_weights" in f
    theirs = keras.saving.load_model(path)
    ours = nn.saving.load_model(path)
    np.testing.assert_allclose(predict(theirs, x), predict(ours, x), rtol=1e-5, atol=1e-5)
    assert theirs.loss.__name__ == ours.loss == "mean_squared_error"


def test_a_failed_save_leaves_the_old_file(tmp_path, monkeypatch):
    from nablanet.saving import legacy_h5

    model = build(nn, "gru")
    path = tmp_path / "m.h5"
    model.save(path)
    before = path.read_bytes()

    def broken(group, model):
        raise KeyboardInterrupt

    monkeypatch.setattr(legacy_h5, "_write_weights", broken)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.h5"]


def test_weights_files_keep_their_format(tmp_path):
    assert is_legacy_h5("m.h5") and is_legacy_h5("M.HDF5")
    assert not is_legacy_h5("m.weights.h5") and not is_legacy_h5("m.keras")
    model = build(nn, "gru")
    model.save_weights(tmp_path / "m.weights.h5")
    other = build(nn, "gru")
    other.load_weights(tmp_path / "m.weights.h5")
    x, _ = data("gru")
    np.testing.assert_array_equal(predict(other, x), predict(model, x))


# -- files that are refused ---------------------------------------------------------------------

@pytest.fixture
def saved(tmp_path):
    """A small nablanet .h5 model, and a copy of it to tamper with."""
    nn.backend.set_random_seed(0)
    model = trained(nn, "gru")
    model.save(tmp_path / "good.h5")
    return tmp_path / "good.h5", model


def tampered(source, target, edit, keep_checksum=False):
    target.write_bytes(source.read_bytes())
    with h5py.File(target, "r+") as f:
        if not keep_checksum:
            del f.attrs["nablanet_sha256"]  # as in a file Keras wrote
        edit(f)
    return target


def test_external_link_is_refused(saved, tmp_path):
    path, _ = saved
    (tmp_path / "other.h5").write_bytes(path.read_bytes())

    def edit(f):
        name = group_of(f, "gru").name
        del f[name]
        f[name] = h5py.ExternalLink(str(tmp_path / "other.h5"), name)

    bad = tampered(path, tmp_path / "bad.h5", edit)
    with pytest.raises(SavingError, match=r"bad\.h5.*ExternalLink.*file itself"):
        nn.saving.load_model(bad)


def test_soft_link_is_refused(saved, tmp_path):
    path, _ = saved

    def edit(f):
        name = group_of(f, "dense").name
        f.move(name, "elsewhere")
        f[name] = h5py.SoftLink("/elsewhere")

    with pytest.raises(SavingError, match=r"bad\.h5.*SoftLink"):
        nn.saving.load_model(tampered(path, tmp_path / "bad.h5", edit))


def test_external_dataset_is_refused(saved, tmp_path):
    path, _ = saved
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\x00" * 48)

    def edit(f):
        group_of(f, "dense").create_dataset("leak", shape=(12,), dtype="f4", external=[(str(secret), 0, 48)])

    with pytest.raises(SavingError, match=r"bad\.h5.*leak keeps its data outside the file"):
        nn.saving.load_model(tampered(path, tmp_path / "bad.h5", edit))


@pytest.mark.parametrize("chunks", [None, True], ids=["contiguous", "chunked"])
def test_absurd_dataset_shape_is_refused_before_reading(saved, tmp_path, chunks):
    path, _ = saved

    def edit(f):
        group = group_of(f, "dense")
        name = text(group.attrs["weight_names"][0])
        del group[name]
        group.create_dataset(name, shape=(1 << 20, 1 << 20), dtype="f4", chunks=chunks and (1, 16))

    with pytest.raises(SavingError, match=r"bad\.h5.*declares shape \(1048576, 1048576\)"):
        nn.saving.load_model(tampered(path, tmp_path / "bad.h5", edit))


def test_truncated_file_is_refused(saved, tmp_path):
    path, _ = saved
    blob = path.read_bytes()
    for size in (len(blob) // 3, len(blob) - 100):
        (tmp_path / "cut.h5").write_bytes(blob[:size])
        with pytest.raises(SavingError, match=r"cut\.h5.*(truncated|corrupted)"):
            nn.saving.load_model(tmp_path / "cut.h5")


def test_a_flipped_bit_in_a_weight_is_caught_by_the_checksum(saved, tmp_path):
    path, _ = saved
    with h5py.File(path, "r") as f:
        group = group_of(f, "dense")
        offset = group[text(group.attrs["weight_names"][0])].id.get_offset()
    blob = bytearray(path.read_bytes())
    blob[offset + 5] ^= 0x10
    (tmp_path / "flip.h5").write_bytes(bytes(blob))
    with pytest.raises(SavingError, match=r"flip\.h5 is corrupted: its contents do not match the checksum"):
        nn.saving.load_model(tmp_path / "flip.h5")


def test_flipped_bits_anywhere_are_refused_or_harmless(saved, tmp_path):
    """Every flip either raises a SavingError or changes nothing that is read (free space)."""
    path, model = saved
    blob = path.read_bytes()
    x, _ = data("gru")
    expected = predict(model, x)
    refused = 0
    for position in np.random.default_rng(0).choice(len(blob), size=60, replace=False):
        flipped = bytearray(blob)
        flipped[position] ^= 1 << int(position % 8)
        (tmp_path / "flip.h5").write_bytes(bytes(flipped))
        try:
            loaded = nn.saving.load_model(tmp_path / "flip.h5")
        except SavingError as error:
            assert "flip.h5" in str(error)
            refused += 1
            continue
        np.testing.assert_array_equal(predict(loaded, x), expected)
    assert refused > 0


def test_a_class_outside_the_allowlist_is_refused(saved, tmp_path):
    path, _ = saved

    def edit(f):
        f.attrs["model_config"] = text(f.attrs["model_config"]).replace('"class_name": "GRU"', '"class_name": "Evil"')

    with pytest.raises(SavingError, match=r"bad\.h5.*'Evil'.*neither built into nablanet nor registered"):
        nn.saving.load_model(tampered(path, tmp_path / "bad.h5", edit))


def test_an_edited_config_breaks_the_checksum(saved, tmp_path):
    path, _ = saved

    def edit(f):
        f.attrs["model_config"] = text(f.attrs["model_config"]).replace('"units": 4', '"units": 5')

    with pytest.raises(SavingError, match=r"bad\.h5 is corrupted: its contents do not match the checksum"):
        nn.saving.load_model(tampered(path, tmp_path / "bad.h5", edit, keep_checksum=True))


def test_a_keras_lambda_layer_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Dense(2)])
    model.save(tmp_path / "lambda.h5")
    with pytest.raises(SavingError, match=r"lambda\.h5 has an architecture nablanet cannot build: Lambda layer "
                                          r"'lambda\w*' refused: .*\(Python bytecode\); nablanet never runs code"):
        nn.saving.load_model(tmp_path / "lambda.h5")


def test_a_weights_file_is_not_a_model(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(SavingError, match=r"m\.weights\.h5 is an HDF5 file without a model_config"):
        nn.saving.load_model(tmp_path / "m.weights.h5")


def test_a_config_attribute_of_absurd_size_is_refused(saved, tmp_path):
    path, _ = saved

    def edit(f):
        f.attrs.create("training_config", np.zeros(17 << 20, dtype="S1"))

    with pytest.raises(SavingError, match=r"bad\.h5.*attribute training_config of / declares \d+ bytes"):
        nn.saving.load_model(tampered(path, tmp_path / "bad.h5", edit))


@pytest.mark.parametrize("kind", KINDS)
def test_keras_h5_weights_load_into_the_same_architecture(tmp_path, kind):
    """`load_weights` on Keras's `.h5` model file: in a nested model, the moving statistics of a
    BatchNormalization come after every trainable weight, as Keras keeps them."""
    keras.utils.set_random_seed(0)
    theirs = trained(keras, kind)
    theirs.save(tmp_path / "model.h5")
    ours = build(nn, kind)
    assert ours.load_weights(tmp_path / "model.h5") == []
    x, _ = data(kind)
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), rtol=1e-5, atol=1e-5)


OPTIMIZERS = [("SGD", {"momentum": 0.9}), ("SGD", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
              ("Adagrad", {}), ("Adadelta", {"learning_rate": 1.0}), ("Adam", {"amsgrad": True}),
              ("AdamW", {}), ("Adamax", {}), ("Nadam", {}), ("Adam", {"use_ema": True})]


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=lambda v: v if isinstance(v, str) else
                         ",".join(f"{k}={w}" for k, w in v.items()))
def test_keras_continues_training_from_nablanet_optimizer_state(tmp_path, name, options):
    """Every optimizer's slots land where Keras keeps them: Keras, given the file's state with its
    own reader, takes the same next steps as nablanet."""
    nn.backend.set_random_seed(0)
    ours = build(nn, "gru")
    ours.compile(optimizer=getattr(nn.optimizers, name)(**{"learning_rate": 0.01, **options}),
                 loss=nn.losses.MeanSquaredError())
    x, y = data("gru")
    ours.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    ours.save(tmp_path / "model.h5")
    theirs = keras.saving.load_model(tmp_path / "model.h5", compile=False)
    optimizer = getattr(keras.optimizers, name)(**{"learning_rate": 0.01, **options})
    optimizer.build(theirs.trainable_variables)
    with h5py.File(tmp_path / "model.h5", "r") as f:
        optimizer.set_weights([np.asarray(d) for d in legacy_h5_format.load_optimizer_weights_from_hdf5_group(f)])
    theirs.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
    ours.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(predict(ours, x), predict(theirs, x), rtol=1e-5, atol=1e-5)


def test_a_nablanet_archive_named_h5_still_loads(tmp_path):
    """Files that earlier versions saved as `best_model.h5` are zips: the content decides how they load."""
    model = build(nn, "gru")
    model.save(tmp_path / "m.nbz")
    os.replace(tmp_path / "m.nbz", tmp_path / "old.h5")
    x, _ = data("gru")
    np.testing.assert_array_equal(predict(nn.saving.load_model(tmp_path / "old.h5"), x), predict(model, x))


def test_a_config_declaring_absurd_layers_is_refused_before_allocating(tmp_path):
    import json
    import tracemalloc

    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(2)])
    model.save(tmp_path / "good.h5")

    def edit(f):
        config = json.loads(f.attrs["model_config"])
        dense = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"][0]
        dense["config"]["units"] = 10**12
        f.attrs["model_config"] = json.dumps(config).encode()

    hostile = tampered(tmp_path / "good.h5", tmp_path / "huge.h5", edit, keep_checksum=True)  # Keras wrote none
    tracemalloc.start()
    try:
        with pytest.raises(SavingError, match=r"huge\.h5.*declares a weight 'kernel' of shape \(6, 1000000000000\)"):
            nn.saving.load_model(hostile)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20  # nothing near the declared size was allocated
