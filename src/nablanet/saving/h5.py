"""Keras's weight files read with h5py: Keras 3 `.weights.h5`, legacy HDF5
(`model.save("m.h5")` and Keras 2's `save_weights`), and the `model.weights.h5` inside a
`.keras` archive.

Each file becomes a list of `Entry`s, one per layer with weights, in the file's terms: the
layer's name (with those of the models around it), its Keras 3 key (`layers/functional/layers/
conv2d_3`: class names numbered in the order Keras walks the model), and its arrays in Keras's
order. Legacy files hold the model's own layers (a nested model as one entry); Keras 3 files
every layer that is not a model, its sublayers' arrays as children. Nothing in the file is
executed or unpickled: only arrays and string attributes are read, and only from the file
itself (links elsewhere, external and virtual datasets are refused). Arrays stay datasets until
they are assigned, so their shapes are checked against the model before any data is read.
"""

import contextlib
import io
import math
import zipfile

from nablanet.saving import archive
from nablanet.saving.archive import HDF5_MAGIC, SavingError, numeric

MAX_ATTRIBUTE_BYTES = 16 << 20  # a config or a list of names; Keras's own stay far below


class Entry:
    """One layer's weights in a file: `names` (the enclosing models' names, then the layer's;
    None where the file does not say), `key` (Keras 3 files), its own `arrays`, and in Keras 3
    files the `children` holding its sublayers' (an LSTM's `cell`), by attribute name."""

    def __init__(self, names, key, arrays, children=None):
        self.names, self.key, self.arrays = tuple(names), key, list(arrays)
        self.children = children or {}

    @property
    def name(self):
        return self.names[-1] if self.names else None

    def has_weights(self):
        return bool(self.arrays) or any(child.has_weights() for child in self.children.values())

    def __repr__(self):
        return f"Entry({self.name or self.key!r}, shapes={[a.shape for a in self.arrays]})"


class KerasWeights:
    """The entries of a Keras file, and whether its order is positional (`legacy`: layer by
    layer as saved) or given by Keras 3 keys."""

    def __init__(self, entries, legacy, source):
        self.entries, self.legacy, self.source = entries, legacy, source


def _h5py(where):
    """h5py, imported on first use (importing nablanet never does); `where` starts the error."""
    try:
        import h5py
    except ImportError:
        raise SavingError(f"{where}: reading or writing Keras's HDF5 files needs h5py: "
                          "pip install 'nablanet[h5]'") from None
    return h5py


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@contextlib.contextmanager
def open_keras(path, blob, floor=None):
    """The weights in a Keras file (`blob`: its bytes), or a `SavingError` saying what it is.

    The entries' arrays are checked h5py datasets (`dataset`), read only when assigned, so
    the file stays open inside the `with` block. A `.keras` archive's `model.weights.h5` is
    read with its size checked first (`floor`: what the model may honestly need)."""
    if blob.startswith(HDF5_MAGIC):
        with read_hdf5(io.BytesIO(blob), path) as weights:
            yield weights
        return
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        names = set(zf.namelist())
        if "model.weights.h5" in names:
            data = archive.read_member(zf, "model.weights.h5", f"load_weights: {path}", floor)
        elif "model.weights.json" in names:
            raise SavingError(f"load_weights: {path} is a Keras archive with sharded weights, which "
                              "nablanet does not read; save the model again without max_shard_size")
        elif "config.json" in names:
            raise SavingError(f"load_weights: {path} is a Keras archive without weights (model.weights.h5)")
        else:
            raise SavingError(f"load_weights: {path} is a zip file but neither a nablanet nor a Keras archive")
    with read_hdf5(io.BytesIO(data), f"{path}:model.weights.h5") as weights:
        yield weights


@contextlib.contextmanager
def read_hdf5(handle, source):
    h5py = _h5py(f"load_weights: {source}")
    try:
        f = h5py.File(handle, "r")
    except (OSError, ValueError) as error:
        raise SavingError(f"load_weights: {source} is corrupted or not a Keras weights file ({error})") from None
    with f:
        yield _entries(f, source, h5py)


def check_file(f, source, size, h5py, where):
    """Walk every object of an open HDF5 model file of `size` bytes before anything is read
    (`where`: the caller, for messages). Links must stay in the file (no external or soft
    links), datasets must keep their data in it (no external or virtual storage), and declared
    sizes must fit what the file can hold (unfiltered data is stored as is; chunks may be
    compressed or absent, up to a budget), in all no more than the file's budget. Weights
    files are not walked: their objects that the model does not ask for are never read."""
    budget = max(64 << 20, 20 * size)
    total, pending = 0, [f]
    while pending:
        group = pending.pop()
        _check_attributes(group, source, size, where)
        for name in group:
            link = group.get(name, getlink=True)
            location = f"{group.name.rstrip('/')}/{name}"
            if not isinstance(link, h5py.HardLink):
                raise SavingError(f"{where}: {source}: {location} is a {type(link).__name__} to somewhere else; "
                                  "nablanet reads only groups and datasets stored in the file itself")
            member = group[name]
            if isinstance(member, h5py.Group):
                pending.append(member)
                continue
            if not isinstance(member, h5py.Dataset):
                raise SavingError(f"{where}: {source}: {location} is a {type(member).__name__}, not data")
            if member.external or member.is_virtual:
                how = "in external files" if member.external else "as a virtual dataset"
                raise SavingError(f"{where}: {source}: dataset {location} keeps its data outside the file ({how}); "
                                  "nablanet reads only data stored in the file itself")
            _check_attributes(member, source, size, where)
            declared = math.prod(member.shape or ()) * member.dtype.itemsize
            cap = size if not member.compression and not member.chunks else budget
            if declared > cap:
                raise SavingError(f"{where}: {source}: dataset {location} declares shape {member.shape} "
                                  f"({declared} bytes), more than the file can hold ({cap} bytes): corrupted "
                                  "or hostile")
            total += declared
    if total > budget:
        raise SavingError(f"{where}: {source}: its datasets declare {total} bytes in all, more than the "
                          f"{budget} a {size}-byte file may hold")


def attribute_bytes(obj, name):
    attribute = obj.attrs.get_id(name)
    return math.prod(attribute.shape or ()) * attribute.dtype.itemsize


def _check_attributes(obj, source, size, where):
    cap = min(MAX_ATTRIBUTE_BYTES, size)
    for name in obj.attrs:
        declared = attribute_bytes(obj, name)
        if declared > cap:
            raise SavingError(f"{where}: {source}: attribute {name} of {obj.name} declares {declared} bytes, more "
                              f"than the {cap} it may hold (a config or a list of names)")


def _entries(f, source, h5py):
    try:
        if "layer_names" in f.attrs:
            return KerasWeights(_legacy(f, source, h5py), True, source)
        model_weights = _member(f, "model_weights", source, h5py, optional=True)
        if model_weights is not None and "layer_names" in model_weights.attrs:
            return KerasWeights(_legacy(model_weights, source, h5py), True, source)
        if _member(f, "layers", source, h5py, optional=True) is not None:
            entries = []
            _walk(f, "", (), entries, source, h5py)
            return KerasWeights([e for e in entries if e.has_weights()], False, source)
    except SavingError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise SavingError(f"load_weights: {source} is corrupted or not a Keras weights file ({error})") from None
    raise SavingError(f"load_weights: {source} is an HDF5 file but not Keras weights (it has neither "
                      "layer_names nor a layers group)")


def _member(group, name, source, h5py, kind=None, optional=False):
    """`group[name]`, refused unless each step of its path is stored in this file under that name
    (a hard link: not a soft link to another path, nor an external link that would open another
    file) and it is a group or dataset (`kind`, when given)."""
    member = group
    for part in (p for p in name.split("/") if p):
        where = f"{member.name.rstrip('/')}/{part}"
        link = member.get(part, getlink=True) if isinstance(member, h5py.Group) else None
        if link is None and optional:
            return None
        if link is None:
            raise SavingError(f"load_weights: {source} lists {where}, which is not in the file (corrupted)")
        if not isinstance(link, h5py.HardLink):
            raise SavingError(f"load_weights: {source}: {where} is a {type(link).__name__} to somewhere "
                              "else; nablanet reads only groups and datasets stored in the file itself")
        member = member[part]
    if kind is not None and not isinstance(member, kind):
        raise SavingError(f"load_weights: {source}: {member.name} is a {type(member).__name__}, not a "
                          f"{kind.__name__} (corrupted, or not a Keras weights file)")
    return member


def dataset(group, name, source, h5py):
    """A weight's dataset, checked before any of it is read: stored in the file (not in external
    raw files, which would pull any local file's bytes into the weights, nor a virtual dataset
    mapping other files), and holding numbers (floats or integers: not booleans, complex
    numbers, strings, records or object references)."""
    data = _member(group, name, source, h5py, kind=h5py.Dataset)
    where = data.name
    if data.external or data.is_virtual:
        raise SavingError(f"load_weights: {source}: dataset {where} keeps its data outside the file "
                          f"({'in external files' if data.external else 'as a virtual dataset'}); nablanet "
                          "reads only data stored in the file itself")
    if not numeric(data):
        raise SavingError(f"load_weights: {source}: dataset {where} holds {data.dtype}, not floats or integers; "
                          "it is not a weight")
    return data


def _legacy(group, source, h5py):
    """Legacy HDF5: `layer_names` in order, each group listing its `weight_names` in the order
    of the layer's weights (a nested model's group holds all of its layers' weights)."""
    entries = []
    for layer_name in (_text(n) for n in group.attrs["layer_names"]):
        layer_group = _member(group, layer_name, source, h5py, kind=h5py.Group)
        weight_names = [_text(n) for n in layer_group.attrs.get("weight_names", [])]
        if weight_names:
            arrays = [dataset(layer_group, w, source, h5py) for w in weight_names]
            entries.append(Entry((layer_name,), None, arrays))
    return entries


def _name(group, source, h5py):
    variables = _member(group, "vars", source, h5py, kind=h5py.Group, optional=True)
    name = None if variables is None else variables.attrs.get("name")
    return None if name is None else _text(name)


def _walk(group, key, names, entries, source, h5py):
    """Keras 3: a model's layers are under `<key>/layers/<class>_<k>`; a layer's own variables
    are `<key>/vars/0, 1, ...` (with its `name` attribute in recent versions), and its
    sublayers' are under `<key>/<attribute>`."""
    if "layers" not in group:
        entries.append(_layer(group, key, names, source, h5py))
        return
    layers = _member(group, "layers", source, h5py, kind=h5py.Group)
    for child in layers:
        member = _member(layers, child, source, h5py)
        if isinstance(member, h5py.Group):
            _walk(member, f"{key}/layers/{child}", names + (_name(member, source, h5py),), entries, source, h5py)


def _layer(group, key, names, source, h5py):
    variables = _member(group, "vars", source, h5py, kind=h5py.Group, optional=True)
    arrays = [] if variables is None else [dataset(variables, k, source, h5py) for k in sorted(variables, key=int)]
    children = {}
    for child in group:
        member = _member(group, child, source, h5py) if child != "vars" else None
        if isinstance(member, h5py.Group):
            children[child] = _layer(member, f"{key}/{child}", names + (_name(member, source, h5py),), source, h5py)
    return Entry(names, key.strip("/"), arrays, children)
