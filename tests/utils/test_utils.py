"""keras.utils' helpers against Keras: images, split_dataset, pack/unpack, text and audio folders,
get_source_inputs, Config, clear_session."""

import importlib.util
import wave

import numpy as np
import pytest

from nablanet import utils

keras = pytest.importorskip("keras")
PIL = pytest.importorskip("PIL")


@pytest.mark.parametrize("shape", [(4, 5, 3), (4, 5, 1), (4, 5, 4), (3, 2, 3)])
@pytest.mark.parametrize("scale", [True, False])
def test_array_to_img_and_back_match_keras(shape, scale):
    x = np.random.default_rng(0).uniform(0, 255, size=shape)
    ours, theirs = utils.array_to_img(x, scale=scale), keras.utils.array_to_img(x, scale=scale)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    for data_format in ("channels_last", "channels_first"):
        a = utils.img_to_array(ours, data_format=data_format)
        b = keras.utils.img_to_array(theirs, data_format=data_format)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_grayscale_above_255_is_a_32_bit_image_as_in_keras():
    x = np.full((2, 2, 1), 1000.0)
    assert utils.array_to_img(x, scale=False).mode == keras.utils.array_to_img(x, scale=False).mode == "I"


@pytest.mark.parametrize("kwargs", [
    {}, {"color_mode": "grayscale"}, {"color_mode": "rgba"}, {"target_size": (3, 4)},
    {"target_size": (6, 2), "interpolation": "bilinear"}, {"target_size": (4, 4), "keep_aspect_ratio": True},
])
def test_save_img_then_load_img_match_keras(tmp_path, kwargs):
    x = np.random.default_rng(1).integers(0, 256, size=(8, 6, 3)).astype("float32")
    path = str(tmp_path / "a.png")
    utils.save_img(path, x, scale=False)
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(path)), x.astype("uint8"))
    ours, theirs = utils.load_img(path, **kwargs), keras.utils.load_img(path, **kwargs)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_image_errors_name_the_function(tmp_path):
    with pytest.raises(ValueError, match="array_to_img: expected one image of rank 3"):
        utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="array_to_img: expected 1, 3 or 4 channels"):
        utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="load_img: color_mode"):
        utils.load_img(str(tmp_path / "x.png"), color_mode="cmyk")
    with pytest.warns(UserWarning, match="JPEG has no alpha"):
        utils.save_img(str(tmp_path / "a.jpg"), np.zeros((2, 2, 4)))


@pytest.mark.parametrize("args", [(1,), (1, 2), (1, 2, 3), (1, None, 3), ([1, 2],), ((1, 2), 3)])
def test_pack_and_unpack_match_keras(args):
    packed = utils.pack_x_y_sample_weight(*args)
    assert packed == keras.utils.pack_x_y_sample_weight(*args)
    assert utils.unpack_x_y_sample_weight(packed) == keras.utils.unpack_x_y_sample_weight(packed)


@pytest.mark.parametrize("kwargs, sizes", [
    ({"left_size": 0.25}, (2, 8)), ({"right_size": 3}, (7, 3)), ({"left_size": 0.3, "right_size": 0.3}, (3, 3)),
    ({"left_size": 4, "right_size": 2}, (4, 2)), ({"left_size": 0.85}, (8, 2)),
])
def test_split_dataset_sizes_follow_keras(kwargs, sizes):
    x, y = np.arange(10), np.arange(10) * 2
    left, right = utils.split_dataset((x, y), **kwargs)
    assert (len(left[0]), len(right[0])) == sizes
    np.testing.assert_array_equal(left[1], 2 * left[0])
    np.testing.assert_array_equal(left[0], np.arange(sizes[0]))


def test_split_dataset_forms_shuffle_and_errors():
    left, right = utils.split_dataset({"a": np.arange(6), "b": np.ones((6, 2))}, left_size=0.5, shuffle=True, seed=1)
    assert sorted(np.concatenate([left["a"], right["a"]]).tolist()) == list(range(6))
    assert left["b"].shape == (3, 2)
    left, right = utils.split_dataset([(i, -i) for i in range(5)], right_size=2)
    assert left == [(0, 0), (1, -1), (2, -2)] and right == [(3, -3), (4, -4)]
    for kwargs, match in [({}, "left_size or right_size"), ({"left_size": 1.5}, "in \\(0, 1\\)"),
                          ({"left_size": 0.7, "right_size": 0.6}, "at most 1"), ({"left_size": 10}, "in \\(0, 10\\)")]:
        with pytest.raises(ValueError, match=match):
            utils.split_dataset(np.arange(10), **kwargs)


def _folders(root, extension, write):
    for label, names in {"neg": ["a", "b", "c"], "pos": ["d", "e"]}.items():
        (root / label).mkdir(parents=True)
        for name in names:
            write(root / label / f"{name}.{extension}", name)
    (root / "pos" / "skip.bin").write_bytes(b"not a sample")


def test_text_dataset_from_directory_holds_keras_files_and_labels(tmp_path):
    _folders(tmp_path, "txt", lambda p, name: p.write_text(f"text {name} " * 3))
    data = utils.text_dataset_from_directory(tmp_path, batch_size=2, shuffle=False, max_length=7, verbose=False)
    batches = list(data)
    assert len(data) == len(batches) == 3 and data.class_names == ["neg", "pos"]
    texts = np.concatenate([b[0] for b in batches]).tolist()
    assert texts == ["text a ", "text b ", "text c ", "text d ", "text e "]
    labels = np.concatenate([b[1] for b in batches])
    assert labels.dtype == np.int32 and labels.tolist() == [0, 0, 0, 1, 1]
    train, val = utils.text_dataset_from_directory(tmp_path, label_mode="categorical", batch_size=None,
                                                   validation_split=0.4, subset="both", seed=3, verbose=False)
    seen = [t for t, _ in train] + [t for t, _ in val]
    assert sorted(seen) == sorted("text " + n + " " + "text " + n + " text " + n + " " for n in "abcde")
    assert len(list(val)) == 2 and next(iter(train))[1].shape == (2,)
    with pytest.raises(ValueError, match="text_dataset_from_directory: label_mode='binary' needs 2"):
        utils.text_dataset_from_directory(tmp_path / "neg", label_mode="binary", verbose=False)


def _wav(path, samples, rate=8000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((np.asarray(samples) * 32767).astype("<i2").tobytes())


def test_audio_dataset_from_directory_pads_and_matches_keras_decoding(tmp_path):
    lengths = {"a": 5, "b": 8, "c": 3, "d": 6, "e": 2}
    _folders(tmp_path, "wav", lambda p, name: _wav(p, np.linspace(-0.5, 0.5, lengths[name])))
    data = utils.audio_dataset_from_directory(tmp_path, batch_size=5, shuffle=False, verbose=False)
    audio, labels = next(iter(data))
    assert audio.shape == (5, 8, 1) and audio.dtype == np.float32 and labels.tolist() == [0, 0, 0, 1, 1]
    expected = (np.linspace(-0.5, 0.5, 5) * 32767).astype("<i2") / 32768
    np.testing.assert_allclose(audio[0, :5, 0], expected, rtol=1e-6)
    assert not audio[0, 5:].any()
    cut = utils.audio_dataset_from_directory(tmp_path, batch_size=2, output_sequence_length=4, verbose=False)
    assert all(a.shape[1:] == (4, 1) for a, _ in cut)
    with pytest.raises(ValueError, match="sampled at 8000 Hz"):
        list(utils.audio_dataset_from_directory(tmp_path, sampling_rate=16000, verbose=False))
    with pytest.raises(ValueError, match="ragged"):
        utils.audio_dataset_from_directory(tmp_path, ragged=True)


def test_a_text_dataset_trains_a_model(tmp_path):
    import nablanet as nb

    _folders(tmp_path, "txt", lambda p, name: p.write_text("good" if name in "de" else "bad"))
    data = utils.text_dataset_from_directory(tmp_path, batch_size=2, seed=0, verbose=False)
    vectorize = nb.data.TextVectorization(output_mode="multi_hot", max_tokens=4)
    vectorize.adapt(np.concatenate([t for t, _ in data]))
    width = vectorize.vocabulary_size()
    model = nb.Sequential([nb.layers.Input(shape=(width,)), nb.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(((vectorize(t), y) for t, y in data), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_get_source_inputs_and_is_keras_tensor():
    import nablanet as nb

    a, b = nb.layers.Input(shape=(2,)), nb.layers.Input(shape=(2,))
    out = nb.layers.Dense(1)(nb.layers.concatenate([b, nb.layers.Dense(2)(a)]))
    sources = utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is b and sources[1] is a
    assert utils.get_source_inputs(a) == [a]
    assert utils.is_keras_tensor(out) and not utils.is_keras_tensor(np.zeros(1))
    with pytest.raises(TypeError, match="get_source_inputs: expected a symbolic tensor"):
        utils.get_source_inputs(np.zeros(2))


def test_config_behaves_like_keras_config():
    ours, theirs = utils.Config(a=1), keras.utils.Config(a=1)
    for config in (ours, theirs):
        config.b = 2
        config["c"] = 3
    assert ours.as_dict() == theirs.as_dict() and list(ours.keys()) == list(theirs.keys())
    assert ours.to_json() == theirs.to_json() and ours.get("z", 5) == 5 and "a" in ours and len(ours) == 3
    ours.freeze()
    assert ours.frozen
    with pytest.raises(ValueError, match="frozen"):
        ours.d = 4
    ours.unfreeze()
    ours.d = 4
    assert ours.d == 4


def test_clear_session_restarts_layer_names():
    import nablanet as nb

    utils.clear_session()
    first = nb.layers.Dense(1).name
    nb.layers.Dense(1)
    utils.clear_session()
    assert nb.layers.Dense(1).name == first == "dense"


def test_model_to_dot_without_pydot_says_how_to_get_it():
    import nablanet as nb

    model = nb.Sequential([nb.layers.Input(shape=(2,)), nb.layers.Dense(1)])
    if importlib.util.find_spec("pydot") is None:
        with pytest.raises(ImportError, match="pip install pydot"):
            utils.model_to_dot(model)
    else:
        assert "dense" in utils.model_to_dot(model, show_shapes=True).to_string()


def test_legacy_and_registry_names_are_the_registry():
    from nablanet import serialization

    assert utils.legacy.serialize_keras_object is serialization.serialize
    assert utils.deserialize_keras_object is serialization.deserialize
    assert utils.CustomObjectScope is serialization.CustomObjectScope
