"""TextVectorization. Keras 3 runs its layer on TensorFlow, which the reference environment
lacks, so the expectations are Keras's documented outputs and values derived by hand from its
rules (vocabulary by descending count, ties by descending token; index 0 padding, 1 '[UNK]';
ASCII lowercasing and punctuation stripping as tf.strings does them)."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.data.text import TextVectorization


def adapted(texts, **kwargs):
    layer = TextVectorization(**kwargs)
    layer.adapt(texts)
    return layer


# -- Keras's documented examples -----------------------------------------------------------------

def test_keras_docstring_examples():
    layer = adapted(["foo bar", "bar baz", "baz bada boom"], max_tokens=5000, output_mode="int",
                    output_sequence_length=4)
    out = layer([["foo qux bar"], ["qux baz"]])  # (batch, 1) input, as in Keras's example
    np.testing.assert_array_equal(out, [[4, 1, 3, 0], [1, 2, 0, 0]])
    assert out.dtype == np.int64
    layer = TextVectorization(max_tokens=5000, output_sequence_length=4, vocabulary=["earth", "wind", "and", "fire"])
    assert layer.get_vocabulary() == ["", "[UNK]", "earth", "wind", "and", "fire"]


# -- the vocabulary ------------------------------------------------------------------------------

def test_vocabulary_order_counts_then_descending_tokens():
    layer = adapted(["b a", "a c b", "d", "e e e"])
    assert layer.get_vocabulary() == ["", "[UNK]", "e", "b", "a", "d", "c"]
    assert layer.get_vocabulary(include_special_tokens=False) == ["e", "b", "a", "d", "c"]
    assert layer.vocabulary_size() == 7


def test_max_tokens_counts_the_special_tokens():
    layer = adapted(["b a", "a c b", "d", "e e e"], max_tokens=4)
    assert layer.get_vocabulary() == ["", "[UNK]", "e", "b"]
    np.testing.assert_array_equal(layer(["a e b z"]), [[1, 2, 3, 1]])
    counting = adapted(["b a", "a c b", "d", "e e e"], max_tokens=4, output_mode="count")
    assert counting.get_vocabulary() == ["[UNK]", "e", "b", "a"]  # no padding index outside "int"
    assert adapted(["a b"], max_tokens=2).get_vocabulary() == ["", "[UNK]"]  # legal in Keras: no words


def test_adapt_takes_batches_and_relearns():
    layer = TextVectorization()
    layer.adapt(iter([["x y"], np.array(["y z", "y"])]))
    assert layer.get_vocabulary() == ["", "[UNK]", "y", "z", "x"]
    layer.adapt(batch for batch in [["p"], ["q q"], ["r"]])  # a new vocabulary, not added to the old
    assert layer.get_vocabulary() == ["", "[UNK]", "q", "r", "p"]
    steps = TextVectorization()
    steps.adapt(iter([["p"], ["q q"], ["r r r"]]), steps=2)
    assert steps.get_vocabulary() == ["", "[UNK]", "q", "p"]
    single = adapted("one two two")
    assert single.get_vocabulary() == ["", "[UNK]", "two", "one"]
    specials = adapted(["[UNK] a"], standardize=None)  # the special tokens are never learned
    assert specials.get_vocabulary() == ["", "[UNK]", "a"]


def test_vocabulary_argument_and_file(tmp_path):
    plain = TextVectorization(vocabulary=["the", "cat"])
    with_specials = TextVectorization(vocabulary=np.array(["", "[UNK]", "the", "cat"]))
    assert plain.get_vocabulary() == with_specials.get_vocabulary() == ["", "[UNK]", "the", "cat"]
    path = tmp_path / "vocab.txt"
    path.write_text("the\ncat\n", encoding="utf-8")
    from_file = TextVectorization(vocabulary=str(path))
    np.testing.assert_array_equal(from_file(["The cat sat"]), [[2, 3, 1]])
    vector = TextVectorization(vocabulary=["[UNK]", "a"], output_mode="multi_hot")
    assert vector.get_vocabulary() == ["[UNK]", "a"]
    layer = TextVectorization()
    layer.set_vocabulary([b"x", "y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y"]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"vocabulary": ["a", "b", "a"]}, ValueError, r"repeats \['a'\]"),
    ({"vocabulary": ["a", "", "b"]}, ValueError, "padding token '' is at vocabulary index 1"),
    ({"vocabulary": []}, ValueError, "cannot set an empty vocabulary"),
    ({"vocabulary": ["a", "b", "c"], "max_tokens": 4}, ValueError, "vocabulary of 5 .* exceeds max_tokens=4"),
    ({"vocabulary": "/no/such/file.txt"}, ValueError, "vocabulary file '/no/such/file.txt' does not exist"),
    ({"vocabulary": ["a", 3]}, TypeError, "expected strings, got int 3 at position 1"),
    ({"vocabulary": ["a"], "output_mode": "tf_idf"}, ValueError, "pass idf_weights too"),
    ({"vocabulary": ["a"], "output_mode": "tf_idf", "idf_weights": [1.0, 2.0]}, ValueError,
     r"expected 1 idf_weights .* got shape \(2,\)"),
    ({"idf_weights": [1.0]}, ValueError, "idf_weights applies only to output_mode='tf_idf'"),
])
def test_bad_vocabularies(kwargs, error, message):
    with pytest.raises(error, match=message):
        TextVectorization(**kwargs)


def test_adapt_errors():
    with pytest.raises(ValueError, match="found no tokens in 0 strings"):
        TextVectorization().adapt([])
    with pytest.raises(ValueError, match="found no tokens in 2 strings"):
        TextVectorization().adapt(["!!!", "  "])
    with pytest.raises(ValueError, match="cannot adapt a layer built with a vocabulary"):
        TextVectorization(vocabulary=["a"]).adapt(["a b"])
    with pytest.raises(TypeError, match="expected strings or an iterable of batches of strings, got int"):
        TextVectorization().adapt(5)
    with pytest.raises(TypeError, match="expected strings, got int 7 at position 1"):
        TextVectorization().adapt(["a", 7])


# -- standardize, split, n-grams -----------------------------------------------------------------

def test_standardize_as_keras_tf_strings_does_it():
    text = "Hello, World! ÉCOLE don't (x+y)=z ¿qué?"
    tokens = lambda **kwargs: adapted([text], **kwargs).get_vocabulary(include_special_tokens=False)
    # ASCII letters lowered, the 32 ASCII punctuation marks removed, everything else kept
    assert sorted(tokens()) == sorted(["hello", "world", "École", "dont", "xyz", "¿qué"])
    assert sorted(tokens(standardize="lower")) == sorted(["hello,", "world!", "École", "don't", "(x+y)=z", "¿qué?"])
    assert sorted(tokens(standardize="strip_punctuation")) == sorted(["Hello", "World", "ÉCOLE", "dont", "xyz", "¿qué"])
    assert sorted(tokens(standardize=None)) == sorted(text.split())
    assert sorted(tokens(standardize=np.char.lower)) == sorted(text.lower().split())  # a callable gets an array
    import string

    assert adapted([string.punctuation + " a"]).get_vocabulary() == ["", "[UNK]", "a"]


def test_split_modes():
    layer = adapted(["ab a"], split="character", standardize=None)
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", " "]
    np.testing.assert_array_equal(layer("ba c"), [3, 2, 4, 1])  # one string: one row, no batch axis
    assert layer.decode(layer("ba ab"), separator="") == "ba ab"
    whole = adapted(["new york", "paris", "new york"], split=None)
    assert whole.get_vocabulary() == ["", "[UNK]", "new york", "paris"]
    np.testing.assert_array_equal(whole(["paris", "rome"]), [[3], [1]])
    dashes = adapted(["a-b-c", "b-c"], standardize="lower", split=lambda strings: [s.split("-") for s in strings])
    assert dashes.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]
    spaces = adapted(["  a\tb\n\nc\r\x0bd\x0ce  "])  # runs of ASCII whitespace separate, none are tokens
    assert sorted(spaces.get_vocabulary(include_special_tokens=False)) == ["a", "b", "c", "d", "e"]
    other = adapted(["a\xa0b c\x1cd e\u3000f"])  # other Unicode spaces are part of tokens, as in tf.strings
    assert sorted(other.get_vocabulary(include_special_tokens=False)) == ["a\xa0b", "c\x1cd", "e\u3000f"]
    with pytest.raises(ValueError, match="split callable must return one list of tokens per string"):
        adapted(["a b"], split=lambda strings: [["a"], ["b"]])
    with pytest.raises(ValueError, match=r"standardize callable must return one string per input .* shape \(\)"):
        adapted(["a b"], standardize=lambda strings: "a")
    empty = TextVectorization(split=lambda strings: [["", "a"] for _ in strings], vocabulary=["a"])
    np.testing.assert_array_equal(empty(["x"]), [[0, 2]])  # the '' token is padding, as in Keras


def test_ngrams():
    layer = adapted(["a b c"], ngrams=2)
    assert sorted(layer.get_vocabulary()[2:]) == ["a", "a b", "b", "b c", "c"]
    np.testing.assert_array_equal(layer.decode(layer("a b c")), ["a", "b", "c", "a b", "b c"])  # 1-grams, then 2
    only = adapted(["a b c"], ngrams=(2, 3))
    assert sorted(only.get_vocabulary()[2:]) == ["a b", "a b c", "b c"]
    np.testing.assert_array_equal(only(["a"]).shape, (1, 0))  # too short for any 2-gram


# -- output ---------------------------------------------------------------------------------------

def test_int_output_padding_and_truncation():
    layer = adapted(["a b c d"])
    out = layer(["a b", "c d a b c", ""])
    assert out.shape == (3, 5)  # padded (post) to the longest row
    np.testing.assert_array_equal(out[0], [5, 4, 0, 0, 0])
    short = adapted(["a b c d"], output_sequence_length=2)
    np.testing.assert_array_equal(short(["a b c", "d"]), [[5, 4], [2, 0]])  # cut at the end
    np.testing.assert_array_equal(short(np.array([["a"], ["b"]])), [[5, 0], [4, 0]])
    assert short([]).shape == (0, 2)
    assert short.compute_output_shape((None,)) == (None, 2)


def test_vector_modes_by_hand():
    texts = ["a a b", "b c"]
    # counts a2 b2 c1 -> ['[UNK]', 'b', 'a', 'c']; documents N=2, with a: 1, b: 2, c: 1
    count = adapted(texts, output_mode="count")
    assert count.get_vocabulary() == ["[UNK]", "b", "a", "c"]
    np.testing.assert_array_equal(count(["a a b z", "c c"]), [[1, 1, 2, 0], [0, 0, 0, 2]])
    assert count(["a"]).dtype == np.float32
    multi = adapted(texts, output_mode="multi_hot")
    np.testing.assert_array_equal(multi(["a a b z", "c c"]), [[1, 1, 1, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(multi("c"), [0, 0, 0, 1])
    tfidf = adapted(texts, output_mode="tf_idf")
    idf = np.log(1 + 2 / (1 + np.array([2.0, 1.0, 1.0])))  # b, a, c
    expected = np.array([[idf.mean(), idf[0], 2 * idf[1], 0], [0, 0, 0, 2 * idf[2]]])
    np.testing.assert_allclose(tfidf(["a a b z", "c c"]), expected, rtol=1e-6)
    padded = adapted(texts, output_mode="multi_hot", max_tokens=6, pad_to_max_tokens=True)
    assert padded(["a"]).shape == (1, 6) and padded.compute_output_shape((None,)) == (None, 6)
    given = TextVectorization(output_mode="tf_idf", vocabulary=["b", "a"], idf_weights=[0.5, 2.0])
    np.testing.assert_allclose(given(["a b q"]), [[1.25, 0.5, 2.0]])  # '[UNK]' weighs the mean


def test_vector_modes_need_a_vocabulary():
    with pytest.raises(RuntimeError, match="set the vocabulary first"):
        TextVectorization(output_mode="count")(["a"])
    assert TextVectorization(output_mode="count", max_tokens=3, pad_to_max_tokens=True)(["a"]).tolist() == [[1, 0, 0]]
    assert TextVectorization()(["a b"]).tolist() == [[1, 1]]  # "int" mode works, all out of vocabulary


@pytest.mark.parametrize("inputs, error, message", [
    ([1, 2], TypeError, "expected strings, got int 1 at position 0"),
    (np.array([1.5]), TypeError, "expected strings, got float"),
    (np.array([["a", "b"]]), ValueError, r"shape \(batch,\) or \(batch, 1\), got shape \(1, 2\)"),
    ([["a"], ["b", "c"]], TypeError, "expected strings, got list"),
])
def test_bad_inputs(inputs, error, message):
    with pytest.raises(error, match=message):
        adapted(["a"])(inputs)


def test_bytes_are_decoded():
    layer = adapted([b"caf\xc3\xa9 bar"])
    assert layer.get_vocabulary()[2:] == ["café", "bar"]
    np.testing.assert_array_equal(layer(np.array([b"bar"])), [[3]])


@pytest.mark.parametrize("kwargs, message", [
    ({"max_tokens": 1}, "max_tokens must be an integer greater than 1"),
    ({"max_tokens": 5.0}, "max_tokens must be an integer greater than 1"),
    ({"pad_to_max_tokens": True, "output_mode": "count"}, "pad_to_max_tokens=True needs max_tokens"),
    ({"standardize": "upper"}, "standardize must be one of"),
    ({"split": "comma"}, "split must be one of"),
    ({"output_mode": "one_hot"}, "output_mode must be one of"),
    ({"ngrams": 0}, "ngrams must be None, a positive integer or a tuple"),
    ({"ngrams": [1, 2]}, "ngrams must be None"),
    ({"output_sequence_length": 3, "output_mode": "count"}, "applies only to output_mode='int'"),
    ({"output_sequence_length": -1}, "output_sequence_length must be a non-negative integer"),
    ({"ragged": True}, "leave them False"),
    ({"sparse": True}, "leave them False"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match="TextVectorization: .*" + message):
        TextVectorization(**kwargs)
    assert TextVectorization(output_mode="binary").output_mode == "multi_hot"  # Keras's old names
    assert TextVectorization(output_mode="tf-idf").output_mode == "tf_idf"


# -- decode, config, models ------------------------------------------------------------------------

def test_decode_is_the_inverse_mapping():
    layer = adapted(["the cat sat on the mat"], output_sequence_length=6)
    ids = layer(["The cat sat", "the dog sat on the mat"])
    tokens = layer.decode(ids)
    assert tokens.shape == (2, 6) and tokens[1, 1] == "[UNK]" and tokens[0, 5] == ""
    assert layer.decode(ids, separator=" ") == ["the cat sat", "the [UNK] sat on the mat"]
    assert layer.decode(ids[0], separator=" ") == "the cat sat"
    assert layer.decode(2) == "the" and layer.decode(np.int64(0)) == ""
    with pytest.raises(ValueError, match=r"ids must be in \[0, 7\) .* got values in \[0, 7\]"):
        layer.decode([0, 7])
    with pytest.raises(TypeError, match="expected integer token ids, got dtype float64"):
        layer.decode([1.0])
    with pytest.raises(ValueError, match="joining needs 1-D or 2-D ids"):
        layer.decode(2, separator=" ")


def test_config_round_trip_keeps_the_vocabulary():
    for kwargs in ({"output_sequence_length": 3, "ngrams": 2}, {"output_mode": "tf_idf"},
                   {"output_mode": "multi_hot", "max_tokens": 8, "pad_to_max_tokens": True}):
        layer = adapted(["a b c a", "b d"], **kwargs)
        config = layer.get_config()
        assert config["vocabulary_size"] == layer.vocabulary_size()
        assert config["standardize"] == "lower_and_strip_punctuation"
        clone = TextVectorization.from_config(config)
        assert clone.get_vocabulary() == layer.get_vocabulary()
        np.testing.assert_array_equal(clone(["a d e", "c"]), layer(["a d e", "c"]))
    assert TextVectorization.from_config(TextVectorization().get_config()).get_vocabulary() == ["", "[UNK]"]


def test_runs_inside_a_model_and_feeds_one():
    layer = adapted(["a b c"], output_sequence_length=4)
    assert isinstance(layer, nn.layers.Layer) and layer.weights == []
    inputs = nn.Input(shape=(1,), dtype="string")
    ids = layer(inputs)
    assert tuple(ids.shape) == (None, 4) and ids.dtype == np.int64
    inside = nn.Model(inputs, ids)
    np.testing.assert_array_equal(inside.predict(np.array([["a b"], ["c x"]]), verbose=0), [[4, 3, 0, 0], [2, 1, 0, 0]])
    assert nn.data.TextVectorization is TextVectorization is nn.layers.TextVectorization
    x = layer(["a b", "c c c c c"]).astype("float32")
    model = nn.Sequential([nn.Input(shape=(4,)), nn.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((2, 1)), epochs=1, verbose=0)


def test_next_token_pairs_from_vectorized_text():
    layer = adapted(["the cat sat on the mat"])
    x, y = nn.data.text.next_token_pairs(layer("the cat sat on the mat"), context_length=3)
    assert layer.decode(x[0], separator=" ") == "the cat sat" and layer.decode(y[0]) == "on"
    assert x.shape == (3, 3)
