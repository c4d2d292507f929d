"""Composite functions: nablanet's gradients equal torch.autograd.grad's, in float64.

Each case writes one function twice, with nablanet ops and with torch, on the same inputs.
"""

import numpy as np
import pytest

from nablanet import grad, hvp, ops

torch = pytest.importorskip("torch")
F = pytest.importorskip("torch.nn.functional")

rng = np.random.default_rng(7)


def mlp():
    def ours(x, w1, b1, w2):
        return ops.mean(ops.logsumexp(ops.tanh(x @ w1 + b1) @ w2, axis=1))

    def ref(x, w1, b1, w2):
        return torch.logsumexp(torch.tanh(x @ w1 + b1) @ w2, dim=1).mean()

    shapes = [(5, 4), (4, 6), (6,), (6, 3)]
    return ours, ref, shapes


def smooth_activations():
    def ours(x, y):
        return ops.sum(ops.softplus(x) * ops.sigmoid(y) + ops.log1p(ops.exp(-x * x)) / (1 + y**2))

    def ref(x, y):
        return (F.softplus(x) * torch.sigmoid(y) + torch.log1p(torch.exp(-x * x)) / (1 + y**2)).sum()

    return ours, ref, [(3, 4), (3, 4)]


def kinks_away_from_ties():
    def ours(x, y):
        z = ops.maximum(x, y) - ops.minimum(x, 0.2 * y) + ops.relu(x) * ops.abs(y)
        return ops.sum(ops.where(x > 0, ops.clip(z, -1.0, 1.5), z**2))

    def ref(x, y):
        z = torch.maximum(x, y) - torch.minimum(x, 0.2 * y) + torch.relu(x) * torch.abs(y)
        return torch.where(x > 0, torch.clamp(z, -1.0, 1.5), z**2).sum()

    return ours, ref, [(4, 5), (4, 5)]


def reductions():
    def ours(x):
        return ops.sum(ops.prod(x, axis=0)) + ops.sum(ops.var(x, axis=1)) + ops.max(x) * ops.mean(ops.min(x, axis=1))

    def ref(x):
        return x.prod(dim=0).sum() + x.var(dim=1, unbiased=False).sum() + x.amax() * x.amin(dim=1).mean()

    return ours, ref, [(3, 5)]


def shapes_and_indexing():
    index = np.array([2, 0, 2, 1])

    def ours(x, y):
        z = ops.concatenate([ops.transpose(x), ops.reshape(y, (4, 3))], axis=0)
        p = ops.pad(z, ((1, 1), (0, 2)))
        return ops.sum(p[index] ** 3) + ops.sum(ops.stack([x[0], x[1, ::-1]]) * x[:2])

    def ref(x, y):
        z = torch.cat([x.T, y.reshape(4, 3)], dim=0)
        p = F.pad(z, (0, 2, 1, 1))
        return (p[torch.as_tensor(index)] ** 3).sum() + (torch.stack([x[0], x[1].flip(0)]) * x[:2]).sum()

    return ours, ref, [(3, 5), (2, 6)]


def batched_matmul_and_power():
    def ours(a, b, c):
        return ops.sum(ops.sqrt((a @ b) ** 2 + 1.0) * ops.exp(c) ** 1.5)

    def ref(a, b, c):
        return (torch.sqrt((a @ b) ** 2 + 1.0) * torch.exp(c) ** 1.5).sum()

    return ours, ref, [(2, 3, 4), (4, 5), (3, 1)]


CASES = [mlp, smooth_activations, kinks_away_from_ties, reductions, shapes_and_indexing,
         batched_matmul_and_power]


def draw(shapes):
    return [rng.uniform(0.3, 1.2, s) * rng.choice([-1.0, 1.0], s) for s in shapes]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_gradients_equal_torch_autograd(case):
    ours, ref, shapes = case()
    xs = draw(shapes)
    argnums = tuple(range(len(xs)))
    mine = grad(ours, argnums=argnums)(*xs)
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    theirs = torch.autograd.grad(ref(*ts), ts)
    assert float(ours(*xs)) == pytest.approx(ref(*ts).item(), rel=1e-12)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_hessian_vector_products_equal_torch_double_backward(case):
    ours, ref, shapes = case()
    xs = draw(shapes)
    v = rng.standard_normal(shapes[0])
    mine = hvp(lambda x: ours(x, *xs[1:]), xs[0], v)
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    (g,) = torch.autograd.grad(ref(*ts), ts[0], create_graph=True)
    (theirs,) = torch.autograd.grad((g * torch.as_tensor(v)).sum(), ts[0])
    np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)
