"""nablanet.random: Keras's names, the shared generator, seeds, and gradients through draws."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers, ops, random


def test_seeding_rules():
    nn.utils.set_random_seed(3)
    a = random.normal((4, 2)).numpy()
    nn.utils.set_random_seed(3)
    np.testing.assert_array_equal(random.normal((4, 2)).numpy(), a)
    assert not np.array_equal(random.normal((4, 2)).numpy(), a)  # the shared stream moved on
    np.testing.assert_array_equal(random.normal(3, seed=5).numpy(), random.normal(3, seed=5).numpy())
    stream, again = random.SeedGenerator(1), random.SeedGenerator(1)
    first = random.uniform((3,), seed=stream).numpy()
    assert not np.array_equal(random.uniform((3,), seed=stream).numpy(), first)
    np.testing.assert_array_equal(random.uniform((3,), seed=again).numpy(), first)


def test_distributions_shapes_and_dtypes():
    draws = random.normal((20_000,), mean=2.0, stddev=3.0, seed=0).numpy()
    assert draws.dtype == np.float32 and abs(draws.mean() - 2) < 0.1 and abs(draws.std() - 3) < 0.1
    u = random.uniform((1000,), -1, 1, dtype="float64", seed=0).numpy()
    assert u.dtype == np.float64 and u.min() >= -1 and u.max() < 1
    t = random.truncated_normal((10_000,), stddev=0.5, seed=0).numpy()
    assert np.abs(t).max() <= 1.0 and abs(t.std() - 0.5 * 0.8796) < 0.02  # a 2-sigma cut narrows it
    i = random.randint((500,), 3, 7, seed=0).numpy()
    assert i.dtype == np.int32 and set(np.unique(i)) == {3, 4, 5, 6}
    x = np.arange(10)
    np.testing.assert_array_equal(np.sort(random.shuffle(x, seed=0).numpy()), x)
    w = nn.Tensor(np.arange(5.0), requires_grad=True)
    (random.shuffle(w, seed=1) * np.arange(5.0)).sum().backward()  # each entry's weight follows it
    np.testing.assert_array_equal(w.grad[random.shuffle(np.arange(5), seed=1).numpy()], np.arange(5.0))
    assert random.SeedGenerator.from_config(random.SeedGenerator(3, name="s").get_config()).seed == 3


def test_dropout_scales_the_kept_entries_and_passes_their_gradient():
    x = nn.Tensor(np.ones((200, 50)), requires_grad=True)
    y = random.dropout(x, 0.25, seed=0)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.75)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75)


def test_reparameterization_gradient_matches_finite_differences():
    eps = random.normal((3, 2), dtype="float64", seed=0)  # a fixed draw

    def sample(mean, log_var):
        return ops.sum(ops.square(mean + ops.exp(0.5 * log_var) * eps))

    rng = np.random.default_rng(0)
    assert nn.gradcheck(sample, rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))


class Split(layers.Layer):  # a user's layer with no compute_output_shape: shapes come from a probe
    def call(self, x):
        return [x[:, :2], ops.concatenate([x, x], axis=1)]


def test_user_layers_get_their_output_shapes_by_probing():
    inputs = nn.Input((None, 3))
    first, second = Split()(inputs)
    assert first.shape == (None, 2, 3) and second.shape == (None, None, 3)
    model = nn.Model(inputs, [first, second])
    out = model.predict(np.ones((4, 5, 3), dtype="float32"), verbose=0)
    assert out[0].shape == (4, 2, 3) and out[1].shape == (4, 10, 3)


@pytest.mark.parametrize("call, message", [
    (lambda: random.normal((2, -1)), "shape must be non-negative"),
    (lambda: random.normal((2,), seed=-3), "seed must be"),
    (lambda: random.SeedGenerator("abc"), "seed must be"),
    (lambda: random.randint((2,), 5, 5), "maxval"),
    (lambda: random.dropout(np.ones(3), 1.0), "rate"),
    (lambda: random.uniform((2,), dtype="int32"), "floating-point"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


class NeedsTraining(layers.Layer):  # `training` without a default, and a shape that depends on it
    def call(self, x, training):
        return x[:, :2] if training else x


class Lookup(layers.Layer):  # integer inputs, dict outputs, and a draw from the shared generator
    accepts_integer_inputs = True

    def call(self, ids):
        noise = random.normal((1,))
        return {"ids": ops.take(np.arange(10.0), ids) + 0 * noise, "both": ops.concatenate([ids, ids], axis=1)}


def test_probing_keeps_training_dtypes_structure_and_randomness():
    inputs = nn.Input((3,))
    assert NeedsTraining()(inputs, training=True).shape == (None, 2)
    assert NeedsTraining()(inputs).shape == (None, 3)
    nn.utils.set_random_seed(5)
    expected = random.normal((4,)).numpy()
    nn.utils.set_random_seed(5)
    out = Lookup()(nn.Input((4,), dtype="int32"))
    np.testing.assert_array_equal(random.normal((4,)).numpy(), expected)  # the probe drew nothing
    assert set(out) == {"ids", "both"} and out["ids"].shape == (None, 4) and out["both"].shape == (None, 8)
    assert out["both"].dtype == np.int32


# -- beta, binomial, categorical, gamma: Keras's signatures, seeds and moments ----------------------

N = 200_000  # draws per moment check: the sample mean's standard error is then about 0.2% of sigma


@pytest.mark.parametrize("draw, mean, var", [
    (lambda seed: random.gamma((N,), 2.5, seed=seed), 2.5, 2.5),
    (lambda seed: random.gamma((N,), 0.5, dtype="float64", seed=seed), 0.5, 0.5),
    (lambda seed: random.beta((N,), 2.0, 3.0, seed=seed), 2 / 5, 2 * 3 / (5**2 * 6)),
    (lambda seed: random.beta((N,), 0.5, 0.5, seed=seed), 0.5, 0.25 / 2),
    (lambda seed: random.binomial((N,), 10, 0.3, seed=seed), 3.0, 10 * 0.3 * 0.7),
    (lambda seed: random.binomial((N,), 1, 0.9, seed=seed), 0.9, 0.09),
])
def test_distributions_have_their_moments(draw, mean, var):
    x = draw(1).numpy().astype(np.float64)
    stderr = np.sqrt(var / N)
    assert abs(x.mean() - mean) < 5 * stderr
    assert abs(x.var() - var) < 0.02 * var


def test_categorical_draws_classes_with_softmax_probabilities():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    with np.errstate(divide="ignore"):
        logits = np.log(probs)
    draws = random.categorical(logits + 3.0, 50_000, seed=2).numpy()  # shifting logits changes nothing
    assert draws.shape == (2, 50_000) and draws.dtype == np.int32
    for row, p in zip(draws, probs):
        freq = np.bincount(row, minlength=3) / row.size
        np.testing.assert_allclose(freq, p, atol=5 * np.sqrt(0.25 / row.size))
    assert random.categorical(logits, 3, dtype="int64", seed=0).dtype == np.int64


def test_new_draws_follow_keras_seed_semantics_and_dtypes():
    import keras

    for name, args in [("gamma", ((3,), 2.0)), ("beta", ((3,), 2.0, 3.0)), ("binomial", ((3,), 5, 0.5)),
                       ("categorical", (np.zeros((2, 3)), 4))]:
        ours, theirs = getattr(random, name), getattr(keras.random, name)
        assert np.array_equal(ours(*args, seed=7).numpy(), ours(*args, seed=7).numpy()), name
        generator = random.SeedGenerator(3)
        assert not np.array_equal(ours(*args, seed=generator).numpy(), ours(*args, seed=generator).numpy()), name
        assert str(ours(*args, seed=1).dtype) == keras.ops.dtype(theirs(*args, seed=1)), name
    assert random.gamma((2, 3), np.array([1.0, 2.0, 3.0]), seed=0).shape == (2, 3)  # alpha broadcasts


@pytest.mark.parametrize("call, message", [
    (lambda: random.gamma((2,), -1.0), r"gamma: alpha must be positive"),
    (lambda: random.beta((2,), 1.0, 0.0), r"beta: alpha and beta must be positive"),
    (lambda: random.binomial((2,), 2.5, 0.5), r"binomial: counts must be non-negative integers"),
    (lambda: random.binomial((2,), 3, 1.5), r"binomial: .*probabilities in \[0, 1\]"),
    (lambda: random.categorical(np.zeros(3), 2), r"categorical: logits must be 2-D .* got shape \(3,\)"),
    (lambda: random.categorical(np.zeros((1, 3)), 2, dtype="float32"), "categorical: dtype must be an integer"),
    (lambda: random.gamma((2,), 1.0, dtype="int32"), "gamma: dtype must be a floating-point type, got int32"),
])
def test_new_draws_name_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
