"""Every loss: values and gradients against Keras (torch backend), gradcheck, reductions."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import Tensor, grad, gradcheck, losses, ops

rng = np.random.default_rng(5)
N, C = 6, 4
PROBS = rng.dirichlet(np.ones(C), N)
ONE_HOT = np.eye(C)[rng.integers(0, C, N)]
LABELS = rng.integers(0, C, N)
BINARY = rng.integers(0, 2, (N, 1)).astype(float)
SIGNS = 2 * BINARY - 1
POSITIVE = rng.uniform(0.2, 3.0, (N, 3))
REAL = rng.standard_normal((N, 3))

# name, kwargs, y_true, y_pred (the differentiated input)
CASES = [
    ("mean_squared_error", {}, REAL, rng.standard_normal((N, 3))),
    ("mean_absolute_error", {}, REAL, REAL + rng.uniform(0.1, 1, (N, 3)) * rng.choice([-1, 1], (N, 3))),
    ("mean_absolute_percentage_error", {}, POSITIVE, POSITIVE * rng.uniform(1.1, 1.5, (N, 3))),
    ("mean_squared_logarithmic_error", {}, POSITIVE, rng.uniform(0.2, 3.0, (N, 3))),
    ("huber", {}, REAL, REAL + rng.choice([0.3, 2.5], (N, 3))),
    ("huber", {"delta": 0.5}, REAL, REAL + rng.choice([-0.2, 1.5], (N, 3))),
    ("log_cosh", {}, REAL, rng.standard_normal((N, 3)) * 3),
    ("cosine_similarity", {}, REAL, rng.standard_normal((N, 3))),
    ("cosine_similarity", {"axis": 0}, REAL, rng.standard_normal((N, 3))),
    ("binary_crossentropy", {}, BINARY, rng.uniform(0.05, 0.95, (N, 1))),
    ("binary_crossentropy", {"from_logits": True}, BINARY, rng.standard_normal((N, 1)) * 4),
    ("binary_crossentropy", {"label_smoothing": 0.1}, BINARY, rng.uniform(0.05, 0.95, (N, 1))),
    ("categorical_crossentropy", {}, ONE_HOT, PROBS),
    ("categorical_crossentropy", {"from_logits": True}, ONE_HOT, rng.standard_normal((N, C)) * 3),
    ("categorical_crossentropy", {"label_smoothing": 0.2}, ONE_HOT, PROBS),
    ("sparse_categorical_crossentropy", {}, LABELS, PROBS),
    ("sparse_categorical_crossentropy", {"from_logits": True}, LABELS, rng.standard_normal((N, C))),
    ("sparse_categorical_crossentropy", {"from_logits": True}, LABELS[:, None], rng.standard_normal((N, C))),
    ("kl_divergence", {}, PROBS, rng.dirichlet(np.ones(C), N)),
    ("poisson", {}, POSITIVE, rng.uniform(0.2, 3.0, (N, 3))),
    ("hinge", {}, BINARY, rng.standard_normal((N, 1)) * 0.7),
    ("hinge", {}, SIGNS, rng.standard_normal((N, 1)) * 0.7),
    ("squared_hinge", {}, BINARY, rng.standard_normal((N, 1)) * 0.7),
    ("categorical_hinge", {}, ONE_HOT, rng.standard_normal((N, C))),
]
IDS = [f"{name}-{i}" for i, (name, _, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_matches_keras_values_and_gradients(name, kwargs, y_true, y_pred, keras64):
    keras = keras64
    torch = pytest.importorskip("torch")
    fn = losses.get(name)
    mine = fn(y_true, y_pred, **kwargs)
    weights = rng.standard_normal(np.shape(mine))
    mine_grad = grad(lambda p: ops.sum(fn(y_true, p, **kwargs) * weights))(y_pred)
    t = torch.tensor(y_pred, requires_grad=True)
    theirs = getattr(keras.losses, name)(torch.tensor(y_true), t, **kwargs)
    (theirs_grad,) = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), t)
    # Keras's torch backend takes ops.mean through float32 even for float64 inputs (and log(2)
    # in log_cosh), so the reference itself carries about 1e-7 relative error; the float64
    # gradcheck below holds our side to 1e-6 of the exact derivative independently.
    np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(mine_grad, theirs_grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_gradient_matches_central_differences(name, kwargs, y_true, y_pred):
    gradcheck(lambda p: losses.get(name)(y_true, p, **kwargs), y_pred)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"])
def test_classes_weight_and_reduce_like_keras(reduction):
    keras = pytest.importorskip("keras")
    sample_weight = rng.uniform(0, 2, N)
    for cls, y_true, y_pred in [("BinaryCrossentropy", BINARY, rng.uniform(0.1, 0.9, (N, 1))),
                                ("BinaryCrossentropy", BINARY[:, 0], rng.uniform(0.1, 0.9, (N, 1))),
                                ("CategoricalCrossentropy", ONE_HOT, PROBS),
                                ("SparseCategoricalCrossentropy", LABELS, PROBS),
                                ("MeanSquaredError", REAL, rng.standard_normal((N, 3)))]:
        ours = getattr(losses, cls)(reduction=reduction)(y_true, y_pred, sample_weight=sample_weight)
        theirs = getattr(keras.losses, cls)(reduction=reduction)(y_true, y_pred, sample_weight=sample_weight)
        np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(theirs), rtol=1e-6, err_msg=cls)


def test_configs_match_keras():
    keras = pytest.importorskip("keras")
    for name, cls in losses.CLASSES.items():
        theirs = getattr(keras.losses, name)().get_config()
        ours = cls().get_config()
        assert {k: ours.get(k) for k in theirs if k not in ("dtype", "fn")} == {
            k: v for k, v in theirs.items() if k not in ("dtype", "fn")}, name


def test_ignore_class_gives_zero_loss_there():
    labels = np.array([1, -1, 2])
    values = losses.sparse_categorical_crossentropy(labels, PROBS[:3], ignore_class=-1)
    assert values[1] == 0.0 and values[0] > 0


def test_bad_labels_are_explained():
    with pytest.raises(ValueError, match="look like integer class indices: use sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(LABELS, PROBS)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\), got 7"):
        losses.sparse_categorical_crossentropy(np.array([0, 7, 1, 1, 1, 1]), PROBS)
    with pytest.raises(ValueError, match=r"labels of shape \(5,\) do not match predictions of shape \(6, 4\)"):
        losses.sparse_categorical_crossentropy(LABELS[:5], PROBS)
    with pytest.raises(ValueError, match="unknown loss 'mean_square_error'. Did you mean 'mean_squared_error'"):
        losses.get("mean_square_error")
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="avg")


def test_float32_predictions_give_float32_losses():
    p = PROBS.astype(np.float32)
    assert losses.categorical_crossentropy(ONE_HOT, p).dtype == np.float32
    assert losses.sparse_categorical_crossentropy(LABELS, p).dtype == np.float32
    assert losses.binary_crossentropy(BINARY, p[:, :1]).dtype == np.float32


def test_softmax_outputs_take_the_fused_cross_entropy_from_their_logits():
    from nablanet import activations
    from nablanet.autodiff import toposort

    rng = np.random.default_rng(3)
    z, labels = rng.standard_normal((6, 5)) * 3, rng.integers(0, 5, 6)
    onehot = np.eye(5)[labels] * 0.9 + 0.02
    for loss, y, name in ((losses.sparse_categorical_crossentropy, labels, "sparse_softmax_cross_entropy"),
                          (losses.categorical_crossentropy, onehot, "softmax_cross_entropy")):
        fused_z = Tensor(z, requires_grad=True)
        fused = loss(y, activations.softmax(fused_z))
        assert name in {t.node.op.name for t in toposort(fused) if t.node is not None}
        composed_z = Tensor(z, requires_grad=True)
        composed = loss(y, composed_z, from_logits=True)
        np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12)
        ops.sum(fused * np.arange(6.0)).backward()
        ops.sum(composed * np.arange(6.0)).backward()
        np.testing.assert_allclose(fused_z.grad, composed_z.grad, rtol=1e-10, atol=1e-14)
        with nn.no_grad():  # nothing recorded: the probabilities' own path, the same value
            np.testing.assert_allclose(loss(y, activations.softmax(Tensor(z))).numpy(), composed.numpy(), rtol=1e-7)


def test_fused_cross_entropy_reuses_the_recorded_softmax():
    """With `softmax=` (the probabilities and logsumexp the softmax computed), the fused ops give
    what they compute from the logits alone, values and gradients."""
    from nablanet.autodiff.ops.crossentropy import softmax_cross_entropy_op, sparse_softmax_cross_entropy_op

    rng = np.random.default_rng(5)
    z, labels = rng.standard_normal((4, 6)) * 5, rng.integers(0, 6, 4)
    lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
    given = (np.exp(z - lse), lse)
    for op, args in ((sparse_softmax_cross_entropy_op, {"labels": labels}), (softmax_cross_entropy_op, {})):
        extra = () if args else (np.eye(6)[labels],)
        results = []
        for kwargs in (args, {**args, "softmax": given}):
            zt = Tensor(z, requires_grad=True)
            out = op(zt, *extra, **kwargs)
            ops.sum(out * np.arange(1.0, 5.0)).backward()
            results.append((out.numpy(), zt.grad))
        np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, atol=1e-15)


def test_fused_cross_entropy_on_one_sample():
    """A single 1-D softmax output: the fused ops return a 0-d array (their saved state needs one)."""
    from nablanet import activations

    z = np.array([1.0, 2.0, 0.5])
    p = np.exp(z) / np.exp(z).sum()
    for loss, y in ((losses.categorical_crossentropy, np.array([0.0, 1.0, 0.0])),
                    (losses.sparse_categorical_crossentropy, np.array(1))):
        zt = Tensor(z, requires_grad=True)
        value = loss(y, activations.softmax(zt))
        value.backward()
        np.testing.assert_allclose(value.numpy(), -np.log(p[1]), rtol=1e-12)
        np.testing.assert_allclose(zt.grad, p - np.eye(3)[1], rtol=1e-12)


def test_fused_cross_entropy_stays_out_of_calculus_transforms():
    from nablanet import activations

    z, labels = np.random.default_rng(4).standard_normal((3, 4)), np.array([0, 2, 3])
    h = nn.hessian(lambda v: ops.sum(losses.sparse_categorical_crossentropy(labels, activations.softmax(v))))(z)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    block = np.diag(p[1]) - np.outer(p[1], p[1])  # the Hessian of -log softmax[label] in row 1
    np.testing.assert_allclose(h[1, :, 1, :], block, rtol=1e-6, atol=1e-8)
