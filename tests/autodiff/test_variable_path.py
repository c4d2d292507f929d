"""`Variable.name` is the short name and `Variable.path` adds the name scopes it was made in, as Keras 3:
the same models built in nablanet and in Keras give the same names and paths."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.autodiff.variable import Variable, name_scope


def programs(lib):
    """Models built the ways Keras programs build them; each returns a model or layer with weights."""
    layers = lib.layers

    def sequential():
        return lib.Sequential([lib.Input((3,)), layers.Dense(2, name="first"), layers.Dense(1, name="second")],
                              name="seq")

    def functional():
        inputs = lib.Input((4, 3))
        lstm = layers.LSTM(2, name="encoder")(inputs)
        both = layers.Bidirectional(layers.GRU(2, name="gru"), name="bi")(inputs)
        return lib.Model(inputs, [lstm, both], name="fm")

    def nested():
        inner = lib.Sequential([lib.Input((3,)), layers.Dense(2, name="inner_dense")], name="inner")
        return lib.Sequential([lib.Input((3,)), inner, layers.BatchNormalization(name="bn")], name="outer")

    def subclassed():
        class Sub(lib.Model):
            def __init__(self):
                super().__init__(name="sub")
                self.dense = layers.Dense(2, name="sub_dense")

            def call(self, x):
                return self.dense(x)

        model = Sub()
        model(np.ones((1, 3), "float32"))
        return model

    def built_by_hand():
        class Block(layers.Layer):
            def build(self, input_shape):
                self.scale = self.add_weight(shape=(2,), name="scale")
                self.inner = layers.Dense(2, name="block_dense")
                self.inner.build((None, 2))

        block = Block(name="block")
        block.build((None, 2))
        return block

    def lazily_built_sublayer():
        class Wrapper(layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.dense = layers.Dense(2, name="wrapped_dense")

            def call(self, x):
                return self.dense(x)

        wrapper = Wrapper(name="wrapper")
        wrapper(np.ones((1, 3), "float32"))
        return wrapper

    return [sequential, functional, nested, subclassed, built_by_hand, lazily_built_sublayer]


@pytest.mark.parametrize("index", range(6), ids=["sequential", "functional", "nested", "subclassed",
                                                  "built_by_hand", "lazily_built_sublayer"])
def test_names_and_paths_match_keras(index):
    keras = pytest.importorskip("keras")
    ours = programs(nn)[index]()
    theirs = programs(keras)[index]()
    assert [(v.name, v.path) for v in ours.weights] == [(v.name, v.path) for v in theirs.weights]


def test_a_variable_outside_any_scope_has_its_name_as_path():
    keras = pytest.importorskip("keras")
    assert Variable(np.ones(2), name="w").path == keras.Variable(np.ones(2), name="w").path == "w"
    with name_scope("outer"), name_scope("inner"):
        assert Variable(np.ones(2), name="w").path == "outer/inner/w"
    with pytest.raises(ValueError, match="without '/'"):
        Variable(np.ones(2), name="a/b")


def test_a_layer_rebuilt_by_its_own_call_adds_its_name_once():
    layer = nn.layers.Dense(2, name="once")
    layer(np.ones((1, 3), "float32"))
    assert [v.path for v in layer.weights] == ["once/kernel", "once/bias"]


def test_the_safetensors_keys_stay_layer_and_weight(tmp_path):
    model = nn.Sequential([nn.Input((3,)), nn.layers.Dense(2, name="d")], name="holder")
    loaded = nn.Sequential([nn.Input((3,)), nn.layers.Dense(2, name="d")], name="other_holder")
    path = model.save_weights(tmp_path / "w.safetensors")
    loaded.load_weights(path)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
