"""CIFAR's batch files: Python pickles of `{b"data": uint8 array, b"labels": list}`, read with
`SafeUnpickler` (arrays, lists, bytes and numbers only)."""

import pickle

import numpy as np

from nablanet.datasets.files import DatasetError, safe_unpickle
from nablanet.utils.image_utils import image_data_format

__all__ = ["channels", "load_batch"]


def load_batch(fpath, label_key="labels", where="cifar10.load_data"):
    """`(data, labels)` of one batch file: data (n, 3, 32, 32) uint8, labels a list."""
    with open(fpath, "rb") as f:
        try:
            batch = safe_unpickle(f)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
            raise DatasetError(f"{where}: cannot read {fpath}: {error}") from None
    if not isinstance(batch, dict):
        raise DatasetError(f"{where}: {fpath} holds a {type(batch).__name__}, expected a dict")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise DatasetError(f"{where}: {fpath} lacks 'data' or {label_key!r} (has {sorted(batch)})")
    data = np.asarray(batch["data"], dtype=np.uint8)
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def channels(x):
    """Images in `image_data_format()`'s layout (files hold channels first)."""
    return x.transpose(0, 2, 3, 1) if image_data_format() == "channels_last" else x
