"""`HyperModel`: the search space as a class, and the plain `build_model(hp)` function as one."""


class HyperModel:
    """A search space as a class: override `build(hp)`, and `fit` to tune how a model trains.

    Example:
        >>> from nablanet.tune import HyperParameters
        >>> class Wide(HyperModel):
        ...     def build(self, hp):
        ...         return hp.Int("units", 8, 64)
        >>> Wide().build(HyperParameters())
        8
    """

    def build(self, hp):
        """Return a compiled model for the hyperparameters `hp`."""
        raise NotImplementedError(f"{type(self).__name__}.build(hp) must return a compiled model")

    def fit(self, hp, model, *args, **kwargs):
        """Train `model`; the tuner passes search's arguments and its own callback."""
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    def __init__(self, build_model):
        self.build = build_model


def get(hypermodel, where):
    """A HyperModel from `build_model(hp)` or a HyperModel; `where` names the caller in errors."""
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return _FunctionHyperModel(hypermodel)
    raise TypeError(f"{where}: expected build_model(hp) or a HyperModel, got {hypermodel!r}")
