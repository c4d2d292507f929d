"""KerasFileEditor on nablanet's and Keras's files: the same tree, edits, compare, and a resaved
file that both libraries load."""

import numpy as np
import pytest

import nablanet as nb
from nablanet.saving import KerasFileEditor

keras = pytest.importorskip("keras")


def _ours():
    return nb.Sequential([nb.layers.Input(shape=(3,)), nb.layers.Dense(4, name="d1"), nb.layers.Dense(2, name="d2")])


def _theirs():
    return keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(4, name="d1"),
                             keras.layers.Dense(2, name="d2")])


def test_keras_and_nablanet_files_open_to_the_same_tree(tmp_path):
    keras_model = _theirs()
    keras_model.save(str(tmp_path / "k.keras"))
    ours = KerasFileEditor(str(tmp_path / "k.keras"))
    theirs = keras.saving.KerasFileEditor(str(tmp_path / "k.keras"))

    def shapes(tree):
        return {k: shapes(v) if isinstance(v, dict) else tuple(v.shape) for k, v in tree.items()}

    assert shapes(ours.weights_dict) == shapes(theirs.weights_dict)
    assert ours.config["class_name"] == "Sequential" and "keras_version" in ours.metadata
    assert "0: shape=(3, 4) dtype=float32" in ours.weights_summary()


def test_edit_resave_and_load_in_both_libraries(tmp_path):
    model = _ours()
    model.save_weights(str(tmp_path / "m.weights.h5"))
    editor = KerasFileEditor(str(tmp_path / "m.weights.h5"))
    assert editor.compare(model)["status"] == "success"
    kernel = np.arange(8, dtype="float32").reshape(4, 2)
    layers = editor.weights_dict["layers"]
    (parent_key,) = [k for k in layers if layers[k]["0"].shape == (4, 2)]
    editor.add_weights(parent_key, {"0": kernel})
    editor.save(str(tmp_path / "edited.weights.h5"))
    model.load_weights(str(tmp_path / "edited.weights.h5"))
    np.testing.assert_array_equal(np.asarray(model.layers[-1].get_weights()[0]), kernel)
    keras_model = _theirs()
    keras_model.load_weights(str(tmp_path / "edited.weights.h5"))
    np.testing.assert_array_equal(np.asarray(keras_model.layers[-1].get_weights()[0]), kernel)


def test_rename_delete_add_and_their_errors(tmp_path):
    model = _ours()
    model.save_weights(str(tmp_path / "m.weights.h5"))
    editor = KerasFileEditor(str(tmp_path / "m.weights.h5"))
    names = list(editor.weights_dict["layers"])
    editor.rename_object(f"layers/{names[0]}", "renamed")
    assert "renamed" in editor.weights_dict["layers"]
    result = editor.compare(model)
    assert result["status"] == "error" and result["error_count"] == 2
    editor.delete_weight("renamed", "1")
    assert "1" not in editor.weights_dict["layers"]["renamed"]
    editor.delete_object("renamed")
    editor.add_object("layers/extra", {"0": np.zeros(2)})
    assert set(editor.weights_dict["layers"]) == {names[1], "extra"}
    with pytest.raises(ValueError, match="no object named 'missing'"):
        editor.delete_object("missing")
    with pytest.raises(ValueError, match="has no weight '7'"):
        editor.delete_weight("extra", "7")
    with pytest.raises(ValueError, match="must be a dict"):
        editor.add_object("layers/x", [np.zeros(2)])
    with pytest.raises(ValueError, match=".weights.h5"):
        editor.save(str(tmp_path / "out.h5"))
    with pytest.raises(ValueError, match="expected a .keras or .weights.h5"):
        KerasFileEditor(str(tmp_path / "x.bin"))
