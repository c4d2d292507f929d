"""clone_model (Keras's clone_function, call_function, input_tensors, recursive) and
Model.to_json / model_from_json, both ways with Keras."""

import json

import numpy as np
import pytest

import nablanet as nb
from nablanet.models import clone_model, model_from_json

keras = pytest.importorskip("keras")


def _shape(model):
    return tuple(nb.tree.flatten(model.outputs)[0].shape)


def _functional():
    inputs = nb.layers.Input(shape=(4,), name="x")
    h = nb.layers.Dense(3, activation="relu", name="hidden")(inputs)
    shared = nb.layers.Dense(3, name="shared")
    out = nb.layers.Dense(1, name="out")(nb.layers.add([shared(h), shared(h)]))
    return nb.Model(inputs, out, name="net")


def test_clone_functional_has_new_layers_and_the_same_graph():
    model = _functional()
    copy = clone_model(model)
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    assert all(a is not b for a, b in zip(copy.layers, model.layers))
    assert copy.name == model.name and _shape(copy) == _shape(model)
    copy.set_weights(model.get_weights())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    shared = [layer for layer in copy.layers if layer.name == "shared"]
    assert len(shared) == 1  # a shared layer stays one layer, called twice


def test_clone_function_and_call_function_are_applied():
    model = _functional()
    seen = []

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, nb.layers.Dense):
            config["units"] = layer.units
            config["name"] = layer.name + "_copy"
        return layer.__class__.from_config(config)

    def call(layer, *args, **kwargs):
        seen.append(layer.name)
        return layer(*args, **kwargs)

    copy = clone_model(model, clone_function=clone, call_function=call)
    assert "hidden_copy" in [layer.name for layer in copy.layers]
    assert seen.count("shared_copy") == 2 and "out_copy" in seen


def test_input_tensors_replace_the_inputs():
    model = _functional()
    new_input = nb.layers.Input(shape=(4,), batch_size=2, name="fresh")
    copy = clone_model(model, input_tensors=new_input)
    assert nb.tree.flatten(copy.inputs)[0] is new_input
    with pytest.raises(ValueError, match="input_tensors must be 1 tensors"):
        clone_model(model, input_tensors=[new_input, new_input])


def test_clone_sequential_and_recursive_nesting():
    inner = nb.Sequential([nb.layers.Input(shape=(3,)), nb.layers.Dense(2, name="inner_dense")], name="inner")
    outer = nb.Sequential([nb.layers.Input(shape=(3,)), inner, nb.layers.Dense(1)], name="outer")
    copy = clone_model(outer)
    assert isinstance(copy, nb.Sequential) and copy.layers[0] is not inner
    deep = clone_model(outer, recursive=True, clone_function=lambda layer: layer.__class__.from_config(
        layer.get_config()))
    assert isinstance(deep.layers[0], nb.Sequential) and deep.layers[0].layers[0] is not inner.layers[0]
    as_functional = clone_model(outer, call_function=lambda layer, x, **kw: layer(x, **kw))
    assert _shape(as_functional) == (None, 1)


def test_subclassed_models_clone_from_config_only():
    class Tiny(nb.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = nb.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    copy = clone_model(Tiny(name="tiny"))
    assert isinstance(copy, Tiny) and copy.name == "tiny"
    with pytest.raises(ValueError, match="subclassed model"):
        clone_model(Tiny(), clone_function=lambda layer: layer)
    with pytest.raises(TypeError, match="clone_model: expected a Model"):
        clone_model(nb.layers.Dense(1))


@pytest.mark.parametrize("library", [nb, keras], ids=["nablanet", "keras"])
def test_a_compiled_model_clones_compiled(library):
    """As Keras: the copy of a compiled model is compiled alike, with an optimizer of its own."""
    inputs = library.layers.Input(shape=(3,))
    functional = library.Model(inputs, library.layers.Dense(2)(inputs))
    sequential = library.Sequential([library.layers.Input(shape=(3,)), library.layers.Dense(2)])
    for model in (functional, sequential):
        model.compile(optimizer=library.optimizers.SGD(0.5), loss="mse", metrics=["mae"])
        copy = library.models.clone_model(model)
        assert copy.compiled and copy.optimizer is not model.optimizer
        assert copy.get_compile_config()["loss"] == model.get_compile_config()["loss"]
        assert float(copy.optimizer.learning_rate) == 0.5
    uncompiled = library.models.clone_model(library.Sequential([library.layers.Input(shape=(3,)),
                                                                 library.layers.Dense(2)]))
    assert not uncompiled.compiled


def test_to_json_round_trips_and_is_keras_schema():
    model = _functional()
    text = model.to_json(indent=1)
    config = json.loads(text)
    assert config["class_name"] == "Functional" and "module" in config and "\n" in text
    copy = model_from_json(text)
    assert [layer.name for layer in copy.layers] == [layer.name for layer in model.layers]
    with pytest.raises(ValueError, match="model_from_json: expected a JSON string"):
        model_from_json("{not json")


def test_json_crosses_to_keras_and_back():
    model = _functional()
    theirs = keras.models.model_from_json(model.to_json())
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in model.layers]
    k_inputs = keras.Input(shape=(4,))
    k_model = keras.Sequential([k_inputs, keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)])
    ours = model_from_json(k_model.to_json())
    assert isinstance(ours, nb.Sequential) and ours.output_shape == (None, 2)
    ours.set_weights([np.asarray(w) for w in k_model.get_weights()])
    x = np.random.default_rng(1).standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), np.asarray(k_model.predict(x, verbose=0)), atol=1e-5)


def test_models_namespace_saves_and_loads(tmp_path):
    model = _functional()
    path = str(tmp_path / "m.keras")
    nb.models.save_model(model, path)
    assert [layer.name for layer in nb.models.load_model(path).layers] == [layer.name for layer in model.layers]
