"""Checks of a tuner's arguments, and the Optuna objects some of them name; every error names the
tuner or method it came from (`where`)."""

import optuna


def positive_int(value, name, where):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: expected {name} as a positive integer, got {value!r}")
    return value


def seed(value, where):
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ValueError(f"{where}: expected seed as a non-negative integer or None, got {value!r}")
    return value


def pruner(value, where):
    """The Optuna pruner that a tuner's `pruner` argument names."""
    if value is None or value == "none":
        return optuna.pruners.NopPruner()
    if value == "median":
        return optuna.pruners.MedianPruner()
    if value == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if isinstance(value, optuna.pruners.BasePruner):
        return value
    raise ValueError(f"{where}: expected pruner 'median', 'hyperband', None or an Optuna pruner, "
                     f"got {value!r}")


def require_gp():
    """Raise ImportError unless Optuna's GPSampler can run (it needs PyTorch and SciPy)."""
    try:
        import scipy  # noqa: F401
        import torch  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"BayesianOptimization(sampler='gp') runs Optuna's GPSampler, which needs PyTorch and "
            f"SciPy ({error.name} is missing): pip install torch scipy; or use sampler='tpe', "
            "which needs neither") from None
