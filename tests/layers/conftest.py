"""`check_layer`: the contract every layer must keep (Keras's run_layer_test, at our scale)."""

import inspect
import numpy as np
import pytest

from nablanet import Variable, gradcheck
from nablanet.autodiff import Tensor


@pytest.fixture
def check_layer():
    return _check_layer


def _check_layer(cls, init_kwargs, input_shape, expected_output_shape, expected_num_weights,
                input_data=None, grad_inputs=True, training=None):
    """Build, call, check the output shape and weight count, round-trip the config, and
    gradient-check in float64 with respect to the inputs and every weight."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(input_shape) if input_data is None else input_data
    layer = cls(**init_kwargs, dtype="float64")
    out = layer(x) if training is None else layer(x, training=training)
    assert tuple(out.shape) == tuple(expected_output_shape), (out.shape, expected_output_shape)
    assert len(layer.weights) == expected_num_weights, [w.name for w in layer.weights]
    config = layer.get_config()
    again = cls.from_config(config)
    assert again.get_config() == {**config, "name": again.name}
    weights = layer.trainable_weights  # moving statistics and the like carry no gradient
    owners = _weight_attributes(layer, weights)

    def f(inputs, *tensors):
        saved = {name: getattr(layer, name) for name in owners}
        for name, i in owners.items():
            setattr(layer, name, tensors[i])
        try:
            return layer.call(inputs) if training is None else layer.call(inputs, training=training)
        finally:
            for name, value in saved.items():
                setattr(layer, name, value)

    arrays = [w.numpy() for w in weights]
    if grad_inputs:
        gradcheck(f, x, *arrays)
    elif arrays:
        gradcheck(lambda *tensors: f(Tensor(x), *tensors), *arrays)
    return layer


def _weight_attributes(layer, weights):
    owners = {}
    for name, value in vars(layer).items():
        if isinstance(value, Variable):
            for i, w in enumerate(weights):
                if w is value:
                    owners[name] = i
    return owners


@pytest.fixture
def keras_files_both_ways():
    """`check(tmp_path, build, x)`: a model from `build(keras.layers, keras.Sequential)` (or `build(keras)`)
    saved by Keras loads here, and `build(nablanet.layers, nablanet.Sequential)` (or `build(nablanet)`)
    saved here loads in Keras, each with random weights and the same predictions; the weight paths of both
    files are the same. Returns them."""
    return _keras_files_both_ways


def _keras_files_both_ways(tmp_path, build, x):
    import keras

    import nablanet

    if len(inspect.signature(build).parameters) == 1:  # build(library): a functional model needs more names
        theirs, ours = build(keras), build(nablanet)
    else:
        theirs, ours = build(keras.layers, keras.Sequential), build(nablanet.layers, nablanet.Sequential)
    _randomize(theirs, 0)
    theirs.save(tmp_path / "t.keras")
    loaded = nablanet.saving.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    _randomize(ours, 1)
    ours.save(tmp_path / "o.keras")
    paths = _weight_paths(tmp_path / "o.keras")
    assert paths == _weight_paths(tmp_path / "t.keras")
    loaded = keras.saving.load_model(tmp_path / "o.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    return paths


def _randomize(model, seed):
    generator = np.random.default_rng(seed)
    model.set_weights([generator.uniform(-1, 1, tuple(w.shape)).astype(np.float32) for w in model.weights])


def _weight_paths(archive):
    import zipfile

    import h5py

    with zipfile.ZipFile(archive) as z, h5py.File(z.open("model.weights.h5")) as f:
        found = []
        f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(found)
