"""Every public name of keras.config, keras.backend, keras.random and keras.ops' core and math ops
exists in nablanet. An exclusion is allowed only for a name that cannot exist without another
framework, with the reason beside it."""

import inspect

import pytest

import nablanet

keras = pytest.importorskip("keras")

EXCLUDED = {
    "config": {
        "is_nnx_enabled": "Flax NNX is a JAX library; there is no NNX without JAX",
    },
    "backend": {},
    "random": {},
    "ops": {},
}


def public(module):
    return sorted(n for n in dir(module) if not n.startswith("_"))


def keras_core_and_math_ops():
    """keras.ops' names that live in its core, math and einops modules (the rest are other helpers')."""
    names = []
    for name in public(keras.ops):
        value = getattr(keras.ops, name)
        if getattr(value, "__module__", "") in ("keras.src.ops.core", "keras.src.ops.math", "keras.src.ops.einops"):
            names.append(name)
    return names


@pytest.mark.parametrize("namespace", ["config", "backend", "random"])
def test_every_keras_name_exists(namespace):
    ours = getattr(nablanet, namespace)
    missing = [n for n in public(getattr(keras, namespace)) if n not in EXCLUDED[namespace] and not hasattr(ours, n)]
    assert not missing, f"nablanet.{namespace} lacks {missing}"


def test_every_keras_core_and_math_op_exists():
    names = keras_core_and_math_ops()
    assert len(names) >= 40  # the walk itself found Keras's ops
    missing = [n for n in names if n not in EXCLUDED["ops"] and not hasattr(nablanet.ops, n)]
    assert not missing, f"nablanet.ops lacks {missing}"


def test_exclusions_are_still_needed():
    for namespace, names in EXCLUDED.items():
        for name in names:
            assert hasattr(getattr(keras, namespace), name), f"keras.{namespace}.{name} is gone: drop the exclusion"
            assert not hasattr(getattr(nablanet, namespace), name), f"nablanet.{namespace}.{name} exists now"


def signature_of(function):
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("namespace, names", [
    ("config", lambda: public(keras.config)),
    ("backend", lambda: public(keras.backend)),
    ("random", lambda: public(keras.random)),
    ("ops", keras_core_and_math_ops),
])
def test_signatures_match_keras(namespace, names):
    ours, theirs = getattr(nablanet, namespace), getattr(keras, namespace)
    different = []
    for name in names():
        if name in EXCLUDED[namespace] or not callable(getattr(theirs, name)):
            continue
        if signature_of(getattr(ours, name)) != signature_of(getattr(theirs, name)):
            different.append(f"{name}: {inspect.signature(getattr(ours, name))} vs "
                             f"Keras's {inspect.signature(getattr(theirs, name))}")
    assert not different, "\n".join(different)
