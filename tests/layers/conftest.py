"""`check_layer`: the contract every layer must keep (Keras's run_layer_test, at our scale)."""

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
