"""utils.FeatureSpace against Keras's.

Keras's FeatureSpace adapts and calls through TensorFlow even on the torch backend, and its lookup
and hashing layers need TensorFlow too; without TensorFlow, its configs, its files and its
preprocessing layers that run on torch (Normalization, Discretization, CategoryEncoding,
Rescaling) are the reference, and the lookups and hashes are checked against nablanet's own
layers (which tests/layers compares with Keras).
"""

import json
import zipfile

import numpy as np
import pytest

import nablanet as nb
from nablanet.utils import FeatureSpace, PyDataset

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
N = 70  # more than one of Keras's adapt batches of 32
DATA = {
    "f": RNG.normal(size=N).astype("float32"),
    "g": RNG.normal(2.0, 3.0, size=N).astype("float32"),
    "r": RNG.uniform(0, 10, size=N).astype("float32"),
    "d": RNG.uniform(-1, 1, size=N).astype("float32"),
    "s": RNG.choice(["red", "green", "blue", "grey"], size=N, p=[0.4, 0.3, 0.2, 0.1]),
    "i": RNG.choice([3, 7, 11, 20], size=N, p=[0.1, 0.2, 0.3, 0.4]),
    "sh": RNG.choice(["a", "b", "c", "dd", "eee"], size=N),
    "ih": RNG.integers(0, 1000, size=N),
}
FLOATS = {"f": "float", "g": "float_normalized", "r": "float_rescaled", "d": "float_discretized"}


def _np(x):
    return nb.ops.convert_to_numpy(x)


def _keras_batches(column):
    """The batches Keras's FeatureSpace.adapt gives a layer for a column of single values."""
    return [column[i:i + 32, None] for i in range(0, len(column), 32)]


def _keras_float_encodings(data, num_bins=32, scale=1.0):
    """The encodings of FLOATS computed with Keras's own layers, as its FeatureSpace composes them."""
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(np.concatenate(_keras_batches(data["g"])))
    disc = keras.layers.Discretization(num_bins=num_bins)
    disc.reset_state()  # Keras's adapt over an iterable of batches, whose type check needs TensorFlow
    for batch in _keras_batches(data["d"]):
        disc.update_state(batch)
    disc.finalize_state()
    one_hot = keras.layers.CategoryEncoding(num_tokens=num_bins, output_mode="multi_hot")
    return {"d": _np(one_hot(disc(data["d"][:, None]))), "f": data["f"][:, None],
            "g": _np(norm(data["g"][:, None])), "r": _np(keras.layers.Rescaling(scale)(data["r"][:, None])),
            "disc": disc}


# -- the float types against Keras's layers --------------------------------------------------------

@pytest.mark.parametrize("output_mode", ["concat", "dict"])
def test_float_types_match_keras_layers(output_mode):
    space = FeatureSpace(FLOATS, output_mode=output_mode, num_discretization_bins=5)
    space.adapt({name: DATA[name] for name in FLOATS})
    expected = _keras_float_encodings(DATA, num_bins=5)
    assert space.preprocessors["d"].bin_boundaries == pytest.approx(expected["disc"].bin_boundaries, abs=1e-7)
    out = space({name: DATA[name] for name in FLOATS})
    if output_mode == "dict":
        assert sorted(out) == ["d", "f", "g", "r"]
        for name in out:
            np.testing.assert_allclose(_np(out[name]), expected[name], atol=1e-5)
    else:
        want = np.concatenate([expected[name] for name in ("d", "f", "g", "r")], axis=-1)
        assert _np(out).dtype == np.float32 and _np(out).shape == (N, 5 + 3)
        np.testing.assert_allclose(_np(out), want, atol=1e-5)


def test_single_sample_and_batched_calls_agree():
    space = FeatureSpace(FLOATS, num_discretization_bins=4)
    space.adapt({name: DATA[name] for name in FLOATS})
    batch = _np(space({name: DATA[name] for name in FLOATS}))
    one = _np(space({name: DATA[name][3] for name in FLOATS}))
    assert one.shape == (batch.shape[1],)
    np.testing.assert_allclose(one, batch[3], atol=1e-6)
    two_d = _np(space({name: DATA[name][:, None] for name in FLOATS}))
    np.testing.assert_allclose(two_d, batch, atol=1e-6)
    spaced = FeatureSpace(FLOATS, output_mode="dict", num_discretization_bins=4)
    spaced.adapt({name: DATA[name] for name in FLOATS})
    single = spaced({name: DATA[name][3] for name in FLOATS})
    assert _np(single["d"]).shape == (4,) and _np(single["f"]).shape == (1,)


def test_float_rescaled_and_discretized_with_boundaries_need_no_adapt():
    space = FeatureSpace({"r": FeatureSpace.float_rescaled(scale=0.5, offset=1.0),
                          "d": FeatureSpace.float_discretized(num_bins=None, bin_boundaries=[-0.5, 0.0, 0.5])})
    out = _np(space({"r": DATA["r"], "d": DATA["d"]}))
    bins = keras.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5])(DATA["d"][:, None])
    want = np.concatenate([_np(keras.layers.CategoryEncoding(4, output_mode="multi_hot")(bins)),
                           _np(keras.layers.Rescaling(0.5, offset=1.0)(DATA["r"][:, None]))], axis=-1)
    np.testing.assert_allclose(out, want, atol=1e-6)


# -- config and files against Keras's ----------------------------------------------------------------

def _strip(config):
    """A config without the parts that legitimately differ (names given by counters, dtype policies)."""
    if isinstance(config, dict):
        return {k: _strip(v) for k, v in config.items() if k not in ("name", "dtype", "build_config",
                                                                      "shared_object_id", "registered_name")}
    if isinstance(config, (list, tuple)):
        return [_strip(v) for v in config]
    return config


def test_config_matches_keras():
    features = {"f": "float", "r": "float_rescaled", "g": "float_normalized", "d": "float_discretized"}
    ours = nb.saving.serialize_keras_object(FeatureSpace(features, crossing_dim=8, num_discretization_bins=6))
    theirs = keras.saving.serialize_keras_object(keras.utils.FeatureSpace(features, crossing_dim=8,
                                                                         num_discretization_bins=6))
    assert ours["class_name"] == theirs["class_name"] == "FeatureSpace"
    assert ours["module"] == theirs["module"]
    assert sorted(ours["config"]) == sorted(theirs["config"])
    for name in features:
        a, b = ours["config"]["features"][name], theirs["config"]["features"][name]
        assert (a["module"], a["class_name"]) == (b["module"], b["class_name"])
        assert a["config"]["dtype"] == b["config"]["dtype"] and a["config"]["output_mode"] == b["config"]["output_mode"]
        assert a["config"]["preprocessor"]["class_name"] == b["config"]["preprocessor"]["class_name"]
        assert a["config"]["preprocessor"]["config"]["name"] == b["config"]["preprocessor"]["config"]["name"]
        assert sorted(_strip(a["config"]["preprocessor"]["config"])) == \
            sorted(_strip(b["config"]["preprocessor"]["config"]))
    cross = nb.saving.serialize_keras_object(FeatureSpace.cross(("a", "b"), crossing_dim=4, output_mode="int"))
    keras_cross = keras.saving.serialize_keras_object(keras.utils.FeatureSpace.cross(("a", "b"), 4, "int"))
    assert _strip(cross) == _strip(keras_cross)


def test_get_config_from_config_round_trip():
    space = FeatureSpace(FLOATS, output_mode="dict", hashing_dim=7, num_discretization_bins=3)
    again = FeatureSpace.from_config(json.loads(json.dumps(space.get_config())))
    assert again.get_config()["output_mode"] == "dict" and again.num_discretization_bins == 3
    assert _strip(again.get_config()) == _strip(space.get_config())


def test_loads_a_file_keras_wrote(tmp_path):
    path = str(tmp_path / "keras_space.keras")
    kfs = keras.utils.FeatureSpace
    keras_space = kfs({"f": "float", "r": kfs.float_rescaled(scale=2.0, offset=-1.0),
                       "n": kfs.feature(dtype="float32", output_mode="float",
                                        preprocessor=keras.layers.Normalization(mean=1.0, variance=4.0)),
                       "d": kfs.float_discretized(num_bins=None, bin_boundaries=[0.0, 0.5])})
    with pytest.warns(UserWarning, match="not yet been built"):  # Keras's FeatureSpace before adapt
        keras_space.save(path)
    space = nb.saving.load_model(path)
    assert isinstance(space, FeatureSpace)
    x = DATA["d"]
    out = _np(space({"f": x, "r": x, "n": x, "d": x}))
    want = np.concatenate([np.eye(3)[np.searchsorted([0.0, 0.5], x, side="right")], x[:, None], (x[:, None] - 1) / 2,
                           2 * x[:, None] - 1], axis=-1)
    np.testing.assert_allclose(out, want, atol=1e-6)


def test_keras_reads_the_config_nablanet_writes(tmp_path):
    space = FeatureSpace({"f": "float", "r": FeatureSpace.float_rescaled(scale=3.0)})
    path = str(tmp_path / "ours.keras")
    space.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    theirs = keras.saving.deserialize_keras_object(config)
    assert isinstance(theirs, keras.utils.FeatureSpace)
    assert theirs.preprocessors["r"].scale == 3.0 and sorted(theirs.features) == ["f", "r"]
    space({"f": [1.0], "r": [1.0]})
    space.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, keras.utils.FeatureSpace) and loaded.preprocessors["r"].scale == 3.0


# -- bad input ---------------------------------------------------------------------------------------

def test_unknown_feature_type_names_it():
    with pytest.raises(ValueError, match=r"feature 'x' has an unknown type 'floating'"):
        FeatureSpace({"x": "floating"})


def test_bad_arguments_name_what_was_wrong():
    with pytest.raises(ValueError, match="output_mode 'dict' or 'concat', got 'list'"):
        FeatureSpace({"x": "float"}, output_mode="list")
    with pytest.raises(ValueError, match="non-empty dict"):
        FeatureSpace({})
    with pytest.raises(ValueError, match=r"names \['z'\], which are not features"):
        FeatureSpace({"x": "float", "y": "float"}, crosses=[("x", "z")])
    with pytest.raises(ValueError, match=r"names \['w'\], which are not features"):
        FeatureSpace({"x": "float"}, crosses=[FeatureSpace.cross(("w", "x"), crossing_dim=4)])
    with pytest.raises(ValueError, match="need `crossing_dim`"):
        FeatureSpace({"x": "float", "y": "float"}, crosses=[("x", "y")], crossing_dim=None)
    with pytest.raises(ValueError, match="expected output_mode 'int' or 'one_hot', got 'float'"):
        FeatureSpace.cross(("x", "y"), crossing_dim=4, output_mode="float")
    with pytest.raises(ValueError, match="output_mode 'int', 'one_hot' or 'float', got 'multi_hot'"):
        FeatureSpace.feature("float32", nb.layers.Rescaling(1.0), "multi_hot")


def test_adapt_must_come_first():
    space = FeatureSpace({"g": "float_normalized", "f": "float"})
    with pytest.raises(ValueError, match=r"call adapt\(dataset\) before using it; features \['g'\]"):
        space({"g": [1.0], "f": [2.0]})
    with pytest.raises(ValueError, match="adapt"):
        space.get_encoded_features()


def test_missing_or_unknown_features_are_named():
    space = FeatureSpace({"f": "float", "r": "float_rescaled"})
    with pytest.raises(ValueError, match=r"missing \['r'\]"):
        space({"f": [1.0]})
    np.testing.assert_array_equal(_np(space({"f": [1.0], "r": [2.0], "label": ["x"]})), [[1.0, 2.0]])
    with pytest.raises(ValueError, match="expected a dict of features, got list"):
        space([1.0, 2.0])
    normalized = FeatureSpace({"g": "float_normalized"})
    with pytest.raises(ValueError, match=r"the dict lacks the features \['g'\]"):
        normalized.adapt({"f": [1.0]})
    with pytest.raises(ValueError, match=r"a batch lacks the features \['g'\]"):
        normalized.adapt([{"f": [1.0]}])
    with pytest.raises(TypeError, match="expected a dict of arrays or lists, an iterable of dict batches"):
        normalized.adapt(np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        normalized.adapt([])


def test_one_hot_needs_integer_ids():
    space = FeatureSpace({"x": FeatureSpace.feature("float32", nb.layers.Rescaling(2.0), "one_hot")})
    with pytest.raises(ValueError, match="feature 'x' has output_mode='one_hot'.*gives float32"):
        space({"x": [1.0]})


# -- adapt from each kind of input -------------------------------------------------------------------

class _Batches(PyDataset):
    def __init__(self, data, size, labels=False):
        super().__init__()
        self.data, self.size, self.labels = data, size, labels

    def __len__(self):
        return (N + self.size - 1) // self.size

    def __getitem__(self, index):
        part = {name: column[index * self.size:(index + 1) * self.size] for name, column in self.data.items()}
        return (part, np.zeros(len(part["g"]))) if self.labels else part


def _dict_batches(data, size):
    return [{name: column[i:i + size] for name, column in data.items()} for i in range(0, N, size)]


@pytest.mark.parametrize("kind", ["dict", "lists", "batch_list", "generator", "labelled", "samples", "pydataset"])
def test_adapt_from_each_input_kind(kind):
    data = {name: DATA[name] for name in FLOATS}
    dataset = {
        "dict": data,
        "lists": {name: column.tolist() for name, column in data.items()},
        "batch_list": _dict_batches(data, 16),
        "generator": (batch for batch in _dict_batches(data, 16)),
        "labelled": [(batch, np.zeros(16)) for batch in _dict_batches(data, 16)],
        "samples": [{name: column[i] for name, column in data.items()} for i in range(N)],
        "pydataset": _Batches(data, 16, labels=True),
    }[kind]
    space = FeatureSpace(FLOATS, num_discretization_bins=4)
    space.adapt(dataset)
    norm = keras.layers.Normalization(axis=-1)
    norm.adapt(data["g"][:, None])
    np.testing.assert_allclose(_np(space.preprocessors["g"].mean).ravel(), _np(norm.mean).ravel(), rtol=1e-5)
    np.testing.assert_allclose(_np(space.preprocessors["g"].variance).ravel(), _np(norm.variance).ravel(), rtol=1e-4)
    # Keras's adapt sees single values in batches of 32 and batches as they come, each with a trailing axis
    batches = _keras_batches(data["d"]) if kind in ("dict", "lists", "samples") else \
        [batch["d"][:, None] for batch in _dict_batches(data, 16)]
    disc = keras.layers.Discretization(num_bins=4)
    disc.reset_state()
    for batch in batches:
        disc.update_state(batch)
    disc.finalize_state()
    assert space.preprocessors["d"].bin_boundaries == pytest.approx(disc.bin_boundaries, abs=1e-7)
    assert _np(space(data)).shape == (N, 4 + 3)


# -- symbolic use, saving, training ------------------------------------------------------------------

def test_get_inputs_and_encoded_features_build_a_functional_model():
    space = FeatureSpace(FLOATS, num_discretization_bins=4)
    space.adapt({name: DATA[name] for name in FLOATS})
    inputs = space.get_inputs()
    assert sorted(inputs) == sorted(FLOATS) and all(t.shape == (None, 1) for t in inputs.values())
    encoded = space.get_encoded_features()
    assert encoded.shape == (None, 7) and space.get_encoded_features() is encoded
    model = nb.Model(inputs, nb.layers.Dense(1)(encoded))
    data = {name: DATA[name] for name in FLOATS}
    out = model.predict({name: column[:, None] for name, column in data.items()}, verbose=0)
    np.testing.assert_allclose(out, _np(model.layers[-1](space(data))), atol=1e-5)
    dict_space = FeatureSpace(FLOATS, output_mode="dict", num_discretization_bins=4)
    dict_space.adapt(data)
    assert {name: t.shape for name, t in dict_space.get_encoded_features().items()} == \
        {"d": (None, 4), "f": (None, 1), "g": (None, 1), "r": (None, 1)}


@pytest.mark.parametrize("output_mode", ["concat", "dict"])
def test_save_and_load_give_identical_outputs(tmp_path, output_mode):
    data = {name: DATA[name] for name in FLOATS}
    space = FeatureSpace(FLOATS, output_mode=output_mode, num_discretization_bins=5)
    space.adapt(data)
    path = str(tmp_path / "space.keras")
    space.save(path)
    loaded = nb.saving.load_model(path)
    assert isinstance(loaded, FeatureSpace) and loaded.output_mode == output_mode
    before, after = space(data), loaded(data)
    for a, b in zip(nb.tree.flatten(before), nb.tree.flatten(after)):
        np.testing.assert_array_equal(_np(a), _np(b))
    assert loaded.preprocessors["d"].bin_boundaries == space.preprocessors["d"].bin_boundaries


def test_a_model_with_a_feature_space_saves_and_loads(tmp_path):
    data = {name: DATA[name] for name in FLOATS}
    space = FeatureSpace(FLOATS, num_discretization_bins=4)
    space.adapt(data)
    model = nb.Model(space.get_inputs(), nb.layers.Dense(2)(space.get_encoded_features()))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = nb.saving.load_model(path)
    feed = {name: column[:, None] for name, column in data.items()}
    np.testing.assert_allclose(loaded.predict(feed, verbose=0), model.predict(feed, verbose=0), atol=1e-6)


def test_training_on_encoded_features():
    """The structured-data guide's pattern: encode with the FeatureSpace, then fit a small model on
    the encodings, then serve raw dicts through a model that holds the FeatureSpace."""
    rng = np.random.default_rng(1)
    n = 400
    data = {"f": rng.normal(size=n).astype("float32"), "g": rng.normal(5.0, 4.0, size=n).astype("float32"),
            "d": rng.uniform(-1, 1, size=n).astype("float32"), "r": rng.uniform(0, 1, size=n).astype("float32")}
    labels = ((data["g"] - 5.0) / 4.0 + (data["d"] > 0.5) > 0.3).astype("float32")
    space = FeatureSpace(FLOATS, num_discretization_bins=8)
    space.adapt(data)
    nb.utils.set_random_seed(0)
    head = nb.Sequential([nb.layers.Input(shape=(8 + 3,)), nb.layers.Dense(16, activation="relu"),
                          nb.layers.Dense(1, activation="sigmoid")])
    head.compile(optimizer=nb.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = head.fit(space(data), labels, epochs=30, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    inference = nb.Model(space.get_inputs(), head(space.get_encoded_features()))
    raw = {name: column[:5] for name, column in data.items()}
    np.testing.assert_allclose(inference.predict({k: v[:, None] for k, v in raw.items()}, verbose=0),
                               head.predict(space(raw), verbose=0), atol=1e-6)


# -- hashed features and crosses -----------------------------------------------------------------------

def _one_hot(ids, depth):
    return np.eye(depth, dtype="float32")[np.asarray(ids).reshape(-1)]


def test_hashed_features_and_crosses():
    space = FeatureSpace({"sh": "string_hashed", "ih": FeatureSpace.integer_hashed(num_bins=5)},
                         crosses=[("sh", "ih"), FeatureSpace.cross(("ih", "sh"), crossing_dim=3, output_mode="int")],
                         hashing_dim=6, crossing_dim=4, output_mode="dict")
    data = {"sh": DATA["sh"], "ih": DATA["ih"]}
    out = {name: _np(x) for name, x in space(data).items()}
    assert sorted(out) == ["ih", "ih_X_sh", "sh", "sh_X_ih"]
    sh = _np(nb.layers.Hashing(num_bins=6)(DATA["sh"][:, None]))
    ih = _np(nb.layers.Hashing(num_bins=5)(DATA["ih"][:, None]))
    np.testing.assert_array_equal(out["sh"], _one_hot(sh, 6))
    np.testing.assert_array_equal(out["ih"], _one_hot(ih, 5))
    # Keras crosses the preprocessed values (here the hash bins), not the raw ones
    np.testing.assert_array_equal(out["sh_X_ih"], _one_hot(_np(nb.layers.HashedCrossing(4)([sh, ih])), 4))
    assert out["ih_X_sh"].shape == (N, 1) and out["ih_X_sh"].dtype.kind == "i"
    np.testing.assert_array_equal(out["ih_X_sh"], _np(nb.layers.HashedCrossing(3)([ih, sh])))
    assert space.crossers["sh_X_ih"].num_bins == 4 and "sh_X_ih" in space.one_hot_encoders


def test_hashed_concat_orders_features_then_crosses_by_name():
    space = FeatureSpace({"sh": "string_hashed", "f": "float", "ih": "integer_hashed"}, crosses=[("sh", "ih")],
                         hashing_dim=3, crossing_dim=2)
    data = {"sh": DATA["sh"], "f": DATA["f"], "ih": DATA["ih"]}
    out = _np(space(data))
    parts = FeatureSpace({"sh": "string_hashed", "f": "float", "ih": "integer_hashed"}, crosses=[("sh", "ih")],
                         hashing_dim=3, crossing_dim=2, output_mode="dict")(data)
    want = np.concatenate([_np(parts[name]) for name in ("f", "ih", "sh", "sh_X_ih")], axis=-1)
    assert out.shape == (N, 1 + 3 + 3 + 2)
    np.testing.assert_array_equal(out, want)
    one = _np(space({"sh": "a", "f": 0.5, "ih": 7}))
    assert one.shape == (9,)


def test_integer_output_cannot_be_concatenated():
    space = FeatureSpace({"sh": FeatureSpace.string_hashed(num_bins=4, output_mode="int")})
    with pytest.raises(ValueError, match="cannot concatenate feature 'sh'.*output_mode='dict'"):
        space({"sh": ["a"]})
    assert _np(FeatureSpace({"sh": FeatureSpace.string_hashed(4, output_mode="int")}, output_mode="dict")(
        {"sh": ["a", "b"]})["sh"]).shape == (2, 1)


def test_string_inputs_in_a_functional_model():
    space = FeatureSpace({"sh": "string_hashed", "f": "float"}, hashing_dim=4)
    inputs = space.get_inputs()
    assert inputs["sh"].dtype == np.dtype(object)
    model = nb.Model(inputs, nb.layers.Dense(1)(space.get_encoded_features()))
    feed = {"sh": DATA["sh"][:, None].astype(object), "f": DATA["f"][:, None]}
    np.testing.assert_allclose(_np(model(feed)),
                               _np(model.layers[-1](space({"sh": DATA["sh"], "f": DATA["f"]}))), atol=1e-6)


# -- categorical features (the lookups) --------------------------------------------------------------------

def _vocabulary(column):
    """Keras's adapted vocabulary: the values by decreasing count (these columns have no ties)."""
    values, counts = np.unique(column, return_counts=True)
    assert len(set(counts.tolist())) == len(counts)
    return [values[i].item() for i in np.argsort(-counts, kind="stable")]


ALL = {**FLOATS, "s": "string_categorical", "i": "integer_categorical", "sh": "string_hashed",
       "ih": "integer_hashed"}


@pytest.mark.parametrize("name", ["s", "i"])
def test_categorical_features_index_the_adapted_vocabulary(name):
    space = FeatureSpace({name: ALL[name]}, output_mode="dict")
    space.adapt({name: DATA[name]})
    vocabulary = _vocabulary(DATA[name])
    assert [v.item() if hasattr(v, "item") else v for v in space.preprocessors[name].get_vocabulary()][1:] == \
        vocabulary
    assert space.preprocessors[name].vocabulary_size() == len(vocabulary) + 1
    unseen = "purple" if name == "s" else 99
    column = np.array(DATA[name].tolist() + [unseen])
    ids = [0 if v == unseen else vocabulary.index(v.item()) + 1 for v in column]  # 0: the OOV index
    np.testing.assert_array_equal(_np(space({name: column})[name]), _one_hot(ids, len(vocabulary) + 1))
    as_int = FeatureSpace({name: getattr(FeatureSpace, ALL[name])(output_mode="int")}, output_mode="dict")
    as_int.adapt({name: DATA[name]})
    np.testing.assert_array_equal(_np(as_int({name: column})[name]).ravel(), ids)


def test_categorical_options_max_tokens_and_oov_indices():
    space = FeatureSpace({"s": FeatureSpace.string_categorical(max_tokens=3, num_oov_indices=1),
                          "i": FeatureSpace.integer_categorical(num_oov_indices=2)}, output_mode="dict")
    space.adapt({"s": DATA["s"], "i": DATA["i"]})
    assert space.preprocessors["s"].vocabulary_size() == 3
    assert space.preprocessors["i"].vocabulary_size() == 4 + 2
    out = space({"s": DATA["s"], "i": DATA["i"]})
    assert _np(out["s"]).shape == (N, 3) and _np(out["i"]).shape == (N, 6)


def test_every_type_with_crosses_round_trips_through_a_file(tmp_path):
    space = FeatureSpace(ALL, crosses=[("s", "i"), FeatureSpace.cross(("sh", "d"), 5, output_mode="int")],
                         crossing_dim=7, hashing_dim=9, num_discretization_bins=4, output_mode="dict")
    space.adapt(DATA)
    out = space(DATA)
    s_ids = np.argmax(_np(out["s"]), axis=-1)[:, None]
    i_ids = np.argmax(_np(out["i"]), axis=-1)[:, None]
    np.testing.assert_array_equal(_np(out["s_X_i"]), _one_hot(_np(nb.layers.HashedCrossing(7)([s_ids, i_ids])), 7))
    path = str(tmp_path / "all.keras")
    space.save(path)
    loaded = nb.saving.load_model(path)
    again = loaded(DATA)
    assert sorted(again) == sorted(out) == sorted([*ALL, "s_X_i", "sh_X_d"])
    for name in out:
        np.testing.assert_array_equal(_np(again[name]), _np(out[name]))
    concat = FeatureSpace.from_config({**space.get_config(), "output_mode": "concat"})
    with pytest.raises(ValueError, match="cannot concatenate feature 'sh_X_d'"):
        concat.adapt(DATA)


def test_a_model_holding_lookups_saves_and_loads(tmp_path):
    """The lookups' vocabularies (the archive's assets) size the encodings before the layers after the
    FeatureSpace are rebuilt, so a trained model that holds one loads and predicts the same."""
    features = {"f": "float", "s": "string_categorical", "i": "integer_categorical", "sh": "string_hashed"}
    data = {name: DATA[name] for name in features}
    space = FeatureSpace(features, crosses=[("s", "i")], crossing_dim=5)
    space.adapt(data)
    model = nb.Model(space.get_inputs(), nb.layers.Dense(2)(space.get_encoded_features()))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = nb.saving.load_model(path)
    feed = {name: np.asarray(column)[:, None] for name, column in data.items()}
    np.testing.assert_allclose(loaded.predict(feed, verbose=0), model.predict(feed, verbose=0), atol=1e-6)
    lookup = [layer for _, layer in nb.saving.layout.walk(loaded) if isinstance(layer, nb.layers.StringLookup)]
    assert lookup and lookup[0].get_vocabulary() == space.preprocessors["s"].get_vocabulary()


def test_training_with_categorical_features_and_a_cross():
    """The structured-data guide's FeatureSpace (floats, lookups, a cross) feeding a small classifier."""
    rng = np.random.default_rng(2)
    n = 400
    data = {"s": rng.choice(["a", "b", "c"], size=n), "i": rng.choice([1, 2, 3, 4], size=n),
            "g": rng.normal(0.0, 2.0, size=n).astype("float32")}
    labels = ((data["s"] == "b") ^ (data["i"] > 2)).astype("float32")  # needs the cross or a hidden layer
    space = FeatureSpace({"s": "string_categorical", "i": "integer_categorical", "g": "float_normalized"},
                         crosses=[("s", "i")], crossing_dim=16)
    space.adapt(data)
    encoded = space(data)
    nb.utils.set_random_seed(0)
    model = nb.Sequential([nb.layers.Input(shape=(_np(encoded).shape[1],)), nb.layers.Dense(16, activation="relu"),
                           nb.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=nb.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(encoded, labels, epochs=20, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95


def test_a_custom_feature_with_its_own_layer(tmp_path):
    """Keras's example: a TextVectorization layer as the preprocessor of a text feature."""
    data = {"text": ["1st string", "2nd string", "3rd string", "the 2nd one"]}
    space = FeatureSpace({"text": FeatureSpace.feature(preprocessor=nb.layers.TextVectorization(output_mode="tf_idf"),
                                                       dtype="string", output_mode="float")})
    space.adapt(data)
    alone = nb.layers.TextVectorization(output_mode="tf_idf")
    alone.adapt(np.array(data["text"]))
    np.testing.assert_allclose(_np(space(data)), _np(alone(np.array(data["text"]))), atol=1e-6)
    path = str(tmp_path / "text.keras")
    space.save(path)
    np.testing.assert_allclose(_np(nb.saving.load_model(path)(data)), _np(space(data)), atol=1e-6)
    given = FeatureSpace({"text": FeatureSpace.feature(
        preprocessor=nb.layers.TextVectorization(vocabulary=["string", "1st"]), dtype="string", output_mode="int")},
        output_mode="dict")
    assert given._list_adaptable_preprocessors() == []  # a given vocabulary: nothing to adapt, as Keras
    assert _np(given({"text": ["1st string"]})["text"]).shape[0] == 1


def test_the_guides_training_model_starts_at_the_encoded_features():
    nb.utils.set_random_seed(0)
    space = FeatureSpace
    rng = np.random.default_rng(0)
    values = rng.random(64).astype("float32")
    data = {"a": values, "c": np.where(values > 0.5, "hi", "lo")}
    features = space({"a": space.float_normalized(), "c": space.string_categorical()}, output_mode="concat")
    features.adapt(data)
    encoded = features.get_encoded_features()
    training = nb.Model(inputs=encoded, outputs=nb.layers.Dense(1, activation="sigmoid")(encoded))
    training.compile(nb.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    training.fit(features(data), (values > 0.5).astype("float32"), epochs=60, verbose=0)
    inputs = features.get_inputs()
    serving = nb.Model(inputs, training(features(inputs)))
    np.testing.assert_allclose(serving(data).numpy(), training.predict(features(data), verbose=0), rtol=1e-5)
    assert training.evaluate(features(data), (values > 0.5).astype("float32"), verbose=0)[1] > 0.9
