"""ONNX export: every layer family runs in onnxruntime with the outputs of `predict`, at two batch
sizes from one exported file; masks with padded sequences; clear errors for what has no ONNX form."""

import sys

import numpy as np
import pytest

import nablanet
from nablanet import activations, layers
from nablanet.export import ExportError, export_onnx

onnx = pytest.importorskip("onnx")  # the test extra has both; CI fails a skipped reference test
ort = pytest.importorskip("onnxruntime")

rng = np.random.default_rng(0)
TOL = {"rtol": 1e-5, "atol": 1e-5}


def randomize(model, seed=0):
    """Random weights (biases and statistics included), so no term hides behind a zero."""
    r = np.random.default_rng(seed)
    for w in model.weights:
        shape = w.numpy().shape
        value = r.uniform(0.5, 1.5, shape) if "variance" in w.name else r.normal(0, 0.4, shape)
        w.assign(value.astype(w.numpy().dtype))
    return model


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check(model, inputs, tmp_path, batches=(1, 5), **export_kwargs):
    """Export `model`, run the file at each batch size, compare with `predict`."""
    inputs = inputs if isinstance(inputs, list) else [inputs]
    path = tmp_path / "model.onnx"
    model.export(path, format="onnx", verbose=False, **export_kwargs)
    onnx.checker.check_model(str(path), full_check=True)  # types and shapes infer, strictly
    sess = session(path)
    names = [i.name for i in sess.get_inputs()]
    assert len(names) == len(inputs)
    types = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
             "tensor(bool)": np.bool_}
    inputs = [x.astype(types[i.type]) for x, i in zip(inputs, sess.get_inputs())]  # as the file declares
    for n in batches:
        feed = [x[:n] for x in inputs]
        got = sess.run(None, dict(zip(names, feed)))
        want = model.predict(feed if len(feed) > 1 else feed[0], verbose=0)
        want = list(want) if isinstance(want, (list, tuple)) else [want]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, **TOL)
    return path


def sequential(input_shape, *stack, seed=0):
    model = nablanet.Sequential([layers.Input(shape=input_shape), *stack])
    return randomize(model, seed)


def floats(*shape):
    return rng.normal(0, 1, shape).astype(np.float32)


# -- activations -----------------------------------------------------------------------------------


ONE_ARGUMENT = sorted(set(activations.ALL) - {"threshold"})  # threshold needs its threshold and default_value


@pytest.mark.parametrize("name", sorted(set(ONE_ARGUMENT) - {"glu"}))  # glu halves the units Dense declares
def test_dense_with_every_activation(name, tmp_path):
    model = sequential((3,), layers.Dense(4, activation=name))
    check(model, floats(5, 3) * 2, tmp_path)


def test_every_activation_has_an_onnx_form():
    from nablanet.export import ACTIVATIONS

    missing = {name for name in ONE_ARGUMENT if activations.ALL[name] not in ACTIVATIONS}
    assert not missing, f"activations without an ONNX form: {sorted(missing)}"


@pytest.mark.parametrize("layer", [
    layers.ReLU(), layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.3), layers.ReLU(max_value=1.0),
    layers.LeakyReLU(0.1), layers.PReLU(), layers.ELU(0.7), layers.Softmax(axis=1), layers.Activation("swish"),
    layers.Activation("gelu"),
], ids=lambda layer: type(layer).__name__)
def test_activation_layers(layer, tmp_path):
    check(sequential((4, 3), layer), floats(5, 4, 3), tmp_path)


def test_dense_without_bias_on_sequences(tmp_path):
    check(sequential((4, 3), layers.Dense(2, use_bias=False), layers.Dense(3, activation="tanh")),
          floats(5, 4, 3), tmp_path)


# -- convolution and pooling -----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"filters": 4, "kernel_size": 3},
    {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 4, "kernel_size": (2, 3), "strides": (1, 2), "padding": "same", "activation": "relu"},
    {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
    {"filters": 4, "kernel_size": 3, "dilation_rate": (1, 2)},
    {"filters": 6, "kernel_size": 3, "groups": 2, "use_bias": False, "activation": "sigmoid"},
    {"filters": 4, "kernel_size": 3, "padding": "same", "data_format": "channels_first"},
    {"filters": 4, "kernel_size": 3, "data_format": "channels_first", "activation": "softmax"},
    {"filters": 4, "kernel_size": 3, "activation": "log_softmax"},
], ids=str)
def test_conv2d(kwargs, tmp_path):
    shape = (4, 7, 6) if kwargs.get("data_format") == "channels_first" else (7, 6, 4)
    check(sequential(shape, layers.Conv2D(**kwargs)), floats(5, *shape), tmp_path)


@pytest.mark.parametrize("kwargs", [
    {"filters": 3, "kernel_size": 3},
    {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 3, "kernel_size": 2, "dilation_rate": 2, "padding": "causal", "activation": "tanh"},
    {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"},
], ids=str)
def test_conv1d(kwargs, tmp_path):
    check(sequential((9, 4), layers.Conv1D(**kwargs)), floats(5, 9, 4), tmp_path)


def test_conv1d_same_padding_on_sequences_of_any_length(tmp_path):
    model = sequential((None, 2), layers.Conv1D(3, 4, strides=2, padding="same"),
                       layers.Conv1D(2, 3, dilation_rate=2, padding="same"), layers.MaxPooling1D(2, padding="same"),
                       layers.AveragePooling1D(3, strides=2, padding="same"))
    path = check(model, floats(5, 9, 2), tmp_path)
    sess = session(path)  # the same file on another length
    x = floats(2, 6, 2)
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x})[0], model.predict(x, verbose=0), **TOL)


def test_conv2d_same_padding_on_images_of_any_size(tmp_path):
    model = sequential((None, None, 2), layers.Conv2D(3, 3, strides=2, dilation_rate=1, padding="same"),
                       layers.DepthwiseConv2D((2, 3), dilation_rate=(2, 1), padding="same"),
                       layers.UpSampling2D((2, 3)), layers.ZeroPadding2D(1), layers.Cropping2D((1, 2)),
                       layers.MaxPooling2D(3, strides=2, padding="same"), layers.GlobalAveragePooling2D())
    path = check(model, floats(5, 7, 6, 2), tmp_path)
    sess = session(path)
    x = floats(2, 4, 9, 2)
    np.testing.assert_allclose(sess.run(None, {sess.get_inputs()[0].name: x})[0], model.predict(x, verbose=0), **TOL)


@pytest.mark.parametrize("kwargs", [
    {"filters": 3, "kernel_size": 3},
    {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
    {"filters": 3, "kernel_size": 2, "strides": 2},
    {"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1},
    {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
    {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "activation": "relu"},
    {"filters": 3, "kernel_size": 1, "strides": 3},
    {"filters": 3, "kernel_size": 3, "strides": 2, "data_format": "channels_first", "activation": "softmax"},
], ids=str)
def test_conv2d_transpose(kwargs, tmp_path):
    shape = (2, 4, 5) if kwargs.get("data_format") == "channels_first" else (4, 5, 2)
    check(sequential(shape, layers.Conv2DTranspose(**kwargs)), floats(5, *shape), tmp_path)


def test_conv1d_transpose(tmp_path):
    check(sequential((6, 2), layers.Conv1DTranspose(3, 3, strides=2, padding="same")), floats(5, 6, 2), tmp_path)


@pytest.mark.parametrize("layer", [
    lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
    lambda: layers.DepthwiseConv2D(3, strides=2, activation="relu"),
    lambda: layers.SeparableConv2D(5, 3, padding="same", activation="relu"),
    lambda: layers.SeparableConv2D(5, 3, depth_multiplier=2, strides=2),
], ids=["depthwise_same", "depthwise_strided", "separable", "separable_multiplier"])
def test_depthwise_and_separable(layer, tmp_path):
    check(sequential((7, 6, 3), layer()), floats(5, 7, 6, 3), tmp_path)


@pytest.mark.parametrize("layer", [
    lambda: layers.MaxPooling2D(), lambda: layers.MaxPooling2D(3, strides=2, padding="same"),
    lambda: layers.AveragePooling2D(), lambda: layers.AveragePooling2D(3, strides=2, padding="same"),
    lambda: layers.AveragePooling2D(2, data_format="channels_first"),
    lambda: layers.GlobalAveragePooling2D(), lambda: layers.GlobalMaxPooling2D(keepdims=True),
], ids=["max", "max_same", "average", "average_same", "average_channels_first", "global_average", "global_max"])
def test_pooling_2d(layer, tmp_path):
    check(sequential((7, 6, 3), layer()), floats(5, 7, 6, 3), tmp_path)


@pytest.mark.parametrize("layer", [
    lambda: layers.MaxPooling1D(2), lambda: layers.MaxPooling1D(3, strides=2, padding="same"),
    lambda: layers.AveragePooling1D(3, padding="same"), lambda: layers.GlobalAveragePooling1D(),
    lambda: layers.GlobalMaxPooling1D(), lambda: layers.GlobalAveragePooling1D(keepdims=True),
], ids=["max", "max_same", "average_same", "global_average", "global_max", "global_average_keepdims"])
def test_pooling_1d(layer, tmp_path):
    check(sequential((7, 3), layer()), floats(5, 7, 3), tmp_path)


# -- normalization, reshaping, regularization ------------------------------------------------------


@pytest.mark.parametrize("layer", [
    lambda: layers.BatchNormalization(), lambda: layers.BatchNormalization(axis=1, center=False),
    lambda: layers.LayerNormalization(), lambda: layers.LayerNormalization(axis=[1, 2], scale=False),
    lambda: layers.LayerNormalization(rms_scaling=True), lambda: layers.GroupNormalization(groups=2),
    lambda: layers.GroupNormalization(groups=3, axis=1),
], ids=["batch", "batch_axis1", "layer", "layer_two_axes", "layer_rms", "group", "group_axis1"])
def test_normalization(layer, tmp_path):
    check(sequential((6, 4, 4), layer()), floats(5, 6, 4, 4) * 3 + 1, tmp_path)


@pytest.mark.parametrize("stack", [
    lambda: [layers.Flatten()], lambda: [layers.Flatten(data_format="channels_first")],
    lambda: [layers.Reshape((-1, 2))], lambda: [layers.Reshape((6, 4))], lambda: [layers.Permute((3, 1, 2))],
    lambda: [layers.Flatten(), layers.RepeatVector(3)], lambda: [layers.ZeroPadding2D(((1, 2), (0, 1)))],
    lambda: [layers.Cropping2D(((1, 0), (1, 1)))], lambda: [layers.UpSampling2D((2, 3))],
    lambda: [layers.Rescaling(1 / 255, offset=-0.5)], lambda: [layers.UpSampling2D(2, data_format="channels_first")],
    lambda: [layers.ZeroPadding2D(1, data_format="channels_first"),
             layers.Cropping2D((0, 1), data_format="channels_first")],
    lambda: [layers.SeparableConv2D(3, 2, padding="same", data_format="channels_first")],
    lambda: [layers.Dropout(0.5), layers.SpatialDropout2D(0.3), layers.GaussianNoise(1.0),
             layers.GaussianDropout(0.2), layers.AlphaDropout(0.1), layers.RandomFlip()],
], ids=["flatten", "flatten_cf", "reshape", "reshape_fixed", "permute", "repeat", "zero_pad", "crop", "upsample",
        "rescale", "upsample_cf", "pad_crop_cf", "separable_cf", "dropouts"])
def test_reshaping_and_inference_identities(stack, tmp_path):
    check(sequential((4, 3, 2), *stack()), floats(5, 4, 3, 2), tmp_path)


@pytest.mark.parametrize("stack", [
    lambda: [layers.ZeroPadding1D(2)], lambda: [layers.Cropping1D((1, 2))], lambda: [layers.UpSampling1D(3)],
    lambda: [layers.SpatialDropout1D(0.5)], lambda: [layers.TimeDistributed(layers.Dense(2, activation="relu"))],
    lambda: [layers.Conv1D(3, 2, padding="same", data_format="channels_first", dilation_rate=2),
             layers.MaxPooling1D(2, data_format="channels_first"), layers.GlobalAveragePooling1D("channels_first")],
], ids=["zero_pad", "crop", "upsample", "spatial_dropout", "time_distributed", "conv1d_cf"])
def test_sequence_reshaping(stack, tmp_path):
    check(sequential((6, 3), *stack()), floats(5, 6, 3), tmp_path)


# -- merging and graphs ----------------------------------------------------------------------------


@pytest.mark.parametrize("merge", [layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum,
                                   layers.Minimum, lambda: layers.Concatenate(axis=1)],
                         ids=["add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate"])
def test_merging_two_inputs(merge, tmp_path):
    a, b = layers.Input(shape=(3, 4), name="a"), layers.Input(shape=(3, 4), name="b")
    outputs = merge()([layers.Dense(4)(a), b])
    model = randomize(nablanet.Model([a, b], outputs))
    check(model, [floats(5, 3, 4), floats(5, 3, 4)], tmp_path)


@pytest.mark.parametrize("axes, normalize, shapes", [
    (1, False, [(4,), (4,)]), (1, True, [(4,), (4,)]), ((2, 2), False, [(3, 4), (5, 4)]),
    ((1, 1), True, [(3, 4), (3, 2)]), (-1, False, [(3, 4), (4,)]),
], ids=str)
def test_dot(axes, normalize, shapes, tmp_path):
    a, b = layers.Input(shape=shapes[0]), layers.Input(shape=shapes[1])
    model = nablanet.Model([a, b], layers.Dot(axes, normalize=normalize)([a, b]))
    check(model, [floats(5, *shapes[0]), floats(5, *shapes[1])], tmp_path)


def test_three_way_merges_and_two_outputs(tmp_path):
    x = layers.Input(shape=(4,), name="x")
    h = [layers.Dense(3, activation=a)(x) for a in ("relu", "tanh", "sigmoid")]
    model = randomize(nablanet.Model(x, [layers.Add()(h), layers.Concatenate()(h)]))
    check(model, floats(5, 4), tmp_path)


def test_nested_models(tmp_path):
    inner = sequential((4,), layers.Dense(5, activation="relu"), layers.BatchNormalization(), seed=1)
    x = layers.Input(shape=(4,))
    block_in = layers.Input(shape=(5,))
    block = nablanet.Model(block_in, layers.Dense(3)(block_in))
    y = block(inner(x))
    outer = nablanet.Sequential([layers.Input(shape=(4,)), randomize(nablanet.Model(x, y), 2),
                                 layers.Dense(2, activation="softmax")])
    check(randomize(outer, 3) and outer, floats(5, 4), tmp_path)


def test_shared_layer_used_twice(tmp_path):
    dense = layers.Dense(3, activation="tanh")
    x = layers.Input(shape=(3,))
    model = randomize(nablanet.Model(x, dense(dense(x))))
    path = check(model, floats(5, 3), tmp_path)
    assert len(onnx.load(str(path)).graph.initializer) == 2  # its kernel and bias, once


# -- embeddings and recurrent layers ---------------------------------------------------------------

IDS = np.array([[3, 4, 5, 0, 0, 0],     # right padded
                [1, 2, 3, 4, 5, 6],     # no padding
                [0, 0, 2, 7, 1, 3],     # left padded
                [6, 0, 2, 0, 0, 5],     # holes
                [0, 0, 0, 0, 0, 0]],    # nothing left
               dtype=np.int32)

RECURRENT = [layers.SimpleRNN, layers.LSTM, layers.GRU]


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_embedding(dtype, tmp_path):
    model = sequential((6,), layers.Embedding(8, 3), layers.Flatten()) if dtype == "float32" else randomize(
        nablanet.Sequential([layers.Input(shape=(6,), dtype=dtype), layers.Embedding(8, 3), layers.Flatten()]))
    check(model, IDS.astype(dtype), tmp_path)


@pytest.mark.parametrize("rnn", RECURRENT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_recurrent_without_mask(rnn, return_sequences, go_backwards, tmp_path):
    model = sequential((6, 3), rnn(4, return_sequences=return_sequences, go_backwards=go_backwards))
    check(model, floats(5, 6, 3), tmp_path)


@pytest.mark.parametrize("make", [
    lambda: layers.GRU(4, reset_after=False, return_sequences=True),
    lambda: layers.GRU(3, use_bias=False),
    lambda: layers.LSTM(4, activation="relu", return_sequences=True),
    lambda: layers.LSTM(3, recurrent_activation="hard_sigmoid", go_backwards=True),  # a Scan: no native form
    lambda: layers.SimpleRNN(3, activation="gelu", return_sequences=True),
    lambda: layers.GRU(3, activation="softsign", reset_after=False),
    lambda: layers.LSTM(3, use_bias=False, unit_forget_bias=False),
    lambda: layers.SimpleRNN(3, activation="relu", use_bias=False, go_backwards=True, return_sequences=True),
], ids=["gru_reset_before", "gru_no_bias", "lstm_relu", "lstm_hard_sigmoid", "rnn_gelu", "gru_softsign",
        "lstm_no_bias", "rnn_relu_no_bias"])
@pytest.mark.parametrize("masked", [False, True])
def test_recurrent_variants(make, masked, tmp_path):
    if masked:
        check(sequential((6,), layers.Embedding(8, 3, mask_zero=True), make()), IDS, tmp_path)
    else:
        check(sequential((6, 3), make()), floats(5, 6, 3), tmp_path)


@pytest.mark.parametrize("rnn", RECURRENT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_recurrent_with_embedding_mask(rnn, return_sequences, go_backwards, tmp_path):
    stack = [layers.Embedding(8, 3, mask_zero=True),
             rnn(4, return_sequences=return_sequences, go_backwards=go_backwards)]
    if return_sequences:
        stack.append(layers.GlobalAveragePooling1D())  # the mask reaches it too
    check(sequential((6,), *stack), IDS, tmp_path)


@pytest.mark.parametrize("cell", [layers.SimpleRNNCell, layers.LSTMCell, layers.GRUCell], ids=lambda c: c.__name__)
@pytest.mark.parametrize("masked", [False, True])
def test_generic_rnn_over_builtin_cells(cell, masked, tmp_path):
    model = sequential((6,), layers.Embedding(8, 3, mask_zero=masked),
                       layers.RNN(cell(4), return_sequences=True, go_backwards=True), layers.RNN(cell(2)))
    check(model, IDS, tmp_path)


RIGHT_PADDED = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0],
                         [7, 7, 7, 7, 7, 0]], dtype=np.int32)


@pytest.mark.parametrize("rnn", RECURRENT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
def test_sequence_lens_for_right_padded_masks(rnn, return_sequences, go_backwards, zero_output, tmp_path):
    layer = rnn(4, return_sequences=return_sequences, go_backwards=go_backwards, zero_output_for_mask=zero_output)
    model = sequential((6,), layers.Embedding(8, 3, mask_zero=True), layer)
    path = check(model, RIGHT_PADDED, tmp_path, recurrent_masks="sequence_lens")
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"RNN", "LSTM", "GRU"} & ops and "Scan" not in ops


def test_sequence_lens_bidirectional(tmp_path):
    model = sequential((6,), layers.Embedding(8, 3, mask_zero=True),
                       layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
                       layers.Bidirectional(layers.GRU(2), merge_mode="sum"))
    check(model, RIGHT_PADDED, tmp_path, recurrent_masks="sequence_lens")


def test_sequence_lens_is_wrong_for_holes_and_scan_is_not(tmp_path):
    model = sequential((6,), layers.Embedding(8, 3, mask_zero=True), layers.LSTM(3))
    check(model, IDS, tmp_path)  # the default: any mask
    path = tmp_path / "lens.onnx"
    model.export(path, format="onnx", verbose=False, recurrent_masks="sequence_lens")
    sess = session(path)
    got = sess.run(None, {sess.get_inputs()[0].name: IDS.astype(np.float32)})[0]
    wrong = ~np.isclose(got, model.predict(IDS, verbose=0), **TOL).all(axis=1)
    assert wrong.tolist() == [False, False, True, True, False]  # the left-padded and holed rows


@pytest.mark.parametrize("zero_output", [False, True])
def test_masked_sequences_keep_the_mask_through_stacked_layers(zero_output, tmp_path):
    model = sequential((6,), layers.Embedding(8, 3, mask_zero=True),
                       layers.LSTM(4, return_sequences=True, zero_output_for_mask=zero_output),
                       layers.Dense(4, activation="relu"), layers.Dropout(0.2),
                       layers.GRU(3, return_sequences=True, zero_output_for_mask=zero_output), layers.SimpleRNN(2))
    check(model, IDS, tmp_path)


def test_masking_layer_with_padded_sequences(tmp_path):
    x = floats(5, 6, 3)
    x[0, 3:] = 0.0  # right padded
    x[2, :2] = 0.0  # left padded
    x[3, 1] = 0.0   # a hole
    model = sequential((6, 3), layers.Masking(0.0), layers.LSTM(4, return_sequences=True), layers.GRU(2))
    check(model, x, tmp_path)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional(merge_mode, masked, tmp_path):
    stack = [layers.Embedding(8, 3, mask_zero=masked), layers.Bidirectional(
        layers.LSTM(3, return_sequences=True), merge_mode=merge_mode)]
    if merge_mode is None:
        model = randomize(nablanet.Sequential(stack[:1] + [layers.Bidirectional(layers.GRU(3), merge_mode=None)]))
        x = layers.Input(shape=(6,))
        outputs = model.layers[1](model.layers[0](x))
        model = randomize(nablanet.Model(x, outputs))
    else:
        stack.append(layers.Bidirectional(layers.GRU(2), merge_mode=merge_mode))
        model = sequential((6,), *stack)
    check(model, IDS, tmp_path)


@pytest.mark.parametrize("rnn", RECURRENT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("masked", [False, True])
def test_return_state(rnn, masked, tmp_path):
    x = layers.Input(shape=(6,))
    outputs = rnn(4, return_state=True, return_sequences=True)(layers.Embedding(8, 3, mask_zero=masked)(x))
    check(randomize(nablanet.Model(x, outputs)), IDS, tmp_path)


def test_bidirectional_return_state(tmp_path):
    x = layers.Input(shape=(6,))
    outputs = layers.Bidirectional(layers.LSTM(3, return_state=True))(layers.Embedding(8, 3, mask_zero=True)(x))
    check(randomize(nablanet.Model(x, outputs)), IDS, tmp_path)


# -- the API and its errors ------------------------------------------------------------------------


def test_export_onnx_function_and_the_file(tmp_path, capsys):
    model = sequential((3,), layers.Dense(2))
    path = tmp_path / "m.onnx"
    assert export_onnx(model, path, opset_version=17) == str(path)
    assert "Saved artifact at" in capsys.readouterr().out  # verbose by default, as Keras
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 17
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 3
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize("opset", [15, 17, 21])
def test_opsets(opset, tmp_path):
    model = sequential((6,), layers.Embedding(8, 4, mask_zero=True), layers.LayerNormalization(),
                       layers.LSTM(3, return_sequences=True), layers.GlobalAveragePooling1D(),
                       layers.Dense(2, activation="softmax"))
    path = check(model, IDS, tmp_path, opset_version=opset)
    assert onnx.load(str(path)).opset_import[0].version == opset


def test_float64_models_are_refused(tmp_path):
    model = nablanet.Sequential([layers.Input(shape=(3,)), layers.Dense(2, dtype="float64")])
    with pytest.raises(ExportError, match="float64 weight"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)


def test_input_signature_builds_an_unbuilt_sequential(tmp_path):
    model = nablanet.Sequential([layers.Dense(3, activation="relu"), layers.Dense(1)])
    check(model, floats(5, 4), tmp_path, input_signature=[layers.Input(shape=(4,))])


def test_unbuilt_sequential_without_a_signature_says_what_to_do(tmp_path):
    model = nablanet.Sequential([layers.Dense(3)])
    with pytest.raises(ExportError, match="has no input shape yet.*input_signature"):
        model.export(tmp_path / "m.onnx", format="onnx")


def test_input_signature_can_fix_the_batch(tmp_path):
    model = sequential((3,), layers.Dense(2))
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx", verbose=False, input_signature=(2, 3))
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    with pytest.raises(ValueError, match=r"input_signature shape \(2, 4\) does not fit"):
        model.export(path, format="onnx", verbose=False, input_signature=(2, 4))


def test_unsupported_layer_names_the_layer_and_its_class(tmp_path):
    model = sequential((3,), layers.Dense(2), layers.Lambda(lambda t: t * 2, name="doubler"))
    with pytest.raises(ExportError, match=r"layer 'doubler' of class Lambda has no ONNX converter"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    assert not (tmp_path / "m.onnx").exists()


def test_unsupported_activation_names_the_layer(tmp_path):
    model = sequential((3,), layers.Dense(2, activation=lambda t: t * 2, name="custom"))
    with pytest.raises(ExportError, match=r"Dense 'custom' uses the activation '<lambda>'"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)


def test_subclassed_model_and_stateful_rnn_are_refused(tmp_path):
    class Custom(nablanet.Model):
        def call(self, inputs):
            return inputs * 2

    with pytest.raises(ExportError, match="subclassed"):
        Custom().export(tmp_path / "m.onnx", format="onnx")
    model = sequential((4, 2), layers.LSTM(2, stateful=True))
    with pytest.raises(ExportError, match="stateful"):
        model.export(tmp_path / "m.onnx", format="onnx")


def test_formats_and_arguments(tmp_path):
    model = sequential((3,), layers.Dense(2))
    with pytest.raises(ValueError, match=r"unsupported format='tf_saved_model'.*\['onnx'\]"):
        model.export(tmp_path / "m")
    with pytest.raises(ValueError, match=r"opset_version must be in \[15, "):
        model.export(tmp_path / "m.onnx", format="onnx", opset_version=9)
    with pytest.raises(TypeError, match="unexpected argument"):
        model.export(tmp_path / "m.onnx", format="onnx", is_static=True)
    with pytest.raises(ValueError, match="recurrent_masks must be 'scan' or 'sequence_lens'"):
        model.export(tmp_path / "m.onnx", format="onnx", recurrent_masks="native")


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    model = sequential((3,), layers.Dense(2))
    with pytest.raises(ImportError, match=r"pip install 'nablanet\[onnx\]'"):
        model.export(tmp_path / "m.onnx", format="onnx")


def test_models_do_not_import_export():
    import ast
    import pathlib

    for path in pathlib.Path(nablanet.models.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.startswith("nablanet.export") for n in names), path


def test_import_is_light_and_a_users_converter_wins(tmp_path):
    """Run in a fresh interpreter: `import nablanet` loads neither onnx nor the built-in
    converters, and a converter registered before the first export replaces the built-in one."""
    import os
    import pathlib
    import subprocess

    source = str(pathlib.Path(nablanet.__file__).parents[1])  # this checkout's src, first on the path
    script = f"""
import sys
import nablanet
from nablanet import layers
assert "onnx" not in sys.modules and "nablanet.export.conv" not in sys.modules
@nablanet.export.converter(layers.Dense)
def dense_as_identity(g, layer, x):
    return g.op("Identity", [x.name])
model = nablanet.Sequential([layers.Input(shape=(3,)), layers.Dense(3)])
model.export({str(tmp_path / "m.onnx")!r}, format="onnx", verbose=False)
import onnx
print(sorted(node.op_type for node in onnx.load({str(tmp_path / "m.onnx")!r}).graph.node))
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": source})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['Identity', 'Identity']"


# -- op calls in functional graphs -------------------------------------------------------------------


def attention_model(query, key, value, mask_shape=None, **kwargs):
    """A functional model of `ops.dot_product_attention` on Inputs of the given per-sample shapes."""
    inputs = [layers.Input(shape=s) for s in (query, key, value)]
    if mask_shape is not None:
        inputs.append(layers.Input(shape=mask_shape, dtype="bool"))
        kwargs["mask"] = inputs[-1]
    return nablanet.Model(inputs, nablanet.ops.dot_product_attention(*inputs[:3], **kwargs))


@pytest.mark.parametrize("shapes, kwargs", [
    (((5, 3, 4), (6, 3, 4), (6, 3, 2)), {}),
    (((5, 4, 4), (5, 2, 4), (5, 2, 4)), {"is_causal": True, "scale": 0.3}),
    (((4, 6, 2), (7, 1, 2), (7, 1, 3)), {"is_causal": True}),  # one kv head, fewer queries than keys
    (((5, 3, 4), (6, 3, 4), (6, 3, 4)), {"bias": rng.normal(0, 1, (3, 5, 6)).astype(np.float32)}),
    (((5, 2, 4), (6, 2, 4), (6, 2, 4)), {"mask": rng.random((5, 6)) > 0.4}),
    (((5, 2, 4), (6, 2, 4), (6, 2, 4)), {"attn_logits_soft_cap": 1.5, "scale": 2.0}),
], ids=["plain", "grouped causal scale", "one kv head causal", "constant bias", "constant mask", "soft cap"])
def test_dot_product_attention_op(shapes, kwargs, tmp_path):
    model = attention_model(*shapes, **kwargs)
    check(model, [floats(5, *s) for s in shapes], tmp_path)


def test_dot_product_attention_with_a_mask_from_the_graph(tmp_path):
    shapes = ((5, 4, 4), (6, 2, 4), (6, 2, 3))
    model = attention_model(*shapes, mask_shape=(1, 5, 6), is_causal=True)
    allowed = rng.random((5, 1, 5, 6)) > 0.4
    allowed[0, 0, 2] = False  # a query that may attend to nothing averages the values, in both
    check(model, [floats(5, *s) for s in shapes] + [allowed], tmp_path)


def test_a_self_attention_block_of_layers_and_ops(tmp_path):
    inputs = layers.Input(shape=(6, 8))
    q, k, v = (layers.Reshape((6, 2, 4))(layers.Dense(8)(inputs)) for _ in range(3))
    attended = nablanet.ops.dot_product_attention(q, k, v, is_causal=True)
    outputs = layers.Dense(3)(layers.Reshape((6, 8))(attended))
    check(randomize(nablanet.Model(inputs, outputs)), floats(5, 6, 8), tmp_path)


def test_an_op_without_an_onnx_form_is_named(tmp_path):
    inputs = layers.Input(shape=(4,))
    model = nablanet.Model(inputs, nablanet.ops.cumsum(inputs, axis=1))
    with pytest.raises(ExportError, match="the op 'cumsum' .* has no ONNX converter. Ops with one: "
                                          "dot_product_attention"):
        model.export(tmp_path / "m.onnx", format="onnx", verbose=False)


# -- attention layers ------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", [
    lambda: layers.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d", activation="gelu"),
    lambda: layers.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3)),
    lambda: layers.RMSNormalization(epsilon=1e-3),
    lambda: layers.RMSNormalization(axis=[1, 2]),
], ids=["einsum dense, bias, gelu", "einsum dense to heads", "rms normalization", "rms over two axes"])
def test_einsum_dense_and_rms_normalization(layer, tmp_path):
    check(sequential((6, 4), layer()), floats(5, 6, 4), tmp_path)


def attention_block(mha, *, cross=False, **call):
    """A functional model around one MultiHeadAttention call: self-attention, or cross-attention on a
    second input."""
    query = layers.Input(shape=(6, 8))
    value = layers.Input(shape=(7, 8)) if cross else query
    out = mha(query, value, **call)
    return randomize(nablanet.Model([query, value] if cross else query, out))


@pytest.mark.parametrize("kwargs, call, cross", [
    ({}, {}, False),
    ({}, {"use_causal_mask": True}, False),
    ({"value_dim": 3, "output_shape": 5, "use_bias": False}, {}, True),
    ({"use_gate": True, "sliding_window": 2}, {"use_causal_mask": True}, False),
    ({"dropout": 0.3}, {"use_causal_mask": True}, True),  # the masked softmax path (dropout idle in predict)
], ids=["self", "causal", "cross, value_dim, output_shape, no bias", "gate, sliding window", "dropout, causal"])
def test_multi_head_attention(kwargs, call, cross, tmp_path):
    model = attention_block(layers.MultiHeadAttention(num_heads=2, key_dim=4, **kwargs), cross=cross, **call)
    inputs = [floats(5, 6, 8), floats(5, 7, 8)] if cross else floats(5, 6, 8)
    check(model, inputs, tmp_path)


@pytest.mark.parametrize("dropout", [0.0, 0.3], ids=["mean of values", "zeros"])  # for a query seeing nothing
def test_multi_head_attention_with_an_attention_mask_input(dropout, tmp_path):
    query, value = layers.Input(shape=(6, 8)), layers.Input(shape=(7, 8))
    allowed = layers.Input(shape=(6, 7), dtype="bool")
    out = layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=dropout)(query, value, attention_mask=allowed)
    model = randomize(nablanet.Model([query, value, allowed], out))
    mask = rng.random((5, 6, 7)) > 0.4
    mask[1, 3] = False  # a query that may attend to nothing
    check(model, [floats(5, 6, 8), floats(5, 7, 8), mask], tmp_path)


def test_a_transformer_block_with_padding_masks(tmp_path):
    tokens = layers.Input(shape=(7,), dtype="int32")
    x = layers.Embedding(20, 8, mask_zero=True)(tokens)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x, use_causal_mask=True)
    x = layers.LayerNormalization()(layers.Add()([x, attended]))
    x = layers.RMSNormalization()(layers.Add()([x, layers.Dense(8)(layers.Dense(16, activation="relu")(x))]))
    model = randomize(nablanet.Model(tokens, layers.Dense(3)(layers.GlobalAveragePooling1D()(x))))
    ids = rng.integers(1, 20, (5, 7))
    ids[0, 4:] = ids[2, 1:] = 0  # padded sequences
    check(model, ids.astype(np.int32), tmp_path)


def test_multi_head_attention_returning_its_scores_is_refused(tmp_path):
    query = layers.Input(shape=(6, 8))
    out, scores = layers.MultiHeadAttention(num_heads=2, key_dim=4)(query, query, return_attention_scores=True)
    with pytest.raises(ExportError, match="returns its attention scores"):
        nablanet.Model(query, out).export(tmp_path / "m.onnx", format="onnx", verbose=False)


@pytest.mark.parametrize("kwargs, call, cross", [
    ({}, {}, False),
    ({"use_gate": True}, {"use_causal_mask": True}, True),
    ({"sliding_window": 3, "use_bias": False}, {}, False),
    ({"dropout": 0.2}, {"use_causal_mask": True}, False),
], ids=["self", "gate, causal, cross", "sliding window, no bias", "dropout, causal"])
def test_group_query_attention(kwargs, call, cross, tmp_path):
    layer = layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2, **kwargs)
    model = attention_block(layer, cross=cross, **call)
    check(model, [floats(5, 6, 8), floats(5, 7, 8)] if cross else floats(5, 6, 8), tmp_path)


def test_group_query_attention_with_padding_masks(tmp_path):
    tokens = layers.Input(shape=(7,), dtype="int32")
    x = layers.Embedding(20, 8, mask_zero=True)(tokens)
    x = layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=1)(x, x)
    model = randomize(nablanet.Model(tokens, x))  # padded queries' outputs too: they see no key at all
    ids = rng.integers(1, 20, (5, 7))
    ids[0, 4:] = ids[2, 1:] = 0
    check(model, ids.astype(np.int32), tmp_path)


@pytest.mark.parametrize("layer, call", [
    (lambda: layers.Attention(), {}),
    (lambda: layers.Attention(use_scale=True), {"use_causal_mask": True}),
    (lambda: layers.Attention(score_mode="concat", use_scale=True), {}),
    (lambda: layers.AdditiveAttention(), {"use_causal_mask": True}),
    (lambda: layers.AdditiveAttention(use_scale=False), {}),
], ids=["dot", "dot, scale, causal", "concat, scale", "additive, causal", "additive, no scale"])
def test_attention_and_additive_attention(layer, call, tmp_path):
    query, value, key = layers.Input(shape=(6, 4)), layers.Input(shape=(7, 4)), layers.Input(shape=(7, 4))
    model = randomize(nablanet.Model([query, value, key], layer()([query, value, key], **call)))
    check(model, [floats(5, 6, 4), floats(5, 7, 4), floats(5, 7, 4)], tmp_path)


def test_attention_with_padding_masks(tmp_path):
    tokens = layers.Input(shape=(7,), dtype="int32")
    x = layers.Embedding(20, 4, mask_zero=True)(tokens)
    x = layers.Attention(use_scale=True)([x, x])
    model = randomize(nablanet.Model(tokens, layers.GlobalAveragePooling1D()(x)))
    ids = rng.integers(1, 20, (5, 7))
    ids[0, 4:] = ids[2, 1:] = 0
    check(model, ids.astype(np.int32), tmp_path)
