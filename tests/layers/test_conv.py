"""Convolution, pooling, reshaping and normalization layers: gradients against central
differences in float64, values and gradients against PyTorch and Keras on identical weights."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers
from nablanet.demos import cnn as cnn_demo

rng = np.random.default_rng(0)


def data(*shape):
    return rng.uniform(-1, 1, shape)


GRADIENT_CASES = [
    (layers.Conv2D, {"filters": 3, "kernel_size": 3}, (2, 6, 5, 2), (2, 4, 3, 3), 2),
    (layers.Conv2D, {"filters": 4, "kernel_size": (3, 2), "strides": 2, "padding": "same"},
     (2, 7, 6, 2), (2, 4, 3, 4), 2),
    (layers.Conv2D, {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False},
     (1, 6, 6, 3), (1, 4, 4, 2), 1),
    (layers.Conv2D, {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"}, (2, 5, 5, 4), (2, 5, 5, 4), 2),
    (layers.Conv2D, {"filters": 3, "kernel_size": 3, "data_format": "channels_first"}, (2, 2, 6, 5), (2, 3, 4, 3), 2),
    (layers.Conv1D, {"filters": 3, "kernel_size": 3}, (2, 7, 2), (2, 5, 3), 2),
    (layers.Conv1D, {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 7, 2), (2, 7, 2), 2),
    (layers.Conv1D, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 7, 3), (2, 4, 2), 2),
    (layers.Conv2DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 3, 4, 2), (2, 7, 9, 3), 2),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
     (1, 3, 3, 2), (1, 6, 6, 2), 2),
    (layers.Conv1DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2}, (2, 4, 3), (2, 9, 2), 2),
    (layers.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 5, 5, 3), (2, 3, 3, 6), 2),
    (layers.SeparableConv2D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 5, 4, 3), (2, 5, 4, 4), 3),
    (layers.MaxPooling2D, {"pool_size": 2}, (2, 4, 6, 3), (2, 2, 3, 3), 0),
    (layers.MaxPooling2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 5, 2), (2, 3, 3, 2), 0),
    (layers.AveragePooling2D, {"pool_size": (2, 3), "padding": "same"}, (2, 5, 7, 2), (2, 3, 3, 2), 0),
    (layers.MaxPooling1D, {"pool_size": 2}, (2, 6, 3), (2, 3, 3), 0),
    (layers.AveragePooling1D, {"pool_size": 3, "strides": 1}, (2, 6, 3), (2, 4, 3), 0),
    (layers.GlobalAveragePooling2D, {}, (2, 4, 3, 5), (2, 5), 0),
    (layers.GlobalMaxPooling2D, {"keepdims": True}, (2, 4, 3, 5), (2, 1, 1, 5), 0),
    (layers.GlobalAveragePooling1D, {}, (2, 4, 5), (2, 5), 0),
    (layers.UpSampling2D, {"size": (2, 3)}, (2, 3, 2, 2), (2, 6, 6, 2), 0),
    (layers.UpSampling2D, {"interpolation": "bilinear"}, (2, 3, 4, 2), (2, 6, 8, 2), 0),
    (layers.UpSampling1D, {"size": 3}, (2, 3, 2), (2, 9, 2), 0),
    (layers.ZeroPadding2D, {"padding": ((1, 0), (2, 1))}, (2, 3, 3, 2), (2, 4, 6, 2), 0),
    (layers.Cropping2D, {"cropping": ((1, 0), (0, 2))}, (2, 4, 5, 2), (2, 3, 3, 2), 0),
    (layers.BatchNormalization, {}, (6, 4, 3), (6, 4, 3), 4),
    (layers.LayerNormalization, {}, (3, 4, 5), (3, 4, 5), 2),
    (layers.LayerNormalization, {"axis": [1, 2]}, (3, 4, 5), (3, 4, 5), 2),
    (layers.GroupNormalization, {"groups": 2}, (3, 5, 4), (3, 5, 4), 2),
]


@pytest.mark.parametrize("cls, kwargs, shape, out_shape, n_weights", GRADIENT_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(GRADIENT_CASES)])
def test_layer_contract_and_gradients(check_layer, cls, kwargs, shape, out_shape, n_weights):
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.013 + 0.05  # distinct: no max ties
    check_layer(cls, kwargs, shape, out_shape, n_weights, input_data=x,
                training=True if cls is layers.BatchNormalization else None)





def torch_module():
    return pytest.importorskip("torch")


def nchw(x):
    return np.ascontiguousarray(np.transpose(x, (0, 3, 1, 2)))


@pytest.mark.parametrize("strides, padding, dilation, groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2), (1, 0, 1, 4)])
def test_conv2d_matches_pytorch(strides, padding, dilation, groups):
    torch = torch_module()
    x = data(3, 9, 8, 4).astype(np.float32)
    w = data(3, 3, 4 // groups, 8).astype(np.float32)
    g = data(3, *(nn.layers.conv.conv_output_length(n + 2 * padding, 3, "valid", strides, dilation)
                  for n in (9, 8)), 8).astype(np.float32)
    xt = torch.tensor(nchw(x), requires_grad=True)
    wt = torch.tensor(np.transpose(w, (3, 2, 0, 1)).copy(), requires_grad=True)
    out_t = torch.nn.functional.conv2d(xt, wt, stride=strides, padding=padding, dilation=dilation, groups=groups)
    out_t.backward(torch.tensor(nchw(g)))
    xv, wv = nn.Tensor(x, requires_grad=True), nn.Tensor(w, requires_grad=True)
    out = nn.ops.conv2d(xv, wv, strides=strides, padding=((padding, padding),) * 2, dilation_rate=dilation,
                        groups=groups)
    out.backward(g)
    np.testing.assert_allclose(nchw(out.numpy()), out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(nchw(xv.grad), xt.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.transpose(wv.grad, (3, 2, 0, 1)), wt.grad.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("kind, size, stride, padding", [("max", 2, 2, 0), ("max", 3, 2, 1), ("avg", 2, 2, 0),
                                                        ("avg", 3, 1, 0)])
def test_pooling_matches_pytorch(kind, size, stride, padding):
    torch = torch_module()
    x = rng.permutation(2 * 8 * 7 * 3).reshape(2, 8, 7, 3).astype(np.float32) / 10
    xt = torch.tensor(nchw(x), requires_grad=True)
    if kind == "max":
        out_t = torch.nn.functional.max_pool2d(xt, size, stride, padding)
        from nablanet.autodiff.ops.nn import max_pool_op

        ours = lambda t: max_pool_op(t, pool=(size, size), strides=(stride, stride), padding=((padding, padding),) * 2)  # noqa: E731
    else:
        out_t = torch.nn.functional.avg_pool2d(xt, size, stride, padding)
        ours = lambda t: nn.ops.average_pool(t, size, strides=stride)  # noqa: E731
    g = data(*out_t.shape).astype(np.float32)
    out_t.backward(torch.tensor(g))
    xv = nn.Tensor(x, requires_grad=True)
    out = ours(xv)
    out.backward(np.ascontiguousarray(np.transpose(g, (0, 2, 3, 1))))
    np.testing.assert_allclose(nchw(out.numpy()), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(nchw(xv.grad), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_conv_transpose_matches_pytorch():
    torch = torch_module()
    x = data(2, 4, 5, 3).astype(np.float32)
    w = data(3, 3, 6, 3).astype(np.float32)  # Keras: (kh, kw, filters, in)
    layer = layers.Conv2DTranspose(6, 3, strides=2, use_bias=False)
    out = layer(x)
    layer.set_weights([w])
    out = layer(x).numpy()
    wt = torch.tensor(np.transpose(w, (3, 2, 0, 1)).copy())  # torch: (in, out, kh, kw)
    want = torch.nn.functional.conv_transpose2d(torch.tensor(nchw(x)), wt, stride=2).numpy()
    np.testing.assert_allclose(nchw(out), want, rtol=1e-5, atol=1e-5)


KERAS_CASES = [
    ("Conv2D", {"filters": 5, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 7, 6, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": (2, 3), "dilation_rate": 2, "activation": "relu"}, (2, 8, 9, 2)),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 7, 6)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal"}, (2, 9, 3)),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 3, 3, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 3}, (2, 3, 4, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 5, 6, 3)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": 3}, (2, 6, 6, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 6, 3)),
    # symmetric padding: Keras's torch backend counts the asymmetric part of 'same' padding in
    # the average (a quirk TensorFlow and JAX do not have); nablanet never counts padding
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 3)),
    ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 2)),
    ("LayerNormalization", {}, (3, 4, 5)),
    ("GroupNormalization", {"groups": 2}, (3, 5, 6)),
]


@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(KERAS_CASES)])
def test_layers_match_keras_on_identical_weights(name, kwargs, shape):
    keras = pytest.importorskip("keras")
    x = data(*shape).astype(np.float32)
    theirs = getattr(keras.layers, name)(**kwargs)
    want = keras.ops.convert_to_numpy(theirs(x))
    ours = getattr(layers, name)(**kwargs)
    ours(x)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    assert ours(x).shape == want.shape
    np.testing.assert_allclose(ours(x).numpy(), want, rtol=1e-5, atol=1e-5)


def test_batch_normalization_matches_keras_in_training_and_inference():
    keras = pytest.importorskip("keras")
    x = data(8, 4, 3).astype(np.float32) * 3 + 1
    theirs = keras.layers.BatchNormalization(momentum=0.9)
    ours = layers.BatchNormalization(momentum=0.9)
    theirs(x), ours(x)
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in theirs.weights])
    for _ in range(3):
        np.testing.assert_allclose(ours(x, training=True).numpy(),
                                   keras.ops.convert_to_numpy(theirs(x, training=True)), rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # the moving statistics moved alike
    np.testing.assert_allclose(ours(x).numpy(), keras.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-5)


def test_frozen_batch_normalization_runs_in_inference_mode():
    bn = layers.BatchNormalization()
    x = data(8, 3).astype(np.float32) * 5
    bn(x)
    bn.trainable = False
    before = bn.get_weights()
    np.testing.assert_allclose(bn(x, training=True).numpy(), bn(x).numpy())
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_mnist_convnet_program_runs_with_keras_parameter_counts(capsys):
    nn.utils.set_random_seed(0)
    model = nn.Sequential([
        nn.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.summary()
    assert "Total params: 34,826" in capsys.readouterr().out
    x = rng.random((300, 28, 28, 1)).astype("float32")
    y = nn.utils.to_categorical(rng.integers(0, 10, 300), 10)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=128, epochs=2, validation_split=0.1, verbose=0)
    assert set(history.history) == {"accuracy", "loss", "val_accuracy", "val_loss"}


@pytest.mark.slow
def test_small_cnn_on_digits_reaches_98_percent():
    datasets = pytest.importorskip("sklearn.datasets")
    digits = datasets.load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = nn.data.train_test_split(x, digits.target, test_size=0.25,
                                                                random_state=0, stratify=digits.target)
    nn.utils.set_random_seed(0)
    model = cnn_demo.build()  # the model `nablanet demo cnn` trains
    model.fit(x_train, y_train, epochs=25, batch_size=32, verbose=0)
    assert model.evaluate(x_test, y_test, verbose=0)[1] >= 0.98


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"Conv2D .*expected a 4-D input .* got shape \(2, 5, 3\)"):
        layers.Conv2D(2, 3)(data(2, 5, 3))
    with pytest.raises(ValueError, match=r"the kernel \(5, 5\) does not fit the input \(3, 3\)"):
        layers.Conv2D(2, 5)(data(1, 3, 3, 2))
    conv = layers.Conv2D(2, 3)
    conv(data(1, 5, 5, 3))
    with pytest.raises(ValueError, match=r"expected inputs of shape \(None, 5, 5, 3\), got shape \(1, 5, 5, 4\)"):
        conv(data(1, 5, 5, 4))
    with pytest.raises(ValueError, match="filters \\(3\\) must be divisible by groups \\(2\\)"):
        layers.Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match="padding must be one of"):
        layers.Conv2D(3, 3, padding="causal")
