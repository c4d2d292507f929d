"""Turning objects into JSON configs and back, from an allowlist only.

A config names a class; `deserialize` builds it only if the name is in nablanet's own registry
(every layer, model, optimizer, loss, metric, initializer, regularizer, constraint and schedule),
was registered with `register_keras_serializable`, or is passed in `custom_objects`. It never
imports a module or looks a name up anywhere else, whatever the file says.
"""

_REGISTERED = {}


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
        if key in _REGISTERED and _REGISTERED[key] is not obj:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered")
        _REGISTERED[key] = obj
        obj._registered_name = key
        return obj

    return decorate


def get_registered_name(obj):
    return getattr(obj, "_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


def builtin_classes():
    """Every class nablanet itself can rebuild from a config, by class name."""
    from nablanet import constraints, initializers, layers, losses, metrics, optimizers, regularizers
    from nablanet.models import Model, Sequential
    from nablanet.optimizers import schedules

    found = {"Model": Model, "Functional": Model, "Sequential": Sequential}
    for module in (layers, optimizers):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, type):
                found[name] = value
    found.update(initializers.ALL)
    found.update(losses.CLASSES)
    found.update({f"metric:{k}": v for k, v in metrics.CLASSES.items()})
    found.update({k: v for k, v in regularizers.ALL.items() if k[0].isupper()})
    found.update({k: v for k, v in constraints.ALL.items() if k[0].isupper()})
    found.update(schedules._SCHEDULES)
    return found


def resolve(class_name, custom_objects=None, kind="object"):
    """The class (or function) for `class_name` from the allowlist, or a clear error."""
    custom_objects = custom_objects or {}
    for table in (custom_objects, _REGISTERED, builtin_classes()):
        if class_name in table:
            return table[class_name]
    short = class_name.split(">")[-1]
    if short in custom_objects:
        return custom_objects[short]
    raise ValueError(
        f"load: the file names a {kind} {class_name!r} that is neither built into nablanet nor "
        "registered. Pass it in custom_objects={...} or decorate it with "
        "@nablanet.saving.register_keras_serializable(); nablanet never imports code a file names."
    )
