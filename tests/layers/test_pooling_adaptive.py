"""Adaptive pooling layers (1-D, 2-D, 3-D, average and max): outputs against Keras (torch backend)
over sizes that divide, do not divide, and exceed the input, float64 gradients, configs, `.keras`
files both ways, and errors."""

import os

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

rng = np.random.default_rng(0)

CASES = [
    ("AdaptiveAveragePooling1D", {"output_size": 3}, (2, 7, 2)),
    ("AdaptiveAveragePooling1D", {"output_size": 4, "data_format": "channels_first"}, (2, 2, 10)),
    ("AdaptiveAveragePooling1D", {"output_size": 6}, (1, 4, 2)),  # more bins than steps: they overlap
    ("AdaptiveMaxPooling1D", {"output_size": 5}, (2, 7, 2)),
    ("AdaptiveMaxPooling1D", {"output_size": (2,), "data_format": "channels_first"}, (2, 3, 8)),
    ("AdaptiveAveragePooling2D", {"output_size": (3, 2)}, (2, 7, 5, 2)),
    ("AdaptiveAveragePooling2D", {"output_size": 2, "data_format": "channels_first"}, (2, 3, 4, 6)),
    ("AdaptiveMaxPooling2D", {"output_size": (4, 3), "data_format": "channels_first"}, (2, 2, 9, 5)),
    ("AdaptiveMaxPooling2D", {"output_size": (5, 4)}, (1, 3, 3, 2)),
    ("AdaptiveAveragePooling3D", {"output_size": (2, 3, 2)}, (2, 5, 7, 3, 2)),
    ("AdaptiveAveragePooling3D", {"output_size": 3, "data_format": "channels_first"}, (1, 2, 4, 5, 7)),
    ("AdaptiveMaxPooling3D", {"output_size": 2, "data_format": "channels_first"}, (2, 2, 5, 3, 4)),
    ("AdaptiveMaxPooling3D", {"output_size": (1, 4, 3)}, (1, 3, 6, 5, 2)),
]


@pytest.mark.parametrize("name, kwargs, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_outputs_match_keras(name, kwargs, shape):
    x = rng.standard_normal(shape).astype("float32")
    want = keras.ops.convert_to_numpy(getattr(keras.layers, name)(**kwargs)(x))
    ours = getattr(layers, name)(**kwargs)
    got = ours(x).numpy()
    assert ours.compute_output_shape(shape) == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, kwargs, shape, out_shape", [
    ("AdaptiveAveragePooling1D", {"output_size": 3}, (2, 5, 2), (2, 3, 2)),
    ("AdaptiveMaxPooling1D", {"output_size": 2, "data_format": "channels_first"}, (2, 2, 5), (2, 2, 2)),
    ("AdaptiveAveragePooling2D", {"output_size": (2, 3)}, (1, 3, 4, 2), (1, 2, 3, 2)),
    ("AdaptiveMaxPooling2D", {"output_size": 2}, (1, 3, 5, 2), (1, 2, 2, 2)),
    ("AdaptiveAveragePooling3D", {"output_size": 2, "data_format": "channels_first"}, (1, 1, 3, 3, 2),
     (1, 1, 2, 2, 2)),
    ("AdaptiveMaxPooling3D", {"output_size": (1, 2, 2)}, (1, 2, 3, 3, 1), (1, 1, 2, 2, 1)),
])
def test_gradients_in_float64(check_layer, name, kwargs, shape, out_shape):
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.013 + 0.05  # distinct: no max ties
    check_layer(getattr(layers, name), kwargs, shape, out_shape, 0, input_data=x)


@pytest.mark.parametrize("name, kwargs", [("AdaptiveAveragePooling1D", {"output_size": 3}),
                                          ("AdaptiveMaxPooling2D", {"output_size": (2, 3)}),
                                          ("AdaptiveAveragePooling3D", {"output_size": 2,
                                                                        "data_format": "channels_first"})])
def test_configs_equal_keras(name, kwargs):
    theirs = getattr(keras.layers, name)(**kwargs).get_config()
    ours = getattr(layers, name)(**kwargs).get_config()
    plain = lambda c: {k: list(v) if isinstance(v, tuple) else v for k, v in c.items() if k not in ("name", "dtype")}  # noqa: E731
    assert plain(ours) == plain(theirs)
    rebuilt = nn.serialization.deserialize({"module": "keras.layers", "class_name": name, "config": theirs})
    assert type(rebuilt) is getattr(layers, name) and rebuilt.output_size == tuple(theirs["output_size"])


def pooled(lib):
    L = lib.layers
    inputs = lib.Input((7, 5, 2))
    a = L.Flatten()(L.AdaptiveAveragePooling2D((3, 2))(inputs))
    b = L.Flatten()(L.AdaptiveMaxPooling2D(2)(inputs))
    c = L.Flatten()(L.AdaptiveMaxPooling1D(3)(L.Reshape((35, 2))(inputs)))
    d = L.Flatten()(L.AdaptiveAveragePooling3D((2, 2, 1))(L.Reshape((7, 5, 2, 1))(inputs)))
    return lib.Model(inputs, L.Dense(2)(L.Concatenate()([a, b, c, d])))


def test_keras_files_both_ways(tmp_path, keras_files_both_ways):
    keras_files_both_ways(tmp_path, pooled, rng.standard_normal((3, 7, 5, 2)).astype("float32"))


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"AdaptiveMaxPooling2D .*expected a 4-D input \(batch, height, width, "
                                         r"channels\), got shape \(2, 5, 3\)"):
        layers.AdaptiveMaxPooling2D(2)(rng.standard_normal((2, 5, 3)))
    with pytest.raises(ValueError, match=r"AdaptiveAveragePooling3D: output_size must be a positive int or 3 "
                                         r"positive ints, got \(2, 2\)"):
        layers.AdaptiveAveragePooling3D((2, 2))
    with pytest.raises(ValueError, match="output_size must be a positive int"):
        layers.AdaptiveAveragePooling1D(0)
    with pytest.raises(ValueError, match="data_format must be"):
        layers.AdaptiveMaxPooling1D(2, data_format="nhwc")
