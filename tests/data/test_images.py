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
