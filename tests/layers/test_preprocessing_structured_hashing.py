"""Hashing and HashedCrossing: the same bins as Keras.

Keras 3 runs these layers on TensorFlow only (on the PyTorch backend their constructors raise
ImportError, checked below), so the reference values are the ones Keras's own tests assert
(keras/src/layers/preprocessing/hashing_test.py, hashed_crossing_test.py), FarmHash's published
Fingerprint64 values and SipHash-2-4's reference vectors."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers
from nablanet.layers.preprocessing_structured_hashing import fingerprint64, siphash

keras = pytest.importorskip("keras")

LETTERS = [["A"], ["B"], ["C"], ["D"], ["E"]]
NAMES = [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]]
NUMBERS = [[0], [1], [2], [3], [4]]

# (layer arguments, inputs, bins) as Keras's hashing_test.py states them
KERAS_CASES = [
    ({"num_bins": 3}, LETTERS, [1, 0, 1, 1, 2]),
    ({"num_bins": 3, "mask_value": ""}, [["A"], ["B"], [""], ["C"], ["D"]], [1, 1, 0, 2, 2]),
    ({"num_bins": 3, "salt": [133, 137]}, LETTERS, [1, 2, 1, 0, 2]),
    ({"num_bins": 3, "salt": 133}, LETTERS, [0, 0, 2, 1, 0]),
    ({"num_bins": 1}, LETTERS, [0, 0, 0, 0, 0]),
    ({"num_bins": 2}, NAMES, [0, 0, 1, 0, 0]),
    ({"num_bins": 3, "mask_value": ""}, NAMES, [1, 1, 2, 1, 1]),
    ({"num_bins": 3, "mask_value": "omar"}, NAMES, [0, 1, 2, 1, 1]),
    ({"num_bins": 3}, NUMBERS, [1, 0, 1, 0, 2]),
    ({"num_bins": 2, "salt": [133, 137]}, NAMES, [0, 1, 0, 1, 0]),
    ({"num_bins": 2, "salt": [211, 137]}, NAMES, [1, 0, 1, 0, 1]),
    ({"num_bins": 3, "salt": [133, 137]}, NUMBERS, [1, 1, 2, 0, 1]),
]

# FarmHash Fingerprint64 of strings of every length class (0-3, 4-7, 8-16, 17-32, 33-64, > 64 bytes)
FINGERPRINTS = [
    ("", 0x9AE16A3B2F90404F), ("a", 0xB3454265B6DF75E3), ("abc", 0x24A5B3A074E7F369),
    ("abcd", 0x1A5502DE4A1F8101), ("abcdefgh", 0xFEE9D22990C82909), ("0123456789'01234", 0x4283D4EF43627F64),
    ("0123456789=012345", 0x46A7416ED4861E3B), ("C is as portable as Stonehedge!!", 0xB944F8A16261E414),
    ("Discard medicine more than two years old.", 0xE8F89AB6DF9BDD25),
    ("For every action there is an equal and opposite government program.", 0x55182F8859ECA4CE),
    ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
     "dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex "
     "ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat "
     "nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit "
     "anim id est laborum.", 0xC3F02C4FFD5D71E6),
]


def test_keras_needs_tensorflow_for_these_layers():
    """Why the references are Keras's stated values rather than a live Keras call."""
    pytest.importorskip("torch")
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="requires TensorFlow"):
            keras.layers.Hashing(num_bins=3)


def test_fingerprint64_matches_farmhash():
    strings = np.array([s for s, _ in FINGERPRINTS], dtype=object)
    assert [int(h) for h in fingerprint64(strings)] == [h for _, h in FINGERPRINTS]
    assert [int(h) for h in fingerprint64(strings.astype(str))] == [h for _, h in FINGERPRINTS]


def test_siphash_matches_reference_vectors():
    key = [int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little")]
    messages = np.array([bytes(range(n)) for n in (0, 7, 8, 15)], dtype=object)
    expected = [0x726FDB47DD0E0E31, 0xAB0200F58B01D137, 0x93F5F5799A932462, 0xA129CA6149BE45E5]
    assert [int(h) for h in siphash(messages, key)] == expected


@pytest.mark.parametrize("kwargs, inputs, bins", KERAS_CASES, ids=str)
def test_hashing_bins_equal_keras(kwargs, inputs, bins):
    for data in (np.array(inputs), np.array(inputs, dtype=object), inputs):
        out = layers.Hashing(**kwargs)(data).numpy()
        assert out.dtype == np.int64 and out.shape == np.shape(inputs)
        np.testing.assert_array_equal(out.ravel(), bins)
    np.testing.assert_array_equal(layers.Hashing(**kwargs)(np.array(inputs)[:, 0]).numpy(), bins)  # 1-D


def test_hashing_float_inputs_are_truncated_and_batched_shapes_kept():
    np.testing.assert_array_equal(layers.Hashing(3)(np.array([[0.5], [1.9], [2.2]])).numpy().ravel(), [1, 0, 1])
    grid = np.array([["A", "B"], ["C", "D"]])
    np.testing.assert_array_equal(layers.Hashing(3)(grid).numpy(), [[1, 0], [1, 1]])
    assert layers.Hashing(3, dtype="int32")(grid).numpy().dtype == np.int32
    masked = layers.Hashing(3, mask_value=2)(np.array([1, 2, 3])).numpy()
    assert masked[1] == 0 and masked[0] in (1, 2) and masked[2] in (1, 2)
    assert 0 not in layers.Hashing(3, mask_value="x")(np.array([1, 2, 3])).numpy()  # another kind masks nothing


@pytest.mark.parametrize("mode, inputs, expected", [
    ("one_hot", [0, 1, 2, 3, 4], [[0, 1, 0], [1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]),
    ("multi_hot", [[0, 1, 2, 3, 4]], [[1, 1, 1]]),
    ("count", [0, 1, 2, 3, 4], [2, 2, 1]),
    ("count", [[0, 1, 2, 3, 4]], [[2, 2, 1]]),
])
def test_hashing_output_modes_equal_keras(mode, inputs, expected):
    out = layers.Hashing(num_bins=3, output_mode=mode)(np.array(inputs)).numpy()
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(4,), (4, 1), (3, 4)])
def test_hashing_symbolic_shapes(mode, shape):
    layer = layers.Hashing(num_bins=5, output_mode=mode)
    assert tuple(layer(nn.Input(shape=shape)).shape) == layer.compute_output_shape((None,) + shape)


def test_hashing_in_a_model_on_strings_and_config():
    inputs = nn.Input(shape=(1,), dtype="string")
    model = nn.Model(inputs, layers.Hashing(num_bins=3, output_mode="one_hot", dtype="float64")(inputs))
    out = model.predict(np.array(LETTERS), verbose=0)
    np.testing.assert_array_equal(out.argmax(-1), [1, 0, 1, 1, 2])
    assert model.layers[0].get_config()["dtype"] == "string"  # Keras's name for a text input
    layer = layers.Hashing(num_bins=2, salt=7, mask_value="x", name="h")
    # the keys of Keras's Hashing.get_config (keras/src/layers/preprocessing/hashing.py)
    assert set(layer.get_config()) == {"name", "trainable", "dtype", "num_bins", "salt", "mask_value", "output_mode",
                                       "sparse"}
    assert layer.get_config()["salt"] == [7, 7]
    again = layers.Hashing.from_config(layer.get_config())
    assert again.get_config() == layer.get_config()


def test_hashing_errors():
    with pytest.raises(ValueError, match="Hashing: num_bins cannot be None or non-positive, got num_bins=-1"):
        layers.Hashing(num_bins=-1)
    with pytest.raises(ValueError, match="Hashing: salt must be an integer or a pair of integers, got salt='s'"):
        layers.Hashing(num_bins=2, salt="s")
    with pytest.raises(ValueError, match="Hashing: expected output_mode in .*got output_mode='bad'"):
        layers.Hashing(num_bins=2, output_mode="bad")
    with pytest.raises(NotImplementedError, match="Hashing: sparse=True is not available"):
        layers.Hashing(num_bins=2, output_mode="one_hot", sparse=True)


FEATURES = (np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102]))


def test_hashed_crossing_equals_keras():
    np.testing.assert_array_equal(layers.HashedCrossing(num_bins=5)(FEATURES).numpy(), [1, 4, 1, 1, 3])
    one_hot = layers.HashedCrossing(num_bins=5, output_mode="one_hot")(FEATURES).numpy()
    np.testing.assert_array_equal(one_hot.argmax(-1), [1, 4, 1, 1, 3])
    assert one_hot.dtype == np.float32 and one_hot.sum() == 5
    column = layers.HashedCrossing(num_bins=5)((FEATURES[0][:, None], FEATURES[1][:, None])).numpy()
    np.testing.assert_array_equal(column, [[1], [4], [1], [1], [3]])
    assert int(layers.HashedCrossing(num_bins=5)((np.array("A"), np.array(102))).numpy()) == 3


def test_hashed_crossing_in_a_model_and_errors():
    first, second = nn.Input(shape=(1,), dtype="string"), nn.Input(shape=(1,), dtype="int64")
    out = layers.HashedCrossing(5, output_mode="one_hot")((first, second))
    assert tuple(out.shape) == (None, 5)
    model = nn.Model([first, second], out)
    np.testing.assert_array_equal(model.predict([FEATURES[0][:, None], FEATURES[1][:, None]], verbose=0).argmax(-1),
                                  [1, 4, 1, 1, 3])
    assert set(layers.HashedCrossing(3).get_config()) == {"num_bins", "output_mode", "sparse", "name", "dtype"}
    with pytest.raises(ValueError, match="HashedCrossing 'c': expected inputs of shape .*got \\(1, 1, 1\\)"):
        layers.HashedCrossing(10, name="c")((np.ones((1, 1, 1), int), np.ones((1, 1, 1), int)))
    with pytest.raises(ValueError, match="HashedCrossing 'c': expected a list or tuple of at least two inputs"):
        layers.HashedCrossing(10, name="c")(np.array([1]))
    with pytest.raises(ValueError, match="expected integer or string inputs, got dtypes \\['float"):
        layers.HashedCrossing(10)((np.array([1.0]), np.array([1])))
