"""`RNN` over a cell with nested inputs, states and outputs (Keras's guide `NestedCell`).

Keras 3's own `RNN` cannot run such a cell (it builds the cell from the first input only), so the
reference is Keras running each branch of the cell as its own `RNN` over a flat cell, on the same
weights: the nested loop must give what the two flat loops give.
"""

import numpy as np
import pytest

import nablanet as nn
from nablanet import gradcheck, layers, ops, tree

rng = np.random.default_rng(3)
U1, U2, U3 = 3, 2, 4
I1, I2, I3 = 5, 3, 2
PADDED = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]], dtype=bool)  # (3, 4)


class NestedCell(layers.Layer):
    """Two accumulators: `s1 += x1 @ k1` and `s2 += einsum(x2, k23)`, with outputs the increments."""

    def __init__(self, unit_1, unit_2, unit_3, **kwargs):
        self.unit_1, self.unit_2, self.unit_3 = unit_1, unit_2, unit_3
        self.state_size = [(unit_1,), (unit_2, unit_3)]
        self.output_size = [(unit_1,), (unit_2, unit_3)]
        super().__init__(**kwargs)

    def build(self, input_shapes):
        i1, (i2, i3) = input_shapes[0][1], input_shapes[1][1:]
        self.kernel_1 = self.add_weight(shape=(i1, self.unit_1), initializer="uniform", name="kernel_1")
        self.kernel_2_3 = self.add_weight(shape=(i2, i3, self.unit_2, self.unit_3), initializer="uniform",
                                          name="kernel_2_3")

    def call(self, inputs, states):
        input_1, input_2 = tree.flatten(inputs)
        s1, s2 = states
        output_1 = ops.matmul(input_1, self.kernel_1)
        output_2_3 = ops.einsum("bij,ijkl->bkl", input_2, self.kernel_2_3)
        return (output_1, output_2_3), (s1 + output_1, s2 + output_2_3)

    def get_config(self):
        return {**super().get_config(), "unit_1": self.unit_1, "unit_2": self.unit_2, "unit_3": self.unit_3}


def keras_accumulator(keras, kernel):
    """Keras's flat form of one branch: `s += x @ kernel`, output the increment."""

    class Accumulator(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.state_size = self.output_size = kernel.shape[1]

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=kernel.shape, initializer="zeros", name="kernel")
            self.kernel.assign(kernel)

        def call(self, inputs, states):
            out = keras.ops.matmul(inputs, self.kernel)
            return out, [states[0] + out]

    return Accumulator()


def data(batch=3, steps=4):
    return (rng.standard_normal((batch, steps, I1)).astype(np.float32),
            rng.standard_normal((batch, steps, I2, I3)).astype(np.float32))


def keras_branches(keras, cell, x1, x2, kwargs, mask=None, initial_state=None):
    """The nested RNN's outputs as Keras computes them branch by branch, in the nested layout."""
    k1, k23 = cell.kernel_1.numpy(), cell.kernel_2_3.numpy().reshape(I2 * I3, U2 * U3)
    batch, steps = x1.shape[:2]
    s1, s23 = (None, None) if initial_state is None else (initial_state[0], initial_state[1].reshape(batch, -1))
    one = keras.layers.RNN(keras_accumulator(keras, k1), **kwargs)(
        x1, mask=mask, initial_state=None if s1 is None else [s1])
    two = keras.layers.RNN(keras_accumulator(keras, k23), **kwargs)(
        x2.reshape(batch, steps, -1), mask=mask, initial_state=None if s23 is None else [s23])
    one = [keras.ops.convert_to_numpy(t) for t in (one if isinstance(one, (list, tuple)) else [one])]
    two = [keras.ops.convert_to_numpy(t) for t in (two if isinstance(two, (list, tuple)) else [two])]
    output = [one[0], two[0].reshape(two[0].shape[:-1] + (U2, U3))]
    if not kwargs.get("return_state"):
        return output
    return [output, one[1], two[1].reshape(batch, U2, U3)]


LOOPS = [{}, {"return_sequences": True}, {"return_state": True},
         {"return_sequences": True, "return_state": True, "go_backwards": True},
         {"return_sequences": True, "zero_output_for_mask": True}]


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("kwargs", LOOPS, ids=[str(i) for i in range(len(LOOPS))])
def test_nested_cell_matches_keras_branch_by_branch(kwargs, masked):
    keras = pytest.importorskip("keras")
    x1, x2 = data()
    mask = PADDED if masked else None
    layer = layers.RNN(NestedCell(U1, U2, U3), **kwargs)
    got = layer((x1, x2), mask=mask)
    want = keras_branches(keras, layer.cell, x1, x2, kwargs, mask=mask)
    assert tree.flatten(tree.map_structure(lambda t: t.shape, got)) == \
        tree.flatten(tree.map_structure(lambda a: a.shape, want))
    for a, b in zip(tree.flatten(got), tree.flatten(want)):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-5, atol=1e-5)


def test_nested_initial_state_matches_keras():
    keras = pytest.importorskip("keras")
    x1, x2 = data()
    initial = [rng.standard_normal((3, U1)).astype(np.float32), rng.standard_normal((3, U2, U3)).astype(np.float32)]
    kwargs = {"return_sequences": True, "return_state": True}
    layer = layers.RNN(NestedCell(U1, U2, U3), **kwargs)
    got = layer((x1, x2), initial_state=initial)
    want = keras_branches(keras, layer.cell, x1, x2, kwargs, initial_state=initial)
    for a, b in zip(tree.flatten(got), tree.flatten(want)):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-5, atol=1e-5)


def test_nested_rnn_gradients_match_central_differences():
    x1, x2 = (x.astype(np.float64) for x in data(2, 3))
    layer = layers.RNN(NestedCell(U1, U2, U3, dtype="float64"), return_sequences=True, return_state=True,
                       dtype="float64")
    layer((x1, x2))
    cell = layer.cell
    initial = [rng.standard_normal((2, U1)), rng.standard_normal((2, U2, U3))]

    def f(a, b, s1, s2, k1, k23):
        saved = cell.kernel_1, cell.kernel_2_3
        cell.kernel_1, cell.kernel_2_3 = k1, k23
        try:
            out = layer.call((a, b), initial_state=[s1, s2], mask=PADDED[:2, :3])
        finally:
            cell.kernel_1, cell.kernel_2_3 = saved
        return ops.concatenate([ops.reshape(ops.tanh(o), (-1,)) for o in tree.flatten(out)], axis=0)

    gradcheck(f, x1, x2, *initial, cell.kernel_1.numpy(), cell.kernel_2_3.numpy())


def test_nested_rnn_in_a_functional_model_trains_as_keras_two_branches():
    keras = pytest.importorskip("keras")
    x1, x2 = data(8, 4)
    y1, y2 = rng.standard_normal((8, U1)), rng.standard_normal((8, U2, U3))
    input_1, input_2 = nn.Input((None, I1)), nn.Input((None, I2, I3))
    rnn = layers.RNN(NestedCell(U1, U2, U3))
    outputs = rnn((input_1, input_2))
    assert [tuple(t.shape) for t in tree.flatten(outputs)] == [(None, U1), (None, U2, U3)]
    model = nn.Model([input_1, input_2], outputs)
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="mse")
    cell = rnn.cell
    k1, k23 = cell.kernel_1.numpy(), cell.kernel_2_3.numpy().reshape(I2 * I3, U2 * U3)

    k_in1, k_in2 = keras.Input((None, I1)), keras.Input((None, I2 * I3))
    k_out1 = keras.layers.RNN(keras_accumulator(keras, k1))(k_in1)
    k_out2 = keras.layers.RNN(keras_accumulator(keras, k23))(k_in2)
    theirs = keras.Model([k_in1, k_in2], [k_out1, k_out2])
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")

    ours_history = model.fit([x1, x2], [y1, y2], batch_size=8, epochs=2, shuffle=False, verbose=0)
    their_history = theirs.fit([x1, x2.reshape(8, 4, -1)], [y1, y2.reshape(8, -1)], batch_size=8, epochs=2,
                               shuffle=False, verbose=0)
    np.testing.assert_allclose(ours_history.history["loss"], their_history.history["loss"], rtol=1e-5)
    want = [keras.ops.convert_to_numpy(w) for w in theirs.weights]
    np.testing.assert_allclose(cell.kernel_1.numpy(), want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cell.kernel_2_3.numpy().reshape(I2 * I3, -1), want[1], rtol=1e-5, atol=1e-6)
    predicted = model.predict([x1, x2], verbose=0)
    assert [p.shape for p in predicted] == [(8, U1), (8, U2, U3)]


def test_nested_rnn_round_trips_through_a_keras_file(tmp_path):
    x1, x2 = data()
    input_1, input_2 = nn.Input((None, I1)), nn.Input((None, I2, I3))
    outputs = layers.RNN(NestedCell(U1, U2, U3), return_sequences=True)((input_1, input_2))
    model = nn.Model([input_1, input_2], outputs)
    path = tmp_path / "nested.keras"
    model.save(path)
    loaded = nn.saving.load_model(path, custom_objects={"NestedCell": NestedCell})
    for a, b in zip(model.predict([x1, x2], verbose=0), loaded.predict([x1, x2], verbose=0)):
        np.testing.assert_allclose(a, b)


class ListStateCell(layers.Layer):
    """States nested as `[[h, c], n]` (the shape stacked cells give): a running sum, its square, a count."""

    state_size = [[2, 2], 1]
    output_size = 2

    def call(self, inputs, states):
        (h, c), n = states
        h = h + inputs
        return h, [[h, c + h * h], n + 1.0]


def test_state_sizes_nest_as_lists_of_ints():
    x = rng.standard_normal((2, 3, 2)).astype(np.float32)
    output, (h, c), n = layers.RNN(ListStateCell(), return_state=True)(x)
    np.testing.assert_allclose(h.numpy(), x.sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(c.numpy(), (np.cumsum(x, axis=1) ** 2).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(n.numpy(), np.full((2, 1), 3.0))
    np.testing.assert_allclose(output.numpy(), h.numpy())


def test_nested_inputs_must_share_batch_and_time():
    layer = layers.RNN(NestedCell(U1, U2, U3))
    x1, x2 = data()
    with pytest.raises(ValueError, match="share \\(batch, timesteps\\)"):
        layer((x1, x2[:, :3]))
    with pytest.raises(ValueError, match="initial_state needs 2 state"):
        layers.RNN(NestedCell(U1, U2, U3))((x1, x2), initial_state=[np.zeros((3, U1))])


class _ShapeLike:
    """A stand-in for `tf.TensorShape`, which the guide's cell uses for its sizes."""

    def __init__(self, *dims):
        self.dims = list(dims)

    def as_list(self):
        return self.dims


def test_tensorshape_like_sizes_read_as_shapes():
    cell = NestedCell(U1, U2, U3)
    cell.state_size = [_ShapeLike(U1), _ShapeLike(U2, U3)]
    cell.output_size = [_ShapeLike(U1), _ShapeLike(U2, U3)]
    x1, x2 = data()
    output, s1, s2 = layers.RNN(cell, return_state=True)((x1, x2))
    assert [o.shape for o in output] == [(3, U1), (3, U2, U3)] and (s1.shape, s2.shape) == ((3, U1), (3, U2, U3))
