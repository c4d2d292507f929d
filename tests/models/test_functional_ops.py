"""Functional models built with operators, `keras.ops` and Lambda on symbolic tensors: they train,
save and load (nablanet and Keras, both ways), and behave as the same program does in Keras."""

import inspect
import json
import zipfile

import numpy as np
import pytest

import nablanet as nk
from nablanet import layers, ops


def _keras():
    return pytest.importorskip("keras")


def _program(k, o):
    """The issue's program in either library (`k` the package, `o` its ops): `x + inputs`,
    `x[:, 0]`, `ops.mean(x, axis=1)` and an op of two symbolic tensors."""
    inputs = k.Input((4,))
    x = k.layers.Dense(4, name="dense")(inputs)
    y = x + inputs
    z = y[:, 0]
    m = o.mean(y, axis=1)
    w = o.expand_dims(z, -1) * m[:, None]
    return k.Model(inputs, [w, z])


def _data(shape=(5, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _config_layers(path):
    return json.loads(zipfile.ZipFile(path).read("config.json"))["config"]["layers"]


def test_a_model_of_ops_saves_and_loads_to_identical_predictions(tmp_path):
    model = _program(nk, ops)
    data = _data()
    expected = model.predict(data, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = nk.saving.load_model(tmp_path / "m.keras")
    for a, b in zip(expected, loaded.predict(data, verbose=0)):
        np.testing.assert_array_equal(a, b)


def test_the_config_is_keras_s(tmp_path):
    keras = _keras()
    _program(nk, ops).save(tmp_path / "ours.keras")
    _program(keras, keras.ops).save(tmp_path / "theirs.keras")

    def argument(a):  # a tensor by its shape and dtype, not its generated history
        if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__":
            return tuple(a["config"]["shape"]), a["config"]["dtype"]
        return a

    def shape_of(entries):  # what both write for each op node, without the generated names
        return [(e["module"], e["class_name"], e["registered_name"], sorted(e["config"]),
                 e["inbound_nodes"][0]["kwargs"], [argument(a) for a in e["inbound_nodes"][0]["args"]])
                for e in entries if "ops" in e["module"]]

    ours, theirs = _config_layers(tmp_path / "ours.keras"), _config_layers(tmp_path / "theirs.keras")
    assert sorted(map(str, shape_of(ours))) == sorted(map(str, shape_of(theirs)))
    mean = next(e for e in ours if e["class_name"] == "Mean")
    assert mean["config"] == {"name": mean["name"], "axis": 1, "keepdims": False}


def test_keras_loads_nablanet_s_file_and_nablanet_loads_keras_s(tmp_path):
    keras = _keras()
    data = _data()
    ours = _program(nk, ops)
    ours.save(tmp_path / "ours.keras")
    from_ours = keras.saving.load_model(tmp_path / "ours.keras")
    for a, b in zip(ours.predict(data, verbose=0), from_ours.predict(data, verbose=0)):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), rtol=1e-6, atol=1e-6)
    theirs = _program(keras, keras.ops)
    theirs.save(tmp_path / "theirs.keras")
    loaded = nk.saving.load_model(tmp_path / "theirs.keras")
    for a, b in zip(theirs.predict(data, verbose=0), loaded.predict(data, verbose=0)):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(a), b, rtol=1e-6, atol=1e-6)
    assert [type(layer).__name__ for layer in loaded.layers] == ["InputLayer", "Dense"]


def test_ops_with_static_arguments_and_lists_round_trip_both_ways(tmp_path):
    keras = _keras()

    def program(k, o):
        a, b = k.Input((3, 4)), k.Input((3, 4))
        c = o.concatenate([a, b * 2.0], axis=1)
        d = o.reshape(o.transpose(c, (0, 2, 1)), (-1, 24))
        e = o.where(d > 0, d, o.zeros_like(d)) + o.clip(d, -0.5, 0.5)
        return k.Model([a, b], o.sum(e[..., 2:], axis=-1, keepdims=True) + a[:, 0, :1])

    data = [_data((2, 3, 4), 1), _data((2, 3, 4), 2)]
    ours, theirs = program(nk, ops), program(keras, keras.ops)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    expected = keras.ops.convert_to_numpy(theirs.predict(data, verbose=0))
    np.testing.assert_allclose(ours.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6)
    from_keras = nk.saving.load_model(tmp_path / "theirs.keras").predict(data, verbose=0)
    np.testing.assert_allclose(from_keras, expected, rtol=1e-5, atol=1e-6)
    from_ours = keras.saving.load_model(tmp_path / "ours.keras").predict(data, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(from_ours), expected, rtol=1e-5, atol=1e-6)


def test_arrays_scalars_several_outputs_and_casts_round_trip_both_ways(tmp_path):
    keras = _keras()

    def program(k, o):
        x = k.Input((4,))
        a, b = o.split(x, 2, axis=1)
        y = (x @ np.ones((4, 2), np.float32)) + a * 2.0 + o.max(b, axis=1, keepdims=True)
        return k.Model(x, [y, o.cast(x > 0, "int32")])

    data = _data((3, 4), 9)
    ours, theirs = program(nk, ops), program(keras, keras.ops)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    runs = [ours.predict(data, verbose=0), nk.saving.load_model(tmp_path / "ours.keras").predict(data, verbose=0),
            nk.saving.load_model(tmp_path / "theirs.keras").predict(data, verbose=0),
            keras.saving.load_model(tmp_path / "ours.keras").predict(data, verbose=0),
            theirs.predict(data, verbose=0)]
    for run in runs:
        y, positive = (keras.ops.convert_to_numpy(value) for value in run)
        np.testing.assert_allclose(y, runs[0][0], rtol=1e-6)
        assert positive.dtype == np.int32 and np.array_equal(positive, (data > 0).astype(np.int32))


def test_a_file_naming_an_op_nablanet_lacks_is_refused(tmp_path):
    model = _program(nk, ops)
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["class_name"] == "Mean")
    entry["class_name"] = "NoSuchOp"
    with pytest.raises(ValueError, match="the graph holds the op 'NoSuchOp', which nablanet.ops does not have"):
        nk.Model.from_config(config)


def test_op_nodes_train():
    nk.utils.set_random_seed(0)
    inputs = nk.Input((4,))
    x = layers.Dense(8, activation="tanh")(inputs)
    out = layers.Dense(1)(ops.concatenate([x * inputs[:, :1], ops.mean(x, axis=1, keepdims=True)], axis=1))
    model = nk.Model(inputs, out)
    model.compile(optimizer=nk.optimizers.Adam(0.01), loss="mse")
    data = _data((64, 4))
    target = data[:, :1] * data[:, 1:2] + np.tanh(data[:, 2:3])
    history = model.fit(data, target, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


# -- Lambda with any structure of inputs ------------------------------------------------------------------------------

LAMBDAS = [
    ("list_with_shape", lambda k: k.layers.Lambda(lambda ab: ab[0] * ab[1], output_shape=(3,)), "list"),
    ("list_inferred", lambda k: k.layers.Lambda(lambda ab: ab[0] - 2 * ab[1]), "list"),
    ("dict", lambda k: k.layers.Lambda(lambda d: d["a"] + d["b"]), "dict"),
    ("nested", lambda k: k.layers.Lambda(lambda t: t[0][0] * t[1] + t[0][1]), "nested"),
    ("shape_function", lambda k: k.layers.Lambda(lambda ab: ab[0][:, :2] + ab[1][:, 1:],
                                                 output_shape=lambda shapes: (shapes[0][0], 2)), "list"),
    ("two_outputs", lambda k: k.layers.Lambda(lambda ab: [ab[0] + 1, ab[1][:, :1]]), "list"),
]


def _lambda_inputs(k, structure):
    a, b = k.Input((3,)), k.Input((3,))
    arrange = {"list": [a, b], "dict": {"a": a, "b": b}, "nested": [[a, b], a]}[structure]
    return [a, b], arrange


@pytest.mark.parametrize("name, make, structure", LAMBDAS, ids=[case[0] for case in LAMBDAS])
def test_lambda_takes_any_structure_as_keras_s(name, make, structure):
    keras = _keras()
    data = [_data((2, 3), 4), _data((2, 3), 5)]
    results = []
    for k in (nk, keras):
        inputs, arranged = _lambda_inputs(k, structure)
        out = make(k)(arranged)
        results.append(([tuple(t.shape) for t in (out if isinstance(out, list) else [out])],
                        k.Model(inputs, out).predict(data, verbose=0)))
    (our_shapes, ours), (their_shapes, theirs) = results
    assert our_shapes == their_shapes
    for a, b in zip(ours if isinstance(ours, list) else [ours], theirs if isinstance(theirs, list) else [theirs]):
        np.testing.assert_allclose(a, keras.ops.convert_to_numpy(b), rtol=1e-6)


def test_lambda_s_signature_is_keras_s():
    keras = _keras()
    assert inspect.signature(layers.Lambda.__init__) == inspect.signature(keras.layers.Lambda.__init__)


# -- input rank adjustment ------------------------------------------------------------------------------------------

def _image_model():
    inputs = nk.Input((6, 6, 1))
    model = nk.Model(inputs, layers.Dense(2)(layers.Flatten()(layers.Conv2D(2, 3)(inputs))))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_data_without_the_trailing_axis_of_size_1_is_accepted_as_keras_does():
    model = _image_model()
    short, full = _data((4, 6, 6)), _data((4, 6, 6))[..., None]
    np.testing.assert_array_equal(model.predict(short, verbose=0), model.predict(full, verbose=0))
    np.testing.assert_array_equal(model(short).numpy(), model(full).numpy())
    assert model.evaluate(short, np.zeros((4, 2)), verbose=0) == model.evaluate(full, np.zeros((4, 2)), verbose=0)
    history = model.fit(short, np.zeros((4, 2)), epochs=1, verbose=0).history
    assert list(history) == ["loss"]
    sequential = nk.Sequential([nk.Input((5, 1)), layers.Flatten(), layers.Dense(1)])
    assert sequential.predict(np.ones((2, 5)), verbose=0).shape == (2, 1)
    # and data with an extra trailing axis of size 1 loses it (Keras's other half of the rule)
    dense = nk.Model(i := nk.Input((3,)), layers.Dense(1)(i))
    assert dense.predict(np.ones((2, 3, 1)), verbose=0).shape == (2, 1)


def test_other_ranks_are_refused_with_the_shape_message():
    model = _image_model()
    with pytest.raises(ValueError, match=r"expected inputs of shape \(None, 6, 6, 1\), got shape \(4, 6\)"):
        model.predict(np.ones((4, 6)), verbose=0)
    dense = nk.Model(i := nk.Input((3,)), layers.Dense(1)(i))
    with pytest.raises(ValueError, match=r"expected inputs of shape \(None, 3\), got shape \(2, 3, 2\)"):
        dense.predict(np.ones((2, 3, 2)), verbose=0)


# -- the layer contract on symbolic graphs ----------------------------------------------------------------------------

def test_layer_input_and_output_build_a_feature_extractor():
    inputs = nk.Input((4,))
    hidden = layers.Dense(3, name="h")(inputs)
    model = nk.Model(inputs, layers.Dense(2, name="o")(hidden))
    assert model.get_layer("h").input is inputs and model.get_layer("h").output is hidden
    extractor = nk.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    outputs = extractor.predict(np.ones((2, 4)), verbose=0)
    assert [o.shape for o in outputs] == [(2, 4), (2, 3), (2, 2)]
    sequential = nk.Sequential([nk.Input((4,)), layers.Dense(3), layers.Dense(2)])
    extractor = nk.Model(inputs=sequential.inputs, outputs=[layer.output for layer in sequential.layers])
    outputs = extractor.predict(np.ones((2, 4)), verbose=0)
    np.testing.assert_allclose(outputs[-1], sequential.predict(np.ones((2, 4)), verbose=0), rtol=1e-6)
    assert all(len(layer._inbound_nodes) == 1 for layer in sequential.layers)


def test_layer_attributes_are_keras_s():
    keras = _keras()
    for ours, theirs in ((layers.Dense(2), keras.layers.Dense(2)), (layers.Lambda(abs), keras.layers.Lambda(abs))):
        for attribute in ("input", "output", "input_shape", "output_shape"):
            assert hasattr(ours, attribute) == hasattr(theirs, attribute), attribute
    with pytest.raises(AttributeError, match="Dense 'never' has never been called"):
        _ = layers.Dense(2, name="never").output
    merged = layers.Add()([a := nk.Input((2,)), b := nk.Input((2,))])
    assert merged.history[0].layer.input == [a, b]


def test_input_and_input_layer_signatures_are_keras_s():
    keras = _keras()
    assert inspect.signature(layers.Input) == inspect.signature(keras.Input)
    assert inspect.signature(layers.InputLayer.__init__) == inspect.signature(keras.layers.InputLayer.__init__)
    assert nk.Input(batch_shape=(8, 3)).shape == tuple(keras.Input(batch_shape=(8, 3)).shape) == (8, 3)
    with pytest.raises(ValueError, match="either shape .* or batch_shape"):
        nk.Input(shape=(3,), batch_shape=(None, 3))
    with pytest.raises(ValueError, match="sparse=True is not supported"):
        nk.Input(shape=(3,), sparse=True)


def test_a_layer_called_on_several_symbolic_inputs():
    class Mix(layers.Layer):
        def call(self, inputs, scale):
            return inputs[0] * scale + inputs[1]

    a, b, c = nk.Input((3,)), nk.Input((3,)), nk.Input((1,))
    out = Mix()([a, b], c)
    model = nk.Model([a, b, c], out)
    result = model.predict([np.ones((2, 3)), np.ones((2, 3)), 2 * np.ones((2, 1))], verbose=0)
    np.testing.assert_array_equal(result, 3 * np.ones((2, 3)))


def test_masks_on_symbolic_tensors_and_in_shape_inference():
    keras = _keras()
    ids = nk.Input((5,), dtype="int32")
    embedded = layers.Embedding(10, 3, mask_zero=True)(ids)
    theirs = keras.layers.Embedding(10, 3, mask_zero=True)(keras.Input((5,), dtype="int32"))
    assert (embedded._keras_mask.shape, embedded._keras_mask.dtype.name) == (tuple(theirs._keras_mask.shape), "bool")

    class NeedsMask(layers.Layer):
        def call(self, inputs, mask=None):
            assert mask is not None, "called without its mask"
            return inputs * ops.expand_dims(ops.cast(mask, "float32"), -1)

    model = nk.Model(ids, layers.GlobalAveragePooling1D()(NeedsMask()(embedded)))
    assert model.predict(np.array([[1, 2, 0, 0, 0]]), verbose=0).shape == (1, 3)


# -- the same programs in Keras and nablanet ---------------------------------------------------------------------------

def _parity_program(k, o):
    a, b = k.Input((4,), name="a"), k.Input((4,), name="b")
    h = k.layers.Dense(6, activation="tanh", name="h")(a)
    mixed = k.layers.Lambda(lambda ab: ab[0] * o.sigmoid(ab[1]), output_shape=(4,), name="gate")([a, b])
    g = k.layers.Dense(6, name="g")(mixed)
    joined = o.concatenate([h + g, o.mean(h * g, axis=1, keepdims=True), (h - g)[:, :2] ** 2], axis=1)
    out = k.layers.Dense(1, name="out")(joined / 2.0 - b[:, :1])
    return k.Model([a, b], out)


def test_semantic_parity_with_keras_predictions_and_one_epoch():
    keras = _keras()
    ours, theirs = _parity_program(nk, ops), _parity_program(keras, keras.ops)
    for name in ("h", "g", "out"):
        ours.get_layer(name).set_weights([keras.ops.convert_to_numpy(w) for w in theirs.get_layer(name).weights])
    x = [_data((32, 4), 6), _data((32, 4), 7)]
    y = _data((32, 1), 8)
    np.testing.assert_allclose(ours.predict(x, verbose=0), keras.ops.convert_to_numpy(theirs.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-6)
    ours.compile(optimizer=nk.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    our_history = ours.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    their_history = theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history
    assert list(our_history) == list(their_history)
    for key in their_history:
        np.testing.assert_allclose(our_history[key], their_history[key], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x, verbose=0), keras.ops.convert_to_numpy(theirs.predict(x, verbose=0)),
                               rtol=1e-4, atol=1e-5)


def test_a_mask_computed_from_values_cannot_feed_the_graph():
    ids = nk.Input((5,), dtype="int32")
    embedded = layers.Embedding(10, 3, mask_zero=True)(ids)
    with pytest.raises(ValueError, match=r"the graph reads <KerasTensor shape=\(None, 5\), dtype=bool.*no layer"):
        nk.Model(ids, ops.cast(embedded._keras_mask, "float32"))


def test_a_file_cannot_make_an_op_allocate_without_bound():
    x = nk.Input((4,))
    config = nk.Model(x, ops.reshape(x, (-1, 2, 2))).get_config()
    entry = next(e for e in config["layers"] if e["class_name"] == "Reshape")
    entry["config"]["newshape"] = [-1, 100000, 100000]
    with pytest.raises(ValueError, match=r"the op 'reshape' has newshape=\[-1, 100000, 100000\], which could ask"):
        nk.Model.from_config(config)


def test_summary_lists_op_nodes_and_the_model_has_keras_s_name_and_shapes():
    k = _keras()
    tables = []
    for module in (k, nk):
        module.backend.clear_session()  # op nodes take generated names: count both from the start
        inputs = module.Input((3,), name="features")
        dense = module.layers.Dense(2, name="dense")(inputs)
        model = module.Model(inputs, dense + inputs[:, :2])
        printed = []
        model.summary(print_fn=lambda text, **kwargs: printed.append(text))  # noqa: B023 -- called at once
        tables.append("\n".join(printed))
        assert model.name.startswith("functional")
        assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
        listed = module.Model([inputs], [dense])
        assert listed.input_shape == (None, 3) and listed.output_shape == (None, 2)  # one input: unwrapped
    ours, theirs = (table.split("\n", 1)[1] for table in reversed(tables))  # after the "Model:" line
    assert ours == theirs
