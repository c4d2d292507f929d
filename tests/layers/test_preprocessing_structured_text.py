"""TextVectorization as a layer of functional models and in `.keras` files, laid out as Keras's
(its vocabulary and TF-IDF weights; its text rules are tested in tests/data/test_text.py)."""

import json
import zipfile

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers

TEXTS = np.array([["the cat sat"], ["the dog ran"], ["a cat ran"], ["the end"]])


def _model(**kwargs):
    vectorizer = layers.TextVectorization(**kwargs)
    vectorizer.adapt(TEXTS)
    inputs = nn.Input(shape=(1,), dtype="string")
    return nn.Model(inputs, vectorizer(inputs))


@pytest.mark.parametrize("kwargs", [{"output_sequence_length": 5}, {"output_mode": "tf_idf"},
                                    {"output_mode": "count", "max_tokens": 9, "pad_to_max_tokens": True}], ids=str)
def test_keras_file_round_trip_and_keras_layout(tmp_path, kwargs):
    model = _model(**kwargs)
    test = np.array([["the cat ran far"], ["dog"]])
    path = tmp_path / "model.keras"
    model.save(path)
    np.testing.assert_array_equal(nn.saving.load_model(path).predict(test, verbose=0), model.predict(test, verbose=0))
    with zipfile.ZipFile(path) as zf:
        vocabulary = zf.read("assets/layers/text_vectorization/vocabulary.txt").decode().split("\n")
        assert vocabulary == model.layers[1].get_vocabulary()
        entries = {name: zf.read(name) for name in zf.namelist() if name != "nablanet.json"}
    config = json.loads(entries["config.json"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "TextVectorization":  # as Keras writes it: the vocabulary only in the assets
            layer["config"]["vocabulary"] = layer["config"]["idf_weights"] = None
    entries["config.json"] = json.dumps(config).encode()
    keras_written = tmp_path / "keras.keras"
    with zipfile.ZipFile(keras_written, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    loaded = nn.saving.load_model(keras_written)
    assert loaded.layers[1].get_vocabulary() == model.layers[1].get_vocabulary()
    np.testing.assert_allclose(loaded.predict(test, verbose=0), model.predict(test, verbose=0), rtol=1e-6)


def test_a_model_with_a_text_front_end_trains():
    texts = np.array([["good movie"], ["great film"], ["bad movie"], ["awful film"]] * 8)
    labels = np.array([1, 1, 0, 0] * 8, dtype="float32")
    inputs = nn.Input(shape=(1,), dtype="string")
    vectorizer = layers.TextVectorization(output_mode="multi_hot")
    vectorizer.adapt(texts)
    model = nn.Model(inputs, layers.Dense(1, activation="sigmoid")(vectorizer(inputs)))
    model.compile(optimizer=nn.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    assert model.fit(texts, labels, epochs=15, batch_size=8, verbose=0).history["accuracy"][-1] == 1.0
