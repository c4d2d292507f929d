"""StackedRNNCells inside RNN against Keras (torch backend): outputs and states on copied weights,
gradients, configs and `.keras` files both ways."""

import numpy as np
import pytest

import nablanet
from nablanet import gradcheck, layers

keras = pytest.importorskip("keras")

rng = np.random.default_rng(8)
X = rng.standard_normal((2, 5, 3)).astype(np.float32)


def _cells(lib):
    return [lib.LSTMCell(4), lib.GRUCell(3), lib.SimpleRNNCell(2)]


@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True, "return_state": True, "go_backwards": True}])
def test_stacked_cells_match_keras_on_copied_weights(kwargs):
    theirs = keras.layers.RNN(keras.layers.StackedRNNCells(_cells(keras.layers)), **kwargs)
    ours = layers.RNN(_cells(layers), **kwargs)  # a list of cells is stacked, as in Keras
    expected = theirs(X)
    ours(X)
    assert isinstance(ours.cell, layers.StackedRNNCells) and ours.cell.state_size == [[4, 4], 3, 2]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    got = ours(X)
    got, expected = (got, expected) if kwargs.get("return_state") else ([got], [expected])
    assert len(got) == len(expected)
    for mine, reference in zip(nablanet.tree.flatten(got), keras.tree.flatten(expected)):
        np.testing.assert_allclose(mine.numpy(), keras.ops.convert_to_numpy(reference), rtol=1e-5, atol=1e-6)
    config = ours.cell.get_config()
    assert config.keys() == theirs.cell.get_config().keys()
    again = layers.StackedRNNCells.from_config(config)
    assert [type(c).__name__ for c in again.cells] == ["LSTMCell", "GRUCell", "SimpleRNNCell"]


def test_stacked_cells_gradients_in_float64():
    cells = [layers.LSTMCell(3, dtype="float64"), layers.SimpleRNNCell(2, dtype="float64")]
    layer = layers.RNN(layers.StackedRNNCells(cells), dtype="float64")
    x = rng.standard_normal((2, 3, 2))
    layer(x)

    def f(inputs, lstm_kernel, rnn_recurrent_kernel):
        saved = cells[0].kernel, cells[1].recurrent_kernel
        cells[0].kernel, cells[1].recurrent_kernel = lstm_kernel, rnn_recurrent_kernel
        try:
            return layer.call(inputs)
        finally:
            cells[0].kernel, cells[1].recurrent_kernel = saved

    gradcheck(f, x, cells[0].kernel.numpy(), cells[1].recurrent_kernel.numpy())


def test_stacked_cells_keras_files_both_ways(tmp_path, keras_files_both_ways):
    def build(lib, sequential):
        return sequential([lib.Input((5, 3)), lib.RNN(lib.StackedRNNCells(_cells(lib)), return_sequences=True)])

    keras_files_both_ways(tmp_path, build, X)


def test_stacked_cells_refuse_what_is_not_a_cell():
    with pytest.raises(ValueError, match="every cell needs a state_size, got <Dense"):
        layers.StackedRNNCells([layers.Dense(3)])
