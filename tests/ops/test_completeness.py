"""Every public function of `keras.ops` and of its submodules exists in `nablanet.ops` under the same
name. No exclusions: every op Keras offers can exist on NumPy."""

import importlib
import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

SUBMODULES = ["", "numpy", "nn", "linalg", "image"]


@pytest.mark.parametrize("submodule", SUBMODULES, ids=[s or "ops" for s in SUBMODULES])
def test_every_keras_op_exists(submodule):
    theirs = importlib.import_module("keras.ops" + (f".{submodule}" if submodule else ""))
    ours = importlib.import_module("nablanet.ops" + (f".{submodule}" if submodule else ""))
    names = [n for n in dir(theirs) if not n.startswith("_")]
    assert len(names) > 10
    missing = [n for n in names if not hasattr(ours, n)]
    assert not missing, f"nablanet.ops{'.' + submodule if submodule else ''} lacks Keras's {missing}"


def test_every_public_op_is_listed_in_all():
    from nablanet import ops

    keras_names = {n for n in dir(keras.ops) if not n.startswith("_")}
    assert keras_names <= set(ops.__all__)
