"""image_dataset_from_directory on a folder of small images the test writes."""

import numpy as np
import pytest

import nablanet as nn

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, count, ext in (("cats", 5, "png"), ("dogs", 7, "jpg")):
        (tmp_path / name).mkdir()
        for i in range(count):
            image = PIL.fromarray(rng.integers(0, 255, (10 + i, 12, 3), dtype=np.uint8))
            image.save(tmp_path / name / f"{i}.{ext}")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    return tmp_path


def test_classes_labels_shapes_and_batches(folder):
    data = nn.data.image_dataset_from_directory(folder, image_size=(8, 8), batch_size=4, shuffle=False)
    assert data.class_names == ["cats", "dogs"] and len(data) == 3
    batches = list(data)
    images, labels = batches[0]
    assert images.shape == (4, 8, 8, 3) and images.dtype == np.float32 and images.max() > 1
    assert np.concatenate([b[1] for b in batches]).tolist() == [0] * 5 + [1] * 7
    gray = nn.utils.image_dataset_from_directory(folder, color_mode="grayscale", label_mode="categorical",
                                                 image_size=(6, 5), batch_size=20)
    images, labels = next(iter(gray))
    assert images.shape == (12, 6, 5, 1) and labels.shape == (12, 2)
    binary = nn.data.image_dataset_from_directory(folder, label_mode="binary", image_size=(4, 4), seed=1)
    assert next(iter(binary))[1].shape[1:] == (1,)


def test_validation_split_is_disjoint_and_covers_everything(folder):
    train, val = nn.data.image_dataset_from_directory(folder, image_size=(4, 4), validation_split=0.25,
                                                      subset="both", seed=3)
    assert len(train.file_paths) == 9 and len(val.file_paths) == 3
    assert not set(train.file_paths) & set(val.file_paths)
    again = nn.data.image_dataset_from_directory(folder, image_size=(4, 4), validation_split=0.25,
                                                 subset="validation", seed=3)
    assert again.file_paths == val.file_paths


def test_a_model_trains_on_the_stream(folder):
    data = nn.data.image_dataset_from_directory(folder, image_size=(8, 8), batch_size=4, seed=0)
    model = nn.Sequential([nn.Input(shape=(8, 8, 3)), nn.layers.Rescaling(1 / 255),
                           nn.layers.Conv2D(2, 3, activation="relu"), nn.layers.GlobalAveragePooling2D(),
                           nn.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(data, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_a_corrupt_image_names_the_file(folder):
    (folder / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not an image")
    data = nn.data.image_dataset_from_directory(folder, image_size=(4, 4), shuffle=False, batch_size=32)
    with pytest.raises(ValueError, match=r"cannot decode .*broken.png"):
        list(data)


def test_bad_arguments(folder, tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        nn.data.image_dataset_from_directory(tmp_path / "missing")
    with pytest.raises(ValueError, match="needs 2 classes"):
        (folder / "birds").mkdir()
        PIL.fromarray(np.zeros((3, 3, 3), np.uint8)).save(folder / "birds" / "b.png")
        nn.data.image_dataset_from_directory(folder, label_mode="binary")
    with pytest.raises(ValueError, match="pass a seed"):
        nn.data.image_dataset_from_directory(folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match=r"validation_split must be in \(0, 1\)"):
        nn.data.image_dataset_from_directory(folder, validation_split=1.5, subset="training", seed=0)
    with pytest.raises(ValueError, match="interpolation must be one of"):
        nn.data.image_dataset_from_directory(folder, interpolation="bogus")
    with pytest.raises(ValueError, match="class_names only applies"):
        nn.data.image_dataset_from_directory(folder, labels=[0] * 13, class_names=["a"])


def test_the_split_follows_keras_rule(folder):
    """Keras shuffles the sorted list with RandomState(seed) and holds out the last int(split * n)."""
    train, val = nn.data.image_dataset_from_directory(folder, image_size=(4, 4), validation_split=0.3,
                                                      subset="both", seed=7)
    everything = nn.data.image_dataset_from_directory(folder, image_size=(4, 4), shuffle=False).file_paths
    order = np.arange(len(everything))
    np.random.RandomState(7).shuffle(order)
    assert len(val.file_paths) == int(0.3 * 12) == 3  # truncated, not rounded up
    assert val.file_paths == [everything[i] for i in order[-3:]]
    assert train.file_paths == [everything[i] for i in order[:-3]]
    assert not val.shuffle  # the validation half of "both" keeps its order, as in Keras


def test_images_only_streams_feed_predict(folder):
    (folder / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes
    for data in (nn.data.image_dataset_from_directory(folder, label_mode=None, image_size=(8, 8), shuffle=False),
                 nn.data.image_dataset_from_directory(folder, labels=None, image_size=(8, 8), shuffle=False)):
        batch = next(iter(data))
        assert isinstance(batch, np.ndarray) and batch.shape == (12, 8, 8, 3)
    inferred = nn.data.image_dataset_from_directory(folder, image_size=(8, 8))
    assert inferred.class_names == ["cats", "dogs"]
    model = nn.Sequential([nn.Input(shape=(8, 8, 3)), nn.layers.GlobalAveragePooling2D()])
    assert model.predict(data, verbose=0).shape == (12, 3)


def test_unbatched_and_explicitly_labelled(folder):
    single = nn.data.image_dataset_from_directory(folder, image_size=(5, 6), batch_size=None, shuffle=False)
    image, label = next(iter(single))
    assert image.shape == (5, 6, 3) and label == 0 and len(single) == 12
    PIL.fromarray(np.zeros((3, 3, 3), np.uint8)).save(folder / "z.png")  # a file at the top level
    labelled = nn.data.image_dataset_from_directory(folder, labels=list(range(13)), image_size=(4, 4),
                                                    shuffle=False)
    assert labelled.file_paths[0].endswith("z.png")  # os.walk order: the top folder's files first
    assert labelled.file_paths[1].endswith("cats/0.png")


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_resizing_is_the_resizing_layer_s(folder, interpolation):
    data = nn.data.image_dataset_from_directory(folder, image_size=(6, 5), shuffle=False,
                                                interpolation=interpolation, crop_to_aspect_ratio=True)
    first = np.asarray(PIL.open(data.file_paths[0]).convert("RGB"), dtype=np.float32)[None]
    expected = nn.layers.Resizing(6, 5, interpolation=interpolation, crop_to_aspect_ratio=True)(first).numpy()[0]
    np.testing.assert_allclose(next(iter(data))[0][0], expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_padding_to_the_aspect_ratio_is_the_resizing_layer_s(folder, interpolation):
    data = nn.data.image_dataset_from_directory(folder, image_size=(6, 9), shuffle=False, verbose=False,
                                                interpolation=interpolation, pad_to_aspect_ratio=True)
    first = np.asarray(PIL.open(data.file_paths[0]).convert("RGB"), dtype=np.float32)[None]
    expected = nn.layers.Resizing(6, 9, interpolation=interpolation, pad_to_aspect_ratio=True)(first).numpy()[0]
    np.testing.assert_allclose(next(iter(data))[0][0], expected, rtol=1e-5, atol=1e-3)
    plain = nn.layers.Resizing(6, 9, interpolation=interpolation)(first).numpy()[0]
    assert not np.allclose(expected, plain)  # 10x12 was padded to 10x15 before resizing


def test_channels_first_and_keras_s_messages(folder, capsys):
    data = nn.data.image_dataset_from_directory(folder, image_size=(4, 5), data_format="channels_first",
                                                validation_split=0.25, subset="both", seed=1)
    assert next(iter(data[0]))[0].shape[1:] == (3, 4, 5)
    assert capsys.readouterr().out.splitlines() == [
        "Found 12 files belonging to 2 classes.", "Using 9 files for training.", "Using 3 files for validation."]
    with pytest.raises(ValueError, match="cannot both be True"):
        nn.data.image_dataset_from_directory(folder, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
