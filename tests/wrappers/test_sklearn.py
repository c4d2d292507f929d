"""The scikit-learn wrappers: scikit-learn's own estimator checks, its model-selection tools, and
the same fit as Keras's wrappers on the same weights."""

import inspect
import pickle

import numpy as np
import pytest

import nablanet as nb
from nablanet.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

sklearn = pytest.importorskip("sklearn")
keras = pytest.importorskip("keras")

from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402


def mlp(X, y, hidden=8, loss="categorical_crossentropy", activation="softmax", library=nb):
    inputs = library.layers.Input(shape=(X.shape[1],))
    hidden_layer = library.layers.Dense(hidden, activation="relu")(inputs)
    outputs = library.layers.Dense(y.shape[1], activation=activation)(hidden_layer)
    model = library.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=loss)
    return model


REGRESSION = {"loss": "mse", "activation": "linear"}

# The checks these estimators fail by design, with the reason (Keras's wrappers fail the same ones).
NOT_DETERMINISTIC = "fits from freshly drawn initial weights, so two fits differ"
EXPECTED_FAILURES = {
    "SKLearnClassifier": {
        "check_classifiers_train": "decision_function gives one column per class (the model's outputs), as Keras's",
        "check_classifiers_classes": "decision_function gives one column per class, as Keras's",
        "check_decision_proba_consistency": "decision_function gives one column per class, as Keras's",
        "check_classifiers_one_label_sample_weights": "a few epochs on 10 samples need not learn to drop the "
                                                      "zero-weighted class",
        "check_supervised_y_2d": NOT_DETERMINISTIC,
        "check_fit_idempotent": NOT_DETERMINISTIC,
        "check_classifier_data_not_an_array": NOT_DETERMINISTIC,
    },
    "SKLearnRegressor": {
        "check_regressor_data_not_an_array": NOT_DETERMINISTIC,
        "check_supervised_y_2d": NOT_DETERMINISTIC,
        "check_regressors_int": NOT_DETERMINISTIC,
        "check_fit_idempotent": NOT_DETERMINISTIC,
    },
    "SKLearnTransformer": {
        "check_fit_idempotent": NOT_DETERMINISTIC,
    },
}


@pytest.mark.parametrize("estimator", [
    SKLearnClassifier(mlp, fit_kwargs={"epochs": 5}),
    SKLearnRegressor(mlp, model_kwargs=REGRESSION),
    SKLearnTransformer(mlp, model_kwargs=REGRESSION),
], ids=lambda e: type(e).__name__)
def test_scikit_learn_estimator_checks(estimator):
    expected = EXPECTED_FAILURES[type(estimator).__name__]
    results = check_estimator(estimator, on_fail=None, on_skip=None)
    assert len(results) > 40
    failed = {r["check_name"]: str(r["exception"])[:300] for r in results if r["status"] == "failed"}
    unexpected = {name: why for name, why in failed.items() if name not in expected}
    assert not unexpected


def test_the_signatures_are_keras_s():
    for name in ("SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"):
        ours, theirs = getattr(nb.wrappers, name), getattr(keras.wrappers, name)
        assert inspect.signature(ours) == inspect.signature(theirs), name
        for method in ("fit", "predict"):
            assert inspect.signature(getattr(ours, method)) == inspect.signature(getattr(theirs, method))


def _fixed_mlp(X, y, library, seed=0, **options):
    """`mlp` with weights drawn from one NumPy seed, the same for both libraries."""
    model = mlp(X, y, library=library, **options)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, size=np.shape(w)).astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_two_epochs_equal_keras_from_the_same_weights(kind):
    if kind == "classifier":
        X, y = make_classification(60, 5, n_classes=3, n_informative=3, random_state=0)
        wrapper, keras_wrapper, options = SKLearnClassifier, keras.wrappers.SKLearnClassifier, {}
    else:
        X, y = make_regression(60, 5, random_state=0)
        y = y / 100
        wrapper, keras_wrapper, options = SKLearnRegressor, keras.wrappers.SKLearnRegressor, REGRESSION
    fit = {"epochs": 2, "batch_size": 16, "shuffle": False, "verbose": 0}
    theirs = keras_wrapper(_fixed_mlp, model_kwargs={"library": keras, **options}, fit_kwargs=dict(fit)).fit(X, y)
    ours = wrapper(_fixed_mlp, model_kwargs={"library": nb, **options}, fit_kwargs=dict(fit)).fit(X, y)
    np.testing.assert_allclose(ours.history_["loss"], theirs.history_.history["loss"], rtol=1e-5)
    if kind == "classifier":
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
        np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    else:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-4, atol=1e-5)


def test_grid_search_and_cross_validation_over_a_model_builder():
    X, y = make_classification(120, 6, n_classes=2, random_state=1)
    nb.utils.set_random_seed(0)
    search = GridSearchCV(SKLearnClassifier(mlp, fit_kwargs={"epochs": 60, "batch_size": 16}),
                          {"model_kwargs": [{"hidden": 2}, {"hidden": 16}]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["model_kwargs"]["hidden"] in (2, 16) and search.best_score_ > 0.7
    classifier = SKLearnClassifier(mlp, fit_kwargs={"epochs": 60, "batch_size": 16})
    scores = cross_val_score(make_pipeline(StandardScaler(), classifier), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7


def test_a_regressor_learns_in_a_pipeline():
    X, y = make_regression(200, 4, noise=1.0, random_state=0)
    nb.utils.set_random_seed(0)
    pipe = make_pipeline(StandardScaler(), SKLearnRegressor(mlp, model_kwargs={**REGRESSION, "hidden": 16},
                                                            fit_kwargs={"epochs": 200, "verbose": 0}))
    pipe.fit(X, y / y.std())
    assert pipe.score(X, y / y.std()) > 0.9


def test_clone_keeps_the_parameters_and_fit_does_not_change_them():
    estimator = SKLearnClassifier(mlp, model_kwargs={"hidden": 3}, fit_kwargs={"epochs": 2})
    X, y = make_classification(40, 4, random_state=0)
    estimator.fit(X, y, batch_size=8)
    assert estimator.fit_kwargs == {"epochs": 2} and estimator.epoch_ == 2
    copy = sklearn.base.clone(estimator)
    assert copy.get_params() == estimator.get_params() and not hasattr(copy, "model_")


def test_a_compiled_model_is_cloned_unless_warm_start():
    X, y = make_regression(40, 3, random_state=0)
    model = mlp(X, y[:, None], **REGRESSION)
    before = [w.copy() for w in model.get_weights()]
    fitted = SKLearnRegressor(model, fit_kwargs={"epochs": 2}).fit(X, y)
    assert fitted.model_ is not model and all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    warm = SKLearnRegressor(model, warm_start=True, fit_kwargs={"epochs": 1})
    warm.fit(X, y)
    first = [w.copy() for w in warm.model_.get_weights()]
    warm.fit(X, y)
    assert warm.model_ is model and not np.array_equal(first[0], warm.model_.get_weights()[0])


def test_pickling_keeps_the_fitted_model_as_an_archive():
    X, y = make_classification(50, 5, n_classes=3, n_informative=3, random_state=0)
    estimator = SKLearnClassifier(mlp, fit_kwargs={"epochs": 3}).fit(X, y)
    data = pickle.dumps(estimator)
    assert b"PK\x03\x04" in data  # the model travels as its .keras archive
    again = pickle.loads(data)
    np.testing.assert_allclose(again.decision_function(X), estimator.decision_function(X), rtol=1e-6)


def test_bad_input_is_named(monkeypatch):
    X, y = make_classification(30, 4, random_state=0)
    with pytest.raises(ValueError, match="one class only"):
        SKLearnClassifier(mlp).fit(X, np.zeros(30, int))
    with pytest.raises(ValueError, match="binary or multiclass"):
        SKLearnClassifier(mlp).fit(X, np.random.default_rng(0).normal(size=30))
    uncompiled = nb.Sequential([nb.layers.Input(shape=(4,)), nb.layers.Dense(1)])
    with pytest.raises(RuntimeError, match="must be compiled"):
        SKLearnRegressor(uncompiled).fit(X, y)
    with pytest.raises(TypeError, match="not a Model"):
        SKLearnRegressor(lambda X, y: "model").fit(X, y)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        SKLearnRegressor(mlp).predict(X)
    from nablanet.wrappers import sklearn as module

    monkeypatch.setattr(module, "sklearn", None)
    with pytest.raises(ImportError, match=r"nablanet\[sklearn\]"):
        SKLearnClassifier(mlp)
