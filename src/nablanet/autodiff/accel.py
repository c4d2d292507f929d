"""The optional compiled-kernel accelerator: numba and C kernels behind the NumPy primitives.

A primitive asks `kernels("nn")` for the compiled module `nablanet.autodiff.accel_nn` (each
family of kernels is one `accel_<name>.py` beside this file) and uses it when it gets one, else
runs its NumPy code, which stays the reference. Most families are numba kernels: numba is imported
on the first such request, never by `import nablanet`, and compiled code is cached on disk (numba's
`cache=True`). The families in `C_FAMILIES` are C sources (`accel_<name>.c`) that their module
compiles with the machine's C compiler on first import and caches; they need no numba. A first use
that has to compile says so once on stderr.

The accelerator is off when the environment variable `NABLANET_ACCEL` is `0` (read on first use),
or after `set_enabled(False)`; the numba families are off when numba is missing or older than 0.60,
the C families when there is no C compiler.

>>> from nablanet.autodiff import accel
>>> accel.set_enabled(False)
>>> accel.kernels("nn") is None
True
>>> accel.set_enabled(None)  # back to the environment's choice
"""

import importlib
import importlib.util
import os
import sys

_state = {"enabled": None, "environment": None, "numba": None, "announced": False}
_loaded = {}  # family -> its module, or None when it could not be imported
C_FAMILIES = frozenset({"conv"})


def set_enabled(value):
    """Force the accelerator on (`True`: used when numba is importable) or off (`False`);
    `None` goes back to `NABLANET_ACCEL`'s choice (on unless it is `0`)."""
    if value not in (True, False, None):
        raise ValueError(f"accel.set_enabled: expected True, False or None, got {value!r}")
    _state["enabled"] = value


def enabled():
    """Whether kernels run compiled: switched on, and numba importable (the C families ask only the
    switch, `kernels` then finds out whether they compile)."""
    return _switched_on() and _numba_available()


def _switched_on():
    wanted = _state["enabled"]
    if wanted is None:
        if _state["environment"] is None:
            setting = os.environ.get("NABLANET_ACCEL", "1").strip().lower()
            _state["environment"] = setting not in ("0", "false", "no", "off")
        wanted = _state["environment"]
    return wanted


def _numba_available():
    if _state["numba"] is None:
        try:
            import numba
        except ImportError:  # the extra is not installed (or made unimportable): NumPy it is
            _state["numba"] = False
        else:
            major, minor = (int(part) for part in numba.__version__.split(".")[:2])
            _state["numba"] = (major, minor) >= (0, 60)
    return _state["numba"]


WORTH_IMPORTING = 1 << 16  # elements one call must touch to pay for importing numba in a program without it


def kernels(name, size=None):
    """The compiled kernel module `accel_<name>`, or None when the accelerator is off or the family
    cannot run here (no numba; for a C family, no compiler). A numba family's caller passing `size`
    (the elements its call touches) gets None while numba is not imported yet and the call is small:
    a small model's whole run does not win back the import's fraction of a second and its hundred
    MiB, so it stays on NumPy until a big call (a convolution, a recurrent layer, a big variable) has
    loaded numba."""
    if name in C_FAMILIES:
        if not _switched_on():
            return None
    elif (size is not None and size < WORTH_IMPORTING and sys.modules.get("numba") is None) or not enabled():
        return None
    if name in _loaded:
        return _loaded[name]
    if importlib.util.find_spec(f"nablanet.autodiff.accel_{name}") is None:
        raise ValueError(f"accel.kernels: no kernel module {name!r} (expected nablanet/autodiff/accel_{name}.py)")
    try:
        module = importlib.import_module(f"nablanet.autodiff.accel_{name}")
    except ImportError:  # a C family with no compiler, or whose compile failed (it said why): NumPy runs
        if name not in C_FAMILIES:
            raise
        module = None
    _loaded[name] = module
    if module is not None and name not in C_FAMILIES:
        _announce_compiling(module)
    return module


def announce(message):
    """Write `message` on stderr, once per process for all of the accelerator's first compiles."""
    if not _state["announced"]:
        _state["announced"] = True
        sys.stderr.write(f"nablanet: {message}. NABLANET_ACCEL=0 turns them off.\n")


def _announce_compiling(module):
    """Say once per process when a kernel module has no compiled code cached on disk yet (numba then
    compiles each kernel on its first call, which takes seconds). Once one of its kernels is cached,
    the module's family has been used: kernels a program never calls stay uncompiled, and do not
    bring the notice back in every later process."""
    indexes = []
    for dispatcher in _dispatchers(module):
        cache = getattr(dispatcher, "_cache", None)
        index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
        if index is not None:
            indexes.append(index)
    if indexes and not any(os.path.exists(index) for index in indexes):
        announce(f"compiling the accelerator's kernels for their first use (seconds, once; cached in "
                 f"{os.path.dirname(indexes[0])})")


def _dispatchers(module):
    return [value for value in vars(module).values() if hasattr(value, "py_func") and hasattr(value, "_cache")]
