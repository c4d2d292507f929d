"""StringLookup and IntegerLookup as Keras 3's.

Keras runs these layers on TensorFlow only (on the PyTorch backend their constructors raise
ImportError), so the references are the outputs Keras's own docstrings state
(keras/src/layers/preprocessing/string_lookup.py, integer_lookup.py), the rules its source
states (vocabulary order, IDF formula, config keys, the assets layout of a `.keras` file), and
Keras's saving code itself where it runs without TensorFlow (where it puts a layer's assets)."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers
from nablanet.saving.archive import SavingError

keras = pytest.importorskip("keras")

VOCAB = ["a", "b", "c", "d"]
ROWS = [["a", "c", "d"], ["d", "z", "b"]]
DOCS = [["a", "c", "d", "d"], ["d", "z", "b", "z"]]
NUMBERS = [12, 36, 1138, 42]
INT_ROWS = [[12, 1138, 42], [42, 1000, 36]]
INT_DOCS = [[12, 1138, 42, 42], [42, 7, 36, 7]]

# (layer, arguments, inputs, output) as Keras's docstrings state them
STATED = [
    (layers.StringLookup, {"vocabulary": VOCAB}, ROWS, [[1, 3, 4], [4, 0, 2]]),
    (layers.StringLookup, {"vocabulary": VOCAB, "num_oov_indices": 2}, [["a", "c", "d"], ["m", "z", "b"]],
     [[2, 4, 5], [0, 1, 3]]),
    (layers.StringLookup, {"vocabulary": VOCAB, "output_mode": "one_hot"}, ["a", "b", "c", "d", "z"],
     np.eye(5, dtype=int)[[1, 2, 3, 4, 0]]),
    (layers.StringLookup, {"vocabulary": VOCAB, "output_mode": "multi_hot"}, DOCS, [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]),
    (layers.StringLookup, {"vocabulary": VOCAB, "output_mode": "count"}, DOCS, [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
    (layers.StringLookup, {"vocabulary": VOCAB, "output_mode": "tf_idf", "idf_weights": [0.25, 0.75, 0.6, 0.4]},
     DOCS, [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]),
    (layers.StringLookup, {"vocabulary": ["[UNK]"] + VOCAB, "output_mode": "tf_idf",
                           "idf_weights": [0.9, 0.25, 0.75, 0.6, 0.4]}, DOCS,
     [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]]),
    (layers.StringLookup, {"vocabulary": VOCAB, "invert": True}, [[1, 3, 4], [4, 0, 2]],
     [["a", "c", "d"], ["d", "[UNK]", "b"]]),
    (layers.IntegerLookup, {"vocabulary": NUMBERS}, INT_ROWS, [[1, 3, 4], [4, 0, 2]]),
    (layers.IntegerLookup, {"vocabulary": NUMBERS, "num_oov_indices": 2}, [[12, 1138, 42], [37, 1000, 36]],
     [[2, 4, 5], [1, 0, 3]]),
    (layers.IntegerLookup, {"vocabulary": [10, 20, 30], "num_oov_indices": 4, "oov_method": "floormod"},
     [100, 300, 700, 1100, 1700, 2000], [0, 0, 0, 0, 0, 0]),
    (layers.IntegerLookup, {"vocabulary": [10, 20, 30], "num_oov_indices": 4, "oov_method": "farmhash"},
     [100, 300, 700, 1100, 1700, 2000], [3, 3, 2, 2, 0, 1]),
    (layers.IntegerLookup, {"vocabulary": NUMBERS, "output_mode": "one_hot"}, [12, 36, 1138, 42, 7],
     np.eye(5, dtype=int)[[1, 2, 3, 4, 0]]),
    (layers.IntegerLookup, {"vocabulary": NUMBERS, "output_mode": "multi_hot"}, INT_DOCS,
     [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]),
    (layers.IntegerLookup, {"vocabulary": NUMBERS, "output_mode": "count"}, INT_DOCS,
     [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
    (layers.IntegerLookup, {"vocabulary": [-1] + NUMBERS, "output_mode": "tf_idf",
                            "idf_weights": [0.9, 0.25, 0.75, 0.6, 0.4]}, INT_DOCS,
     [[0, 0.25, 0, 0.6, 0.8], [1.8, 0, 0.75, 0, 0.4]]),
    (layers.IntegerLookup, {"vocabulary": NUMBERS, "invert": True}, [[1, 3, 4], [4, 0, 2]],
     [[12, 1138, 42], [42, -1, 36]]),
]


def _numpy(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


def test_keras_needs_tensorflow_for_these_layers():
    """Why the references are Keras's stated outputs rather than a live Keras call."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        for cls in (keras.layers.StringLookup, keras.layers.IntegerLookup):
            with pytest.raises(ImportError, match="requires TensorFlow"):
                cls(vocabulary=[1])


@pytest.mark.parametrize("cls, kwargs, inputs, expected", STATED, ids=lambda v: getattr(v, "__name__", None))
def test_outputs_equal_keras_documented_ones(cls, kwargs, inputs, expected):
    for data in (inputs, np.array(inputs)):
        out = _numpy(cls(**kwargs)(data))
        if kwargs.get("output_mode") == "tf_idf":
            assert out.dtype == np.float32
            np.testing.assert_allclose(out, expected, rtol=1e-6)
        else:
            assert out.dtype.kind == ("U" if kwargs.get("invert") and cls is layers.StringLookup else "i")
            np.testing.assert_array_equal(out, expected)


def test_string_inputs_as_object_and_bytes_arrays():
    layer = layers.StringLookup(vocabulary=VOCAB)
    np.testing.assert_array_equal(layer(np.array(ROWS, dtype=object)).numpy(), [[1, 3, 4], [4, 0, 2]])
    np.testing.assert_array_equal(layer(np.array([b"a", b"z"], dtype=object)).numpy(), [1, 0])
    assert int(layer(np.array("c")).numpy()) == 3


def test_adapt_orders_by_count_then_token_descending():
    strings = layers.StringLookup()
    strings.adapt(ROWS)
    assert strings.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    np.testing.assert_array_equal(strings(ROWS).numpy(), [[5, 3, 1], [1, 2, 4]])
    numbers = layers.IntegerLookup()
    numbers.adapt(np.array(INT_ROWS))
    assert numbers.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(numbers(np.array(INT_ROWS)).numpy(), [[5, 2, 1], [1, 3, 4]])
    capped = layers.StringLookup(max_tokens=3, mask_token="")
    capped.adapt(np.array(["x", "y", "y", "", "", "", "z", "z", "z"]))
    assert capped.get_vocabulary() == ["", "[UNK]", "z"]
    batched = layers.StringLookup()
    batched.adapt(iter([np.array(ROWS[0]), (np.array(ROWS[1]), None)]))  # batches, an (x, y) one counting by x
    assert batched.get_vocabulary() == strings.get_vocabulary()
    assert batched.get_vocabulary(include_special_tokens=False) == ["d", "z", "c", "b", "a"]
    assert batched.vocabulary_size() == 6


def test_adapt_tf_idf_uses_keras_formula():
    layer = layers.StringLookup(output_mode="tf_idf", pad_to_max_tokens=True, max_tokens=8)
    layer.adapt(DOCS)
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]
    documents = np.array([2, 1, 1, 1, 1], dtype=np.float64)  # documents holding d, z, c, b, a
    idf = np.log(1 + 2 / (1 + documents)).astype(np.float32)
    expected = np.concatenate([[idf.mean()], idf, [0, 0]]).astype(np.float32)
    np.testing.assert_allclose(layer.idf_weights, expected, rtol=1e-6)
    out = layer(DOCS).numpy()
    assert out.shape == (2, 8)
    np.testing.assert_allclose(out[0], [0, 2 * idf[0], 0, idf[2], 0, idf[4], 0, 0], rtol=1e-6)


def test_mask_token_and_invert():
    layer = layers.StringLookup(vocabulary=VOCAB, mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", "c", "d"]
    np.testing.assert_array_equal(layer(np.array([["a", "", "q"]])).numpy(), [[2, 0, 1]])
    inverse = layers.StringLookup(vocabulary=VOCAB, mask_token="", invert=True)
    np.testing.assert_array_equal(inverse(np.array([[1, 0, 2, 5]])), [["[UNK]", "", "a", "d"]])
    hot = layers.StringLookup(vocabulary=VOCAB, mask_token="", output_mode="multi_hot")
    np.testing.assert_array_equal(hot(np.array([["a", ""]])).numpy(), [[0, 1, 0, 0, 0]])  # the mask counts for nothing
    numbers = layers.IntegerLookup(vocabulary=NUMBERS, mask_token=0)
    assert numbers.get_vocabulary() == [0, -1] + NUMBERS
    np.testing.assert_array_equal(numbers(np.array([[12, 0, 7]])).numpy(), [[2, 0, 1]])
    forward, back = layers.IntegerLookup(vocabulary=NUMBERS), layers.IntegerLookup(vocabulary=NUMBERS, invert=True)
    np.testing.assert_array_equal(back(forward(np.array(INT_ROWS))).numpy(), [[12, 1138, 42], [42, -1, 36]])


def test_salted_oov_hashing():
    # Keras hashes OOV tokens with the op its Hashing layer uses, whose bins test_..._hashing.py checks
    names = np.array(["omar", "stringer", "marlo", "wire", "skywalker"])
    for salt in (None, [133, 137]):
        layer = layers.StringLookup(vocabulary=VOCAB, num_oov_indices=3, salt=salt)
        np.testing.assert_array_equal(layer(np.append(names, "a")).numpy(),
                                      np.append(layers.Hashing(3, salt=salt)(names).numpy(), 3))
        assert len(set(layer(names).numpy().tolist())) > 1


def test_config_keys_and_round_trip():
    # the keys of Keras's IndexLookup.get_config plus the Layer's (StringLookup swaps vocabulary_dtype for encoding)
    common = {"name", "trainable", "dtype", "invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token",
              "output_mode", "sparse", "pad_to_max_tokens", "idf_weights", "vocabulary", "vocabulary_size",
              "oov_method", "salt"}
    strings = layers.StringLookup(vocabulary=np.array(VOCAB), mask_token="")
    assert set(strings.get_config()) == common | {"encoding"}
    assert strings.get_config()["vocabulary"] == VOCAB and strings.get_config()["vocabulary_size"] == 6
    numbers = layers.IntegerLookup(vocabulary=np.array(NUMBERS), mask_token=0)
    assert set(numbers.get_config()) == common | {"vocabulary_dtype"}
    assert numbers.get_config()["vocabulary"] == NUMBERS and numbers.get_config()["mask_token"] == 0
    for layer in (strings, numbers):
        again = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
        assert again.get_config() == layer.get_config()
        assert again.get_vocabulary() == layer.get_vocabulary()


def test_errors_name_the_layer_and_the_values():
    with pytest.raises(TypeError, match=r"StringLookup 's'.call: expected strings .*int64; use IntegerLookup"):
        layers.StringLookup(vocabulary=VOCAB, name="s")(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"StringLookup 's'.adapt: expected strings"):
        layers.StringLookup(name="s").adapt(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"IntegerLookup 'i'.call: expected integers, got dtype <U1; use StringLookup"):
        layers.IntegerLookup(vocabulary=NUMBERS, name="i")(np.array(["a"]))
    with pytest.raises(ValueError, match="StringLookup: expected output_mode in .*got output_mode='bad'"):
        layers.StringLookup(output_mode="bad")
    with pytest.raises(ValueError, match=r"StringLookup 'e'.adapt: expected at least one token.*got empty data"):
        layers.StringLookup(name="e").adapt(np.array([], dtype=str))
    with pytest.raises(ValueError, match=r"num_oov_indices=0 every input must be in the vocabulary, .*\['z'\]"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(np.array(["a", "z"]))
    with pytest.raises(ValueError, match=r"expected a vocabulary without repeated tokens, got repeated \['a'\]"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="the mask token '' is in the vocabulary at index 1"):
        layers.StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ValueError, match="invert=True needs output_mode='int'"):
        layers.StringLookup(invert=True, output_mode="count")
    with pytest.raises(NotImplementedError, match="StringLookup: sparse=True is not available"):
        layers.StringLookup(output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="cannot adapt a layer given a vocabulary"):
        layers.StringLookup(vocabulary=VOCAB).adapt(np.array(["a"]))
    with pytest.raises(ValueError, match="a vocabulary file path cannot be a constructor argument"):
        layers.StringLookup.from_config({"vocabulary": "/etc/hostname"})  # a config never names a file to read


def test_set_vocabulary_from_a_file(tmp_path):
    path = tmp_path / "vocabulary.txt"
    path.write_text("a\nb\nc\n")
    layer = layers.StringLookup()
    layer.set_vocabulary(str(path))
    assert layer.get_vocabulary() == ["[UNK]", "a", "b", "c"]


def _text_model(mode):
    lookup = layers.StringLookup(output_mode=mode)
    lookup.adapt(np.array([["cat"], ["dog"], ["cat"], ["bird"], ["cow"], ["dog"], ["cat"]]))
    inputs = nn.Input(shape=(1,), dtype="string")
    return nn.Model(inputs, lookup(inputs))


@pytest.mark.parametrize("mode", ["int", "multi_hot", "tf_idf"])
def test_keras_file_keeps_the_vocabulary_as_keras_does(tmp_path, mode):
    model = _text_model(mode)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("assets/layers/string_lookup/vocabulary.txt") == b"[UNK]\ncat\ndog\ncow\nbird"
        config = json.loads(zf.read("config.json"))["config"]["layers"][1]["config"]
        assert config["vocabulary"] is None and config["vocabulary_size"] == 5  # Keras keeps it out of the config
        entries = {name: zf.read(name) for name in zf.namelist() if name != "nablanet.json"}
    test = np.array([["cat"], ["zebra"], ["cow"]])
    loaded = nn.saving.load_model(path)
    np.testing.assert_array_equal(loaded(test).numpy(), model(test).numpy())
    keras_written = tmp_path / "keras.keras"  # the same entries without nablanet's manifest, as Keras writes them
    with zipfile.ZipFile(keras_written, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    np.testing.assert_array_equal(nn.saving.load_model(keras_written)(test).numpy(), model(test).numpy())


def test_keras_puts_a_layers_assets_where_nablanet_reads_them(tmp_path):
    class VocabularyHolder(keras.layers.Layer):
        def save_assets(self, dir_path):
            with open(os.path.join(dir_path, "vocabulary.txt"), "w") as f:
                f.write("[UNK]\nx")

        def call(self, inputs):
            return inputs

    inputs = keras.Input((1,))
    path = tmp_path / "holder.keras"
    keras.Model(inputs, VocabularyHolder()(inputs)).save(path)
    assert "assets/layers/vocabulary_holder/vocabulary.txt" in zipfile.ZipFile(path).namelist()


def test_asset_names_are_checked(tmp_path):
    path = tmp_path / "model.keras"
    _text_model("int").save(path)
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist() if name != "nablanet.json"}
    entries["assets/layers/string_lookup/../../evil"] = b"x"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    (tmp_path / "bad.keras").write_bytes(buffer.getvalue())
    with pytest.raises(SavingError, match=r"asset assets/layers/string_lookup/\.\./\.\./evil is not a plain file"):
        nn.saving.load_model(tmp_path / "bad.keras")


def test_a_model_with_a_string_lookup_front_end_trains():
    rng = np.random.default_rng(0)
    colors = np.array(["red", "green", "blue", "black"])
    x = colors[rng.integers(0, 4, size=(256, 1))]
    y = np.isin(x[:, 0], ["red", "blue"]).astype("float32")
    lookup = layers.StringLookup()
    lookup.adapt(x)
    inputs = nn.Input(shape=(1,), dtype="string")
    encoded = layers.CategoryEncoding(num_tokens=lookup.vocabulary_size(), output_mode="one_hot")(lookup(inputs))
    model = nn.Model(inputs, layers.Dense(1, activation="sigmoid")(encoded))
    model.compile(optimizer=nn.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] == 1.0
    assert model.predict(np.array([["red"], ["green"]]), verbose=0).round().ravel().tolist() == [1.0, 0.0]
