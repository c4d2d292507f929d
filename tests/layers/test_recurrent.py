"""Recurrent layers: gradients against central differences, the fused kernels against the cells
they fuse, and outputs against Keras and PyTorch on identical weights."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import Tensor, gradcheck, layers, ops

rng = np.random.default_rng(0)
PADDED = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1]], dtype=bool)  # (3, 5)


def normal(*shape):
    return rng.standard_normal(shape)


def weights_of(layer):
    """The cells' weight attributes, in `layer.weights` order: (owner, attribute name)."""
    cells = [layer.forward_layer.cell, layer.backward_layer.cell] if isinstance(layer, layers.Bidirectional) \
        else [layer.cell]
    return [(cell, name) for cell in cells for name in ("kernel", "recurrent_kernel", "bias")
            if getattr(cell, name, None) is not None]


def check_gradients(layer, x, mask=None, initial_state=None, training=None):
    """gradcheck the layer's outputs (every one of them) w.r.t. inputs, initial states, weights."""
    layer(x, initial_state=initial_state, mask=mask)
    slots = weights_of(layer)
    arrays = [getattr(owner, name).numpy() for owner, name in slots]
    states = list(initial_state or [])

    def f(inputs, *tensors):
        saved = [getattr(owner, name) for owner, name in slots]
        for (owner, name), t in zip(slots, tensors[len(states):]):
            setattr(owner, name, t)
        try:
            out = layer.call(inputs, initial_state=list(tensors[:len(states)]) or None, mask=mask,
                             training=training)
        finally:
            for (owner, name), value in zip(slots, saved):
                setattr(owner, name, value)
        outs = out if isinstance(out, list) else [out]
        return ops.concatenate([ops.reshape(o, (-1,)) for o in outs], axis=0)

    gradcheck(f, x, *states, *arrays)


def f64(cls, *args, **kwargs):
    return cls(*args, dtype="float64", **kwargs)


RECURRENT = [
    (layers.SimpleRNN, {}),
    (layers.SimpleRNN, {"activation": "relu", "return_sequences": True}),
    (layers.LSTM, {}),
    (layers.LSTM, {"return_sequences": True, "return_state": True}),
    (layers.LSTM, {"go_backwards": True, "return_sequences": True}),
    (layers.GRU, {"return_state": True}),
    (layers.GRU, {"reset_after": False, "return_sequences": True}),
    (layers.GRU, {"go_backwards": True, "reset_after": False}),
]


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("cls, kwargs", RECURRENT, ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(RECURRENT)])
def test_recurrent_gradients_match_central_differences(cls, kwargs, masked):
    check_gradients(f64(cls, 3, **kwargs), normal(3, 5, 2), mask=PADDED if masked else None)


@pytest.mark.parametrize("cls, n_states", [(layers.SimpleRNN, 1), (layers.LSTM, 2), (layers.GRU, 1)])
def test_gradients_reach_the_initial_state(cls, n_states):
    layer = f64(cls, 3, return_sequences=True, return_state=True)
    check_gradients(layer, normal(3, 5, 2), mask=PADDED, initial_state=[normal(3, 3) for _ in range(n_states)])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_gradients(merge_mode):
    layer = layers.Bidirectional(f64(layers.LSTM, 2, return_sequences=True), merge_mode=merge_mode, dtype="float64")
    check_gradients(layer, normal(3, 5, 2), mask=PADDED)
    check_gradients(layers.Bidirectional(f64(layers.GRU, 2), merge_mode=merge_mode, dtype="float64"),
                    normal(3, 4, 2))


def test_generic_rnn_of_a_custom_cell_has_correct_gradients():
    class MinimalCell(layers.Layer):
        state_size = 2

        def build(self, input_shape):
            self.kernel = self.add_weight((input_shape[-1], 2), name="kernel")
            self.recurrent_kernel = self.add_weight((2, 2), "orthogonal", name="recurrent_kernel")

        def call(self, inputs, states):
            h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent_kernel))
            return h, [h]

    cell = MinimalCell(dtype="float64")
    layer = layers.RNN(cell, return_sequences=True, dtype="float64")
    check_gradients(layer, normal(3, 5, 2), mask=PADDED)


CELLS = [
    (layers.SimpleRNN, layers.SimpleRNNCell, {}),
    (layers.LSTM, layers.LSTMCell, {}),
    (layers.GRU, layers.GRUCell, {}),
    (layers.GRU, layers.GRUCell, {"reset_after": False}),
]


@pytest.mark.parametrize("layer_cls, cell_cls, kwargs", CELLS)
@pytest.mark.parametrize("loop", [{}, {"go_backwards": True}, {"zero_output_for_mask": True}])
def test_fused_kernel_matches_its_cell_stepped_on_the_tape(layer_cls, cell_cls, kwargs, loop):
    x = normal(3, 5, 2)
    fused = f64(layer_cls, 4, return_sequences=True, return_state=True, **kwargs, **loop)
    stepped = layers.RNN(f64(cell_cls, 4, **kwargs), return_sequences=True, return_state=True, dtype="float64", **loop)
    fused(x)
    stepped(x)
    stepped.set_weights(fused.get_weights())
    xt = Tensor(x, requires_grad=True)
    outs_fused = fused(xt, mask=PADDED)
    outs_stepped = stepped(xt, mask=PADDED)
    for a, b in zip(outs_fused, outs_stepped):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
    probe = [normal(*o.shape) for o in outs_fused]
    grads = [nn.grad(lambda x_, outs_fn=fn: sum(ops.sum(o * p) for o, p in zip(outs_fn(x_), probe)))(x)
             for fn in (lambda v: fused(Tensor(v) if not isinstance(v, Tensor) else v, mask=PADDED),
                        lambda v: stepped(Tensor(v) if not isinstance(v, Tensor) else v, mask=PADDED))]
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_padded_batch_gives_the_final_states_of_each_sequence_alone(cls):
    layer = cls(4, return_state=True)
    lengths = [5, 2, 4]
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.arange(5)[None, :] < np.array(lengths)[:, None]
    batch = layer(x * mask[..., None], mask=mask)
    for i, n in enumerate(lengths):
        alone = layer(x[i:i + 1, :n])
        for got, want in zip(batch, alone):
            np.testing.assert_allclose(got.numpy()[i], want.numpy()[0], rtol=1e-6, atol=1e-6)


def test_embedding_mask_zero_reaches_the_lstm_through_the_model():
    model = nn.Sequential([layers.Embedding(20, 6, mask_zero=True), layers.LSTM(5)])
    ids = np.array([[3, 4, 5, 0, 0], [7, 8, 9, 10, 11]])
    padded = model(ids).numpy()
    alone = model(ids[:1, :3]).numpy()
    np.testing.assert_allclose(padded[0], alone[0], rtol=1e-6, atol=1e-6)
    inputs = nn.Input((None,), dtype="int32")
    outputs = layers.GRU(5)(layers.Embedding(20, 6, mask_zero=True)(inputs))
    functional = nn.Model(inputs, outputs)
    np.testing.assert_allclose(functional(ids).numpy()[0], functional(ids[:1, :3]).numpy()[0], rtol=1e-6, atol=1e-6)


def test_masking_layer_masks_steps_whose_features_all_equal_the_value():
    x = normal(2, 4, 3).astype(np.float32)
    x[0, 2:] = 0.0
    masking = layers.Masking()
    out = masking(x)
    assert out._keras_mask.tolist() == [[True, True, False, False], [True, True, True, True]]
    lstm = layers.LSTM(3)
    np.testing.assert_allclose(lstm(out).numpy()[0], lstm(x[:1, :2]).numpy()[0], rtol=1e-6, atol=1e-6)


# -- against Keras (KERAS_BACKEND=torch) on identical weights ---------------------------------------

KERAS_CASES = [
    ("SimpleRNN", {"return_sequences": True, "return_state": True}),
    ("SimpleRNN", {"activation": "relu", "go_backwards": True}),
    ("LSTM", {"return_sequences": True, "return_state": True}),
    ("LSTM", {"go_backwards": True, "return_state": True}),
    ("LSTM", {"unit_forget_bias": False, "use_bias": False, "return_sequences": True}),
    ("GRU", {"return_sequences": True, "return_state": True}),
    ("GRU", {"reset_after": False, "return_sequences": True, "return_state": True}),
    ("GRU", {"go_backwards": True, "zero_output_for_mask": True, "return_sequences": True}),
]


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("name, kwargs", KERAS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(KERAS_CASES)])
def test_outputs_and_states_match_keras(name, kwargs, masked):
    keras = pytest.importorskip("keras")
    x = normal(3, 5, 4).astype(np.float32)
    mask = PADDED if masked else None
    theirs = getattr(keras.layers, name)(6, **kwargs)
    want = theirs(x, mask=mask)
    ours = getattr(layers, name)(6, **kwargs)
    ours(x)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    got = ours(x, mask=mask)
    want, got = (want, got) if isinstance(got, list) else ([want], [got])
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", None])
def test_bidirectional_matches_keras(merge_mode):
    keras = pytest.importorskip("keras")
    x = normal(3, 5, 4).astype(np.float32)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), merge_mode=merge_mode)
    want = theirs(x, mask=PADDED)
    ours = layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode=merge_mode)
    ours(x)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    got = ours(x, mask=PADDED)
    got, want = (list(got), list(want)) if merge_mode is None else ([got], [want])
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-5)


def test_embedding_lstm_dense_model_matches_keras():
    keras = pytest.importorskip("keras")
    ids = np.array([[3, 4, 5, 0, 0], [7, 8, 9, 10, 11], [0, 0, 1, 2, 3]])

    def build(lib):
        return lib.Sequential([lib.Input((5,), dtype="int32"), lib.layers.Embedding(12, 4, mask_zero=True),
                               lib.layers.LSTM(6), lib.layers.Dense(12, activation="softmax")])

    theirs, ours = build(keras), build(nn)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    np.testing.assert_allclose(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0), rtol=1e-5, atol=1e-6)


# -- against PyTorch's nn.LSTM / nn.GRU / nn.RNN: outputs and gradients -----------------------------


def _torch_gates(matrix, order):
    """Reorder PyTorch's gate blocks (rows) into Keras's order."""
    blocks = np.split(matrix, len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


TORCH_CASES = [("LSTM", (0, 1, 2, 3)), ("GRU", (1, 0, 2)), ("RNN", (0,))]  # PyTorch GRU: r, z, n


@pytest.mark.parametrize("name, order", TORCH_CASES)
def test_outputs_and_gradients_match_pytorch(name, order):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    n, steps, d, u = 4, 6, 3, 5
    module = getattr(torch.nn, name)(d, u, batch_first=True).double()
    x = normal(n, steps, d)
    xt = torch.tensor(x, requires_grad=True)
    out, _ = module(xt)
    probe = normal(n, steps, u)
    (out * torch.tensor(probe)).sum().backward()

    params = {k: v.detach().numpy() for k, v in module.named_parameters()}
    grads = {k: v.grad.numpy() for k, v in module.named_parameters()}
    kernel = _torch_gates(params["weight_ih_l0"], order).T
    recurrent = _torch_gates(params["weight_hh_l0"], order).T
    if name == "GRU":
        bias = np.stack([_torch_gates(params["bias_ih_l0"], order), _torch_gates(params["bias_hh_l0"], order)])
        ours = layers.GRU(u, return_sequences=True, dtype="float64")
    else:
        bias = _torch_gates(params["bias_ih_l0"] + params["bias_hh_l0"], order)
        ours = (layers.LSTM if name == "LSTM" else layers.SimpleRNN)(u, return_sequences=True, dtype="float64")
    ours(x)
    ours.set_weights([kernel, recurrent, bias])
    x_ours = Tensor(x, requires_grad=True)
    got = ours(x_ours)
    np.testing.assert_allclose(got.numpy(), out.detach().numpy(), rtol=1e-10, atol=1e-12)
    ops.sum(got * probe).backward()
    np.testing.assert_allclose(x_ours.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.cell.kernel.grad, _torch_gates(grads["weight_ih_l0"], order).T,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.cell.recurrent_kernel.grad, _torch_gates(grads["weight_hh_l0"], order).T,
                               rtol=1e-10, atol=1e-12)
    bias_grad = ours.cell.bias.grad
    if name == "GRU":
        np.testing.assert_allclose(bias_grad[0], _torch_gates(grads["bias_ih_l0"], order), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(bias_grad[1], _torch_gates(grads["bias_hh_l0"], order), rtol=1e-10, atol=1e-12)
    else:  # PyTorch's two biases each get the gradient of their sum
        np.testing.assert_allclose(bias_grad, _torch_gates(grads["bias_ih_l0"], order), rtol=1e-10, atol=1e-12)


# -- contract: shapes, configs, saving, dropout, statefulness, errors -------------------------------


@pytest.mark.parametrize("layer", [
    layers.LSTM(4, return_sequences=True, return_state=True, dropout=0.1, unit_forget_bias=False),
    layers.GRU(4, reset_after=False, go_backwards=True, recurrent_dropout=0.2),
    layers.SimpleRNN(4, activation="relu", stateful=True),
    layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode="sum"),
    layers.TimeDistributed(layers.Dense(3)),
    layers.RNN(layers.LSTMCell(4), return_sequences=True),
    layers.Embedding(10, 3, mask_zero=True),
    layers.Masking(mask_value=-1.0),
], ids=lambda layer: type(layer).__name__)
def test_config_round_trips(layer):
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert {k: v for k, v in again.get_config().items() if k != "name"} == \
        {k: v for k, v in config.items() if k != "name"}


def test_symbolic_shapes_and_parameter_counts_match_keras():
    keras = pytest.importorskip("keras")

    def build(lib):
        inputs = lib.Input((7,), dtype="int32")
        x = lib.layers.Embedding(50, 8, mask_zero=True)(inputs)
        x = lib.layers.Bidirectional(lib.layers.GRU(5, return_sequences=True))(x)
        x = lib.layers.TimeDistributed(lib.layers.Dense(4))(x)
        x, h, c = lib.layers.LSTM(6, return_state=True)(x)
        return lib.Model(inputs, [x, h, c])

    theirs, ours = build(keras), build(nn)
    assert [tuple(o.shape) for o in ours.outputs] == [tuple(o.shape) for o in theirs.outputs]
    assert ours.count_params() == theirs.count_params()
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


def test_a_model_with_recurrent_layers_saves_and_loads(tmp_path):
    model = nn.Sequential([nn.Input((5,), dtype="int32"), layers.Embedding(20, 4, mask_zero=True),
                           layers.Bidirectional(layers.LSTM(3, return_sequences=True)), layers.GRU(3),
                           layers.Dense(2)])
    model.compile("adam", "mse")
    ids = rng.integers(0, 20, (4, 5))
    path = tmp_path / "rnn.keras"
    model.save(path)
    again = nn.models.load_model(path)
    np.testing.assert_allclose(again.predict(ids, verbose=0), model.predict(ids, verbose=0), rtol=1e-6)


def test_dropout_is_random_in_training_and_off_at_inference():
    x = normal(4, 6, 3).astype(np.float32)
    for layer in (layers.LSTM(5, dropout=0.5, seed=1), layers.GRU(5, recurrent_dropout=0.5, seed=1),
                  layers.SimpleRNN(5, dropout=0.3, recurrent_dropout=0.3, seed=1)):
        first, second = layer(x, training=True).numpy(), layer(x, training=True).numpy()
        assert not np.allclose(first, second)
        np.testing.assert_array_equal(layer(x).numpy(), layer(x, training=False).numpy())


def test_stateful_layers_carry_states_between_calls_until_reset():
    x = normal(2, 6, 3).astype(np.float32)
    whole = layers.LSTM(4, return_sequences=True)
    stateful = layers.LSTM(4, return_sequences=True, stateful=True)
    whole(x)
    stateful(x[:, :3])
    stateful.set_weights(whole.get_weights())
    stateful.reset_states()
    halves = np.concatenate([stateful(x[:, :3]).numpy(), stateful(x[:, 3:]).numpy()], axis=1)
    np.testing.assert_allclose(halves, whole(x).numpy(), rtol=1e-6, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful(x[:, :3]).numpy(), whole(x[:, :3]).numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="fixed batch size"):
        stateful(x[:1, :3])


def test_bad_input_is_explained():
    embedding = layers.Embedding(10, 3)
    with pytest.raises(TypeError, match="integer token ids"):
        embedding(np.array([[0.5, 1.0]]))
    with pytest.raises(IndexError, match="token id 10 is out of range"):
        embedding(np.array([[1, 10]]))
    with pytest.raises(IndexError, match="token id -1"):
        embedding(np.array([[-1, 2]]))
    with pytest.raises(ValueError, match=r"expected a 3-D input \(batch, timesteps, features\), got shape \(4, 7\)"):
        layers.LSTM(3)(np.ones((4, 7)))
    with pytest.raises(ValueError, match="expected a 3-D input"):
        nn.Sequential([nn.Input((7,)), layers.GRU(3)])
    with pytest.raises(ValueError, match="initial_state needs 2 state"):
        layers.LSTM(3)(np.ones((2, 4, 1)), initial_state=[np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"the mask has shape \(2, 3\)"):
        layers.GRU(3)(np.ones((2, 4, 1)), mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="units must be a positive integer"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="dropout must be a float in"):
        layers.GRU(3, dropout=1.5)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match=r"the input has no timesteps \(shape \(2, 0, 4\)\)"):
        layers.LSTM(3)(np.ones((2, 0, 4)))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint16, np.int32, np.uint64])
def test_embedding_gradient_for_every_integer_id_type(dtype):
    """Narrow id types (uint16 token ids) index a large table: the gradient lands on the right rows."""
    vocabulary = 250 if dtype == np.uint8 else 5000
    embedding = layers.Embedding(vocabulary, 32, dtype="float64")
    ids = np.array([[3, vocabulary - 1, 3], [200, 0, 3]], dtype)
    g = normal(2, 3, 32)
    ops.sum(embedding(ids) * g).backward()
    expected = np.zeros((vocabulary, 32))
    for (b, t), row in np.ndenumerate(ids.astype(np.int64)):
        expected[row] += g[b, t]
    np.testing.assert_array_equal(embedding.embeddings.grad, expected)


# -- review fixes: states and masks across models, losses, memory ------------------------------------


def test_encoder_states_feed_a_decoder_in_a_functional_model_as_keras(tmp_path):
    keras = pytest.importorskip("keras")

    def build(lib):
        encoder_inputs = lib.Input((None, 4))
        _, h, c = lib.layers.LSTM(5, return_state=True)(encoder_inputs)
        decoder_inputs = lib.Input((None, 3))
        decoded = lib.layers.LSTM(5, return_sequences=True)(decoder_inputs, initial_state=[h, c])
        return lib.Model([encoder_inputs, decoder_inputs], lib.layers.Dense(3)(decoded))

    theirs, ours = build(keras), build(nn)
    assert len(ours.weights) == len(theirs.weights) == 8
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    a, b = normal(2, 6, 4).astype(np.float32), normal(2, 5, 3).astype(np.float32)
    np.testing.assert_allclose(ours.predict([a, b], verbose=0), theirs.predict([a, b], verbose=0), rtol=1e-5, atol=1e-6)
    ours.save(tmp_path / "seq2seq.keras")
    again = nn.models.load_model(tmp_path / "seq2seq.keras")
    np.testing.assert_allclose(again.predict([a, b], verbose=0), ours.predict([a, b], verbose=0), rtol=1e-6)


MASK_MODELS = [
    lambda lib: [lib.layers.Dense(3), lib.layers.LSTM(4)],
    lambda lib: [lib.layers.Dropout(0.5), lib.layers.Activation("tanh"), lib.layers.GRU(4)],
    lambda lib: [lib.layers.GlobalAveragePooling1D(), lib.layers.Dense(2)],
]


@pytest.mark.parametrize("middle", MASK_MODELS, ids=["dense", "dropout-activation", "global-average"])
def test_masks_pass_through_the_layers_keras_passes_them_through(middle):
    keras = pytest.importorskip("keras")
    ids = np.array([[3, 4, 5, 0, 0], [7, 8, 9, 1, 2], [0, 0, 1, 2, 3]])

    def build(lib):
        return lib.Sequential([lib.Input((5,), dtype="int32"), lib.layers.Embedding(10, 4, mask_zero=True),
                               *middle(lib)])

    theirs, ours = build(keras), build(nn)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    np.testing.assert_allclose(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0), rtol=1e-5, atol=1e-6)


def test_time_distributed_hands_each_step_its_mask():
    keras = pytest.importorskip("keras")
    ids = np.array([[[1, 2, 0], [3, 0, 0]], [[4, 5, 6], [0, 0, 0]]])

    def build(lib):
        return lib.Sequential([lib.Input((2, 3), dtype="int32"), lib.layers.Embedding(10, 4, mask_zero=True),
                               lib.layers.TimeDistributed(lib.layers.LSTM(3))])

    theirs, ours = build(keras), build(nn)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    np.testing.assert_allclose(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0), rtol=1e-5, atol=1e-6)


PADDED_IDS = np.array([[3, 4, 5, 0, 0], [7, 8, 9, 1, 2], [0, 0, 1, 2, 3]])


def masked_tagger(lib, cell):
    """Embedding(mask_zero) -> a recurrent layer over every step -> a softmax per step, compiled
    with a per-step loss and accuracy: masks reach the loss and the metrics."""
    model = lib.Sequential([lib.Input((5,), dtype="int32"), lib.layers.Embedding(10, 4, mask_zero=True),
                            getattr(lib.layers, cell)(6, return_sequences=True),
                            lib.layers.TimeDistributed(lib.layers.Dense(4, activation="softmax"))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_the_loss_and_metrics_average_over_unmasked_steps_as_keras(cell):
    keras = pytest.importorskip("keras")
    labels = np.random.default_rng(1).integers(0, 4, (3, 5))
    theirs, ours = masked_tagger(keras, cell), masked_tagger(nn, cell)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    got = ours.evaluate(PADDED_IDS, labels, verbose=0, return_dict=True)
    want = theirs.evaluate(PADDED_IDS, labels, verbose=0, return_dict=True)
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-5)
    assert got["accuracy"] == pytest.approx(want["accuracy"], abs=1e-6)
    theirs.fit(PADDED_IDS, labels, epochs=1, batch_size=3, verbose=0, shuffle=False)
    ours.fit(PADDED_IDS, labels, epochs=1, batch_size=3, verbose=0, shuffle=False)
    for a, b in zip(ours.get_weights(), theirs.weights):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)


def test_activity_regularizer_adds_one_penalty_per_output():
    layer = layers.LSTM(3, activity_regularizer="l2", return_state=True)
    outputs = layer(normal(2, 5, 3).astype(np.float32))
    assert len(layer.losses) == 3
    expected = [0.01 * np.sum(o.numpy() ** 2) / 2 for o in outputs]
    np.testing.assert_allclose([float(loss.numpy()) for loss in layer.losses], expected, rtol=1e-5)


def test_kernels_keep_nothing_for_a_backward_that_will_not_run():
    from nablanet.autodiff.primitive import _SAVED

    x = normal(4, 6, 3).astype(np.float32)
    before = len(_SAVED)
    with nn.no_grad():
        kept = [layers.LSTM(5)(x), layers.GRU(5)(x), layers.SimpleRNN(5)(x)]
    assert len(_SAVED) == before and all(k.shape == (4, 5) for k in kept)


def test_keras_positional_and_numpy_arguments():
    assert layers.LSTM(4, "relu", "hard_sigmoid").cell.recurrent_activation is nn.activations.hard_sigmoid
    assert layers.SimpleRNN(4, "relu").cell.activation is nn.activations.relu
    assert layers.GRU(3, dropout=np.float32(0.25)).cell.dropout == pytest.approx(0.25)
    assert layers.SimpleRNN(4, "relu", False).cell.use_bias is False  # Keras's third parameter
    assert layers.GRU(3, "tanh", "sigmoid", True, "zeros").cell.kernel_initializer.__class__.__name__ == "Zeros"
    with pytest.raises(TypeError):
        layers.SimpleRNN(4, *([None] * 30))


def test_embedding_masking_and_time_distributed_gradients(check_layer):
    ids = np.array([[1, 4, 0, 6], [2, 2, 5, 0]])
    check_layer(layers.Embedding, {"input_dim": 7, "output_dim": 3}, ids.shape, (2, 4, 3), 1,
                input_data=ids, grad_inputs=False)
    x = normal(2, 4, 3)
    check_layer(layers.Masking, {}, x.shape, (2, 4, 3), 0, input_data=x)  # smooth away from the mask value
    x[0, 2:] = 0.0  # at the mask value the output jumps (a step counts once any feature moves): no
    xt = Tensor(x, requires_grad=True)  # finite differences there; the padded steps get no gradient
    ops.sum(layers.Masking(dtype="float64")(xt) * normal(2, 4, 3)).backward()
    assert not xt.grad[0, 2:].any() and xt.grad[1].all()
    wrapped = layers.TimeDistributed(f64(layers.Dense, 2, activation="tanh"), dtype="float64")
    wrapped(x)
    dense = wrapped.layer

    def f(inputs, kernel, bias):
        saved = dense.kernel, dense.bias
        dense.kernel, dense.bias = kernel, bias
        try:
            return wrapped.call(inputs)
        finally:
            dense.kernel, dense.bias = saved

    gradcheck(f, normal(2, 4, 3), dense.kernel.numpy(), dense.bias.numpy())
