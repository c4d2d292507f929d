"""The confusion-count, at-target, IoU, F-score, R2 and correlation metrics against Keras over
several (weighted) batches, with reset_state, configs, the function forms, compile/fit and bad input."""

import re
import warnings

import numpy as np
import pytest

import nablanet as nb
from nablanet import losses, metrics

keras = pytest.importorskip("keras")

rng = np.random.default_rng(21)
N, C = 16, 4
BATCHES = 3


def batch(kind):
    if kind == "binary":
        return rng.integers(0, 2, (N, 1)).astype(float), rng.uniform(0, 1, (N, 1))
    if kind == "binary_flat":
        return rng.integers(0, 2, N).astype(float), rng.uniform(0, 1, N)
    if kind == "multilabel":
        return rng.integers(0, 2, (N, 3)).astype(float), rng.uniform(0, 1, (N, 3))
    if kind == "categorical":
        return np.eye(C)[rng.integers(0, C, N)], rng.dirichlet(np.ones(C), N)
    if kind == "ids":  # class ids, some outside [0, C) and some the ignored class 3
        return rng.integers(-1, C + 1, N), rng.integers(0, C, N)
    if kind == "segmentation":
        return rng.integers(0, C, (N, 3, 3)), rng.dirichlet(np.ones(C), (N, 3, 3))
    if kind == "segmentation_onehot":
        return np.eye(C)[rng.integers(0, C, (N, 3, 3))], rng.dirichlet(np.ones(C), (N, 3, 3))
    return rng.standard_normal((N, 3)), rng.standard_normal((N, 3))


# name, positional arguments, keyword arguments, data, weights ("float", "int" or None: float weights only)
CASES = [
    ("TruePositives", (), {}, "binary", "float"),
    ("TrueNegatives", (), {"thresholds": [0.2, 0.5, 0.9]}, "multilabel", "float"),
    ("FalsePositives", (), {"thresholds": 0.3}, "binary_flat", "float"),
    ("FalseNegatives", (), {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multilabel", "float"),
    ("TruePositives", (), {"thresholds": [0.7]}, "binary", "float"),
    ("PrecisionAtRecall", (0.6,), {}, "binary", "float"),
    ("PrecisionAtRecall", (0.5,), {"num_thresholds": 7, "class_id": 2}, "multilabel", "float"),
    ("RecallAtPrecision", (0.55,), {}, "binary", "float"),
    ("RecallAtPrecision", (0.4,), {"num_thresholds": 1}, "multilabel", "float"),
    ("SensitivityAtSpecificity", (0.5,), {}, "binary", "float"),
    ("SensitivityAtSpecificity", (0.7,), {"num_thresholds": 2, "class_id": 0}, "multilabel", "float"),
    ("SpecificityAtSensitivity", (0.8,), {"num_thresholds": 50}, "binary_flat", "float"),
    ("Precision", (), {"thresholds": [0.0, 0.5, 1.0]}, "multilabel", "float"),
    ("IoU", (C, [0, 2]), {}, "ids", "int"),
    ("IoU", (C, [1, 3]), {"ignore_class": 3, "dtype": "float32"}, "ids", "float"),
    ("IoU", (C, [0, 1, 3]), {"sparse_y_pred": False}, "segmentation", None),
    ("MeanIoU", (C,), {}, "ids", "int"),
    ("MeanIoU", (C,), {"ignore_class": 0, "sparse_y_pred": False}, "segmentation", "int"),
    ("BinaryIoU", (), {}, "binary", "int"),
    ("BinaryIoU", ([1], 0.3), {}, "binary_flat", None),
    ("OneHotIoU", (C, [1, 2]), {}, "categorical", "int"),
    ("OneHotMeanIoU", (C,), {}, "segmentation_onehot", None),
    ("F1Score", (), {}, "categorical", "float"),
    ("F1Score", (), {"average": "micro", "threshold": 0.3}, "multilabel", "float"),
    ("F1Score", (), {"average": "macro"}, "categorical", "float"),
    ("FBetaScore", (), {"average": "weighted", "beta": 2.0, "threshold": 0.5}, "multilabel", "float"),
    ("FBetaScore", ("macro", 0.5), {}, "categorical", None),
    ("R2Score", (), {}, "regression", "float"),
    ("R2Score", (), {"class_aggregation": None}, "regression", "float"),
    ("R2Score", (), {"class_aggregation": "variance_weighted_average", "num_regressors": 5}, "regression", "float"),
    ("PearsonCorrelation", (), {}, "regression", "float"),
    ("ConcordanceCorrelation", (), {}, "regression", "float"),
    ("PearsonCorrelation", (), {"axis": 0}, "regression", None),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _weights(kind, y_true):
    shape = y_true.shape if y_true.ndim == 3 else (N,)  # segmentation: one weight per pixel
    return rng.integers(0, 3, shape) if kind == "int" else rng.uniform(0, 2, shape)


def _close(ours, want):
    """Keras counts in float32: its sums carry float32 rounding of their magnitude."""
    want = keras.ops.convert_to_numpy(want)
    np.testing.assert_allclose(ours, want, rtol=2e-6, atol=2e-7 * max(1.0, float(np.max(np.abs(want)))))
    assert np.shape(ours) == np.shape(want)


@pytest.mark.parametrize("name, args, kwargs, data, weights", CASES, ids=IDS)
def test_matches_keras_over_batches_and_after_reset(name, args, kwargs, data, weights):
    ours, theirs = getattr(metrics, name)(*args, **kwargs), getattr(keras.metrics, name)(*args, **kwargs)
    batches = [batch(data) for _ in range(BATCHES)]
    batches = [(t, p, None if weights is None or i == 1 else _weights(weights, t)) for i, (t, p) in enumerate(batches)]
    for y_true, y_pred, weight in batches:
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
    _close(ours.result(), theirs.result())
    # after reset_state, one batch gives what a new Keras metric gives for it
    ours.reset_state()
    fresh = getattr(keras.metrics, name)(*args, **kwargs)
    y_true, y_pred, weight = batches[0]
    ours.update_state(y_true, y_pred, sample_weight=weight)
    fresh.update_state(y_true, y_pred, sample_weight=weight)
    _close(ours.result(), fresh.result())


@pytest.mark.parametrize("name, args, kwargs, data, weights", CASES, ids=IDS)
def test_configs_match_keras_and_round_trip(name, args, kwargs, data, weights):
    ours, theirs = getattr(metrics, name)(*args, **kwargs), getattr(keras.metrics, name)(*args, **kwargs)
    config, keras_config = ours.get_config(), theirs.get_config()
    assert ours.name == re.sub(r"_\d+$", "", theirs.name)  # Keras numbers the names it makes up
    assert config == {**keras_config, "name": ours.name}
    again = metrics.deserialize(metrics.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == config
    named = {**kwargs, "name": "m"}
    assert metrics.serialize(getattr(metrics, name)(*args, **named)) == keras.metrics.serialize(
        getattr(keras.metrics, name)(*args, **named))


def test_float_weights_on_an_integer_iou_are_truncated_with_a_warning_as_keras():
    y_true, y_pred = batch("ids")
    weight = rng.uniform(0, 3, N)
    with pytest.warns(UserWarning, match="MeanIoU: float sample weights are truncated"):
        ours = metrics.MeanIoU(C)(y_true, y_pred, sample_weight=weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = keras.metrics.MeanIoU(C)(y_true, y_pred, sample_weight=weight)
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(theirs), rtol=2e-6)


def test_r2_score_after_reset_is_nan_as_keras_and_adjusted_r2_warns():
    ours, theirs = metrics.R2Score(), keras.metrics.R2Score()
    y_true, y_pred = batch("regression")
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    ours.reset_state()
    theirs.reset_state()
    assert np.isnan(ours.result()) and np.isnan(keras.ops.convert_to_numpy(theirs.result()))
    many = metrics.R2Score(num_regressors=100)
    many.update_state(y_true, y_pred)
    with pytest.warns(UserWarning, match="more independent predictors than data points"):
        np.testing.assert_allclose(many.result(), metrics.R2Score()(y_true, y_pred), rtol=1e-12)


FUNCTION_NAMES = ["binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
                  "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh",
                  "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
                  "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy", "squared_hinge"]


def test_function_forms_are_the_losses_objects_and_the_correlations_match_keras():
    for name in FUNCTION_NAMES:
        assert getattr(metrics, name) is getattr(losses, name), name
        assert getattr(keras.metrics, name) is getattr(keras.losses, name), name  # as in Keras
        assert metrics.get(name) is getattr(losses, name)
    y_true, y_pred = batch("regression")
    for name in ("pearson_correlation", "concordance_correlation"):
        for axis in (-1, 0):
            ours = getattr(metrics, name)(y_true, y_pred, axis=axis)
            theirs = keras.ops.convert_to_numpy(getattr(keras.metrics, name)(y_true, y_pred, axis=axis))
            np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)
    assert metrics.deserialize(metrics.serialize(metrics.pearson_correlation)) is metrics.pearson_correlation
    assert isinstance(metrics.deserialize("F1Score"), metrics.F1Score)


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match=r"TruePositives: thresholds must lie in \[0, 1\], got \[1.5\]"):
        metrics.TruePositives(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"PrecisionAtRecall: recall must lie in \[0, 1\], got 2"):
        metrics.PrecisionAtRecall(2)
    with pytest.raises(ValueError, match="SensitivityAtSpecificity: num_thresholds must be an integer > 0, got 0"):
        metrics.SensitivityAtSpecificity(0.5, num_thresholds=0)
    with pytest.raises(ValueError, match=r"IoU: target class id 5 is out of range \[0, 3\)"):
        metrics.IoU(3, [0, 5])
    with pytest.raises(ValueError, match="F1Score: average must be one of"):
        metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match=r"FBetaScore: beta must be a Python float > 0, got 1 \(int\)"):
        metrics.FBetaScore(beta=1)
    with pytest.raises(ValueError, match=r"F1Score: threshold must be None or a Python float in \(0, 1\]"):
        metrics.F1Score(threshold=1.5)
    with pytest.raises(ValueError, match=r"F1Score: expected 2-D inputs .* got y_true \(16,\)"):
        metrics.F1Score().update_state(*batch("binary_flat"))
    with pytest.raises(ValueError, match="R2Score: class_aggregation must be one of"):
        metrics.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="R2Score: num_regressors must be >= 0, got -1"):
        metrics.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match=r"class_id needs y_pred of shape \(num_samples, num_classes\)"):
        metrics.PrecisionAtRecall(0.5, class_id=1).update_state(*batch("binary_flat"))


def test_compile_and_fit_log_them_under_keras_names():
    nb.utils.set_random_seed(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    model = nb.Sequential([nb.layers.Input((4,)), nb.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss=losses.BinaryFocalCrossentropy(),
                  metrics=[metrics.TruePositives(), metrics.F1Score(average="micro", threshold=0.5),
                           metrics.BinaryIoU(), metrics.PrecisionAtRecall(0.5), "r2_score"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_data=(x, y))
    assert sorted(history.history) == sorted(
        ["loss", "true_positives", "f1_score", "binary_io_u", "precision_at_recall", "r2_score"]
        + ["val_loss", "val_true_positives", "val_f1_score", "val_binary_io_u", "val_precision_at_recall",
           "val_r2_score"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    predictions = model.predict(x, verbose=0)
    tp = keras.metrics.TruePositives()
    tp.update_state(y, predictions)
    assert logs["true_positives"] == float(keras.ops.convert_to_numpy(tp.result()))
    r2 = keras.metrics.R2Score()
    r2.update_state(y, predictions)
    np.testing.assert_allclose(logs["r2_score"], keras.ops.convert_to_numpy(r2.result()), rtol=1e-5)


def test_a_compiled_model_with_new_losses_and_metrics_survives_a_keras_file(tmp_path):
    x = rng.standard_normal((8, 4)).astype("float32")
    y = np.eye(3)[rng.integers(0, 3, 8)].astype("float32")
    model = nb.Sequential([nb.layers.Input((4,)), nb.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss=losses.CategoricalFocalCrossentropy(gamma=3.0),
                  metrics=[metrics.OneHotMeanIoU(3), metrics.FBetaScore(average="macro", beta=2.0)])
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = nb.saving.load_model(path)
    assert isinstance(loaded.loss, losses.CategoricalFocalCrossentropy) and loaded.loss.get_config()["gamma"] == 3.0
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-6)
    theirs = keras.saving.load_model(path)  # Keras reads the compile config too
    assert type(theirs.loss).__name__ == "CategoricalFocalCrossentropy"
    keras_logs = theirs.evaluate(x, y, verbose=0, return_dict=True)
    ours_logs = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(keras_logs) == sorted(ours_logs)
    for key, value in ours_logs.items():
        np.testing.assert_allclose(value, keras_logs[key], rtol=1e-5, err_msg=key)


def test_per_class_results_log_as_arrays_as_keras(capsys):
    x = rng.standard_normal((16, 4)).astype("float32")
    y = np.eye(3)[rng.integers(0, 3, 16)].astype("float32")
    model = nb.Sequential([nb.layers.Input((4,)), nb.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[metrics.F1Score(), metrics.TruePositives(thresholds=[0.3, 0.6])])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=2)
    assert [np.shape(v) for v in history.history["f1_score"]] == [(3,), (3,)]
    assert [np.shape(v) for v in history.history["true_positives"]] == [(2,), (2,)]
    assert "f1_score: " in capsys.readouterr().out  # the progress line shows their mean, as Keras
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    predictions = model.predict(x, verbose=0)
    f1 = keras.metrics.F1Score()
    f1.update_state(y, predictions)
    _close(logs["f1_score"], f1.result())


def test_masks_count_for_the_correlations_and_not_for_the_counts_as_keras():
    """Keras's mean-metric wrappers weigh masked steps 0; its confusion counts ignore masks."""
    torch = pytest.importorskip("torch")
    y_true, y_pred = rng.standard_normal((4, 5, 3)), rng.standard_normal((4, 5, 3))
    mask = rng.uniform(size=(4, 5)) > 0.3
    ours_pred = nb.Tensor(y_pred)
    ours_pred._keras_mask = mask
    theirs_pred = torch.tensor(y_pred)
    theirs_pred._keras_mask = torch.tensor(mask)
    weight = rng.uniform(0, 2, (4, 5))  # Keras takes weights of the mask's shape with a mask
    for name in ("PearsonCorrelation", "ConcordanceCorrelation"):
        ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
        ours.update_state(y_true, ours_pred, sample_weight=weight)
        theirs.update_state(torch.tensor(y_true), theirs_pred, sample_weight=torch.tensor(weight))
        _close(ours.result(), theirs.result())
        assert not np.isclose(ours.result(), getattr(metrics, name)()(y_true, y_pred, sample_weight=weight))
    labels, scores = (y_true > 0).astype(float), 1 / (1 + np.exp(-y_pred))
    scores_tensor = nb.Tensor(scores)
    scores_tensor._keras_mask = mask
    ours, theirs = metrics.TruePositives(), keras.metrics.TruePositives()
    ours.update_state(labels, scores_tensor)
    theirs.update_state(labels, scores)
    _close(ours.result(), theirs.result())


def test_a_keras_file_compiled_with_new_losses_and_metrics_loads_compiled(tmp_path):
    x = rng.standard_normal((8, 4)).astype("float32")
    y = rng.uniform(0, 1, (8, 2)).astype("float32")
    theirs = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    theirs.compile(optimizer="adam", loss=keras.losses.Tversky(alpha=0.7, beta=0.3, axis=-1),
                   metrics=[keras.metrics.R2Score(), keras.metrics.RecallAtPrecision(0.4, num_thresholds=20)])
    theirs.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "theirs.keras"
    theirs.save(path)
    ours = nb.saving.load_model(path)
    assert isinstance(ours.loss, losses.Tversky) and ours.loss.get_config() == theirs.loss.get_config()
    ours_logs = ours.evaluate(x, y, verbose=0, return_dict=True)
    keras_logs = theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(ours_logs) == sorted(keras_logs)  # the names Keras saved, numbered as it numbered them
    assert [re.sub(r"_\d+$", "", key) for key in sorted(ours_logs)] == ["loss", "r2_score", "recall_at_precision"]
    for key, value in ours_logs.items():
        np.testing.assert_allclose(value, keras_logs[key], rtol=1e-5, err_msg=key)
