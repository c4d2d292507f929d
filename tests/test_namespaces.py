"""Keras 3's namespaces, name by name, and the lazy facade that reaches them.

Each completeness test walks the public names of a Keras namespace and fails for any nablanet
lacks; `EXCLUDED` holds the only names left out, each with its reason.
"""

import importlib
import os
import subprocess
import sys

import pytest

keras = pytest.importorskip("keras")

NAMESPACES = ["utils", "datasets", "models", "tree", "saving", "layers", "losses", "metrics", "optimizers",
              "optimizers.schedules", "callbacks", "applications", "wrappers", "activations", "initializers",
              "regularizers", "constraints", "distribution"]

# Names nablanet cannot have without another framework, with the reason.
EXCLUDED = {
    "layers": {
        "JaxLayer": "wraps a JAX function",
        "FlaxLayer": "wraps a Flax module",
        "TorchModuleWrapper": "wraps a torch.nn.Module",
        "TFSMLayer": "loads a TensorFlow SavedModel",
    },
    "callbacks": {"OrbaxCheckpoint": "Orbax is JAX's checkpoint library; ModelCheckpoint and BackupAndRestore "
                                     "save here"},
}



def _public(module):
    return sorted(n for n in dir(module) if not n.startswith("_"))


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_keras_name_exists(namespace):
    try:
        ours = importlib.import_module(f"nablanet.{namespace}")
    except ModuleNotFoundError:
        ours = None
    theirs = importlib.import_module(f"keras.{namespace}")
    skip = set(EXCLUDED.get(namespace, {}))
    missing = [n for n in _public(theirs) if n not in skip and not hasattr(ours, n)]
    assert not missing, f"nablanet.{namespace} lacks Keras's {missing}"


@pytest.mark.parametrize("namespace", ["regularizers", "initializers", "layers"])
def test_keras_alias_names_are_the_same_objects(namespace):
    ours, theirs = importlib.import_module(f"nablanet.{namespace}"), getattr(keras, namespace)
    for name in _public(theirs):
        target = getattr(theirs, name)
        if not isinstance(target, type) or target.__name__ == name:
            continue  # only Keras's second names for one class
        if hasattr(ours, target.__name__):
            assert getattr(ours, name, None) is getattr(ours, target.__name__), f"{namespace}.{name}"


def test_signatures_match_keras():
    import inspect

    import nablanet

    pairs = [("utils", n) for n in ("get_file", "split_dataset", "pack_x_y_sample_weight", "load_img",
                                    "img_to_array", "array_to_img", "save_img", "text_dataset_from_directory",
                                    "audio_dataset_from_directory", "get_source_inputs", "model_to_dot",
                                    "clear_session", "PyDataset")]
    pairs += [("models", n) for n in ("clone_model", "model_from_json", "save_model", "load_model")]
    pairs += [("tree", n) for n in ("assert_same_paths", "flatten_with_path", "lists_to_tuples",
                                    "map_structure_up_to", "traverse")]
    for module in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing",
                   "california_housing"):
        pairs.append((f"datasets.{module}", "load_data"))
    pairs += [("datasets.imdb", "get_word_index"), ("datasets.reuters", "get_word_index")]
    for path, name in pairs:
        ours = getattr(importlib.import_module(f"nablanet.{path}"), name)
        theirs = getattr(importlib.import_module(f"keras.{path}"), name)
        assert inspect.signature(ours) == inspect.signature(theirs), f"{path}.{name}"
    assert nablanet.models.Model.to_json.__name__ == "to_json"


# -- the lazy facade --------------------------------------------------------------------------------------

def _run(code):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(
        importlib.import_module("nablanet").__file__))] + sys.path))
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_import_nablanet_loads_no_part_and_is_fast():
    done = _run("import sys, nablanet; print(sorted(m for m in sys.modules if m.startswith(('nablanet', 'numpy'))))")
    assert done.stdout.strip() == "['nablanet']"
    cumulative = [int(line.split("|")[1]) for line in done.stderr.splitlines()
                  if line.startswith("import time:") and line.rstrip().endswith("| nablanet")]
    assert cumulative and cumulative[0] < 200_000, cumulative  # microseconds


def test_parts_load_on_first_use():
    _run("import nablanet as nb\n"
         "assert nb.tune.RandomSearch.__name__ == 'RandomSearch'\n"
         "assert callable(nb.saving.load_model) and callable(nb.datasets.mnist.load_data)\n"
         "assert nb.Sequential is nb.models.Sequential and callable(nb.grad) and callable(nb.integrate)\n"
         "assert 'datasets' in dir(nb)\n"
         "try:\n    nb.no_such_part\nexcept AttributeError as e:\n    assert 'no_such_part' in str(e)\n"
         "else:\n    raise SystemExit('no error')\n")


def test_the_registry_loads_the_part_that_owns_a_name():
    _run("from nablanet import serialization\n"
         "layer = serialization.deserialize({'module': 'keras.layers', 'class_name': 'Dense',"
         " 'config': {'units': 3}, 'registered_name': None})\n"
         "assert type(layer).__name__ == 'Dense' and layer.units == 3\n"
         "opt = serialization.deserialize({'class_name': 'Adam', 'config': {'learning_rate': 0.5}})\n"
         "assert type(opt).__name__ == 'Adam'\n")


def test_a_saved_model_loads_in_a_process_that_imported_only_saving(tmp_path):
    import numpy as np

    import nablanet as nb

    model = nb.Sequential([nb.layers.Input(shape=(3,)), nb.layers.Dense(2)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    x = np.ones((1, 3), dtype="float32")
    np.save(tmp_path / "y.npy", model.predict(x, verbose=0))
    expected = str(tmp_path / "y.npy")
    _run("import numpy as np\nfrom nablanet.saving import load_model\n"
         f"m = load_model({path!r})\n"
         f"np.testing.assert_allclose(m.predict(np.ones((1, 3), 'float32'), verbose=0), np.load({expected!r}))\n")


def test_export_formats_fill_on_first_use():
    _run("from nablanet.models import Model\nassert 'onnx' in Model.export_formats\n")
