"""Keras 3's weights layout (`model.weights.h5` in a `.keras` archive, and `.weights.h5`), written
and read by walking the model as Keras does: a model's own variables under `vars/0, 1, ...`,
a Sequential's or functional model's layers under `layers/<class in snake case>[_k]`, a layer's
sublayers under the attribute that holds them (`cell`, `forward_layer`, `layer`), and the
optimizer's variables under `optimizer/vars` (iterations, the learning rate, then its slots in
Keras's order). Models are walked by their public attributes only (no import of models).
"""

import collections
import io

import numpy as np

from nablanet.layers.base import Layer
from nablanet.names import snake_case
from nablanet.saving.archive import SavingError

INTERLEAVED = {"Adam": 2, "AdamW": 2, "Adamax": 2, "Nadam": 2, "Adadelta": 2}  # slots Keras makes in one call


def keras_class_name(layer):
    """The class name Keras would give `layer` (a functional nablanet `Model` is Keras's `Functional`)."""
    return getattr(layer, "_keras_class_name", None) or type(layer).__name__


def is_model(layer):
    """Models are recognized by what they do (saving never imports nablanet.models)."""
    return hasattr(layer, "compile") and hasattr(layer, "_graph")


def _is_graph(layer):
    return keras_class_name(layer) in ("Sequential", "Functional")


def walk(model):
    """`(path, layer)` for the model and every layer inside it, each once, in Keras's order."""
    seen, found = set(), []

    def visit(layer, path):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        found.append((path, layer))
        if _is_graph(layer):
            _numbered(list(layer.layers), f"{path}/layers", visit)
            return
        attributes = {k: v for k, v in vars(layer).items() if not k.startswith("_")}
        if hasattr(layer, "compile"):  # a subclassed model: Keras also walks its `layers` list
            attributes["layers"] = list(layer.layers)
        for attribute in sorted(attributes):
            value = attributes[attribute]
            if isinstance(value, Layer) and value is not layer:
                visit(value, f"{path}/{attribute}")
            elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Layer) for v in value):
                _numbered(value, f"{path}/{attribute}", visit)

    visit(model, "")
    return found


def _numbered(layers, base, visit):
    """Keras's keys for a list of layers: the class in snake case, `_k` for its k-th repeat (a
    layer already visited keeps its place in the count)."""
    used = collections.Counter()
    for child in layers:
        label = snake_case(keras_class_name(child))
        key = label if not used[label] else f"{label}_{used[label]}"
        used[label] += 1
        visit(child, f"{base}/{key}")


def own_variables(layer):
    """The variables a layer keeps itself (its sublayers' are theirs)."""
    return list(layer._weights)


def optimizer_arrays(optimizer):
    """The optimizer's variables in Keras's order: iterations, the learning rate (unless it is a
    schedule), then the slots, those Keras makes together interleaved per variable."""
    arrays = [np.array(optimizer.iterations, dtype=np.int64)]
    if isinstance(optimizer._learning_rate, float):
        arrays.append(np.array(optimizer._learning_rate, dtype=np.float32))
    return arrays + [optimizer._slots[i] for i in _slot_order(optimizer)]


def _slot_order(optimizer):
    """Indices into `optimizer._slots` in Keras's order."""
    n, total = len(optimizer._variables), len(optimizer._slots)
    base = n * (bool(optimizer.use_ema) + bool(optimizer.gradient_accumulation_steps))
    order = list(range(base))
    together = INTERLEAVED.get(type(optimizer).__name__, 1) if n else 1
    if together > 1 and total >= base + together * n:
        order += [base + g * n + i for i in range(n) for g in range(together)]
        base += together * n
    return order + list(range(base, total))


def weights_h5(model):
    """The bytes of `model.weights.h5` for `model` (and its optimizer's state when built)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, layer in walk(model):
            group = f.require_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = layer.name
            for i, v in enumerate(own_variables(layer)):
                group.create_dataset(str(i), data=np.array(v.numpy(), order="C"))
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer.built:
            group = f.require_group("optimizer/vars")
            group.attrs["name"] = optimizer.name
            for i, array in enumerate(optimizer_arrays(optimizer)):
                group.create_dataset(str(i), data=np.array(array, order="C"))
    return buffer.getvalue()


def load_weights_h5(model, data, path, optimizer=True, optimizer_extra=None):
    """Assign the weights in `data` (a `model.weights.h5`) to `model`, every array checked
    (present, stored in the file, numeric, the right shape) before the first is assigned; then
    the optimizer's state when `optimizer` and the file has it."""
    from nablanet.saving.h5 import _h5py, _member, dataset

    source = f"{path}:model.weights.h5"
    h5py = _h5py(source)
    try:
        f = h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as error:
        raise SavingError(f"load_model: {source} is corrupted or not HDF5 ({error})") from None
    with f:
        try:
            ready = []
            for where, layer in walk(model):
                variables = own_variables(layer)
                group = _member(f, f"{where}/vars", source, h5py, optional=True)
                if group is None:
                    if variables:
                        raise SavingError(f"load_model: {source} has no weights for layer {layer.name!r} "
                                          f"(expected at {where.strip('/') or '/'}/vars)")
                    continue
                stored = sorted(group, key=lambda k: int(k) if k.isdigit() else -1)
                if len(stored) != len(variables):
                    raise SavingError(f"load_model: {source}: layer {layer.name!r} has {len(variables)} weights, "
                                      f"the file {len(stored)} at {where.strip('/')}/vars")
                for v, key in zip(variables, stored):
                    array = dataset(group, key, source, h5py)
                    if tuple(array.shape) != tuple(v.shape):
                        raise SavingError(f"load_model: {source}: layer {layer.name!r} weight {v.name!r} has shape "
                                          f"{tuple(array.shape)} in the file, {tuple(v.shape)} in the model")
                    ready.append((v, np.asarray(array).astype(v.dtype, copy=False)))
            opt = getattr(model, "optimizer", None)
            slots = None
            if optimizer and opt is not None and "optimizer" in f:
                group = _member(f, "optimizer/vars", source, h5py, optional=True)
                if group is not None and len(group):
                    slots = [np.asarray(dataset(group, k, source, h5py)) for k in sorted(group, key=int)]
        except (OSError, KeyError, ValueError, TypeError) as error:
            if isinstance(error, SavingError):
                raise
            raise SavingError(f"load_model: {source} is corrupted ({error})") from None
    for v, array in ready:
        v.assign(array)
    if slots is not None:
        _restore_optimizer(model, opt, slots, optimizer_extra, source)


def _restore_optimizer(model, opt, arrays, extra, source):
    opt.build(model.trainable_weights)
    order = _slot_order(opt)
    has_lr = isinstance(opt._learning_rate, float)
    expected = 1 + has_lr + len(order)
    if len(arrays) != expected or any(arrays[1 + has_lr + k].shape != opt._slots[i].shape
                                      for k, i in enumerate(order)):
        raise SavingError(f"load_model: {source}: the optimizer state has {len(arrays)} variables, "
                          f"{type(opt).__name__} on this model needs {expected} of these shapes")
    for k, i in enumerate(order):
        opt._slots[i][...] = arrays[1 + has_lr + k]
    iterations = int(np.reshape(arrays[0], -1)[0]) * (opt.gradient_accumulation_steps or 1)
    state = {"iterations": np.array(iterations, dtype=np.int64)}
    state.update({f"slot/{i:05d}": slot for i, slot in enumerate(opt._slots)})
    opt.set_state(state, extra if extra is not None else {})

