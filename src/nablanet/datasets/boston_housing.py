"""Boston housing prices: 506 samples of 13 features, the median home value as target."""

from nablanet.datasets.files import fetch, load_npz, split

__all__ = ["load_data"]


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)` (float64), split after Keras's shuffle at `1 - test_split`."""
    where = "boston_housing.load_data"
    if not 0 <= test_split < 1:
        raise ValueError(f"{where}: test_split must be in [0, 1), got {test_split}")
    arrays = load_npz(fetch(where, "boston_housing.npz", fname=path), where)
    return split(where, arrays["x"], arrays["y"], test_split, seed)
