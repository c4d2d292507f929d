"""Signature parity with Keras: every public class and function that both Keras and nablanet
export, in every namespace, takes the same parameters in the same positional order with the same
defaults, so a Keras program that passes arguments by position behaves the same here.

Rules, and the spellings counted as equal:
- Keras's parameters (names, order, and positional-or-keyword vs keyword-only) must be nablanet's
  leading parameters. nablanet may add parameters after them (keyword arguments Keras 2 programs
  still pass, e.g. `Embedding(input_length=)`), since they change nothing for a Keras 3 call.
- `**kwargs` is not compared: Keras forwards it to a base class, and so does nablanet. A Keras
  signature's `*args` ends the comparison: it forwards anything, so it fixes no order.
- Methods are compared too, on every class both export, except the hooks the framework calls
  positionally and users override (`HOOKS`): their parameter names are the implementer's.
- Defaults are equal by value; an integer and the tuple of that integer repeated (`strides=1` and
  `strides=(1, 1)`) are the same default, since both layers normalize one to the other.
"""

import inspect
import math
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import nablanet  # noqa: E402

NAMESPACES = [
    "", "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets",
    "initializers", "layers", "losses", "metrics", "models", "ops", "ops.nn", "ops.numpy", "ops.linalg",
    "ops.image", "optimizers", "optimizers.schedules", "random", "regularizers", "saving", "tree", "utils",
    "preprocessing", "preprocessing.image", "preprocessing.sequence", "export", "distribution",
    "utils.bounding_boxes",
]

# name -> why its signature may differ from Keras's
EXCEPTIONS = {
    # Keras's Model is `(*args, **kwargs)` and forwards to Functional's signature when given inputs
    # and outputs; nablanet's Model spells that signature out, and it is compared with Functional's below.
    "Model": "compared with keras.src.models.functional.Functional instead",
    "models.Model": "compared with keras.src.models.functional.Functional instead",
}


HOOKS = {
    "call", "build", "compute_output_shape", "compute_output_spec", "compute_mask", "update_step",
    "get_dropout_mask", "get_recurrent_dropout_mask", "quantized_call", "symbolic_call",
}


def _resolve(root, path):
    for part in path.split(".") if path else []:
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def _signature(obj):
    try:
        return inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
    except (TypeError, ValueError):
        return None


def _parameters(signature):
    return [p for p in signature.parameters.values() if p.name != "self" and p.kind is not p.VAR_KEYWORD]


def _same_default(a, b):
    if isinstance(a, int) and isinstance(b, tuple) and not isinstance(a, bool):
        a, b = b, a
    if isinstance(a, tuple) and isinstance(b, int) and not isinstance(b, bool):
        return all(x == b for x in a)
    try:
        return bool(a == b) and type(a) is type(b) or (a is b)
    except Exception:  # noqa: BLE001 -- arrays and other objects without a plain ==
        return repr(a) == repr(b)


def differences(keras_obj, ours):
    """What differs between two signatures, as short sentences (empty when they agree)."""
    theirs, mine = _signature(keras_obj), _signature(ours)
    if theirs is None or mine is None:
        return []
    found = []
    kp, np_ = _parameters(theirs), _parameters(mine)
    for i, p in enumerate(kp):
        if p.kind is p.VAR_POSITIONAL:
            break
        if i >= len(np_) or np_[i].name != p.name:
            got = np_[i].name if i < len(np_) else "nothing"
            found.append(f"parameter {i} is {p.name!r} in Keras, {got!r} here")
            break
        q = np_[i]
        if (p.kind is p.KEYWORD_ONLY) != (q.kind is q.KEYWORD_ONLY) and q.kind is q.KEYWORD_ONLY:
            found.append(f"{p.name!r} is positional in Keras, keyword-only here")
        if p.default is not p.empty and not _same_default(p.default, q.default):
            found.append(f"default of {p.name!r} is {p.default!r} in Keras, {q.default!r} here")
    for q in np_[len(kp):]:
        if q.kind is not q.KEYWORD_ONLY and q.kind is not q.VAR_POSITIONAL and q.default is q.empty:
            found.append(f"extra required parameter {q.name!r}")
    return found


def _pairs():
    for space in NAMESPACES:
        theirs, mine = _resolve(keras, space), _resolve(nablanet, space)
        if theirs is None or mine is None:
            continue
        for name in sorted(dir(theirs)):
            if name.startswith("_"):
                continue
            keras_obj, ours = getattr(theirs, name), getattr(mine, name, None)
            if ours is None or inspect.ismodule(keras_obj) or not callable(keras_obj):
                continue
            yield (f"{space}.{name}" if space else name), keras_obj, ours


def test_every_shared_name_takes_keras_parameters():
    report = []
    for qualified, keras_obj, ours in _pairs():
        if qualified in EXCEPTIONS:
            continue
        for difference in differences(keras_obj, ours):
            report.append(f"{qualified}: {difference}")
    assert not report, f"{len(report)} signature differences from Keras:\n" + "\n".join(report)


def _methods():
    for qualified, keras_class, ours in _pairs():
        if not (inspect.isclass(keras_class) and inspect.isclass(ours)):
            continue
        for name in sorted(dir(keras_class)):
            if name.startswith("_") or name in HOOKS:
                continue
            theirs, mine = getattr(keras_class, name, None), getattr(ours, name, None)
            if callable(theirs) and callable(mine) and not inspect.isclass(theirs):
                yield f"{qualified}.{name}", theirs, mine


def test_every_shared_method_takes_keras_parameters():
    report = sorted({f"{q}: {d}" for q, theirs, mine in _methods() for d in differences(theirs, mine)})
    assert not report, f"{len(report)} method signature differences from Keras:\n" + "\n".join(report)


def test_model_takes_functional_parameters():
    from keras.src.models.functional import Functional

    assert differences(Functional, nablanet.Model) == []


def test_the_walk_reaches_every_namespace_and_compares_many_names():
    compared = list(_pairs())
    assert len(compared) > 400
    assert {q.split(".")[0] for q, _, _ in compared} >= {"layers", "losses", "metrics", "ops", "optimizers"}


def test_a_reordered_parameter_is_a_difference():
    def keras_style(k=5, name="top_k", dtype=None):
        pass

    def swapped(name="top_k", dtype=None, k=5):
        pass

    def equivalent(k=5, name="top_k", dtype=None, extra=1):
        pass

    assert differences(keras_style, swapped) == ["parameter 0 is 'k' in Keras, 'name' here"]
    assert differences(keras_style, equivalent) == []
    assert differences(lambda strides=(1, 1): 0, lambda strides=1: 0) == []
    assert differences(lambda strides=(1, 1): 0, lambda strides=2: 0) != []


def test_the_method_walk_compares_many_methods():
    assert len(list(_methods())) > 1000


# (namespace.name, positional arguments): the same call in Keras and nablanet must give the same
# configuration for every key both report.
POSITIONAL_CALLS = [
    ("metrics.SparseTopKCategoricalAccuracy", (3, "top3")),
    ("metrics.TopKCategoricalAccuracy", (2, "top2")),
    ("metrics.BinaryAccuracy", ("acc", None, 0.7)),
    ("metrics.SparseCategoricalCrossentropy", ("scce", None, True, 2, -1)),
    ("losses.Huber", (2.5,)),
    ("losses.BinaryCrossentropy", (True, 0.1, -1, "sum", "bce")),
    ("losses.SparseCategoricalCrossentropy", (True, 3, "sum", -1, "scce")),
    ("losses.CosineSimilarity", (0,)),
    ("optimizers.Adam", (0.01, 0.8, 0.9, 1e-6, True, 0.004, 1.0)),
    ("optimizers.SGD", (0.1, 0.9, True, 0.01)),
    ("layers.LSTM", (4, "relu", "hard_sigmoid", False, "zeros", "ones", "ones", False)),
    ("layers.GRU", (3, "tanh", "sigmoid", True, "zeros")),
    ("layers.SimpleRNN", (2, "relu", False)),
    ("layers.LSTMCell", (4, "tanh", "sigmoid", False)),
    ("layers.GRUCell", (4, "tanh", "sigmoid", True, "zeros")),
    ("layers.LayerNormalization", (-1, 1e-5, True, True, "ones", "zeros")),
    ("layers.GroupNormalization", (4, -1, 1e-5, True, True, "ones")),
    ("layers.Conv2DTranspose", (4, 3, 2, "same", None, None, 1, "relu", False)),
    ("layers.MaxPooling2D", (3, 2, "same", None, "pool")),
    ("layers.SpatialDropout1D", (0.3, 7, "drop")),
    ("layers.ZeroPadding1D", (2, "channels_first")),
    ("layers.Resizing", (4, 5, "nearest", False, True)),
    ("layers.RandomFlip", ("horizontal", 3, "channels_first")),
    ("layers.PReLU", ()),
]


@pytest.mark.parametrize("qualified, args", POSITIONAL_CALLS, ids=[q for q, _ in POSITIONAL_CALLS])
def test_positional_arguments_mean_what_they_mean_in_keras(qualified, args):
    keras_object, our_object = _resolve(keras, qualified)(*args), _resolve(nablanet, qualified)(*args)
    if qualified.startswith("losses."):  # Keras's configs leave a loss's own arguments out: compare values
        rng = np.random.default_rng(0)
        y_true, y_pred = rng.uniform(0.1, 0.9, (4, 3)), rng.uniform(0.1, 0.9, (4, 3))
        if "Sparse" in qualified:
            y_true = np.array([0, 2, 1, 1])
        expected = np.asarray(keras_object(y_true, y_pred).detach())
        np.testing.assert_allclose(np.asarray(our_object(y_true, y_pred)), expected, rtol=1e-5)
    theirs, mine = keras_object.get_config(), our_object.get_config()
    shared = sorted(set(theirs) & set(mine))
    if theirs.get("name") not in args:  # a generated name counts this process's objects: no parity to ask
        shared.remove("name")
    assert len(shared) >= (1 if qualified.startswith("losses.") else 2)
    for key in shared:
        a, b = _plain(theirs[key]), _plain(mine[key])
        floats = isinstance(a, float) and isinstance(b, float)
        same = math.isclose(a, b, rel_tol=1e-6) if floats else _same_default(a, b)
        assert same, f"{qualified}{args}: {key} is {theirs[key]!r} in Keras, {mine[key]!r} here"


def _plain(value):
    """A config value in a comparable form: a dtype policy as its dtype's name (Keras writes either),
    a serialized object as its class name, a list as a tuple; Keras's float32 variables give
    float32-rounded numbers, so floats compare to float32 precision."""
    if isinstance(value, dict):
        return value["config"]["name"] if value.get("class_name") == "DTypePolicy" else value.get("class_name")
    return tuple(value) if isinstance(value, list) else value
