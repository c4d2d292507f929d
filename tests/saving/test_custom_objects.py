"""Custom objects through `.keras` files: a custom RNN cell, a custom layer inside TimeDistributed
and inside Bidirectional, a subclassed model, each found by `custom_objects=`, by
`custom_object_scope` and by registration; registered losses, metrics, activations and
initializers."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers, ops
from nablanet.saving import SavingError, custom_object_scope, register_keras_serializable

RNG = np.random.default_rng(0)
SEQ = RNG.standard_normal((4, 5, 3)).astype(np.float32)


class MinimalCell(layers.Layer):
    """A plain RNN cell: h' = tanh(x W + h U)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), name="recurrent")

    def call(self, inputs, states, training=None):
        h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(states[0], self.recurrent))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Scale(layers.Layer):
    """Multiplies by a learned vector."""

    def __init__(self, init=1.5, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer=nn.initializers.Constant(self.init),
                                     name="scale")

    def call(self, inputs):
        return inputs * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init": self.init}


class TwoDense(nn.Model):
    """A subclassed model."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.first = layers.Dense(units, activation="tanh")
        self.second = layers.Dense(2)

    def call(self, inputs, training=None):
        return self.second(self.first(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def rnn_model():
    inputs = layers.Input((5, 3))
    return nn.Model(inputs, layers.Dense(2)(layers.RNN(MinimalCell(4))(inputs)))


def wrapped_model():
    inputs = layers.Input((5, 3))
    x = layers.TimeDistributed(Scale(0.5))(inputs)
    return nn.Model(inputs, layers.Bidirectional(layers.RNN(MinimalCell(3)))(x))


def subclassed_model():
    model = TwoDense(units=3)
    model(SEQ[:, 0])
    return model


CASES = {"rnn_cell": (rnn_model, SEQ, {"MinimalCell": MinimalCell}),
         "time_distributed_and_bidirectional": (wrapped_model, SEQ, {"MinimalCell": MinimalCell, "Scale": Scale}),
         "subclassed_model": (subclassed_model, SEQ[:, 0], {"TwoDense": TwoDense})}


@pytest.mark.parametrize("case", CASES)
def test_custom_objects_reach_every_depth(tmp_path, case):
    build, x, custom = CASES[case]
    model = build()
    path = model.save(tmp_path / "m.keras")
    with pytest.raises(SavingError, match=f"({'|'.join(custom)}).*neither built into nablanet nor registered"):
        nn.models.load_model(path)
    loaded = nn.models.load_model(path, custom_objects=custom)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    with custom_object_scope(custom):
        scoped = nn.models.load_model(path)
    np.testing.assert_allclose(scoped.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


@register_keras_serializable(package="tests")
class RegisteredCell(MinimalCell):
    pass


@register_keras_serializable(package="tests")
class RegisteredScale(Scale):
    pass


@register_keras_serializable(package="tests")
class RegisteredModel(TwoDense):
    pass


@register_keras_serializable(package="tests")
def scaled_tanh(x):
    return 1.7 * ops.tanh(x)


@register_keras_serializable(package="tests")
class HalfNormal(nn.initializers.Initializer):
    def __init__(self, scale=0.5):
        self.scale = scale

    def __call__(self, shape, dtype=None):
        return (self.scale * np.random.default_rng(3).standard_normal(shape)).astype(dtype or "float32")

    def get_config(self):
        return {"scale": self.scale}


@register_keras_serializable(package="tests")
class ScaledMSE(nn.losses.Loss):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, y_true, y_pred):
        return self.factor * ops.mean(ops.square(y_true - y_pred), axis=-1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_keras_serializable(package="tests")
def mean_error(y_true, y_pred):
    return ops.mean(y_pred - y_true, axis=-1)


def test_registered_layers_cells_and_models_load_without_custom_objects(tmp_path):
    inputs = layers.Input((5, 3))
    x = layers.TimeDistributed(RegisteredScale(0.5))(inputs)
    model = nn.Model(inputs, layers.Bidirectional(layers.RNN(RegisteredCell(3)))(x))
    loaded = nn.models.load_model(model.save(tmp_path / "m.keras"))
    np.testing.assert_allclose(loaded.predict(SEQ, verbose=0), model.predict(SEQ, verbose=0), rtol=1e-6, atol=1e-6)
    sub = RegisteredModel(units=3)
    sub(SEQ[:, 0])
    again = nn.models.load_model(sub.save(tmp_path / "s.keras"))
    assert type(again) is RegisteredModel
    np.testing.assert_allclose(again.predict(SEQ[:, 0], verbose=0), sub.predict(SEQ[:, 0], verbose=0), rtol=1e-6)


def test_registered_losses_metrics_activations_and_initializers_round_trip(tmp_path):
    nn.utils.set_random_seed(0)
    model = nn.Sequential([
        layers.Input((3,)),
        layers.Dense(4, activation=scaled_tanh, kernel_initializer=HalfNormal(0.3)),
        layers.Dense(2),
    ])
    model.compile(optimizer="adam", loss=ScaledMSE(factor=3.0), metrics=[mean_error])
    x, y = SEQ[:, 0], RNG.standard_normal((4, 2)).astype(np.float32)
    model.fit(x, y, epochs=2, verbose=0)
    loaded = nn.models.load_model(model.save(tmp_path / "m.keras"))
    dense = loaded.layers[0]
    assert dense.activation is scaled_tanh
    assert isinstance(dense.kernel_initializer, HalfNormal) and dense.kernel_initializer.scale == 0.3
    assert isinstance(loaded.loss, ScaledMSE) and loaded.loss.factor == 3.0
    assert loaded._metric_spec == [mean_error]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)
