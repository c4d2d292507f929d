"""Keras's `keras.wrappers`: scikit-learn estimators around a nablanet model (scikit-learn is an
extra: `pip install 'nablanet[sklearn]'`)."""

from nablanet.wrappers.sklearn import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
