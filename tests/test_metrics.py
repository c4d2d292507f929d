"""Every metric against Keras over several weighted batches, and compile's 'accuracy' rule."""

import numpy as np
import pytest

from nablanet import metrics

rng = np.random.default_rng(9)
N, C = 20, 5
BATCHES = 3


def batch(kind):
    if kind == "binary":
        return rng.integers(0, 2, (N, 1)).astype(float), rng.uniform(0, 1, (N, 1))
    if kind == "categorical":
        return np.eye(C)[rng.integers(0, C, N)], rng.dirichlet(np.ones(C), N)
    if kind == "sparse":
        return rng.integers(0, C, (N, 1)).astype(float), rng.dirichlet(np.ones(C), N)
    if kind == "multilabel":
        return rng.integers(0, 2, (N, 3)).astype(float), rng.uniform(0, 1, (N, 3))
    return rng.standard_normal((N, 3)), rng.standard_normal((N, 3))


CASES = [
    ("BinaryAccuracy", {}, "binary"), ("BinaryAccuracy", {"threshold": 0.3}, "binary"),
    ("CategoricalAccuracy", {}, "categorical"), ("SparseCategoricalAccuracy", {}, "sparse"),
    ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse"),
    ("MeanSquaredError", {}, "regression"), ("MeanAbsoluteError", {}, "regression"),
    ("RootMeanSquaredError", {}, "regression"), ("CosineSimilarity", {}, "regression"),
    ("BinaryCrossentropy", {}, "binary"), ("CategoricalCrossentropy", {}, "categorical"),
    ("Precision", {}, "binary"), ("Precision", {"thresholds": 0.3}, "binary"),
    ("Recall", {}, "binary"), ("Recall", {"class_id": 1}, "multilabel"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("AUC", {}, "binary"), ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"num_thresholds": 50, "summation_method": "minoring"}, "binary"),
    ("AUC", {"multi_label": True}, "multilabel"),
]


@pytest.mark.parametrize("name, kwargs, kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_keras_over_weighted_batches(name, kwargs, kind, weighted):
    keras = pytest.importorskip("keras")
    ours, theirs = getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for _ in range(BATCHES):
        y_true, y_pred = batch(kind)
        weight = rng.uniform(0, 2, N) if weighted else None
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
    want = keras.ops.convert_to_numpy(theirs.result())
    np.testing.assert_allclose(ours.result(), want, rtol=2e-6, atol=2e-7)
    ours.reset_state()
    assert float(np.asarray(ours.result())) == 0.0


def test_accuracy_resolves_from_shapes_and_keeps_its_name():
    assert isinstance(metrics.resolve("accuracy", (8,), (8, 1)), metrics.BinaryAccuracy)
    assert isinstance(metrics.resolve("acc", (8,), (8, 10)), metrics.SparseCategoricalAccuracy)
    assert isinstance(metrics.resolve("accuracy", (8, 1), (8, 10)), metrics.SparseCategoricalAccuracy)
    m = metrics.resolve("accuracy", (8, 10), (8, 10))
    assert isinstance(m, metrics.CategoricalAccuracy) and m.name == "accuracy"
    mse = metrics.resolve("mse", (8,), (8, 1))
    assert isinstance(mse, metrics.MeanMetricWrapper) and mse.name == "mse"
    assert metrics.resolve("auc", (8,), (8, 1)).name == "auc"


def test_unknown_metric_names_the_close_ones():
    with pytest.raises(ValueError, match="unknown metric 'precison'. Did you mean 'precision'"):
        metrics.get("precison")
