"""Every activation: values and gradients against Keras (torch backend), and gradcheck."""

import numpy as np
import pytest

from nablanet import activations, grad, gradcheck, ops

rng = np.random.default_rng(11)
X = rng.uniform(0.05, 4.0, (4, 5)) * rng.choice([-1.0, 1.0], (4, 5))  # away from the kinks at 0
X[0, :3] = [-30.0, 25.0, 5.5]  # tails; 5.5 is away from relu6's kink at 6

CASES = [
    ("relu", {}), ("relu", {"negative_slope": 0.1, "max_value": 2.5, "threshold": 0.3}),
    ("relu", {"max_value": 3.0}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.05}),
    ("relu6", {}), ("elu", {}), ("elu", {"alpha": 0.7}), ("selu", {}), ("softplus", {}),
    ("softsign", {}), ("silu", {}), ("swish", {}), ("gelu", {}), ("gelu", {"approximate": True}),
    ("tanh", {}), ("sigmoid", {}), ("hard_sigmoid", {}), ("hard_silu", {}), ("exponential", {}),
    ("linear", {}), ("mish", {}), ("log_sigmoid", {}), ("softmax", {}), ("softmax", {"axis": 0}),
    ("log_softmax", {}), ("celu", {}), ("celu", {"alpha": 0.5}),  # torch differentiates celu with a float32 1/alpha
    ("glu", {"axis": 0}), ("hard_shrink", {}),
    ("hard_shrink", {"threshold": 1.2}), ("hard_tanh", {}), ("soft_shrink", {}), ("soft_shrink", {"threshold": 1.2}),
    ("sparse_plus", {}), ("sparse_sigmoid", {}), ("sparsemax", {}), ("sparsemax", {"axis": 0}), ("squareplus", {}),
    ("squareplus", {"b": 2.5}), ("tanh_shrink", {}), ("threshold", {"threshold": 0.7, "default_value": -2.0}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def near_kink(name, kwargs):
    kinks = {"relu": [0.0, kwargs.get("threshold", 0.0), kwargs.get("max_value") or 0.0],
             "relu6": [0.0, 6.0], "hard_sigmoid": [-3.0, 3.0], "hard_silu": [-3.0, 3.0],
             "hard_shrink": [-kwargs.get("threshold", 0.5), kwargs.get("threshold", 0.5)],
             "soft_shrink": [-kwargs.get("threshold", 0.5), kwargs.get("threshold", 0.5)],
             "hard_tanh": [-1.0, 1.0], "sparse_plus": [-1.0, 1.0], "sparse_sigmoid": [-1.0, 1.0],
             "threshold": [kwargs.get("threshold", 0.0)]}
    return np.min([np.abs(X - k) for k in kinks.get(name, [np.inf])], axis=0) < 0.01


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_matches_keras_values_and_gradients(name, kwargs):
    keras = pytest.importorskip("keras")
    torch = pytest.importorskip("torch")
    x = X if name != "exponential" else np.clip(X, -5, 5)
    ours = activations.get(name)
    mine = ours(x, **kwargs)
    weights = rng.standard_normal(mine.shape)  # glu halves an axis
    mine_grad = grad(lambda t: ops.sum(ours(t, **kwargs) * weights))(x)
    t = torch.tensor(x, requires_grad=True)
    theirs = getattr(keras.activations, name)(t, **kwargs)
    (theirs_grad,) = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), t)
    np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32 (a 3e-8 relative error)
    tolerance = 1e-7 if name == "hard_sigmoid" else 1e-10
    np.testing.assert_allclose(mine_grad, theirs_grad.numpy(), rtol=tolerance, atol=1e-12)


@pytest.mark.parametrize("name, kwargs", CASES, ids=IDS)
def test_gradient_matches_central_differences(name, kwargs):
    x = np.where(near_kink(name, kwargs), X + 0.05, X)
    x = np.clip(x, -5, 5) if name == "exponential" else x
    gradcheck(lambda t: activations.get(name)(t, **kwargs), x)


def test_float32_stays_float32():
    x = X.astype(np.float32)
    for name, kwargs in CASES:
        assert activations.get(name)(x, **kwargs).dtype == np.float32, name


def test_plain_lists_and_integers_are_accepted():
    np.testing.assert_allclose(activations.softmax([0.0, np.log(3.0)]), [0.25, 0.75], rtol=1e-12)
    np.testing.assert_allclose(activations.softmax(np.array([[0, 0]])), [[0.5, 0.5]], rtol=1e-12)


def test_get_resolves_names_callables_and_none():
    assert activations.get(None) is activations.linear
    assert activations.get("swish") is activations.silu
    for name in ("celu", "glu", "hard_shrink", "sparsemax", "squareplus", "threshold"):
        assert activations.get(name) is getattr(activations, name)
        assert activations.serialize(getattr(activations, name)) == name
    assert activations.get(np.tanh) is np.tanh
    assert activations.serialize(activations.get("relu")) == "relu"
    with pytest.raises(ValueError, match="unknown activation 'rellu'. Did you mean 'relu'"):
        activations.get("rellu")


def test_tails_are_finite_with_finite_gradients():
    x = np.array([-1000.0, -50.0, 50.0, 1000.0])
    for name in ["elu", "selu", "softplus", "sigmoid", "silu", "mish", "log_sigmoid", "gelu"]:
        value = activations.get(name)(x)
        g = grad(lambda t, name=name: ops.sum(activations.get(name)(t)))(x)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(g)), name
