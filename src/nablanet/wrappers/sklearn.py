"""scikit-learn estimators around a nablanet model, with Keras 3's names and arguments.

`SKLearnClassifier`, `SKLearnRegressor` and `SKLearnTransformer` take a compiled `Model` (cloned
for each fit unless `warm_start=True`) or a function `model(X=..., y=..., **model_kwargs)` that
builds and compiles one. They work in `Pipeline`, `GridSearchCV` and `cross_val_score`, and clone
as scikit-learn expects.

Where Keras's wrappers differ, these follow scikit-learn's contract: `fit` never changes
`fit_kwargs` (Keras merges the call's keyword arguments into it), and a clone keeps `fit_kwargs`
(Keras's drops it). A pickled estimator keeps its fitted model as the bytes of a `.keras` archive,
read back by nablanet's loader, which runs no code from the file.
"""

import copy
import os
import tempfile

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:  # the names exist without scikit-learn; creating an estimator says what to install
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


def _require_sklearn(where):
    if sklearn is None:
        raise ImportError(f"{where} needs scikit-learn: pip install 'nablanet[sklearn]' (or scikit-learn)")


class _Wrapper(BaseEstimator):
    """What the three estimators share: building or cloning the model, fitting it, predicting."""

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # initial weights and batch order are drawn at random
        return tags

    def __sklearn_clone__(self):
        model = self.model if callable(self.model) and not _is_model(self.model) else _clone(self.model)
        return type(self)(model=model, warm_start=self.warm_start, model_kwargs=copy.deepcopy(self.model_kwargs),
                          fit_kwargs=copy.deepcopy(self.fit_kwargs))

    @property
    def epoch_(self):
        """The epochs the last `fit` ran."""
        return len(getattr(self, "history_", {}).get("loss", ()))

    def _build(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if _is_model(self.model):
            model = self.model if self.warm_start else _clone(self.model)
        elif callable(self.model):
            model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        else:
            raise TypeError(f"{type(self).__name__}: model must be a compiled Model or a function "
                            f"model(X=..., y=..., **model_kwargs) returning one, got {type(self.model).__name__}")
        if not _is_model(model):
            raise TypeError(f"{type(self).__name__}: the model function returned a {type(model).__name__}, "
                            "not a Model")
        if not model.compiled or model.loss is None or model.optimizer is None:
            raise RuntimeError(f"{type(self).__name__}: the model must be compiled with a loss and an optimizer "
                               "(call model.compile(optimizer=..., loss=...) before handing it over)")
        return model

    def fit(self, X, y, **kwargs):
        """Fit the model on `X` (n_samples, n_features) and `y`; `kwargs` go to `Model.fit`
        and take precedence over `fit_kwargs`."""
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, dtype=np.float32)
        y = self._encode_target(y, reset=True)
        model = self._build(X, y)
        options = {"verbose": 0, **(self.fit_kwargs or {}), **kwargs}
        self.history_ = model.fit(X, y, **options).history
        self.model_ = model
        return self

    def _outputs(self, X):
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self.model_.predict(X, verbose=0)

    def predict(self, X):
        """The model's predictions for `X`, in the form `y` had."""
        return self._decode_target(self._outputs(X))

    def _encode_target(self, y, reset=False):
        from sklearn.utils.multiclass import type_of_target

        type_of_target(y, raise_unknown=True)  # scikit-learn's own message for labels it cannot read
        if reset:
            self.target_ndim_ = np.ndim(y)
        return np.reshape(y, (-1, 1)) if np.ndim(y) == 1 else y

    def _decode_target(self, outputs):
        return outputs[:, 0] if self.target_ndim_ == 1 and outputs.ndim == 2 and outputs.shape[1] == 1 else outputs

    # a fitted model pickles as its .keras archive (config and weights), loaded back without running code
    def __getstate__(self):
        state = dict(self.__dict__)
        for key in ("model", "model_"):
            if _is_model(state.get(key)):
                state[key] = _ArchivedModel(state[key])
        return state

    def __setstate__(self, state):
        for key in ("model", "model_"):
            if isinstance(state.get(key), _ArchivedModel):
                state[key] = state[key].load()
        self.__dict__.update(state)


class SKLearnClassifier(ClassifierMixin, _Wrapper):
    """A scikit-learn classifier around a model: `y` holds class labels (binary or multiclass),
    which the model sees one-hot encoded; `predict` gives labels, `decision_function` the
    model's outputs (one column per class, as Keras's).

    Args:
        model: A compiled `Model` (cloned before each fit unless `warm_start`) or a function
            `model(X=..., y=..., **model_kwargs)` returning one; `y` is the one-hot targets.
        warm_start: Keep training the model of the previous `fit` instead of starting anew.
        model_kwargs: Keyword arguments for the model function.
        fit_kwargs: Keyword arguments for `Model.fit` (`epochs`, `batch_size`, ...).

    Attributes:
        model_: The fitted model. history_: `History.history` of the last fit. classes_: The labels.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def _encode_target(self, y, reset=False):
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y, raise_unknown=True)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"SKLearnClassifier: y must hold binary or multiclass labels, got a {kind!r} target")
        y = np.asarray(y)
        if reset:
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError(f"SKLearnClassifier: y holds one class only ({self.classes_[0]!r}); a classifier "
                                 "needs at least two")
            self.target_ndim_ = 1
        index = np.searchsorted(self.classes_, y)
        return np.eye(len(self.classes_), dtype=np.float32)[index.reshape(-1)]

    def _decode_target(self, outputs):
        return self.classes_[np.argmax(outputs, axis=-1)]

    def decision_function(self, X):
        """The model's raw outputs for `X`, one column per class."""
        return self._outputs(X)


class SKLearnRegressor(RegressorMixin, _Wrapper):
    """A scikit-learn regressor around a model: `y` of shape (n_samples,) or (n_samples, n_outputs).

    Takes `SKLearnClassifier`'s arguments (`model`, `warm_start`, `model_kwargs`, `fit_kwargs`);
    after `fit`, `model_` is the fitted model and `history_` its `History.history`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, _Wrapper):
    """A scikit-learn transformer around a model: `fit` trains it on `(X, y)`, `transform` gives
    its outputs (an embedding, say) for the next step of a pipeline.

    Takes `SKLearnClassifier`'s arguments (`model`, `warm_start`, `model_kwargs`, `fit_kwargs`);
    after `fit`, `model_` is the fitted model and `history_` its `History.history`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    def transform(self, X):
        """The model's outputs for `X`."""
        return self._outputs(X)


def _is_model(obj):
    from nablanet.models import Model

    return isinstance(obj, Model)


def _clone(model):
    """A copy of a compiled model with fresh weights, compiled as the original was."""
    from nablanet.models import clone_model

    return clone_model(model)


class _ArchivedModel:
    """A model held as the bytes of its `.keras` archive, for pickling."""

    def __init__(self, model):
        from nablanet.saving import save_model

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            save_model(model, path)
            with open(path, "rb") as handle:
                self.data = handle.read()

    def load(self):
        from nablanet.saving import load_model

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as handle:
                handle.write(self.data)
            return load_model(path)
