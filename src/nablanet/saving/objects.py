"""Compile settings (optimizer, losses, metrics) as JSON and back."""

from nablanet import losses, metrics, optimizers
from nablanet.saving.serialization import get_registered_name, resolve


def _serialize_callable(obj, kind):
    if isinstance(obj, str) or obj is None:
        return obj
    if isinstance(obj, losses.Loss):
        return {"loss": type(obj).__name__, "config": obj.get_config()}
    if isinstance(obj, metrics.Metric):
        return {"metric": type(obj).__name__, "config": obj.get_config()}
    for table in (losses.FUNCTIONS, metrics.FUNCTIONS):
        for name, fn in table.items():
            if fn is obj:
                return name
    if hasattr(obj, "_registered_name"):
        return {"registered": get_registered_name(obj)}
    raise ValueError(
        f"save: the {kind} {obj!r} cannot be saved: use a name, a nablanet class, or register the "
        "function with @nablanet.saving.register_keras_serializable()"
    )


def _serialize_spec(spec, kind):
    if isinstance(spec, dict):
        return {"by_output": {k: _serialize_spec(v, kind) for k, v in spec.items()}}
    if isinstance(spec, (list, tuple)):
        return [_serialize_spec(s, kind) for s in spec]
    return _serialize_callable(spec, kind)


def _deserialize_spec(spec, custom_objects):
    if isinstance(spec, dict) and "by_output" in spec:
        return {k: _deserialize_spec(v, custom_objects) for k, v in spec["by_output"].items()}
    if isinstance(spec, list):
        return [_deserialize_spec(s, custom_objects) for s in spec]
    if isinstance(spec, dict) and "loss" in spec:
        return losses.CLASSES[_known(spec["loss"], losses.CLASSES, "loss")].from_config(spec["config"])
    if isinstance(spec, dict) and "metric" in spec:
        config = {k: v for k, v in spec["config"].items() if k != "dtype"}
        return metrics.CLASSES[_known(spec["metric"], metrics.CLASSES, "metric")](**config)
    if isinstance(spec, dict) and "registered" in spec:
        return resolve(spec["registered"], custom_objects, "function")
    return spec


def _known(name, table, kind):
    if name not in table:
        raise ValueError(f"load: unknown {kind} class {name!r} in the file")
    return name


def serialize_compile(model):
    return {"optimizer": optimizers.serialize(model.optimizer), "loss": _serialize_spec(model.loss, "loss"),
            "loss_weights": model.loss_weights, "metrics": _serialize_spec(model._metric_spec, "metric")}


def deserialize_compile(config, custom_objects=None):
    return {"optimizer": optimizers.deserialize(config["optimizer"]),
            "loss": _deserialize_spec(config["loss"], custom_objects),
            "loss_weights": config.get("loss_weights"),
            "metrics": _deserialize_spec(config.get("metrics"), custom_objects)}
