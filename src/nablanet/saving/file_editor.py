"""`KerasFileEditor`: inspect and edit the weights of a `.keras` or `.weights.h5` file, then
write them as a `.weights.h5` file, in Keras's layout.

The weights become nested dicts: one per group of the file (`layers`, `layers/dense`, ...), whose
`vars` hold the object's arrays under their names ("0", "1", ...). Every dataset is checked as
`load_weights` checks it (stored in the file, numbers only) before it is read.
"""

import io
import os
import zipfile

import numpy as np

from nablanet.saving import archive
from nablanet.saving.archive import SavingError
from nablanet.saving.h5 import _h5py, _member, dataset

__all__ = ["KerasFileEditor"]


class KerasFileEditor:
    """Open `filepath` (`.keras` or `.weights.h5`) to list, rename, delete or add weights, and
    `save` the result as a `.weights.h5` file that `load_weights` (nablanet's or Keras's) reads.

    Args:
        filepath: The file to open.

    Attributes:
        weights_dict: `{name: sub-dict or array}`, the file's groups and arrays.
        config: The model's config (a `.keras` file), else None.
        metadata: The archive's metadata (a `.keras` file), else None.
    """

    def __init__(self, filepath):
        self.filepath = filepath = os.fspath(filepath)
        self.config = self.metadata = None
        h5py = _h5py("KerasFileEditor")
        if filepath.endswith(".keras"):
            import json

            with zipfile.ZipFile(filepath) as zf:
                where = f"KerasFileEditor: {filepath}"
                data = archive.read_member(zf, "model.weights.h5", where, None)
                self.config = json.loads(archive.read_member(zf, "config.json", where, None))
                if "metadata.json" in zf.namelist():
                    self.metadata = json.loads(archive.read_member(zf, "metadata.json", where, None))
            handle = io.BytesIO(data)
        elif filepath.endswith(".weights.h5"):
            handle = filepath
        else:
            raise ValueError(f"KerasFileEditor: expected a .keras or .weights.h5 file, got {filepath!r}")
        try:
            with h5py.File(handle, "r") as f:
                self.weights_dict = self._read(f, filepath, h5py)
        except OSError as error:
            raise SavingError(f"KerasFileEditor: {filepath} is not an HDF5 weights file ({error})") from None

    def _read(self, group, source, h5py):
        out = {}
        for key in group:
            member = _member(group, key, source, h5py)
            if isinstance(member, h5py.Dataset):
                out[key] = np.asarray(dataset(group, key, source, h5py)[()])
            elif key == "vars":
                out.update({name: np.asarray(dataset(member, name, source, h5py)[()]) for name in member})
            elif len(member):
                child = self._read(member, source, h5py)
                if child:
                    out[key] = child
        return out

    # -- looking --------------------------------------------------------------------------------------

    def _lines(self, tree, indent=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield f"{indent}{key}/"
                yield from self._lines(value, indent + "  ")
            else:
                yield f"{indent}{key}: shape={tuple(value.shape)} dtype={value.dtype}"

    def weights_summary(self):
        """The weights' structure as text: groups, then each array's shape and dtype."""
        return "\n".join(self._lines(self.weights_dict))

    def summary(self):
        """Print the file's weights, group by group."""
        print(f"Keras weights file {self.filepath}")
        print(self.weights_summary())

    def compare(self, reference_model):
        """Compare the file's weights with `reference_model`'s (paths, shapes, dtypes).

        Returns:
            `{"status": "success" or "error", "error_count": mismatches, "match_count": matches}`.
        """
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "reference.weights.h5")
            reference_model.save_weights(path)
            reference = KerasFileEditor(path).weights_dict
        errors, matches = [], 0

        def walk(ours, theirs, path):
            nonlocal matches
            for key in sorted(set(ours) | set(theirs)):
                where = f"{path}/{key}" if path else key
                if key not in theirs or key not in ours:
                    errors.append(f"{where}: only in the {'file' if key in ours else 'model'}")
                elif isinstance(ours[key], dict) != isinstance(theirs[key], dict):
                    errors.append(f"{where}: a group in one and an array in the other")
                elif isinstance(ours[key], dict):
                    walk(ours[key], theirs[key], where)
                elif ours[key].shape != theirs[key].shape:
                    errors.append(f"{where}: shape {ours[key].shape} in the file, {theirs[key].shape} in the model")
                else:
                    matches += 1

        walk(self.weights_dict, reference, "")
        for line in errors:
            print(line)
        return {"status": "error" if errors else "success", "error_count": len(errors), "match_count": matches}

    # -- editing -------------------------------------------------------------------------------------

    def _folder(self, parts, message):
        """The dict at the path `parts` (a list of keys); `ValueError(message)` when it is not there."""
        parent = self.weights_dict
        for part in parts:
            if not isinstance(parent.get(part), dict):
                raise ValueError(message)
            parent = parent[part]
        return parent

    def _find(self, name):
        """`(parent dict, key)` of an object given by path ("layers/dense") or by a unique name."""
        if "/" in name:
            parts = name.split("/")
            parent = self._folder(parts[:-1], f"KerasFileEditor: path {name!r} is not in {self.filepath}")
            if parts[-1] not in parent:
                raise ValueError(f"KerasFileEditor: path {name!r} is not in {self.filepath}")
            return parent, parts[-1]
        found = []

        def walk(tree):
            for key, value in tree.items():
                if isinstance(value, dict):
                    if key == name:
                        found.append((tree, key))
                    walk(value)

        walk(self.weights_dict)
        if not found:
            raise ValueError(f"KerasFileEditor: no object named {name!r} in {self.filepath} "
                             "(weights_summary() lists them)")
        if len(found) > 1:
            raise ValueError(f"KerasFileEditor: {name!r} names {len(found)} objects; pass its full path")
        return found[0]

    def rename_object(self, object_name, new_name):
        """Rename an object (by name or path) to `new_name` (a name, not a path)."""
        if "/" in new_name:
            raise ValueError(f"KerasFileEditor.rename_object: new_name must be a name, not a path: {new_name!r}")
        parent, key = self._find(object_name)
        parent[new_name] = parent.pop(key)

    def delete_object(self, object_name):
        """Remove an object (by name or path) and its weights."""
        parent, key = self._find(object_name)
        del parent[key]

    def add_object(self, object_path, weights):
        """Add an object at `object_path` with `weights` (`{"0": array, ...}`)."""
        if not isinstance(weights, dict):
            raise ValueError(f"KerasFileEditor.add_object: weights must be a dict of arrays like {{'0': kernel}}, "
                             f"got {type(weights).__name__}")
        parts = object_path.split("/")
        folder = "/".join(parts[:-1])
        parent = self._folder(parts[:-1], f"KerasFileEditor.add_object: path {folder!r} is not in the file")
        parent[parts[-1]] = {str(k): np.asarray(v) for k, v in weights.items()}

    def delete_weight(self, object_name, weight_name):
        """Remove one weight ("0", "1", ...) of an object."""
        parent, key = self._find(object_name)
        if weight_name not in parent[key] or isinstance(parent[key][weight_name], dict):
            names = [k for k, v in parent[key].items() if not isinstance(v, dict)]
            raise ValueError(f"KerasFileEditor.delete_weight: {object_name!r} has no weight {weight_name!r} "
                             f"(it has {names})")
        del parent[key][weight_name]

    def add_weights(self, object_name, weights):
        """Add or replace weights (`{"0": array, ...}`) of an existing object."""
        if not isinstance(weights, dict):
            raise ValueError(f"KerasFileEditor.add_weights: weights must be a dict of arrays, got "
                             f"{type(weights).__name__}")
        parent, key = self._find(object_name)
        parent[key].update({str(k): np.asarray(v) for k, v in weights.items()})

    # -- writing -------------------------------------------------------------------------------------

    def save(self, filepath):
        """Write the weights as a `.weights.h5` file in Keras's layout (atomically)."""
        filepath = os.fspath(filepath)
        if not filepath.endswith(".weights.h5"):
            raise ValueError(f"KerasFileEditor.save: expected a .weights.h5 path, got {filepath!r}")
        h5py = _h5py("KerasFileEditor.save")
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as f:
            self._write(f, self.weights_dict)
        with archive.atomic_write(filepath) as out:
            out.write(buffer.getvalue())

    def _write(self, group, tree):
        arrays = {k: v for k, v in tree.items() if not isinstance(v, dict)}
        if arrays:
            holder = group.create_group("vars")
            for name, value in arrays.items():
                holder.create_dataset(name, data=value)
        for key, value in tree.items():
            if isinstance(value, dict) and value:
                self._write(group.create_group(key), value)

    def resave_weights(self, filepath):
        """Same as `save`."""
        self.save(filepath)
