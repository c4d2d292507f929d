"""LayerNormalization over the last axis runs the fused `normalize_last` kernel in training; its
gradients must equal the composite's (what transforms use) and PyTorch's layer_norm."""

import numpy as np
import pytest

import nablanet as nk
from nablanet.autodiff import Tensor

torch = pytest.importorskip("torch")


def _layer(epsilon):
    layer = nk.layers.LayerNormalization(epsilon=epsilon, dtype="float64")
    layer.build((None, 5, 6))
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(size=6), rng.normal(size=6)])
    return layer


@pytest.mark.parametrize("epsilon", [1e-3, 0.5])
def test_fused_layer_norm_equals_torch_in_values_and_gradients(epsilon):
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(3, 5, 6)) * 3 + 1, rng.normal(size=(3, 5, 6))
    layer = _layer(epsilon)
    xt = Tensor(x, requires_grad=True)
    out = layer(xt)
    out.backward(g)
    gamma, beta = layer.get_weights()
    tx = torch.tensor(x, requires_grad=True)
    tg, tb = torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)
    ref = torch.nn.functional.layer_norm(tx, (6,), tg, tb, eps=epsilon)
    ref.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.gamma.grad, tg.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(layer.beta.grad, tb.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_layer_norm_second_derivatives_go_through_the_composite():
    layer = _layer(1e-3)
    x = np.random.default_rng(2).normal(size=(2, 5, 6))
    nk.gradcheck(lambda v: nk.grad(lambda u: nk.ops.sum(layer(u) ** 3))(v), x)


def test_a_layer_built_by_hand_is_not_built_again_on_its_first_call_as_keras():
    import keras

    for lib in (nk, keras):
        layer = lib.layers.LayerNormalization()
        layer.build((None, 5, 6))
        layer(np.ones((3, 5, 6), "float32"))
        assert len(layer.weights) == 2


@pytest.mark.parametrize("center, scale", [(True, False), (False, True), (False, False)])
def test_fused_layer_norm_without_scale_or_shift_equals_the_composite(center, scale):
    from nablanet.autodiff import transform_scope

    layer = nk.layers.LayerNormalization(center=center, scale=scale, dtype="float64")
    layer.build((None, 4, 6))
    rng = np.random.default_rng(3)
    layer.set_weights([rng.normal(size=6) for _ in layer.weights])
    x, g = rng.normal(size=(2, 4, 6)) * 2 - 1, rng.normal(size=(2, 4, 6))
    results = []
    for composite in (False, True):
        xt = Tensor(x, requires_grad=True)
        for weight in layer.weights:
            weight.grad = None
        if composite:
            with transform_scope():
                out = layer(xt)
        else:
            out = layer(xt)
        out.backward(g)
        results.append([out.numpy(), xt.grad] + [np.array(w.grad) for w in layer.weights])
    for fused, reference in zip(*results):
        np.testing.assert_allclose(fused, reference, rtol=1e-10, atol=1e-12)
