"""Keras 3's weights layout (`model.weights.h5` in a `.keras` archive, and `.weights.h5`), written
and read by walking the model as Keras does: a model's own variables under `vars/0, 1, ...`,
a Sequential's or functional model's layers under `layers/<class in snake case>[_k]`, a layer's
sublayers under the attribute that holds them (`cell`, `forward_layer`, `layer`; private ones such
as MultiHeadAttention's `_gate_dense` after the public ones, as Keras visits them), and the
optimizer's variables under `optimizer/vars` (`optimizer_variables`: the one statement of Keras's
order, which legacy `.h5` files use too). Models are walked by their public attributes only (no import of models).
"""

import collections
import io
import os
import re
import tempfile

import numpy as np

from nablanet.layers.base import Layer
from nablanet.names import snake_case
from nablanet.saving import h5
from nablanet.saving.archive import SavingError

# Keras creates the first `k` slot kinds of these optimizers interleaved (per variable: momentum,
# velocity, ...), nablanet one kind after another; the other kinds are in the same order in both.
INTERLEAVED = {"Adam": 2, "AdamW": 2, "Adamax": 2, "Nadam": 2, "Adadelta": 2, "Lamb": 2, "Ftrl": 2,
               "ScheduleFreeAdamW": 2}
# These create their slots in Keras's order already (shapes or counts differ between variables; the
# wrappers keep scalars of their own before their inner optimizers' variables).
IN_KERAS_ORDER = {"Adafactor", "Muon", "LossScaleOptimizer", "MultiOptimizer"}
SCALARS = ("u_product",)  # extra state Keras keeps as variables after the slots (Nadam's momentum product)


def keras_class_name(layer):
    """The name of Keras's Python class for `layer`, which its weight paths use (a functional nablanet
    `Model` is Keras's `Functional`; `_keras_path_name` where it differs from the name in configs, as
    `GroupQueryAttention`'s class is `GroupedQueryAttention`)."""
    return getattr(layer, "_keras_path_name", None) or getattr(layer, "_keras_class_name", None) or type(layer).__name__


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
        attributes = dict(vars(layer))
        if hasattr(layer, "compile"):  # a subclassed model: Keras also walks its `layers` list
            attributes["layers"] = list(layer.layers)
        for attribute in sorted(attributes, key=lambda name: (name.startswith("_"), name)):  # private ones last
            value = attributes[attribute]
            if isinstance(value, Layer) and value is not layer:
                visit(value, f"{path}/{attribute}")
            elif isinstance(value, dict) and value and all(isinstance(v, Layer) for v in value.values()):
                _numbered(list(value.values()), f"{path}/{attribute}", visit)  # Keras walks a dict's values
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


def stored_variables(layer):
    """`{key: array}` as Keras stores a layer's variables: `"0", "1", ...`, or the keys of the
    layer's own `save_own_variables(store)` when it has one (a lookup's `idf_weights`)."""
    if hasattr(layer, "save_own_variables"):
        store = {}
        layer.save_own_variables(store)
        return store
    return {str(i): v.numpy() for i, v in enumerate(own_variables(layer))}


ASSET_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # a file a layer writes among its assets: a plain name, no folders


def asset_entries(model):
    """`{"assets/<layer path>/<file>": bytes}`: what each layer's `save_assets(dir_path)` writes, at
    the paths Keras's `.keras` archive keeps them."""
    entries = {}
    for path, layer in walk(model):
        if not hasattr(layer, "save_assets"):
            continue
        with tempfile.TemporaryDirectory() as folder:
            layer.save_assets(folder)
            for name in sorted(os.listdir(folder)):
                with open(os.path.join(folder, name), "rb") as f:
                    entries[f"assets/{path.strip('/')}/{name}"] = f.read()
    return entries


def load_assets(model, entries, source):
    """Give each layer with `load_assets(dir_path)` a folder holding its entries of `entries`
    (only plain file names are written; anything else is refused)."""
    for path, layer in walk(model):
        if hasattr(layer, "load_assets"):
            load_layer_assets(layer, path, entries, source)


def load_layer_assets(layer, path, entries, source):
    """Give `layer` (at `path` in its model) a folder holding its entries of `entries`."""
    prefix = f"assets/{path.strip('/')}/"
    mine = {name[len(prefix):]: data for name, data in entries.items() if name.startswith(prefix)}
    with tempfile.TemporaryDirectory() as folder:
        for name, data in mine.items():
            if not ASSET_NAME.fullmatch(name) or name in (".", ".."):
                raise SavingError(f"load_model: {source}: asset {prefix}{name} is not a plain file name")
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
        try:
            layer.load_assets(folder)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise SavingError(f"load_model: {source}: layer {layer.name!r} cannot read its assets under "
                              f"{prefix} ({error})") from None


def optimizer_variables(optimizer, where="save"):
    """`(label, array)` for each of a built optimizer's variables in Keras's order: iterations
    (every apply call, as Keras counts), the learning rate unless it is a schedule, the slots (EMA
    averages, gradient accumulators, then the optimizer's own, those Keras makes together
    interleaved per variable), then Nadam's `u_product`.

    >>> import nablanet as keras
    >>> opt = keras.optimizers.Nadam()
    >>> opt.build([keras.Variable(np.zeros(2, "float32"))])
    >>> [label for label, _ in optimizer_variables(opt)]
    ['iteration', 'learning_rate', 'slot_0', 'slot_1', 'u_product']
    """
    return [entry for opt in _family(optimizer) for entry in _own_variables(opt, where)]


def _wrapped(optimizer):
    """The optimizers a wrapper steps (a LossScaleOptimizer's inner one, a MultiOptimizer's)."""
    inner = getattr(optimizer, "inner_optimizer", None)
    return [inner] if inner is not None else list(getattr(optimizer, "optimizers", None) or [])


def _family(optimizer):
    """The optimizer, then those it wraps, depth first: Keras lists a wrapper's variables before theirs."""
    return [optimizer] + [opt for child in _wrapped(optimizer) for opt in _family(child)]


def _own_variables(optimizer, where):
    state, extras = optimizer.get_state()
    found = [("iteration", np.array(state["iterations"], dtype=np.int64))]
    if "learning_rate" in extras:  # Keras keeps a float rate as a variable, a schedule not
        found.append(("learning_rate", np.array(extras["learning_rate"], dtype=np.float32)))
    found += [(f"slot_{k}", optimizer._slots[i]) for k, i in enumerate(_slot_order(optimizer, where))]
    return found + [(name, np.array(extras[name], dtype=np.float32)) for name in SCALARS if name in extras]


def optimizer_variable_names(optimizer):
    """`"<optimizer name>/<label>"` for each of `optimizer_variables`, naming the optimizer that keeps
    it (a wrapper's and those it wraps)."""
    return [f"{opt.name}/{label}" for opt in _family(optimizer) for label, _ in _own_variables(opt, "save")]


def optimizer_arrays(optimizer):
    """The arrays of `optimizer_variables`, as Keras's `optimizer.variables` holds them."""
    return [array for _, array in optimizer_variables(optimizer)]


def _slot_order(optimizer, where):
    """Indices into `optimizer._slots` in Keras's order."""
    n, total = len(optimizer._variables), len(optimizer._slots)
    if not total:
        return []
    if type(optimizer).__name__ in IN_KERAS_ORDER:
        return list(range(total))
    if n == 0 or total % n:
        raise SavingError(f"{where}: {type(optimizer).__name__} has {total} state arrays for {n} variables; "
                          "they cannot be laid out as Keras does")
    first = n * (bool(optimizer.use_ema) + bool(optimizer.gradient_accumulation_steps))
    together = min(INTERLEAVED.get(type(optimizer).__name__, 1), (total - first) // n)
    order = list(range(first))
    order += [first + g * n + i for i in range(n) for g in range(together)]
    return order + list(range(first + together * n, total))


def restore_optimizer(model, optimizer, stored, source, extras=None):
    """Set `optimizer`'s state from `stored`, `(label, h5py dataset)` in Keras's order (as
    `optimizer_variables` lists them), every dataset's shape and dtype checked before any is read;
    `extras` (nablanet's own record of the scalars, exact) override the file's float32 copies."""
    if not optimizer.built:
        optimizer.build(model.trainable_weights)
    expected = optimizer_variables(optimizer, f"load_model: {source}")
    if len(stored) != len(expected):
        raise SavingError(f"load_model: {source}: the optimizer state has {len(stored)} variables, "
                          f"{type(optimizer).__name__} on this model keeps {len(expected)} "
                          f"({', '.join(label for label, _ in expected)}); load with compile=False to skip it")
    for k, ((name, data), (label, array)) in enumerate(zip(stored, expected)):
        shape, want = tuple(data.shape), tuple(array.shape)
        fits = shape == want or (want == () and shape == (1,))  # Keras's older files keep scalars as (1,)
        kind = np.dtype(data.dtype).kind
        if not fits or kind not in ("iuf" if label == "iteration" or array.dtype.kind in "iu" else "f"):
            raise SavingError(f"load_model: {source}: optimizer variable {k} ({name}) has shape {shape} and "
                              f"dtype {data.dtype} in the file; {type(optimizer).__name__} expects {label} of "
                              f"shape {want} and dtype {array.dtype}")
    try:
        values = [np.asarray(data) for _, data in stored]
    except (OSError, ValueError, TypeError) as error:
        raise SavingError(f"load_model: {source} is corrupted: its optimizer state cannot be read ({error})") from None
    _restore_family(optimizer, values, 0, source, extras)


def _restore_family(optimizer, values, start, source, extras):
    """Set `optimizer`'s state from `values[start:]`, then that of those it wraps (each with its own
    entry of the wrapper's `inner_extras`); returns where the next optimizer's values start."""
    extras = dict(extras or {})
    inner_extras = extras.pop("inner_extras", None) or []
    own = _own_variables(optimizer, f"load_model: {source}")
    _set_own_state(optimizer, own, values[start:start + len(own)], source, extras)
    start += len(own)
    for k, child in enumerate(_wrapped(optimizer)):
        start = _restore_family(child, values, start, source, inner_extras[k] if k < len(inner_extras) else None)
    return start


def _set_own_state(optimizer, expected, values, source, extras):
    order = _slot_order(optimizer, f"load_model: {source}")
    head = len(expected) - len(order) - sum(name in SCALARS for name, _ in expected)
    state = {"iterations": np.array(int(values[0].reshape(-1)[0]), dtype=np.int64)}
    state.update({f"slot/{i:05d}": values[head + k].astype(optimizer._slots[i].dtype, copy=False)
                  for k, i in enumerate(order)})
    scalars = {label: float(value.reshape(-1)[0]) for (label, _), value in zip(expected, values)
               if label == "learning_rate" or label in SCALARS}
    optimizer.set_state(state, {**scalars, **(extras or {})})


def weights_h5(model):
    """The bytes of `model.weights.h5` for `model` (and its optimizer's state when built)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for path, layer in walk(model):
            group = f.require_group(f"{path}/vars" if path else "vars")
            group.attrs["name"] = layer.name
            for key, array in stored_variables(layer).items():
                group.create_dataset(key, data=np.array(array, order="C"))
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and optimizer.built:
            for path, opt in _optimizer_groups(optimizer, "optimizer"):
                group = f.require_group(f"{path}/vars")
                group.attrs["name"] = opt.name
                for i, array in enumerate(optimizer_arrays(opt)):
                    group.create_dataset(str(i), data=np.array(array, order="C"))
    return buffer.getvalue()


def _optimizer_groups(optimizer, path):
    """`(path, optimizer)` where Keras stores each optimizer's variables: the optimizer's own (a
    wrapper's include those it wraps), then again under `inner_optimizer` (LossScaleOptimizer) or
    `optimizers/<class in snake case>[_k]` (MultiOptimizer), as Keras writes them."""
    found = [(path, optimizer)]
    inner = getattr(optimizer, "inner_optimizer", None)
    if inner is not None:
        return found + _optimizer_groups(inner, f"{path}/inner_optimizer")
    used = collections.Counter()
    for child in getattr(optimizer, "optimizers", None) or []:
        label = snake_case(type(child).__name__)
        key = label if not used[label] else f"{label}_{used[label]}"
        used[label] += 1
        found += _optimizer_groups(child, f"{path}/optimizers/{key}")
    return found


def load_weights_h5(model, data, path, optimizer=True, optimizer_extra=None):
    """Assign the weights in `data` (a `model.weights.h5`) to `model`, every array checked
    (present, stored in the file, numeric, the right shape) before the first is assigned; then
    the optimizer's state when `optimizer` and the file has it."""
    source = f"{path}:model.weights.h5"
    h5py = h5._h5py(f"load_model: {source}")
    try:
        f = h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as error:
        raise SavingError(f"load_model: {source} is corrupted or not HDF5 ({error})") from None
    with f:
        try:
            ready, own = [], []
            for where, layer in walk(model):
                variables = own_variables(layer)
                group = h5._member(f, f"{where}/vars", source, h5py, optional=True)
                if hasattr(layer, "load_own_variables"):  # the layer reads its store by key, as Keras's
                    store = {} if group is None else {key: h5.dataset(group, key, source, h5py) for key in group}
                    own.append((layer, {key: np.asarray(data) for key, data in store.items()}))
                    continue
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
                    array = h5.dataset(group, key, source, h5py)
                    if tuple(array.shape) != tuple(v.shape):
                        raise SavingError(f"load_model: {source}: layer {layer.name!r} weight {v.path!r} has shape "
                                          f"{tuple(array.shape)} in the file, {tuple(v.shape)} in the model")
                    ready.append((v, np.asarray(array).astype(v.dtype, copy=False)))
            opt = getattr(model, "optimizer", None)
            slots = None
            if optimizer and opt is not None and "optimizer" in f:
                group = h5._member(f, "optimizer/vars", source, h5py, optional=True)
                if group is not None and len(group):
                    stored = sorted(group, key=lambda k: int(k) if k.isdigit() else -1)
                    slots = [(key, h5.dataset(group, key, source, h5py)) for key in stored]
        except (OSError, KeyError, ValueError, TypeError) as error:
            if isinstance(error, SavingError):
                raise
            raise SavingError(f"load_model: {source} is corrupted ({error})") from None
        for v, array in ready:
            v.assign(array)
        for layer, store in own:
            try:
                layer.load_own_variables(store)
            except (KeyError, ValueError) as error:
                raise SavingError(f"load_model: {source}: layer {layer.name!r}: {error}") from None
        if slots is not None:  # inside `with f`: the datasets are read after their shapes are checked
            restore_optimizer(model, opt, slots, source, optimizer_extra)
