"""plot_model: SVG and DOT without dependencies, PNG through matplotlib."""

import pytest

import nablanet as keras
from nablanet import layers


def branching_model():
    inputs = layers.Input(shape=(4,), name="features")
    left = layers.Dense(3, name="left")(inputs)
    right = layers.Dense(3, name="right")(inputs)
    return keras.Model(inputs, layers.Dense(1, name="head")(layers.add([left, right])))


def test_svg_has_a_box_per_layer_and_an_arrow_per_edge(tmp_path):
    path = keras.utils.plot_model(branching_model(), to_file=str(tmp_path / "m.svg"), show_shapes=True,
                                  show_layer_names=True)
    with open(path) as handle:
        svg = handle.read()
    assert svg.count("<rect") == 5 and svg.count("<line") == 5
    assert "left (Dense)" in svg and "output: (None, 3)" in svg


def test_names_activations_and_trainable_are_shown_on_request_as_in_keras(tmp_path):
    model = branching_model()
    model.layers[-1].trainable = False
    with open(keras.utils.plot_model(model, to_file=str(tmp_path / "plain.svg"))) as handle:
        plain = handle.read()
    assert "left (Dense)" not in plain and ">Dense<" in plain  # Keras's default: no layer names
    path = keras.utils.plot_model(model, to_file=str(tmp_path / "m.svg"), show_layer_activations=True,
                                  show_trainable=True)
    with open(path) as handle:
        svg = handle.read()
    assert "activation: linear" in svg and "trainable: True" in svg and "trainable: False" in svg


def test_dot_lists_nodes_and_edges(tmp_path):
    model = keras.Sequential([layers.Dense(2, input_shape=(3,), name="a"), layers.Dense(1, name="b")])
    with open(keras.utils.plot_model(model, to_file=str(tmp_path / "m.dot"), show_layer_names=True)) as handle:
        dot = handle.read()
    assert "a (Dense)" in dot and dot.count("->") == 2 and "splines=ortho;" in dot


def test_png_is_drawn(tmp_path):
    pytest.importorskip("matplotlib")
    path = keras.utils.plot_model(branching_model(), to_file=str(tmp_path / "m.png"), show_shapes=True)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(ValueError, match="must end in .png, .svg or .dot"):
        keras.utils.plot_model(branching_model(), to_file=str(tmp_path / "m.jpg"))
