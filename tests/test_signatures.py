"""Signature parity with Keras: every public class and function that both Keras and nablanet
export, in every namespace, takes the same parameters in the same positional order with the same
defaults, so a Keras program that passes arguments by position behaves the same here.

Rules, and the spellings counted as equal:
- Keras's parameters (names, order, and positional-or-keyword vs keyword-only) must be nablanet's
  leading parameters. nablanet may add parameters after them (keyword arguments Keras 2 programs
  still pass, e.g. `Embedding(input_length=)`), since they change nothing for a Keras 3 call.
- `**kwargs` is not compared: Keras forwards it to a base class, and so does nablanet.
- Defaults are equal by value; an integer and the tuple of that integer repeated (`strides=1` and
  `strides=(1, 1)`) are the same default, since both layers normalize one to the other.
"""

import inspect
import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import nablanet  # noqa: E402

NAMESPACES = [
    "", "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets",
    "initializers", "layers", "losses", "metrics", "models", "ops", "ops.nn", "ops.numpy", "ops.linalg",
    "ops.image", "optimizers", "optimizers.schedules", "random", "regularizers", "saving", "tree", "utils",
    "preprocessing", "preprocessing.image", "preprocessing.sequence", "export", "distribution",
]

# name -> why its signature may differ from Keras's
EXCEPTIONS = {
    # Keras's Model is `(*args, **kwargs)` and forwards to Functional's signature when given inputs
    # and outputs; nablanet's Model spells that signature out, and it is compared with Functional's below.
    "Model": "compared with keras.src.models.functional.Functional instead",
    "models.Model": "compared with keras.src.models.functional.Functional instead",
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
