"""The specialized losses (focal, generalized cross-entropy, CTC, Dice, Tversky, Circle): values and
gradients against Keras (torch backend), float64 gradchecks, the classes' reductions, sample weights
and masks, configs, and bad input."""

import warnings

import numpy as np
import pytest

from nablanet import Tensor, grad, gradcheck, losses, ops

rng = np.random.default_rng(11)
N, C = 6, 4
PROBS = rng.dirichlet(np.ones(C), N)
ONE_HOT = np.eye(C)[rng.integers(0, C, N)]
LABELS = rng.integers(0, C, N)
BINARY = rng.integers(0, 2, (N, 3)).astype(float)
EMBEDDINGS = rng.standard_normal((N, 5))
EMBEDDINGS /= np.linalg.norm(EMBEDDINGS, axis=1, keepdims=True)
SEQUENCES = np.array([[1, 2, 0], [3, 3, 1], [2, 0, 0], [1, 1, 0], [3, 2, 1], [2, 2, 2]])

# name, kwargs, y_true, y_pred (the differentiated input); Keras computes ctc and circle in float32
CASES = [
    ("binary_focal_crossentropy", {}, BINARY, rng.uniform(0.05, 0.95, (N, 3))),
    ("binary_focal_crossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5, "from_logits": True,
                                   "label_smoothing": 0.1}, BINARY, rng.standard_normal((N, 3))),
    ("binary_focal_crossentropy", {"gamma": 3.0}, BINARY[:, :1], rng.uniform(0.05, 0.95, (N, 1))),
    ("categorical_focal_crossentropy", {}, ONE_HOT, PROBS),
    ("categorical_focal_crossentropy", {"alpha": [0.1, 0.2, 0.3, 0.4], "from_logits": True, "label_smoothing": 0.1},
     ONE_HOT, rng.standard_normal((N, C))),
    ("categorical_generalized_cross_entropy", {"q": 0.7}, LABELS, PROBS),
    ("categorical_generalized_cross_entropy", {"q": 0.2}, LABELS.astype(float), PROBS),
    ("ctc", {}, SEQUENCES, rng.standard_normal((N, 7, 4))),
    ("dice", {}, BINARY, rng.uniform(0, 1, (N, 3))),
    ("dice", {"axis": 1}, BINARY, rng.uniform(0, 1, (N, 3))),
    ("tversky", {"alpha": 0.3, "beta": 0.7}, BINARY, rng.uniform(0, 1, (N, 3))),
    ("tversky", {"axis": (1,)}, BINARY, rng.uniform(0, 1, (N, 3))),
    ("circle", {}, np.array([0, 0, 1, 1, 2, 2]), EMBEDDINGS),
    # shorter than unit length: each sample's distance to itself is then off the kink of max(distance, 0)
    ("circle", {"remove_diagonal": False, "gamma": 10, "margin": 0.25}, np.array([0, 1, 1, 1, 2, 0]),
     0.9 * EMBEDDINGS),
    ("circle", {"ref_labels": np.array([0, 1, 2, 1]), "ref_embeddings": EMBEDDINGS[[1, 3, 5, 0]] * 0.8, "gamma": 20},
     np.array([0, 0, 1, 1, 2, 2]), EMBEDDINGS),
]
IDS = [f"{name}-{i}" for i, (name, _, _, _) in enumerate(CASES)]
FLOAT32_IN_KERAS = ("ctc", "circle")


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_matches_keras_values_and_gradients(name, kwargs, y_true, y_pred, keras64):
    torch = pytest.importorskip("torch")
    fn = getattr(losses, name)
    assert losses.get(name) is fn
    mine = np.asarray(fn(y_true, y_pred, **kwargs))
    weights = rng.standard_normal(np.shape(mine))
    mine_grad = grad(lambda p: ops.sum(fn(y_true, p, **kwargs) * weights))(y_pred)
    t = torch.tensor(y_pred, requires_grad=True)
    theirs = getattr(keras64.losses, name)(torch.tensor(y_true), t, **kwargs)
    (theirs_grad,) = torch.autograd.grad((theirs * torch.tensor(weights)).sum(), t)
    theirs, theirs_grad = theirs.detach().numpy(), theirs_grad.numpy()
    # Keras's torch backend takes means (and ctc and circle entirely) through float32
    rtol = 1e-5 if name in FLOAT32_IN_KERAS else 1e-6
    np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(mine_grad, theirs_grad, rtol=rtol, atol=rtol * np.abs(theirs_grad).max())


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES, ids=IDS)
def test_gradient_matches_central_differences(name, kwargs, y_true, y_pred):
    gradcheck(lambda p: getattr(losses, name)(y_true, p, **kwargs), y_pred)


# class name, kwargs, y_true, y_pred
CLASS_CASES = [
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "gamma": 1.0}, BINARY, rng.uniform(0.1, 0.9, (N, 3))),
    ("BinaryFocalCrossentropy", {"from_logits": True}, BINARY[:, 0], rng.standard_normal((N, 1))),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5}, ONE_HOT, PROBS),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.3}, LABELS, PROBS),
    ("CTC", {}, SEQUENCES, rng.standard_normal((N, 5, 4))),
    ("Dice", {"axis": (1,)}, BINARY, rng.uniform(0, 1, (N, 3))),
    ("Dice", {}, BINARY, rng.uniform(0, 1, (N, 3))),
    ("Tversky", {"alpha": 0.8, "beta": 0.2, "axis": 1}, BINARY, rng.uniform(0, 1, (N, 3))),
    ("Circle", {"gamma": 8.0}, np.array([0, 0, 1, 1, 2, 2]), EMBEDDINGS),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight", "none"])
def test_classes_weight_and_reduce_like_keras(reduction, keras64):
    sample_weight = rng.uniform(0, 2, N)
    for cls, kwargs, y_true, y_pred in CLASS_CASES:
        for weight in (None, sample_weight):
            ours = getattr(losses, cls)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=weight)
            theirs = getattr(keras64.losses, cls)(reduction=reduction, **kwargs)(y_true, y_pred, sample_weight=weight)
            rtol = 1e-5 if cls in ("CTC", "Circle") else 1e-6
            np.testing.assert_allclose(np.asarray(ours), keras64.ops.convert_to_numpy(theirs), rtol=rtol, atol=1e-7,
                                       err_msg=f"{cls} {kwargs} weighted={weight is not None}")


def test_circle_averages_over_the_samples_with_pairs_as_keras(keras64):
    """Samples whose label no other sample shares have no positive pair and a zero loss; the loss's
    own mask leaves them out of the mean."""
    labels = np.array([0, 0, 1, 1, 2, 3])
    values = np.asarray(losses.circle(labels, EMBEDDINGS))
    assert (values[4:] == 0).all() and (values[:4] > 0).all()
    mean = losses.Circle()(labels, EMBEDDINGS)
    np.testing.assert_allclose(float(mean), values[:4].mean(), rtol=1e-12)
    theirs = keras64.losses.Circle()(labels, EMBEDDINGS)
    np.testing.assert_allclose(float(mean), float(theirs), rtol=1e-5)
    gradcheck(lambda p: losses.Circle()(labels, p), EMBEDDINGS)


def test_a_masked_prediction_counts_only_its_unmasked_steps_as_keras(keras64):
    torch = pytest.importorskip("torch")
    y_true = rng.integers(0, 2, (3, 4, 1)).astype(float)
    y_pred = rng.uniform(0.1, 0.9, (3, 4, 1))
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], bool)
    ours_pred = Tensor(y_pred)
    ours_pred._keras_mask = mask
    theirs_pred = torch.tensor(y_pred)
    theirs_pred._keras_mask = torch.tensor(mask)
    for reduction in ("sum_over_batch_size", "sum"):
        for cls in ("BinaryFocalCrossentropy", "Dice"):
            kwargs = {"axis": -1} if cls == "Dice" else {}
            ours = getattr(losses, cls)(reduction=reduction, **kwargs)(y_true, ours_pred)
            theirs = getattr(keras64.losses, cls)(reduction=reduction, **kwargs)(torch.tensor(y_true), theirs_pred)
            np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6, err_msg=f"{cls} {reduction}")


def test_ctc_trains_a_model_and_its_loss_is_keras_s():
    """In float32: a Keras layer made under floatx float64 would fix Keras's global dtype policy."""
    import nablanet as nb

    keras = pytest.importorskip("keras")
    x = rng.standard_normal((8, 6, 3)).astype(np.float32)
    y = rng.integers(1, 4, (8, 2))
    y[0, 1] = 0  # a shorter label, padded with the blank
    model = nb.Sequential([nb.layers.Input((6, 3)), nb.layers.Dense(4)])
    model.compile(optimizer="adam", loss=losses.CTC())
    theirs = keras.Sequential([keras.layers.Input((6, 3)), keras.layers.Dense(4)])
    theirs.compile(optimizer="adam", loss=keras.losses.CTC())
    theirs.set_weights(model.get_weights())
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-5)
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0).history["loss"]
    assert history[-1] < history[0]


def test_configs_and_positional_arguments_match_keras():
    keras = pytest.importorskip("keras")
    samples = {"Dice": ("sum", "d", (1,)), "Tversky": (0.2, 0.8, "sum", "t", 1), "Circle": (10.0, 0.3, False, "sum"),
               "BinaryFocalCrossentropy": (True, 0.4, 3.0, True, 0.1, -1, "sum", "bf"),
               "CategoricalFocalCrossentropy": (0.4, 3.0, True, 0.1, -1, "sum", "cf"),
               "CategoricalGeneralizedCrossEntropy": (0.3, "sum", "g"), "CTC": ("sum", "c")}
    for name, args in samples.items():
        for given in ((), args):
            ours, theirs = getattr(losses, name)(*given), getattr(keras.losses, name)(*given)
            config = ours.get_config()
            assert config == theirs.get_config(), name
            again = type(ours).from_config(config)
            assert again.get_config() == config and type(losses.deserialize(losses.serialize(ours))) is type(ours)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"ctc: expected y_true of shape \(batch_size, max_length\).*got shape \(6,\)"):
        losses.ctc(LABELS, rng.standard_normal((N, 5, 4)))
    with pytest.raises(ValueError, match=r"ctc: expected logits y_pred of shape .*got shape \(6, 4\)"):
        losses.ctc(SEQUENCES, PROBS)
    with pytest.raises(ValueError, match=r"CategoricalGeneralizedCrossEntropy: expected q in \(0, 1\), got 1.5"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match=r"expected integer labels of shape \(6,\) .* got \(6, 4\)"):
        losses.categorical_generalized_cross_entropy(ONE_HOT, PROBS, q=0.5)
    with pytest.raises(ValueError, match="binary_focal_crossentropy: expected an integer axis, got axis=True"):
        losses.binary_focal_crossentropy(BINARY, PROBS[:, :3], axis=True)
    with pytest.raises(ValueError, match=r"circle: expected embeddings y_pred of shape \(batch_size, dim\)"):
        losses.circle(LABELS[:4], EMBEDDINGS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses.categorical_focal_crossentropy(BINARY[:, :1], PROBS[:, :1])
    assert any(issubclass(w.category, SyntaxWarning) and "binary_crossentropy" in str(w.message) for w in caught)


@pytest.mark.parametrize("name, kwargs, y_true, y_pred", CASES[::2], ids=IDS[::2])
def test_float32_predictions_give_float32_losses(name, kwargs, y_true, y_pred):
    kwargs = {k: (v.astype(np.float32) if k == "ref_embeddings" else v) for k, v in kwargs.items()}
    assert getattr(losses, name)(y_true, y_pred.astype(np.float32), **kwargs).dtype == np.float32
