"""Keras's weight files read with h5py (the `h5` extra): Keras 3 `.weights.h5`, legacy HDF5
(`model.save("m.h5")` and Keras 2's `save_weights`), and the `model.weights.h5` inside a
`.keras` archive.

Each file becomes a list of `Entry`s, one per layer with weights, in the file's terms: the
layer's name (with those of the models around it), its Keras 3 key (`layers/functional/layers/
conv2d_3`: class names numbered in the order Keras walks the model), and its arrays in Keras's
order. Legacy files hold the model's own layers (a nested model as one entry); Keras 3 files
every layer that is not a model, its sublayers' arrays as children. Nothing in the file is
executed or unpickled: only arrays and string attributes are read.
"""

import io
import zipfile

import numpy as np

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


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


def _h5py(source):
    try:
        import h5py
    except ImportError:
        from nablanet.saving.archive import SavingError

        raise SavingError(f"load_weights: {source} is a Keras HDF5 file; reading it needs h5py: "
                          "pip install 'nablanet[h5]'") from None
    return h5py


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_keras(path, blob):
    """The weights in a Keras file (`blob`: its bytes), or a `SavingError` saying what it is."""
    from nablanet.saving.archive import SavingError

    if blob.startswith(HDF5_MAGIC):
        return read_hdf5(io.BytesIO(blob), path)
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        names = set(archive.namelist())
        if "model.weights.h5" in names:
            return read_hdf5(io.BytesIO(archive.read("model.weights.h5")), f"{path}:model.weights.h5")
        if "model.weights.json" in names:
            raise SavingError(f"load_weights: {path} is a Keras archive with sharded weights, which "
                              "nablanet does not read; save the model again without max_shard_size")
        if "config.json" in names:
            raise SavingError(f"load_weights: {path} is a Keras archive without weights (model.weights.h5)")
        raise SavingError(f"load_weights: {path} is a zip file but neither a nablanet nor a Keras archive")


def read_hdf5(handle, source):
    from nablanet.saving.archive import SavingError

    h5py = _h5py(source)
    try:
        with h5py.File(handle, "r") as f:
            if "layer_names" in f.attrs:
                return KerasWeights(_legacy(f), True, source)
            if "model_weights" in f and "layer_names" in f["model_weights"].attrs:
                return KerasWeights(_legacy(f["model_weights"]), True, source)
            if "layers" in f:
                entries = []
                _walk(f, "", (), entries, h5py)
                return KerasWeights([e for e in entries if e.has_weights()], False, source)
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise SavingError(f"load_weights: {source} is corrupted or not a Keras weights file ({error})") from None
    raise SavingError(f"load_weights: {source} is an HDF5 file but not Keras weights (it has neither "
                      "layer_names nor a layers group)")


def _legacy(group):
    """Legacy HDF5: `layer_names` in order, each group listing its `weight_names` in the order
    of the layer's weights (a nested model's group holds all of its layers' weights)."""
    entries = []
    for layer_name in (_text(n) for n in group.attrs["layer_names"]):
        layer_group = group[layer_name]
        weight_names = [_text(n) for n in layer_group.attrs.get("weight_names", [])]
        if weight_names:
            entries.append(Entry((layer_name,), None, [np.asarray(layer_group[w]) for w in weight_names]))
    return entries


def _name(group):
    variables = group.get("vars")
    name = None if variables is None else variables.attrs.get("name")
    return None if name is None else _text(name)


def _walk(group, key, names, entries, h5py):
    """Keras 3: a model's layers are under `<key>/layers/<class>_<k>`; a layer's own variables
    are `<key>/vars/0, 1, ...` (with its `name` attribute in recent versions), and its
    sublayers' are under `<key>/<attribute>`."""
    if "layers" not in group:
        entries.append(_layer(group, key, names, h5py))
        return
    layers = group["layers"]
    for child in layers:
        if isinstance(layers[child], h5py.Group):
            _walk(layers[child], f"{key}/layers/{child}", names + (_name(layers[child]),), entries, h5py)


def _layer(group, key, names, h5py):
    variables = group.get("vars")
    arrays = [] if variables is None else [np.asarray(variables[k]) for k in sorted(variables, key=int)]
    children = {child: _layer(group[child], f"{key}/{child}", names + (_name(group[child]),), h5py)
                for child in group if child != "vars" and isinstance(group[child], h5py.Group)}
    return Entry(names, key.strip("/"), arrays, children)
