"""pad_sequences (against Keras's own), next_token_pairs, and timeseries_dataset_from_array
(against the windows Keras's docstring spells out; Keras 3 builds them with tf.data)."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.data.sequence import TimeseriesDataset, next_token_pairs, pad_sequences, timeseries_dataset_from_array


def keras_pad_sequences():
    keras = pytest.importorskip("keras")
    return keras.utils.pad_sequences


# -- pad_sequences -------------------------------------------------------------------------------

def _ragged(seed, n=7, high=9):
    rng = np.random.default_rng(seed)
    return [rng.integers(1, 100, size=rng.integers(0, high)).tolist() for _ in range(n)]


PAD_CASES = [
    ({}, _ragged(0)),
    ({"padding": "post"}, _ragged(1)),
    ({"truncating": "post", "maxlen": 3}, _ragged(2)),
    ({"padding": "post", "truncating": "pre", "maxlen": 4}, _ragged(3)),
    ({"padding": "pre", "truncating": "post", "maxlen": 12}, _ragged(4)),
    ({"value": -1, "maxlen": 5}, _ragged(5)),
    ({"dtype": "float32", "value": 0.5}, [[0.25, 1.5], [2.0], []]),
    ({"dtype": "int64", "value": 7.9}, [[1.7, -2.2], [3]]),  # values cast as NumPy casts
    ({"dtype": "float64", "maxlen": 2}, [[[1, 2], [3, 4], [5, 6]], [], [[7, 8]]]),  # vector samples
    ({"dtype": object, "value": "<pad>", "padding": "post"}, [["a", "bb"], ["ccc"], []]),
    ({"dtype": "<U3", "value": "_"}, [["ab"], ["c", "de"]]),
    ({}, [np.array([1, 2, 3]), np.array([4])]),
    ({"maxlen": 3}, np.arange(12).reshape(3, 4)),
    ({}, [[], []]),
]


@pytest.mark.parametrize("kwargs, sequences", PAD_CASES)
def test_pad_sequences_matches_keras(kwargs, sequences):
    expected = keras_pad_sequences()(sequences, **kwargs)
    ours = pad_sequences(sequences, **kwargs)
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)


def test_pad_sequences_matches_keras_on_random_cases(rng):
    reference = keras_pad_sequences()
    for _ in range(60):
        sequences = [rng.integers(-50, 50, size=rng.integers(0, 6)).tolist() for _ in range(rng.integers(1, 6))]
        kwargs = {"padding": rng.choice(["pre", "post"]), "truncating": rng.choice(["pre", "post"]),
                  "maxlen": None if rng.random() < 0.3 else int(rng.integers(1, 8)),
                  "value": int(rng.integers(-3, 3)), "dtype": rng.choice(["int32", "int64", "float32"])}
        ours, expected = pad_sequences(sequences, **kwargs), reference(sequences, **kwargs)
        assert ours.dtype == expected.dtype
        np.testing.assert_array_equal(ours, expected, err_msg=f"{sequences} {kwargs}")


@pytest.mark.parametrize("kwargs, sequences", [
    ({"value": "x"}, [[1], [2, 3]]),  # a string value needs dtype=object
    ({"padding": "middle"}, [[1], [2, 3]]),
    ({"truncating": "both", "maxlen": 1}, [[1], [2, 3]]),
    ({}, [[1], 5]),  # not a sequence
    ({"dtype": "float32"}, [[[1, 2]], [[1, 2, 3]]]),  # samples of different shapes
])
def test_pad_sequences_refuses_what_keras_refuses(kwargs, sequences):
    with pytest.raises(ValueError):
        keras_pad_sequences()(sequences, **kwargs)
    with pytest.raises(ValueError, match="pad_sequences: "):
        pad_sequences(sequences, **kwargs)


def test_pad_sequences_edges_and_names():
    assert pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    assert pad_sequences([]).shape == (0, 0) and pad_sequences([], maxlen=3).shape == (0, 3)
    np.testing.assert_array_equal(pad_sequences(iter([[1], [2, 3]])), [[0, 1], [2, 3]])  # any iterable
    assert nn.utils.pad_sequences is pad_sequences is nn.data.pad_sequences is nn.data.text.pad_sequences
    assert nn.preprocessing.sequence.pad_sequences is pad_sequences
    from nablanet.preprocessing.sequence import pad_sequences as imported

    assert imported is pad_sequences


@pytest.mark.parametrize("sequences, kwargs, message", [
    ("abc", {}, "expected a list of sequences, got str"),
    (5, {}, "expected a list of sequences, got int"),
    (["ab", "c"], {}, "got the string 'ab' at position 0"),
    ([[1], 2], {}, "got int 2 at position 1"),
    ([[1]], {"maxlen": -1}, "maxlen must be a non-negative integer"),
    ([[1]], {"maxlen": 2.5}, "maxlen must be a non-negative integer"),
    ([[1]], {"value": np.nan}, "value nan does not fit dtype 'int32'"),
    ([[1]], {"value": "x"}, "pass dtype=object"),
    ([[[1, 2]], [[3]]], {}, r"sequence 1 have shape \(1,\), expected \(2,\)"),
    ([[1], ["a"]], {}, r"sequence 1 does not convert to dtype 'int32' .* pass dtype=object"),
])
def test_pad_sequences_errors_say_what_was_wrong(sequences, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pad_sequences(sequences, **kwargs)


# -- next_token_pairs ----------------------------------------------------------------------------

def test_next_token_pairs_windows_and_targets():
    stream = np.arange(10, 20)
    x, y = next_token_pairs(stream, context_length=4)
    assert x.shape == (6, 4) and y.shape == (6,) and x.dtype == stream.dtype
    for i in range(6):
        np.testing.assert_array_equal(x[i], stream[i:i + 4])
        assert y[i] == stream[i + 4]
    x, y = next_token_pairs(stream.tolist(), context_length=3, stride=3)
    np.testing.assert_array_equal(x, [[10, 11, 12], [13, 14, 15], [16, 17, 18]])
    np.testing.assert_array_equal(y, [13, 16, 19])
    x, y = next_token_pairs(stream, context_length=9)  # exactly one pair
    assert x.shape == (1, 9) and y.tolist() == [19]
    assert np.shares_memory(x, stream)  # windows are a view, not copies


def test_next_token_pairs_keep_documents_apart():
    documents = [[1, 2, 3, 4], [5, 6], [7, 8, 9]]  # the middle one is too short for a pair
    x, y = next_token_pairs(documents, context_length=2)
    np.testing.assert_array_equal(x, [[1, 2], [2, 3], [7, 8]])
    np.testing.assert_array_equal(y, [3, 4, 9])
    x, y = next_token_pairs(np.array([[1, 2, 3], [4, 5, 6]]), context_length=2)  # rows are documents
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [3, 6])
    x, _ = next_token_pairs([np.array([1, 2, 3])], context_length=1)
    assert x.shape == (2, 1)


@pytest.mark.parametrize("tokens, kwargs, message", [
    ([1, 2, 3], {"context_length": 3}, r"longest stream has 3 tokens; a pair needs context_length \+ 1 = 4"),
    ([[1, 2], [3]], {"context_length": 5}, "longest stream has 2 tokens"),
    ([1, 2, 3], {"context_length": 0}, "context_length must be a positive integer"),
    ([1, 2, 3], {"context_length": 1, "stride": 0}, "stride must be a positive integer"),
    ("some text", {"context_length": 1}, "got a string"),
    ([0.5, 1.5, 2.5], {"context_length": 1}, "integer token ids, got shape .* and dtype float64"),
    ([], {"context_length": 1}, "got an empty sequence"),
    (np.zeros((2, 2, 2), dtype=int), {"context_length": 1}, r"got shape \(2, 2, 2\)"),
    (5, {"context_length": 1}, "expected a sequence of token ids, got int"),
])
def test_next_token_pairs_errors(tokens, kwargs, message):
    with pytest.raises(ValueError, match=message):
        next_token_pairs(tokens, **kwargs)


# -- timeseries_dataset_from_array ---------------------------------------------------------------

def _all(dataset):
    batches = list(dataset)
    if isinstance(batches[0], tuple):
        return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    return np.concatenate(batches), None


def test_timeseries_windows_as_keras_documents_them():
    # Keras's example 1: indices 0..98, sequence_length=10, sampling_rate=2, sequence_stride=3
    dataset = timeseries_dataset_from_array(np.arange(99), None, sequence_length=10, sampling_rate=2,
                                            sequence_stride=3)
    windows, _ = _all(dataset)
    np.testing.assert_array_equal(windows[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(windows[1], np.arange(3, 23, 2))
    np.testing.assert_array_equal(windows[2], np.arange(6, 26, 2))
    np.testing.assert_array_equal(windows[-1], np.arange(78, 98, 2))
    assert len(windows) == 27 and len(dataset) == 1  # one batch of the default 128


def test_timeseries_targets_are_aligned_with_window_starts():
    # Keras's example 2: predict step t + 10 from steps t .. t + 9
    data = np.random.default_rng(0).standard_normal(50)
    dataset = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=8)
    windows, targets = _all(dataset)
    assert len(dataset) == 4 and windows.shape == (31, 10) and targets.shape == (31,)
    for i in (0, 7, 30):
        np.testing.assert_array_equal(windows[i], data[i:i + 10])
        assert targets[i] == data[i + 10]


def test_timeseries_start_end_stride_unbatched_and_features():
    data = np.arange(40).reshape(20, 2)  # 20 steps of 2 features
    targets = np.arange(20) * 10
    dataset = timeseries_dataset_from_array(data, targets, sequence_length=3, sequence_stride=4,
                                            start_index=2, end_index=15, batch_size=None)
    items = list(dataset)
    assert len(dataset) == len(items) == 3  # windows start at steps 2, 6, 10 (12 would end at 14, 16 > 15)
    first_window, first_target = items[0]
    np.testing.assert_array_equal(first_window, data[2:5])
    assert first_target == 20 and items[2][1] == 100 and items[2][0][-1].tolist() == [24, 25]


def test_timeseries_shuffle_reorders_each_epoch_reproducibly():
    data = np.arange(100)
    make = lambda seed: timeseries_dataset_from_array(data, data, sequence_length=5, batch_size=16,
                                                      shuffle=True, seed=seed)
    dataset = make(3)
    first, second = _all(dataset), _all(dataset)
    assert sorted(first[1].tolist()) == list(range(96))  # every window, once
    assert first[1].tolist() != second[1].tolist()  # a new order each epoch
    np.testing.assert_array_equal(first[0][:, 0], first[1])  # windows keep their targets
    again = make(3)
    np.testing.assert_array_equal(_all(again)[1], first[1])
    plain = timeseries_dataset_from_array(data, data, sequence_length=5, batch_size=16)
    assert _all(plain)[1].tolist() == list(range(96))


def test_timeseries_dataset_trains_a_model():
    nn.backend.set_random_seed(0)
    series = np.sin(np.arange(300) * 0.1).astype("float32")
    dataset = timeseries_dataset_from_array(series[:-8], series[8:], sequence_length=8, batch_size=32)
    assert isinstance(dataset, TimeseriesDataset)
    assert nn.utils.timeseries_dataset_from_array is timeseries_dataset_from_array
    assert nn.preprocessing.timeseries_dataset_from_array is timeseries_dataset_from_array
    model = nn.Sequential([nn.Input(shape=(8,)), nn.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and model.predict(dataset, verbose=0).shape == (285, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"start_index": -1}, r"start_index must be in \[0, 20\)"),
    ({"start_index": 20}, r"start_index must be in \[0, 20\)"),
    ({"end_index": 20}, r"end_index must be in \[1, 20\)"),
    ({"start_index": 5, "end_index": 5}, r"end_index must be in \[6, 20\)"),
    ({"sampling_rate": 0}, "sampling_rate must be a positive integer"),
    ({"sampling_rate": 20}, "sampling_rate must be lower than the length of the data"),
    ({"sequence_stride": 25}, "sequence_stride must be lower than the length of the data"),
    ({"sequence_length": 0}, "sequence_length must be a positive integer"),
    ({"sequence_length": 21}, r"no window fits: one spans .* = 21 steps, and only 20"),
    ({"sequence_length": 4, "sampling_rate": 7}, "no window fits: .* = 22 steps"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"start_index": 1.5}, "start_index must be an integer"),
])
def test_timeseries_argument_errors(kwargs, message):
    kwargs = {"sequence_length": 3, **kwargs}
    with pytest.raises(ValueError, match="timeseries_dataset_from_array: " + message):
        timeseries_dataset_from_array(np.arange(20), None, **kwargs)


def test_timeseries_targets_errors_and_cap():
    with pytest.raises(ValueError, match=r"targets has 3 entries; the first window starts at step 5"):
        timeseries_dataset_from_array(np.arange(20), np.arange(3), sequence_length=2, start_index=5)
    with pytest.raises(ValueError, match="data must be an array"):
        timeseries_dataset_from_array(3.0, None, sequence_length=1)
    short = timeseries_dataset_from_array(np.arange(20), np.arange(4), sequence_length=2)
    assert _all(short)[1].tolist() == [0, 1, 2, 3]  # Keras: no more windows than targets
