"""Anomaly scoring and detector metrics, against scikit-learn on random inputs."""

import numpy as np
import pytest

from nablanet import anomaly

metrics = pytest.importorskip("sklearn.metrics")


def random_problem(seed, n=200, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = (0, 1)  # both classes, always
    scores = rng.normal(size=n) + 0.8 * y
    if ties:  # coarse scores, many equal: the tie rules must agree too
        scores = np.round(scores, 1)
    return y, scores


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_ranking_metrics_equal_scikit_learn(seed, ties):
    y, scores = random_problem(seed, ties=ties)
    assert anomaly.roc_auc(y, scores) == pytest.approx(metrics.roc_auc_score(y, scores), abs=1e-12)
    assert anomaly.average_precision(y, scores) == pytest.approx(
        metrics.average_precision_score(y, scores), abs=1e-12)
    fpr, tpr, _ = anomaly.roc_curve(y, scores)
    sk_fpr, sk_tpr, _ = metrics.roc_curve(y, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)


@pytest.mark.parametrize("seed", range(6))
def test_threshold_metrics_equal_scikit_learn(seed):
    y, scores = random_problem(seed, ties=seed % 2 == 0)
    for threshold in np.quantile(scores, [0.1, 0.5, 0.9]):
        flagged = (scores >= threshold).astype(int)
        assert anomaly.precision_at_threshold(y, scores, threshold) == pytest.approx(
            metrics.precision_score(y, flagged, zero_division=0))
        assert anomaly.recall_at_threshold(y, scores, threshold) == pytest.approx(metrics.recall_score(y, flagged))
        assert anomaly.f1_at_threshold(y, scores, threshold) == pytest.approx(metrics.f1_score(y, flagged))


def test_best_f1_threshold_is_the_best_of_all_cut_points():
    y, scores = random_problem(3)
    threshold, f1 = anomaly.best_f1_threshold(y, scores)
    every = [metrics.f1_score(y, (scores >= t).astype(int)) for t in np.unique(scores)]
    assert f1 == pytest.approx(max(every))
    assert anomaly.f1_at_threshold(y, scores, threshold) == pytest.approx(f1)


def test_percentile_threshold_flags_the_expected_share_of_normal_data():
    normal = np.random.default_rng(0).exponential(size=10_000)
    threshold = anomaly.percentile_threshold(normal, 95)
    assert np.mean(normal >= threshold) == pytest.approx(0.05, abs=1e-3)


def test_reconstruction_error_reduces_every_axis_but_the_batch():
    rng = np.random.default_rng(1)
    x, x_hat = rng.normal(size=(5, 4, 3, 2)), rng.normal(size=(5, 4, 3, 2))
    np.testing.assert_allclose(anomaly.reconstruction_error(x, x_hat), ((x - x_hat) ** 2).mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(anomaly.reconstruction_error(x, x_hat, "mae"), np.abs(x - x_hat).mean(axis=(1, 2, 3)))


def test_a_model_output_tensor_is_accepted():
    import nablanet as nn

    x = np.ones((3, 4), dtype=np.float32)
    errors = anomaly.reconstruction_error(x, nn.Tensor(np.zeros((3, 4), dtype=np.float32)))
    np.testing.assert_allclose(errors, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("call, message", [
    (lambda: anomaly.reconstruction_error(np.ones((2, 3)), np.ones((2, 4))), "shape"),
    (lambda: anomaly.reconstruction_error(np.ones((2, 3)), np.ones((2, 3)), "rmse"), "'mse' or 'mae'"),
    (lambda: anomaly.roc_auc([0, 0, 0], [0.1, 0.2, 0.3]), "both normal"),
    (lambda: anomaly.roc_auc([0, 2, 1], [0.1, 0.2, 0.3]), "0 \\(normal\\) and 1"),
    (lambda: anomaly.roc_auc([0, 1], [0.1, 0.2, 0.3]), "one score per label"),
    (lambda: anomaly.roc_auc([0, 1], [0.1, np.nan]), "NaN"),
    (lambda: anomaly.average_precision([1, 0, 0, 1], [np.inf, np.inf, 1, 0.5]), "infinity"),
    (lambda: anomaly.percentile_threshold([1.0, 2.0], 150), "percentile"),
    (lambda: anomaly.percentile_threshold([], 95), "at least one"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
