"""The one registry: every object nablanet can save, and the code that turns objects into JSON
configs in Keras 3's schema and back.

A config is `{"module", "class_name", "config", "registered_name"}` (layers and models add
`build_config`, compiled models `compile_config`), as `keras.saving.serialize_keras_object`
writes it; the older `{"class_name", "config"}` form is read too. Loading is an allowlist: a name
is built only when it is in a table a nablanet module registered (`register_table`), was
registered with `register_keras_serializable`, or is given in `custom_objects` (or a
`custom_object_scope`). The "module" field is checked, never imported, and no code stored in a
file is ever run (Keras's `__lambda__` functions are refused).

>>> @register_keras_serializable(package="demo")
... def halve(x):
...     return x / 2
>>> serialize(halve)["registered_name"]
'demo>halve'
>>> deserialize(serialize(halve)) is halve
True
"""

import contextlib
import importlib
import inspect
import threading

KINDS = ("layers", "models", "optimizers", "schedules", "losses", "metrics", "initializers",
         "regularizers", "constraints", "activations", "dtype_policies")

_TABLES = {}  # kind -> {name: class or function}
_MODULES = {}  # kind -> the Keras module written in "module"
_KIND_OF = {}  # class or function -> (kind, name) where it was first registered
_CUSTOM = {}  # registered custom objects: "package>name" (or a plain name) -> object
_NAMES = {}  # registered object -> its "package>name"
_SCOPES = threading.local()  # the custom_object_scope stack of this thread

# kind -> the part of nablanet whose import fills its table: loaded on a miss, since `import nablanet` is lazy.
OWNERS = {"layers": ("nablanet.layers", "nablanet.utils.feature_space",  # FeatureSpace and its Feature, Cross
                      "nablanet.applications.convnext"),  # ConvNeXt's LayerScale and StochasticDepth
          "models": ("nablanet.models",), "optimizers": ("nablanet.optimizers",),
          "schedules": ("nablanet.optimizers.schedules",), "losses": ("nablanet.losses",),
          "metrics": ("nablanet.metrics",), "initializers": ("nablanet.initializers",),
          "regularizers": ("nablanet.regularizers",), "constraints": ("nablanet.constraints",),
          "activations": ("nablanet.activations",), "dtype_policies": ()}
SAFE_MODULES = ("keras", "nablanet", "tf_keras", "tensorflow.keras", "builtins")
# Keras-only arguments nablanet's layers lack, dropped when they hold the value that changes nothing.
NEUTRAL = {"quantization_config": None, "sparse": False, "ragged": False, "optional": False,
           "synchronized": False, "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
           "lora_rank": None, "lora_alpha": None, "autocast": True, "input_axes": None, "output_axes": None}


class SerializationError(ValueError):
    """A config that names something outside the allowlist, or that cannot be built."""


def register_table(kind, table, module):
    """Add a module's own objects (`{name: class or function}`) to the allowlist of `kind`,
    written as `module` (Keras's, e.g. "keras.layers") in configs."""
    known = _TABLES.setdefault(kind, {})
    _MODULES[kind] = module
    for name, obj in table.items():
        known.setdefault(name, obj)  # the first wins: a module imported twice (doctest runs) changes nothing
        _KIND_OF.setdefault(obj, (kind, name))


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a class or function under `package>name` for loading, as in Keras.

    >>> @register_keras_serializable(package="demo")
    ... def double(x):
    ...     return 2 * x
    >>> get_registered_name(double)
    'demo>double'
    """
    def decorate(obj):
        key = f"{package}>{name or obj.__name__}"
        if key in _CUSTOM and _CUSTOM[key] is not obj and _same_source(_CUSTOM[key], obj) is False:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered to {_CUSTOM[key]!r}")
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: {obj.__name__} must define get_config()")
        _CUSTOM[key] = obj
        _NAMES[obj] = key
        return obj

    return decorate


def _same_source(old, new):
    """Whether `new` is `old` defined again (a re-run script or test module): allowed."""
    return getattr(old, "__qualname__", None) == getattr(new, "__qualname__", None) and \
        getattr(old, "__module__", None) == getattr(new, "__module__", None)


def get_registered_name(obj):
    """`package>name` for a registered object, else its own name.

    >>> get_registered_name(len)
    'len'
    """
    return _NAMES.get(obj) or getattr(obj, "__name__", type(obj).__name__)


def get_custom_objects():
    """The live dict of registered custom objects (adding to it registers, as in Keras).

    >>> get_custom_objects()["demo>absolute"] = abs
    >>> get_registered_object("demo>absolute") is abs
    True
    >>> del get_custom_objects()["demo>absolute"]
    """
    return _CUSTOM


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered (or given in a scope, `custom_objects` or `module_objects`) as
    `name`, or None.

    >>> get_registered_object("nothing_by_this_name") is None
    True
    """
    for table in (_scoped(custom_objects), _CUSTOM, module_objects or {}):
        if name in table:
            return table[name]
    return None


class CustomObjectScope:
    """Within `with CustomObjectScope({"MyLayer": MyLayer}):` every deserialization, however deep
    (a cell inside an RNN, a layer inside a wrapper), sees these objects.

    >>> with CustomObjectScope({"halve": abs}):
    ...     get_registered_object("halve") is abs
    True
    """

    def __init__(self, custom_objects):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError(f"CustomObjectScope: custom_objects must be a dict of names to objects, "
                            f"got {type(custom_objects).__name__}")
        self.objects = dict(custom_objects or {})

    def __enter__(self):
        _stack().append(self.objects)
        return self

    def __exit__(self, *exc):
        _stack().pop()


custom_object_scope = CustomObjectScope


def _stack():
    if not hasattr(_SCOPES, "stack"):
        _SCOPES.stack = []
    return _SCOPES.stack


def _scoped(custom_objects=None):
    merged = {}
    for table in _stack():
        merged.update(table)
    merged.update(custom_objects or {})
    return merged


# -- serialize --------------------------------------------------------------------------------------

def serialize(obj):
    """The JSON-ready config of `obj` in Keras 3's schema (plain values pass through).

    >>> serialize([1, "a", None])
    [1, 'a', None]
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize(v) for k, v in obj.items()}
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # a NumPy scalar
        return obj.item()
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return _serialize_function(obj)
    if not hasattr(obj, "get_config"):
        raise SerializationError(f"serialize: {obj!r} has no get_config(); it cannot be saved. Give its class "
                                 "get_config() and register it with @register_keras_serializable()")
    cls = type(obj)
    builtin = _KIND_OF.get(cls)
    name = getattr(obj, "_keras_class_name", None) or cls.__name__
    module = getattr(obj, "_keras_module", None) or (_MODULES[builtin[0]] if builtin else cls.__module__)
    entry = {"module": module if cls not in _NAMES else cls.__module__,
             "class_name": name, "config": serialize(obj.get_config()), "registered_name": _NAMES.get(cls)}
    if hasattr(obj, "get_build_config"):
        build = obj.get_build_config()
        if build is not None:
            entry["build_config"] = build
    if hasattr(obj, "get_compile_config") and obj.get_compile_config() is not None:
        entry["compile_config"] = obj.get_compile_config()
    return entry


def _serialize_function(fn):
    if fn in _NAMES:
        return {"module": fn.__module__, "class_name": "function", "config": fn.__name__,
                "registered_name": _NAMES[fn]}
    if fn in _KIND_OF:
        kind, name = _KIND_OF[fn]
        return {"module": _MODULES[kind], "class_name": "function", "config": name, "registered_name": name}
    raise SerializationError(
        f"serialize: the function {getattr(fn, '__name__', fn)!r} cannot be saved: nablanet stores functions "
        "by name only (never their code). Register it with @nablanet.saving.register_keras_serializable()")


# -- deserialize ------------------------------------------------------------------------------------

def deserialize(config, custom_objects=None, safe_mode=True, *, kind=None):
    """Build what `serialize` wrote, from the allowlist only.

    Args:
        config: A config dict (either schema), a name, a list of them, or a plain value.
        custom_objects: `{name: class or function}` for objects nablanet does not know; nested
            deserializations see them too.
        kind: Which table a bare name or a config without "module" belongs to ("layers",
            "losses", ...); any table when None.
        safe_mode: Kept for Keras's signature: code stored in a file is refused either way.

    >>> deserialize({"class_name": "function", "config": "halve", "registered_name": "demo>halve"}).__name__
    'halve'
    """
    with CustomObjectScope(custom_objects or {}):
        return _deserialize(config, kind)


def _deserialize(config, kind):
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        obj = lookup(config, kind)
        return obj() if isinstance(obj, type) else obj
    if isinstance(config, (list, tuple)):
        return [_deserialize(c, kind) for c in config]
    if not isinstance(config, dict):
        raise SerializationError(f"deserialize: expected a config dict, a name or a list, got {type(config).__name__}")
    if "class_name" not in config:
        return {k: _deserialize(v, kind) for k, v in config.items()}
    class_name, inner = config["class_name"], config.get("config", {})
    if class_name == "__lambda__" or (isinstance(inner, dict) and inner.get("class_name") == "__lambda__"):
        raise SerializationError("deserialize: the config holds a lambda function (Python bytecode); nablanet "
                                 "never runs code from a file. Define the function in your program, register it "
                                 "with @register_keras_serializable() and save it by name")
    if class_name in ("__tensor__", "__numpy__"):
        import numpy as np  # a literal array written in the JSON itself: its size is the file's, unless its dtype lies

        dtype = np.dtype(inner.get("dtype") or "float32")
        if dtype.kind not in "biuf" or dtype.itemsize > 8:
            raise SerializationError(f"deserialize: a literal array of dtype {dtype} is not a number array")
        return np.array(inner["value"], dtype=dtype)
    module, registered = config.get("module"), config.get("registered_name")
    if class_name == "function":
        return lookup(inner, kind, module=module, registered=registered)
    obj = lookup(class_name, kind, module=module, registered=registered)
    if not hasattr(obj, "from_config"):
        raise SerializationError(f"deserialize: {class_name!r} is not a class with from_config()")
    instance = obj.from_config(_prepare(obj, inner))
    build = config.get("build_config")  # layers are built by the model that calls them; models here
    if build and hasattr(instance, "compile") and not getattr(instance, "built", True):
        instance.build_from_config(build)
    compile_config = config.get("compile_config")
    if compile_config and hasattr(instance, "compile_from_config"):
        instance.compile_from_config(compile_config)
    for callback in getattr(_CREATED, "callbacks", ()):
        callback(instance)
    return instance


def _prepare(cls, config):
    """A config as `cls.from_config` takes it: a DTypePolicy dict becomes its dtype's name, and
    Keras-only arguments holding their neutral value are dropped when `cls` does not take them."""
    if not isinstance(config, dict):
        return config
    config = dict(config)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        policy = dtype.get("config", {})
        config["dtype"] = policy.get("name") if isinstance(policy, dict) else None
    if _KIND_OF.get(cls, (None,))[0] in ("layers", "models", "initializers", "metrics"):
        accepted = inspect.signature(cls.__init__).parameters
        for key, neutral in NEUTRAL.items():
            if key in config and key not in accepted and config[key] == neutral:
                del config[key]
    return config


def _kind_from_module(module):
    parts = str(module).replace("keras.src.", "keras.").split(".")
    for part in reversed(parts):
        for kind in KINDS:
            if part == kind or part.rstrip("s") == kind.rstrip("s") or (part == "functional" and kind == "models"):
                return kind
    return None


def lookup(name, kind=None, module=None, registered=None):
    """The class or function `name` names, from the allowlist: custom objects in scope, then
    registered ones, then the built-in table of `kind` (the "module" field's, else any).

    >>> lookup("halve", registered="demo>halve").__name__
    'halve'
    """
    custom = _scoped()
    for key in (registered, name, str(registered or "").split(">")[-1]):
        if key and key in custom:
            return custom[key]
    for key in (registered, name):
        if key and key in _CUSTOM:
            return _CUSTOM[key]
    if not isinstance(name, str):
        raise SerializationError(f"deserialize: expected a class or function name, got {name!r}")
    if module and not str(module).startswith(SAFE_MODULES):
        raise SerializationError(
            f"deserialize: the config names {name!r} (from module {module!r}, which nablanet never imports) that is "
            "neither built into nablanet nor registered. Pass it in custom_objects={...}, use custom_object_scope, "
            "or decorate it with @nablanet.saving.register_keras_serializable()")
    hinted = kind or _kind_from_module(module)
    order = ([hinted] if hinted else []) + [k for k in KINDS if k != hinted]
    for k in order:
        found = _find(k, name)
        if found is None and _load_owners(k):
            found = _find(k, name)
        if found is not None:
            return found
    what = f"{hinted.rstrip('s')} " if hinted else ""
    raise SerializationError(
        f"deserialize: the config names a {what}{name!r} that is neither built into nablanet nor registered. "
        "Pass it in custom_objects={...}, use custom_object_scope, or decorate it with "
        "@nablanet.saving.register_keras_serializable(); nablanet never imports code a file names")


def _find(kind, name):
    table = _TABLES.get(kind, {})
    for key in (name, name.lower() if kind == "optimizers" else None):
        if key in table:
            return table[key]
    return None


def _load_owners(kind):
    """Import the parts that fill `kind`'s table (from `OWNERS`, never from a file); True if any was new."""
    loaded = False
    for module in OWNERS.get(kind, ()):
        if module not in _LOADED:
            _LOADED.add(module)
            importlib.import_module(module)
            loaded = True
    return loaded


_LOADED = set()


# -- what a load creates ----------------------------------------------------------------------------

_CREATED = threading.local()


@contextlib.contextmanager
def on_create(callback):
    """Call `callback(obj)` for each object `deserialize` builds from a class config, in order, while
    the block runs (a loader gives layers their saved state before the graph that calls them is built).

    >>> made = []
    >>> with on_create(made.append):
    ...     layer = deserialize({"class_name": "Dense", "config": {"units": 2}}, kind="layers")
    >>> made == [layer]
    True
    """
    saved = getattr(_CREATED, "callbacks", ())
    _CREATED.callbacks = saved + (callback,)
    try:
        yield
    finally:
        _CREATED.callbacks = saved


# -- the loading budget -----------------------------------------------------------------------------

_BUDGET = threading.local()


@contextlib.contextmanager
def allocation_budget(nbytes, source):
    """While loading `source`, refuse any weight that would take the bytes allocated so far past
    `nbytes` (what the file can honestly back), before it is allocated.

    >>> with allocation_budget(64, "m.keras"):
    ...     check_allocation(None, "kernel", (4, 4), "float32")
    """
    saved = getattr(_BUDGET, "state", None)
    _BUDGET.state = [nbytes, 0, source]
    try:
        yield
    finally:
        _BUDGET.state = saved


def check_allocation(owner, name, shape, dtype):
    """Count a weight about to be allocated against the active budget (none: nothing to check)."""
    state = getattr(_BUDGET, "state", None)
    if state is None:
        return
    size = 1
    for d in shape:
        size *= int(d)
    itemsize = {"float64": 8, "int64": 8, "float16": 2, "bfloat16": 2, "int8": 1, "uint8": 1, "bool": 1}.get(
        str(dtype), 4)
    state[1] += size * itemsize
    if state[1] > state[0]:
        where = f"layer {getattr(owner, 'name', owner)!r}" if owner is not None else "a layer"
        raise SerializationError(
            f"load: {state[2]}: {where} declares a weight {name!r} of shape {tuple(shape)} "
            f"({size * itemsize} bytes), which takes the model past the {state[0]} bytes the file can hold; "
            "refused before allocating it (a corrupted or hostile config)")
