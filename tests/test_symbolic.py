"""Symbolic tensors: Python operators and `nablanet.ops` on KerasTensors record graph nodes whose
shapes and dtypes are Keras's, and which run, differentiate and refuse bad operands."""

import inspect

import numpy as np
import pytest

import nablanet as nk
from nablanet import ops
from nablanet.layers.operation import Operation
from nablanet.symbolic import KerasTensor, SymbolicInput

# (name, expression over symbolic x (None, 3, 4), y (None, 3, 4) and an ops module o, the op it needs)
OPERATORS = [
    ("add", lambda o, x, y: x + y, "add"), ("radd", lambda o, x, y: 2.0 + x, "add"),
    ("sub", lambda o, x, y: x - y, "subtract"), ("rsub", lambda o, x, y: 1 - x, "subtract"),
    ("mul", lambda o, x, y: x * y, "multiply"), ("rmul", lambda o, x, y: 3 * x, "multiply"),
    ("truediv", lambda o, x, y: x / 2, "divide"), ("rtruediv", lambda o, x, y: 1.0 / (x + 2), "divide"),
    ("floordiv", lambda o, x, y: x // 2, "floor_divide"), ("mod", lambda o, x, y: x % 2, "mod"),
    ("pow", lambda o, x, y: x ** 2, "power"), ("rpow", lambda o, x, y: 2.0 ** x, "power"),
    ("matmul", lambda o, x, y: x @ o.transpose(y, (0, 2, 1)), "matmul"),
    ("matmul_array", lambda o, x, y: x @ np.ones((4, 5), np.float32), "matmul"),
    ("neg", lambda o, x, y: -x, "negative"), ("abs", lambda o, x, y: abs(x), "abs"),
    ("lt", lambda o, x, y: x < y, "less"), ("le", lambda o, x, y: x <= 0.5, "less_equal"),
    ("gt", lambda o, x, y: x > y, "greater"), ("ge", lambda o, x, y: x >= y, "greater_equal"),
    ("ne", lambda o, x, y: x != y, "not_equal"),
    ("and", lambda o, x, y: (x > 0) & (y > 0), "logical_and"), ("or", lambda o, x, y: (x > 0) | (y > 0), "logical_or"),
    ("xor", lambda o, x, y: (x > 0) ^ (y > 0), "logical_xor"), ("invert", lambda o, x, y: ~(x > 0), "logical_not"),
    ("index_int", lambda o, x, y: x[:, 0], "getitem"), ("index_slices", lambda o, x, y: x[:, 1:, ::2], "getitem"),
    ("index_none", lambda o, x, y: x[:, None, 0], "getitem"),
    ("index_ellipsis", lambda o, x, y: x[..., -1], "getitem"),
    ("index_negative", lambda o, x, y: x[:, -2:, 1], "getitem"),
    ("chain", lambda o, x, y: o.mean(x * y + 1.0, axis=-1)[:, 0], "mean"),
]


def _needs(op):
    if op is not None and op not in ops.__all__:
        pytest.skip(f"nablanet.ops has no {op!r} yet")


def _keras():
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name, expression, op", OPERATORS, ids=[case[0] for case in OPERATORS])
def test_operators_give_keras_shapes_and_dtypes_and_run(name, expression, op):
    _needs(op)
    keras = _keras()
    x, y = nk.Input((3, 4)), nk.Input((3, 4))
    out = expression(ops, x, y)
    their_inputs = [keras.Input((3, 4)), keras.Input((3, 4))]
    theirs = expression(keras.ops, *their_inputs)
    assert isinstance(out, KerasTensor)
    assert (out.shape, out.dtype.name) == (tuple(theirs.shape), theirs.dtype)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((2, 3, 4)).astype(np.float32) for _ in range(2))
    model = nk.Model([x, y], out)
    got = model.predict([a, b], verbose=0)
    expected = keras.ops.convert_to_numpy(keras.Model(their_inputs, theirs)([a, b]))
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64),
                               rtol=1e-5, atol=1e-6)


# (op call on symbolic x (None, 3, 4) and y (None, 3, 4), spelled the same for nablanet.ops and keras.ops)
OP_CALLS = [
    ("mean", lambda o, x, y: o.mean(x, axis=1)), ("sum_keepdims", lambda o, x, y: o.sum(x, axis=-1, keepdims=True)),
    ("expand_dims", lambda o, x, y: o.expand_dims(x, -1)), ("reshape", lambda o, x, y: o.reshape(x, (-1, 12))),
    ("transpose", lambda o, x, y: o.transpose(x, (0, 2, 1))), ("concatenate", lambda o, x, y: o.concatenate([x, y], 1)),
    ("stack", lambda o, x, y: o.stack([x, y], axis=1)), ("where", lambda o, x, y: o.where(x > 0, x, y)),
    ("clip", lambda o, x, y: o.clip(x, -0.5, 0.5)), ("maximum", lambda o, x, y: o.maximum(x, 0.0)),
    ("softmax", lambda o, x, y: o.softmax(x)), ("one_hot", lambda o, x, y: o.one_hot(o.cast(x > 0, "int32"), 3)),
    ("cast", lambda o, x, y: o.cast(x, "int32")), ("split", lambda o, x, y: o.split(x, 2, axis=-1)[1]),
    ("squeeze", lambda o, x, y: o.squeeze(x[:, :1], axis=1)), ("take", lambda o, x, y: o.take(x, [0, 2], axis=1)),
]


@pytest.mark.parametrize("name, call", OP_CALLS, ids=[case[0] for case in OP_CALLS])
def test_ops_on_symbolic_tensors_give_keras_shapes_and_dtypes(name, call):
    keras = _keras()
    out = call(ops, nk.Input((3, 4)), nk.Input((3, 4)))
    theirs = call(keras.ops, keras.Input((3, 4)), keras.Input((3, 4)))
    assert (out.shape, out.dtype.name) == (tuple(theirs.shape), theirs.dtype)


def test_an_op_with_several_outputs_gives_a_structure_of_symbolic_tensors():
    parts = ops.split(nk.Input((6,)), 3, axis=1)
    assert isinstance(parts, list) and [p.shape for p in parts] == [(None, 2)] * 3
    assert [p.history[1] for p in parts] == [0, 1, 2] and len({id(p.history[0]) for p in parts}) == 1


def test_unknown_dimensions_stay_unknown_and_known_batch_sizes_stay():
    x = nk.Input((None, 4))
    assert ops.mean(x, axis=2).shape == (None, None)
    assert (x[:, 1:] * 2).shape == (None, None, 4)
    # A slice of known length along an unknown axis: nablanet knows it is 2; Keras says None.
    assert x[:, :2].shape == (None, 2, 4)
    assert ops.reshape(nk.Input(batch_shape=(8, 3, 4)), (8, 12)).shape == (8, 12)


def test_every_public_op_dispatches_symbolic_tensors():
    modules = [ops, ops.numpy, ops.nn, ops.linalg, ops.image, ops.core, ops.math]
    queries = {"shape", "ndim", "dtype", "is_tensor", "standardize_dtype"}
    for module in modules:
        for name in module.__all__:
            fn = getattr(module, name)
            if inspect.ismodule(fn) or isinstance(fn, type) or name in queries or not callable(fn):
                continue
            assert hasattr(fn, "__wrapped__"), f"{module.__name__}.{name} records no node on symbolic tensors"
            assert getattr(ops, name, fn) is fn or name not in ops.__all__, f"{name}: two wrappers"


def test_an_op_inside_an_op_records_one_node():
    out = ops.logsumexp(nk.Input((3,)), axis=1)
    node = out.history[0]
    assert isinstance(node.layer, Operation) and node.layer.op == "logsumexp"
    assert node.input_tensors()[0].history[0].layer.__class__.__name__ == "InputLayer"


def test_ops_on_data_are_unchanged():
    t = nk.Variable(np.ones((2, 3), np.float32))
    out = ops.add(t, 1.0)
    assert not isinstance(out, KerasTensor) and np.all(out.numpy() == 2)
    assert isinstance(ops.add(np.ones(2), 1.0), np.ndarray)


def test_queries_answer_from_the_symbolic_tensor():
    x = nk.Input((3, 4))
    assert x.ndim == 3 and x.shape == (None, 3, 4) and x.dtype == np.float32
    assert +x is x  # Keras refuses unary plus; nablanet's is the identity, as on data


def test_an_operand_that_cannot_join_the_graph_names_both():
    x = nk.Input((2,), name="pixels")
    with pytest.raises(TypeError, match=r"KerasTensor \+: cannot combine <KerasTensor shape=\(None, 2\).*pixels> "
                                        r"with \['a', 'b'\] \(list\); expected another symbolic tensor"):
        x + ["a", "b"]
    with pytest.raises(TypeError, match=r"KerasTensor \*: cannot combine .* with 'z' \(str\)"):
        "z" * x
    with pytest.raises(TypeError, match=r"KerasTensor @: cannot combine .* with \{\} \(dict\)"):
        x @ {}


def test_a_symbolic_tensor_has_no_values():
    x = nk.Input((2,), name="pixels")
    for convert in (np.asarray, float, bool, len, list):
        with pytest.raises(SymbolicInput, match=r"KerasTensor 'pixels': a symbolic tensor \(shape \(None, 2\)\)"):
            convert(x)


def test_a_bad_op_call_on_symbolic_tensors_names_the_op():
    with pytest.raises(ValueError, match=r"^(mean: |.*mean).*axis"):
        ops.mean(nk.Input((3,)), axis=4)
    with pytest.raises(TypeError, match=r"^mean\(\) got an unexpected keyword argument 'axes'"):
        ops.mean(nk.Input((3,)), axes=1)


def test_gradients_flow_through_op_nodes():
    x = nk.Input((3,))
    dense = nk.layers.Dense(2)
    h = dense(x)
    model = nk.Model(x, ops.sum(h * h + x[:, :2], axis=1, keepdims=True))
    model.compile(optimizer="sgd", loss="mse")
    before = dense.kernel.numpy().copy()
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32), epochs=1, verbose=0)
    assert not np.allclose(before, dense.kernel.numpy())


def test_op_nodes_are_graph_nodes_but_not_layers():
    x = nk.Input((3,))
    y = nk.layers.Dense(3)(x)
    model = nk.Model(x, y + x)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert [type(layer).__name__ for layer in model._graph.operations] == ["InputLayer", "Dense", "Operation"]


def test_gradcheck_through_a_graph_of_ops():
    x = nk.Input((3,), dtype="float64")
    out = ops.mean(ops.tanh(x * x[:, :1]) - x ** 2, axis=1)
    model = nk.Model(x, out)
    data = np.random.default_rng(1).standard_normal((2, 3))

    nk.gradcheck(lambda value: ops.sum(model(value)), data)
    # the same function written directly on data: the graph computes it
    expected = np.mean(np.tanh(data * data[:, :1]) - data ** 2, axis=1)
    np.testing.assert_allclose(model(data).numpy(), expected, rtol=1e-6)


def test_keras_history_names_the_call_that_made_a_tensor():
    x = nk.Input((3,))
    dense = nk.layers.Dense(2)
    dense(x)
    y = dense(x)
    assert y._keras_history == (dense, 1, 0) and y._keras_history.operation is dense
    assert x._keras_history.node_index == 0 and not x.sparse and not x.ragged
