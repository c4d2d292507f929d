"""Volumetric and remaining convolution, pooling and reshaping layers (Conv3D, Conv3DTranspose,
DepthwiseConv1D, SeparableConv1D, 3-D pooling, cropping, padding, upsampling, SpatialDropout3D):
outputs against Keras (torch backend) on copied weights, float64 gradients, configs, `.keras`
files both ways, and errors."""

import os

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

rng = np.random.default_rng(0)

KERAS_CASES = [
    ("Conv3D", {"filters": 3, "kernel_size": 3}, (2, 5, 6, 4, 2)),
    ("Conv3D", {"filters": 4, "kernel_size": (2, 3, 2), "strides": (2, 1, 2), "padding": "same"}, (2, 5, 6, 5, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1, 2), "data_format": "channels_first"},
     (2, 3, 5, 4, 6)),
    ("Conv3D", {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same", "activation": "relu"}, (1, 4, 3, 5, 4)),
    ("Conv3DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 3, 2, 4, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": (3, 2, 3), "strides": (2, 1, 2), "padding": "same"},
     (1, 3, 4, 3, 3)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1,
                         "data_format": "channels_first"}, (1, 3, 3, 4, 3)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "dilation_rate": 2}, (1, 3, 3, 4, 3)),
    ("Conv1D", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
     (2, 3, 9)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 4, "strides": 3, "padding": "same", "output_padding": 1},
     (2, 5, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
     (2, 4, 5, 2)),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2}, (2, 7, 3)),
    ("DepthwiseConv1D", {"kernel_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
     (2, 3, 8)),
    ("DepthwiseConv1D", {"kernel_size": 2, "dilation_rate": 3, "padding": "same", "activation": "relu"}, (2, 9, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "data_format": "channels_first"}, (2, 3, 7, 6)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "padding": "same",
                         "activation": "tanh"}, (2, 7, 3)),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 3, "strides": 2, "data_format": "channels_first"}, (2, 3, 9)),
    ("SeparableConv2D", {"filters": 3, "kernel_size": (2, 3), "dilation_rate": 2, "padding": "same"}, (2, 6, 7, 2)),
    ("SeparableConv2D", {"filters": 3, "kernel_size": 3, "strides": 2, "data_format": "channels_first",
                         "use_bias": False}, (2, 2, 7, 6)),
    ("MaxPooling3D", {}, (2, 4, 5, 6, 2)),
    ("MaxPooling3D", {"pool_size": (3, 2, 3), "strides": (2, 1, 2), "padding": "same"}, (2, 5, 4, 7, 2)),
    ("MaxPooling3D", {"pool_size": 2, "data_format": "channels_first"}, (2, 2, 5, 4, 6)),
    ("AveragePooling3D", {"pool_size": 2}, (2, 4, 5, 6, 2)),
    ("AveragePooling3D", {"pool_size": (3, 2, 3), "strides": (1, 2, 1)}, (2, 5, 4, 7, 2)),
    # symmetric 'same' padding only: Keras's torch backend counts the asymmetric part in the average
    ("AveragePooling3D", {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"},
     (2, 2, 5, 7, 5)),
    ("GlobalMaxPooling3D", {}, (2, 3, 4, 5, 2)),
    ("GlobalAveragePooling3D", {"keepdims": True, "data_format": "channels_first"}, (2, 3, 4, 5, 2)),
    ("Cropping3D", {}, (2, 4, 5, 6, 2)),
    ("Cropping3D", {"cropping": ((0, 1), 2, (1, 0)), "data_format": "channels_first"}, (2, 2, 4, 5, 6)),
    ("ZeroPadding3D", {"padding": (1, 0, 2)}, (2, 2, 3, 2, 2)),
    ("ZeroPadding3D", {"padding": ((0, 1), (2, 0), (1, 1)), "data_format": "channels_first"}, (2, 2, 3, 2, 2)),
    ("UpSampling3D", {"size": (1, 2, 3)}, (2, 2, 3, 2, 2)),
    ("UpSampling3D", {"data_format": "channels_first"}, (2, 2, 3, 2, 2)),
    ("SpatialDropout3D", {"rate": 0.3}, (2, 2, 3, 2, 2)),
]


def keras_reference(name, kwargs, x):
    """Keras's layer on `x` with random weights (biases too); its output and weights."""
    theirs = getattr(keras.layers, name)(**kwargs)
    theirs(x)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in theirs.get_weights()]
    if weights:
        theirs.set_weights(weights)
    return keras.ops.convert_to_numpy(theirs(x)), weights


@pytest.mark.parametrize("name, kwargs, shape", KERAS_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(KERAS_CASES)])
def test_outputs_match_keras_on_copied_weights(name, kwargs, shape):
    x = rng.standard_normal(shape).astype("float32")
    want, weights = keras_reference(name, kwargs, x)
    ours = getattr(layers, name)(**kwargs)
    ours(x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    if weights:
        ours.set_weights(weights)
    got = ours(x).numpy()
    assert ours.compute_output_shape(shape) == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


GRADIENT_CASES = [
    (layers.Conv3D, {"filters": 2, "kernel_size": 2}, (1, 3, 3, 2, 2), (1, 2, 2, 1, 2), 2),
    (layers.Conv3D, {"filters": 2, "kernel_size": (2, 1, 2), "strides": 2, "padding": "same",
                     "data_format": "channels_first"}, (1, 2, 3, 2, 3), (1, 2, 2, 1, 2), 2),
    (layers.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": (2, 1, 1)}, (1, 2, 2, 1, 2),
     (1, 4, 3, 2, 2), 2),
    (layers.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 5, 2), (2, 5, 4), 2),
    (layers.SeparableConv1D, {"filters": 3, "kernel_size": 2, "strides": 2}, (2, 6, 2), (2, 3, 3), 3),
    (layers.SeparableConv2D, {"filters": 2, "kernel_size": 2, "data_format": "channels_first"}, (1, 2, 3, 3),
     (1, 2, 2, 2), 3),
    (layers.MaxPooling3D, {"pool_size": 2, "padding": "same"}, (1, 3, 2, 3, 2), (1, 2, 1, 2, 2), 0),
    (layers.AveragePooling3D, {"pool_size": (2, 1, 2), "strides": 1}, (1, 3, 2, 3, 2), (1, 2, 2, 2, 2), 0),
    (layers.GlobalMaxPooling3D, {}, (2, 2, 2, 3, 2), (2, 2), 0),
    (layers.GlobalAveragePooling3D, {"data_format": "channels_first"}, (2, 2, 2, 3, 2), (2, 2), 0),
    (layers.Cropping3D, {"cropping": (1, 0, (0, 1))}, (1, 3, 2, 3, 2), (1, 1, 2, 2, 2), 0),
    (layers.ZeroPadding3D, {"padding": 1, "data_format": "channels_first"}, (1, 2, 1, 2, 1), (1, 2, 3, 4, 3), 0),
    (layers.UpSampling3D, {"size": (2, 1, 2)}, (1, 2, 2, 2, 1), (1, 4, 2, 4, 1), 0),
]


@pytest.mark.parametrize("cls, kwargs, shape, out_shape, n_weights", GRADIENT_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(GRADIENT_CASES)])
def test_gradients_in_float64(check_layer, cls, kwargs, shape, out_shape, n_weights):
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.013 + 0.05  # distinct: no max ties
    check_layer(cls, kwargs, shape, out_shape, n_weights, input_data=x)


def test_spatial_dropout3d_drops_whole_channels():
    x = np.ones((4, 2, 3, 2, 5), "float32")
    for data_format, axes in (("channels_last", (1, 2, 3)), ("channels_first", (2, 3, 4))):
        out = layers.SpatialDropout3D(0.5, data_format=data_format, seed=1)(x, training=True).numpy()
        assert set(np.unique(out)) <= {0.0, 2.0}
        assert np.all(out.min(axis=axes) == out.max(axis=axes))  # one value per sample and channel
    np.testing.assert_array_equal(layers.SpatialDropout3D(0.5)(x).numpy(), x)


def _plain(config):
    if isinstance(config, dict):
        return {k: _plain(v) for k, v in config.items() if k not in ("name", "dtype")}
    if isinstance(config, (list, tuple)):
        return [_plain(v) for v in config]
    return config


CONFIGS = [("Conv3D", {"filters": 2, "kernel_size": 3, "strides": 2, "groups": 2}),
           ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "output_padding": 1, "strides": 2}),
           ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2}),
           ("SeparableConv1D", {"filters": 2, "kernel_size": 3}), ("SeparableConv2D", {"filters": 2, "kernel_size": 3}),
           ("MaxPooling3D", {"strides": 1}), ("AveragePooling3D", {"pool_size": 3}),
           ("GlobalAveragePooling3D", {"keepdims": True}), ("GlobalMaxPooling3D", {}), ("Cropping3D", {"cropping": 2}),
           ("ZeroPadding3D", {"padding": (1, 2, 3)}), ("UpSampling3D", {"size": 3}),
           ("SpatialDropout3D", {"rate": 0.2, "seed": 3})]


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_configs_equal_keras(name, kwargs):
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    ours = getattr(layers, name)(**kwargs).get_config()
    assert _plain(ours) == _plain(theirs)
    rebuilt = nn.serialization.deserialize({"module": "keras.layers", "class_name": name, "config": theirs})
    assert type(rebuilt) is getattr(layers, name) and _plain(rebuilt.get_config()) == _plain(theirs)


def test_aliases_are_keras_names():
    assert layers.Convolution3D is layers.Conv3D and layers.Convolution3DTranspose is layers.Conv3DTranspose
    assert layers.MaxPool3D is layers.MaxPooling3D and layers.AvgPool3D is layers.AveragePooling3D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D
    assert layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D
    assert layers.SeparableConvolution1D is layers.SeparableConv1D


def volumes(lib):
    L = lib.layers
    return lib.Sequential([
        lib.Input((6, 6, 5, 2)), L.Conv3D(3, 3, padding="same", activation="relu"), L.ZeroPadding3D(1),
        L.MaxPooling3D(2), L.Conv3DTranspose(2, 2, strides=2), L.Cropping3D(((1, 0), 1, (0, 1))),
        L.UpSampling3D((1, 1, 2)), L.SpatialDropout3D(0.2), L.AveragePooling3D(2), L.GlobalAveragePooling3D(),
        L.Dense(2)])


def signals(lib):
    L = lib.layers
    return lib.Sequential([lib.Input((9, 3)), L.DepthwiseConv1D(3, depth_multiplier=2),
                           L.SeparableConv1D(4, 3, padding="same"), L.Reshape((7, 2, 2)),
                           L.SeparableConv2D(2, 2), L.GlobalMaxPooling2D()])


@pytest.mark.parametrize("build", [volumes, signals], ids=lambda f: f.__name__)
def test_keras_files_both_ways(tmp_path, build, keras_files_both_ways):
    x = rng.standard_normal((3,) + build(nn).input_shape[1:]).astype("float32")
    keras_files_both_ways(tmp_path, build, x)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"Conv3D .*expected a 5-D input \(batch, depth, height, width, channels\), "
                                         r"got shape \(2, 5, 5, 3\)"):
        layers.Conv3D(2, 3)(rng.standard_normal((2, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"the kernel \(3, 3, 3\) does not fit the input \(2, 4, 4\)"):
        layers.Conv3D(2, 3)(rng.standard_normal((1, 2, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"DepthwiseConv1D .*expected a 3-D input .*got shape \(2, 5, 5, 3\)"):
        layers.DepthwiseConv1D(3)(rng.standard_normal((2, 5, 5, 3)))
    with pytest.raises(ValueError, match="padding must be one of"):
        layers.SeparableConv1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"MaxPooling3D .*expected a 5-D input \(batch, depth, height, width, "
                                         r"channels\), got shape \(2, 4, 4, 1\)"):
        layers.MaxPooling3D()(rng.standard_normal((2, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"AveragePooling3D .*the pool \(2, 2, 2\) does not fit the input \(1, 4, 4\)"):
        layers.AveragePooling3D(2)(rng.standard_normal((2, 1, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"GlobalAveragePooling3D .*expected a 5-D input"):
        layers.GlobalAveragePooling3D()(rng.standard_normal((2, 4, 4, 1)))
    with pytest.raises(ValueError, match=r"Cropping3D .*cropping .* removes all of"):
        layers.Cropping3D(2)(rng.standard_normal((1, 4, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"ZeroPadding3D: padding must be an int, 3 ints or 3 .*got \(1, 2\)"):
        layers.ZeroPadding3D((1, 2))
    with pytest.raises(ValueError, match=r"UpSampling3D .*expected a 5-D input"):
        layers.UpSampling3D()(rng.standard_normal((1, 4, 5, 1)))
    with pytest.raises(ValueError, match=r"SpatialDropout3D .*expected a 5-D input"):
        layers.SpatialDropout3D(0.5)(rng.standard_normal((1, 4, 5, 1)), training=True)
