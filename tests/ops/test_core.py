"""keras.ops' core ops: values and dtypes against keras.ops on the torch backend, control flow that
is differentiable through its body, custom gradients through grad, value_and_grad and fit, and
errors that name the op."""

import numpy as np
import pytest

import nablanet
from nablanet import Tensor, grad, gradcheck, ops, value_and_grad

keras = pytest.importorskip("keras")
K = keras.ops

rng = np.random.default_rng(0)  # module-level: parametrize needs the arrays at collection


def normal(*shape, dtype="float64"):
    return rng.standard_normal(shape).astype(dtype)


X = normal(4, 3)
X32 = normal(4, 3, dtype="float32")
CUBE = normal(2, 3, 2)
MATRICES = normal(5, 2, 2, dtype="float32")  # matmul: associative, not commutative

# Each case is a function of an ops module (nablanet.ops or keras.ops), run on both and compared.
VALUE_CASES = [
    ("convert_to_tensor-float", lambda m: m.convert_to_tensor(1.5)),
    ("convert_to_tensor-int", lambda m: m.convert_to_tensor(3)),
    ("convert_to_tensor-bool", lambda m: m.convert_to_tensor([True, False])),
    ("convert_to_tensor-list", lambda m: m.convert_to_tensor([1, 2])),
    ("convert_to_tensor-mixed", lambda m: m.convert_to_tensor([1.0, 2])),
    ("convert_to_tensor-array", lambda m: m.convert_to_tensor(np.arange(3))),
    ("convert_to_tensor-float16", lambda m: m.convert_to_tensor(np.ones(2, "float16"))),
    ("convert_to_tensor-dtype", lambda m: m.convert_to_tensor([1, 2], dtype="float64")),
    ("cast", lambda m: m.cast(X, "int32")),
    ("cast-float32", lambda m: m.cast(np.arange(3), "float32")),
    ("saturate_cast-uint8", lambda m: m.saturate_cast(np.array([-5.0, 300.5, 3.7, np.inf]), "uint8")),
    ("saturate_cast-int8", lambda m: m.saturate_cast(np.array([-500, 3, 1000]), "int8")),
    ("saturate_cast-float16", lambda m: m.saturate_cast(np.array([1e6, -1e6, 1.5]), "float16")),
    ("stop_gradient", lambda m: m.stop_gradient(m.convert_to_tensor(X))),
    ("unstack", lambda m: m.unstack(m.convert_to_tensor(X), axis=1)),
    ("unstack-negative-axis", lambda m: m.unstack(m.convert_to_tensor(CUBE), axis=-2)),
    ("slice", lambda m: m.slice(np.arange(10), [2], [3])),
    ("slice-2d", lambda m: m.slice(X, [1, 1], [2, 2])),
    ("slice_update", lambda m: m.slice_update(np.zeros((3, 4)), [1, 2], np.ones((2, 2)))),
    ("slice_update-dtype", lambda m: m.slice_update(np.zeros(5, "float32"), [1], np.array([1.5, 2.5]))),
    ("scatter", lambda m: m.scatter(np.array([[0], [2], [0]]), np.array([1.0, 2, 3]), (4,))),
    ("scatter-rows", lambda m: m.scatter(np.array([[0], [2]]), np.ones((2, 3)), (4, 3))),
    ("scatter-2d", lambda m: m.scatter(np.array([[0, 1], [1, 2], [0, 1]]), np.array([1, 2, 3]), (2, 3))),
    ("scatter_update", lambda m: m.scatter_update(np.zeros((2, 3)), np.array([[0, 1], [1, 2]]), np.array([5.0, 6]))),
    ("scatter_update-rows", lambda m: m.scatter_update(np.zeros((3, 2)), np.array([[1]]), np.array([[4.0, 5]]))),
    *[
        (f"scatter_update-{r}", lambda m, r=r: m.scatter_update(
            X, np.array([[0, 1], [3, 2], [0, 1]]), np.array([5.0, -6, 0.5]), reduction=r))
        for r in ("add", "max", "min", "mul")
    ],
    ("cond-true", lambda m: m.cond(True, lambda: X * 2, lambda: X)),
    ("cond-false", lambda m: m.cond(m.convert_to_tensor(False), lambda: X * 2, lambda: X)),
    ("switch", lambda m: m.switch(1, [lambda x: x + 1, lambda x: x * 3], X)),
    ("switch-clamped", lambda m: m.switch(7, [lambda x: x + 1, lambda x: x * 3], X)),
    ("switch-negative", lambda m: m.switch(-2, [lambda x: x + 1, lambda x: x * 3], X)),
    ("while_loop", lambda m: m.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s * 1.5), (0, X))),
    ("while_loop-single", lambda m: m.while_loop(lambda s: m.sum(s) < 100, lambda s: s * 2, np.ones(3))),
    ("while_loop-maximum", lambda m: m.while_loop(lambda s: True, lambda s: s + 1, 0, maximum_iterations=4)),
    ("fori_loop", lambda m: m.fori_loop(0, 4, lambda i, v: v * 2 + i, X)),
    ("scan", lambda m: m.scan(lambda c, x: (c + x, c * x), np.zeros(3), X)),
    ("scan-reverse", lambda m: m.scan(lambda c, x: (c + x, c * x), np.zeros(3), X, reverse=True)),
    ("scan-length", lambda m: m.scan(lambda c, x: (c * 2, c), np.ones(2), length=3)),
    ("scan-nested", lambda m: m.scan(lambda c, x: ((c[0] + x["a"], c[1]), x["b"] * c[0]),
                                     (np.zeros(3), np.ones(1)), {"a": X, "b": X * 2})),
    ("map", lambda m: m.map(lambda x: x * 2 + 1, X)),
    ("map-tuple", lambda m: m.map(lambda xy: xy[0] * xy[1], (X, X + 1))),
    ("vectorized_map", lambda m: m.vectorized_map(lambda x: m.sum(x * x), m.convert_to_tensor(X))),
    # float32 only: Keras's torch backend builds its interleaved result in float32 whatever the input
    ("associative_scan", lambda m: m.associative_scan(lambda a, b: a + b, X32)),
    ("associative_scan-axis", lambda m: m.associative_scan(lambda a, b: a * b, X32, axis=1)),
    ("associative_scan-reverse", lambda m: m.associative_scan(lambda a, b: m.maximum(a, b), X32, reverse=True)),
    ("associative_scan-tuple", lambda m: m.associative_scan(
        lambda a, b: (a[0] + b[0], a[1] * b[1]), (X32, X32 + 1))),
    ("associative_scan-matrices", lambda m: m.associative_scan(
        lambda a, b: m.matmul(a, b), MATRICES, reverse=True)),
]


def leaves(x):
    if isinstance(x, (tuple, list)):
        return [leaf for item in x for leaf in leaves(item)]
    if isinstance(x, dict):
        return [leaf for key in sorted(x) for leaf in leaves(x[key])]
    return [x]


@pytest.mark.parametrize("name, case", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_and_dtypes_match_keras(name, case):
    ours, theirs = leaves(case(ops)), leaves(case(K))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = np.asarray(ops.convert_to_numpy(a)), np.asarray(K.convert_to_numpy(b))
        assert a.shape == b.shape, f"{name}: {a.shape} vs Keras's {b.shape}"
        assert a.dtype == b.dtype, f"{name}: {a.dtype} vs Keras's {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_queries_match_keras():
    for value in (X, X32, np.arange(3), np.ones(2, bool), Tensor(X32)):
        reference = value.numpy() if isinstance(value, Tensor) else value
        assert ops.dtype(value) == K.dtype(reference)
    for value in (1.0, 2, True, [1, 2], [1.0, 2]):  # Keras's dtype() wants a tensor: compare with its conversion
        assert ops.dtype(value) == K.dtype(K.convert_to_tensor(value))
    assert ops.shape(X) == K.shape(X) == (4, 3)
    assert ops.shape(Tensor(np.zeros((0, 2)))) == (0, 2)
    assert ops.is_tensor(Tensor(X)) and not ops.is_tensor(X)
    assert isinstance(ops.convert_to_numpy(Tensor(X)), np.ndarray)
    assert isinstance(ops.convert_to_tensor(X), Tensor)


def test_tensors_in_tensors_out_numpy_in_numpy_out():
    assert isinstance(ops.slice(Tensor(X), [0, 0], [2, 2]), Tensor)
    assert isinstance(ops.slice(X, [0, 0], [2, 2]), np.ndarray)
    assert isinstance(ops.scatter(np.array([[0]]), Tensor(np.ones(1)), (3,)), Tensor)
    v = nablanet.Variable(np.ones(2))
    assert ops.convert_to_tensor(v) is v


# -- gradients: float64 central differences through every differentiable op ------------------------

GRAD_CASES = [
    ("cast", lambda x: ops.cast(ops.cast(x, "float64") * x, "float64"), (X,)),
    ("unstack", lambda x: ops.unstack(x, axis=1)[2] * ops.unstack(x)[0][1], (X,)),
    ("slice", lambda x: ops.slice(x, [1, 0], [2, 3]) ** 2, (X,)),
    ("slice_update", lambda x, u: ops.slice_update(x, [1, 1], u) ** 2, (X, normal(2, 2))),
    ("scatter", lambda v: ops.scatter(np.array([[0], [2], [0]]), v, (4, 3)), (normal(3, 3),)),
    ("scatter_update", lambda x, u: ops.scatter_update(x, np.array([[0, 1], [3, 2]]), u) ** 2, (X, normal(2))),
    *[
        (f"scatter_update-{r}", lambda x, u, r=r: ops.scatter_update(
            x, np.array([[0, 1], [3, 2], [0, 1]]), u, reduction=r), (X, normal(3)))
        for r in ("add", "max", "min", "mul")
    ],
    ("cond", lambda x: ops.cond(ops.sum(x) > 0, lambda: x * x, lambda: -x), (X,)),
    ("switch", lambda x: ops.switch(1, [lambda a: a, lambda a: ops.sin(a) * a], x), (X,)),
    ("while_loop", lambda x: ops.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * ops.tanh(s)), (0, x))[1],
     (X,)),
    ("fori_loop", lambda x: ops.fori_loop(0, 3, lambda i, v: v * x + i, x), (X,)),
    ("scan", lambda x, h: ops.scan(lambda c, r: (ops.tanh(c * r), c * r), h, x)[1], (X, normal(3))),
    ("scan-carry", lambda x, h: ops.scan(lambda c, r: (ops.tanh(c + r), None), h, x, reverse=True)[0],
     (X, normal(3))),
    ("map", lambda x: ops.map(lambda r: ops.sum(r * r) * r, x), (X,)),
    ("vectorized_map", lambda x, y: ops.vectorized_map(lambda ab: ab[0] * ops.exp(ab[1]), (x, y)), (X, normal(4, 3))),
    ("associative_scan", lambda x: ops.associative_scan(lambda a, b: a * b, x), (X,)),
    ("associative_scan-reverse", lambda x: ops.associative_scan(lambda a, b: a + b * a, x, reverse=True, axis=1),
     (X,)),
]


@pytest.mark.parametrize("name, f, inputs", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_match_central_differences(name, f, inputs):
    gradcheck(f, *inputs)


def test_casts_pass_the_gradient_back_in_the_input_dtype():
    x = np.array([1.0, -2e5, 3e5, 0.5])
    g = grad(lambda t: ops.sum(ops.cast(ops.cast(t, "float32"), "float64") * x))(x)
    np.testing.assert_array_equal(g, x)
    g = grad(lambda t: ops.sum(ops.cast(ops.saturate_cast(t, "float16"), "float64")))(x)
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 1.0])  # clipped to float16's range: no gradient
    assert not ops.saturate_cast(Tensor(x, requires_grad=True), "int32").requires_grad


def test_loops_have_second_derivatives():
    f = lambda x: ops.sum(ops.fori_loop(0, 3, lambda i, v: ops.sin(v) * x, x))  # noqa: E731
    gradcheck(grad(f), normal(5))


def test_stop_gradient_cuts_the_tape():
    f = lambda x: ops.sum(x * ops.stop_gradient(x))  # noqa: E731
    np.testing.assert_allclose(grad(f)(X), X)
    assert not ops.stop_gradient(nablanet.Variable(X)).requires_grad


# -- custom_gradient -------------------------------------------------------------------------------


@ops.custom_gradient
def log1pexp(x):
    e = ops.exp(x)

    def grad_fn(*args, upstream=None):  # Keras's torch-backend form: inputs, then upstream by keyword
        if upstream is None:
            (upstream,) = args
        return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))

    return ops.log(1 + e), grad_fn


@ops.custom_gradient
def scaled_product(x, y):
    def grad_fn(upstream):  # TensorFlow/JAX form: upstream positionally, one gradient per input
        return upstream * y * 10.0, upstream * x

    return x * y, grad_fn


def test_custom_gradient_values_and_gradients_match_keras():
    import torch

    x = np.array([0.0, 50.0, -3.0], "float32")
    np.testing.assert_allclose(ops.convert_to_numpy(log1pexp(Tensor(x))), K.convert_to_numpy(K.log1p(K.exp(x))),
                               rtol=1e-6)
    ours = grad(lambda t: ops.sum(log1pexp(t)))(x)
    reference = torch.tensor(x, requires_grad=True)
    K.sum(keras_log1pexp(reference)).backward()
    np.testing.assert_allclose(ours, reference.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours, 1 / (1 + np.exp(-x.astype("float64"))), rtol=1e-6)


@keras.ops.custom_gradient
def keras_log1pexp(x):
    e = K.exp(x)

    def grad_fn(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        return K.multiply(upstream, 1.0 - 1.0 / K.add(1, e))

    return K.log(1 + e), grad_fn


def test_custom_gradient_with_several_inputs_and_value_and_grad():
    x, y = normal(3), normal(3)
    value, (gx, gy) = value_and_grad(lambda a, b: ops.sum(scaled_product(a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(value, np.sum(x * y))
    np.testing.assert_allclose(gx, 10 * y)
    np.testing.assert_allclose(gy, x)


def test_custom_gradient_is_differentiated_again_under_a_recorded_sweep():
    @ops.custom_gradient
    def cube(x):
        return x**3, lambda upstream: upstream * 3 * x * x

    x = normal(4)
    np.testing.assert_allclose(grad(lambda t: ops.sum(grad(lambda u: ops.sum(cube(u)))(t)))(x), 6 * x)


def test_custom_gradient_on_arrays_returns_the_plain_output():
    out = scaled_product(np.ones(2), np.full(2, 3.0))
    assert isinstance(out, np.ndarray) and out.tolist() == [3.0, 3.0]


def test_custom_gradient_trains_a_layer_in_fit():
    @ops.custom_gradient
    def frozen_matmul(x, kernel):
        return ops.matmul(x, kernel), lambda upstream: (ops.matmul(upstream, ops.transpose(kernel)),
                                                        ops.zeros_like(kernel))

    class Frozen(nablanet.layers.Layer):
        def __init__(self, freeze, **kwargs):
            super().__init__(**kwargs)
            self.freeze = freeze

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], 2), initializer="ones", name="kernel")

        def call(self, x):
            return frozen_matmul(x, self.kernel) if self.freeze else ops.matmul(x, self.kernel)

    data, target = normal(16, 3, dtype="float32"), normal(16, 2, dtype="float32")
    kernels = []
    for freeze in (True, False):
        model = nablanet.Sequential([nablanet.Input((3,)), Frozen(freeze), nablanet.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(data, target[:, :1], epochs=2, batch_size=8, verbose=0)
        kernels.append(model.layers[0].kernel.numpy())
    np.testing.assert_array_equal(kernels[0], np.ones((3, 2)))  # its custom gradient is zero
    assert not np.allclose(kernels[1], 1.0)


def test_custom_gradient_errors_name_the_function():
    @ops.custom_gradient
    def no_rule(x):
        return x * 2

    with pytest.raises(TypeError, match=r"custom_gradient: 'no_rule' must return \(output, grad_fn\)"):
        no_rule(Tensor(X))

    @ops.custom_gradient
    def two_for_one(x):
        return x * 2, lambda upstream: (upstream, upstream)

    with pytest.raises(ValueError, match=r"custom_gradient\(two_for_one\): grad_fn returned 2 gradient"):
        grad(lambda t: ops.sum(two_for_one(t)))(X)

    @ops.custom_gradient
    def pair(x):
        return (x, x), lambda upstream: upstream

    with pytest.raises(TypeError, match="custom_gradient: 'pair' must return one output tensor"):
        pair(Tensor(X))


# -- errors name the op, what it expected and what it got -------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: ops.cond(np.ones(2), lambda: 1, lambda: 2), r"cond: the predicate must be a scalar, got shape \(2,\)"),
    (lambda: ops.switch(0, [], 1), "switch: expected at least one branch, got none"),
    (lambda: ops.scan(lambda c, x: (c, x), 0.0), "scan: pass xs to scan over, or length"),
    (lambda: ops.scan(lambda c, x: (c, x), 0.0, (np.ones(3), np.ones(2))), "scan: every leaf of xs must have 3 rows"),
    (lambda: ops.scan(3, 0.0, np.ones(2)), "scan: f must be callable, got 3"),
    (lambda: ops.associative_scan(lambda a, b: a, X, axis=2), "associative_scan: axis 2 is out of range"),
    (lambda: ops.unstack(X, axis=3), "unstack: axis 3 is out of range for 2 dimensions"),
    (lambda: ops.unstack(X, num=3), "unstack: num=3 does not match the length 4 of axis 0"),
    (lambda: ops.slice(X, [0], [1, 1]), r"slice: expected 2 start indices \(one per axis\), got 1"),
    (lambda: ops.slice_update(X, [3, 0], np.ones((2, 2))), r"slice_update: updates of shape \(2, 2\) at \(3, 0\)"),
    (lambda: ops.scatter(np.array([[0.5]]), np.ones(1), (3,)), "scatter: indices must be integers, got dtype float64"),
    (lambda: ops.scatter(np.array([[0, 0]]), np.ones(1), (3,)),
     r"scatter: indices must have a last axis of length 1 to 1 "),
    (lambda: ops.scatter_update(X, np.array([[0, 0]]), np.ones(1), reduction="avg"),
     "scatter_update: reduction must be None, 'add', 'max', 'min' or 'mul', got 'avg'"),
    (lambda: ops.convert_to_tensor({"a": 1}), "convert_to_tensor: cannot make a tensor of dict"),
    (lambda: ops.convert_to_tensor([1], sparse=True), "convert_to_tensor: nablanet has dense tensors only"),
])
def test_bad_input_names_the_op(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
