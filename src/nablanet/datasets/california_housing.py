"""California housing prices: 20,640 districts with 8 features, the median house value as target."""

from nablanet.datasets.files import fetch, load_npz, split

__all__ = ["load_data"]


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """`(x_train, y_train), (x_test, y_test)` (float32), split after Keras's shuffle at `1 - test_split`;
    `version="small"` keeps the first 600 districts."""
    where = "california_housing.load_data"
    if not 0 <= test_split < 1:
        raise ValueError(f"{where}: test_split must be in [0, 1), got {test_split}")
    if version not in ("small", "large"):
        raise ValueError(f"{where}: version must be 'small' or 'large', got {version!r}")
    arrays = load_npz(fetch(where, "california_housing.npz", fname=path), where)
    x, y = arrays["x"], arrays["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    return split(where, x, y, test_split, seed)
