"""Keras's `FeatureSpace`: one object that adapts and encodes a dict of structured features (floats,
integer and string categories, hashed values, crosses) into one vector or a dict of encodings.

It runs in NumPy on nablanet's preprocessing layers, where Keras's switches to TensorFlow.
`adapt` takes a dict of arrays or lists, an iterable of dict batches or a `PyDataset`, where
Keras's takes a `tf.data.Dataset` (anything iterable that yields dicts works, one included).

>>> import numpy as np
>>> space = FeatureSpace({"x": "float_rescaled", "y": "float"})
>>> np.asarray(space({"x": [1.0, 2.0], "y": [3.0, 4.0]})).tolist()
[[1.0, 3.0], [2.0, 4.0]]
"""

import numpy as np

from nablanet import layers, ops, serialization
from nablanet.layers.base import Layer
from nablanet.names import unique_name
from nablanet.symbolic import KerasTensor
from nablanet.utils.py_dataset import PyDataset

KERAS_MODULE = "keras.src.layers.preprocessing.feature_space"  # where Keras's Feature and Cross live
TYPES = ("float", "float_rescaled", "float_normalized", "float_discretized", "integer_categorical",
         "string_categorical", "integer_hashed", "string_hashed")
ADAPT_BATCH = 32  # Keras batches a dataset of single values by 32 before adapting a layer on it
STAND_IN = {"string": "", "float": 0.0, "int": 0}  # one value per dtype family, to build the encoders


class Cross:
    """Features crossed by hashing their combined values into `crossing_dim` bins.

    >>> Cross(("a", "b"), crossing_dim=8).name
    'a_X_b'
    """

    _keras_module = KERAS_MODULE

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"FeatureSpace.cross: expected output_mode 'int' or 'one_hot', got {output_mode!r}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self):
        """The cross's key in the outputs: its feature names joined by `_X_`."""
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Feature:
    """A feature's input dtype, the layer that preprocesses it and how its result is encoded
    ("float": as it is, "int": as integer ids, "one_hot": as a multi-hot vector of its ids).

    >>> Feature("float32", TFDIdentity(), "float").output_mode
    'float'
    """

    _keras_module = KERAS_MODULE

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in ("int", "one_hot", "float"):
            raise ValueError(f"FeatureSpace.feature: expected output_mode 'int', 'one_hot' or 'float', "
                             f"got {output_mode!r}")
        if isinstance(preprocessor, dict):
            build = preprocessor.get("build_config")
            preprocessor = serialization.deserialize(preprocessor, kind="layers")
            if build is not None and not preprocessor.built:  # a saved, adapted layer: its state is loaded next
                preprocessor.build_from_config(build)
        self.restored = isinstance(preprocessor, Layer) and preprocessor.built  # read from a file, adapted then
        self.dtype = dtype
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self):
        return {"dtype": self.dtype, "preprocessor": serialization.serialize(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class TFDIdentity(Layer):
    """The preprocessor of plain float features: its input, unchanged (Keras's class name)."""

    _keras_module = KERAS_MODULE
    keeps_shape = True

    def call(self, inputs):
        return inputs


class FeatureSpace(Layer):
    """Preprocessing and encoding of structured data, configured feature by feature.

    Args:
        features: `{name: type}`, the type a name of `TYPES` (with default arguments) or what a
            static constructor returns (`FeatureSpace.integer_categorical(max_tokens=10)`).
        output_mode: "concat" (one float vector per sample) or "dict" (each encoding by name).
        crosses: Features to cross, as tuples of names or `FeatureSpace.cross(...)`.
        crossing_dim: The number of hash bins of a cross given as a tuple of names.
        hashing_dim: The number of hash bins of the "integer_hashed"/"string_hashed" types.
        num_discretization_bins: The number of bins of the "float_discretized" type.
        name: The layer's name.

    The outputs are ordered by feature name, then by cross name. Call `adapt` on data before
    use when a feature learns from it (normalization, discretization, vocabularies).

    Example:
        >>> space = FeatureSpace({"a": "float", "b": FeatureSpace.float_rescaled(scale=2.0)},
        ...                      output_mode="dict")
        >>> sorted(space({"a": [1.0], "b": [1.0]}))
        ['a', 'b']
    """

    _keras_module = "keras.utils"

    # -- the feature types ------------------------------------------------------------------------

    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        """A cross of `feature_names` hashed into `crossing_dim` bins."""
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        """A feature preprocessed by any layer (`output_mode`: "float", "int" or "one_hot")."""
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        """Float values passed through unchanged."""
        name = name or unique_name("float")
        return Feature("float32", TFDIdentity(dtype="float32", name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        """Float values as `x * scale + offset` (a `Rescaling` layer)."""
        name = name or unique_name("float_rescaled")
        return Feature("float32", layers.Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_normalized(cls, name=None):
        """Float values standardized with the mean and variance `adapt` finds (`Normalization`)."""
        name = name or unique_name("float_normalized")
        return Feature("float32", layers.Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        """Float values as bin ids (`Discretization`), encoded one-hot by default."""
        name = name or unique_name("float_discretized")
        layer = layers.Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries, name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        """Integer categories indexed by the vocabulary `adapt` finds (`IntegerLookup`)."""
        name = name or unique_name("integer_categorical")
        layer = layers.IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                     num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
        """String categories indexed by the vocabulary `adapt` finds (`StringLookup`)."""
        name = name or unique_name("string_categorical")
        layer = layers.StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                    num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """Strings hashed into `num_bins` bins (`Hashing`)."""
        name = name or unique_name("string_hashed")
        return Feature("string", layers.Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """Integers hashed into `num_bins` bins (`Hashing`)."""
        name = name or unique_name("integer_hashed")
        return Feature("int32", layers.Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    # -- construction -------------------------------------------------------------------------------

    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32, hashing_dim=32,
                 num_discretization_bins=32, name=None):
        super().__init__(name=name)
        if not features or not isinstance(features, dict):
            raise ValueError(f"FeatureSpace: expected `features` as a non-empty dict of names to feature types, "
                             f"got {features!r}")
        if output_mode not in ("dict", "concat"):
            raise ValueError(f"FeatureSpace: expected output_mode 'dict' or 'concat', got {output_mode!r}")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.output_mode = output_mode
        self.features = {key: self._standardize_feature(key, value) for key, value in features.items()}
        self.crosses = [self._standardize_cross(cross) for cross in crosses or []]
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        self.inputs = {key: self._feature_to_input(key, feature) for key, feature in self.features.items()}
        self.preprocessors = {key: feature.preprocessor for key, feature in self.features.items()}
        self.crossers = {cross.name: layers.HashedCrossing(cross.crossing_dim, name=cross.name)
                         for cross in self.crosses}
        self.one_hot_encoders = {}
        self.encoded_features = None
        self._is_adapted = False
        self._sublayers_built = False

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return serialization.deserialize(feature, kind="layers")
        if feature in ("float_discretized",):
            return self.float_discretized(num_bins=self.num_discretization_bins, name=name)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(self.hashing_dim, name=name)
        if feature in TYPES:
            return getattr(self, feature)(name=name)
        raise ValueError(f"FeatureSpace: feature {name!r} has an unknown type {feature!r}; expected one of "
                         f"{', '.join(TYPES)} or a FeatureSpace.feature(...)")

    def _standardize_cross(self, cross):
        if isinstance(cross, dict):
            cross = serialization.deserialize(cross, kind="layers")
        names = cross.feature_names if isinstance(cross, Cross) else tuple(cross)
        unknown = [key for key in names if key not in self.features]
        if unknown:
            raise ValueError(f"FeatureSpace: the cross {names} names {unknown}, which are not features "
                             f"(features: {list(self.features)})")
        if isinstance(cross, Cross):
            return cross
        if not self.crossing_dim:
            raise ValueError("FeatureSpace: crosses given as names need `crossing_dim` (the number of hash bins), "
                             f"got crossing_dim={self.crossing_dim!r}")
        return Cross(cross, crossing_dim=self.crossing_dim)

    @staticmethod
    def _feature_to_input(name, feature):
        return layers.Input(shape=(1,), dtype=feature.dtype, name=name)

    # -- adapt ----------------------------------------------------------------------------------------

    def _list_adaptable_preprocessors(self):
        names = []
        for name, layer in self.preprocessors.items():
            if getattr(layer, "input_mean", None) is not None:  # a Normalization given its mean and variance
                continue
            if type(layer).__name__ == "Discretization" and getattr(layer, "num_bins", 1) is None:
                continue  # given its bin boundaries: nothing to learn
            if type(layer).__name__ == "TextVectorization" and getattr(layer, "_has_input_vocabulary", False):
                continue
            if hasattr(layer, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset):
        """Learn each adaptable feature's state (mean and variance, bin boundaries, vocabulary)
        from `dataset`: a dict of arrays or lists, an iterable of dict batches (or of `(x, y)`
        batches, whose `x` is read), or a `PyDataset` of them."""
        names = self._list_adaptable_preprocessors()
        batches = _feature_batches(dataset, names)
        for name in names:
            self.preprocessors[name].adapt(iter(batches[name]))  # an iterator: every layer reads it as batches
        self._is_adapted = True
        self._build_encoders()

    def _check_if_adapted(self):
        if self._is_adapted:
            return
        pending = [name for name in self._list_adaptable_preprocessors() if not self.features[name].restored]
        if pending:
            raise ValueError(f"FeatureSpace {self.name!r}: call adapt(dataset) before using it; features {pending} "
                             "learn their state from data")
        self._is_adapted = True

    def _check_if_built(self):
        if not self._sublayers_built:
            self._check_if_adapted()
            self._build_encoders()

    def _build_encoders(self):
        """Create the one-hot encoders and check each encoding, on one stand-in sample."""
        self.one_hot_encoders = {}
        self._sublayers_built = False
        sample = {name: np.full((1, 1), STAND_IN[_family(feature.dtype)], dtype=_numpy_dtype(feature.dtype))
                  for name, feature in self.features.items()}
        self._encode(sample, building=True)
        self._sublayers_built = True
        self.built = True

    # -- encoding -------------------------------------------------------------------------------------

    def get_inputs(self):
        """`{name: Input}`, one symbolic input of shape `(None, 1)` per feature."""
        self._check_if_built()
        return self.inputs

    def get_encoded_features(self):
        """The symbolic encoding of `get_inputs()`: one tensor (concat) or a dict of them."""
        self._check_if_built()
        if self.encoded_features is None:
            self.encoded_features = self(self.inputs)
        return self.encoded_features

    def __call__(self, data, **kwargs):  # kwargs: `training`, passed by a functional model, changes nothing
        """Encode `data`, `{name: values}`: a batch (a list or array per feature, 1-D or `(batch, 1)`)
        or one sample (a value per feature, encoded without a batch axis). Keys that are not
        features are ignored. Returns a Tensor ("concat") or a dict of Tensors ("dict")."""
        if not isinstance(data, dict):
            raise ValueError(f"FeatureSpace {self.name!r}: expected a dict of features, got {type(data).__name__}")
        self._check_if_built()
        missing = [name for name in self.features if name not in data]
        if missing:
            raise ValueError(f"FeatureSpace {self.name!r}: expected the features {sorted(self.features)}, got "
                             f"{sorted(data)}; missing {missing}")
        data = {name: data[name] for name in self.features}  # other keys (a label column) are not features
        if any(isinstance(value, KerasTensor) for value in data.values()):
            return super().__call__(data, **kwargs)
        arrays = {name: self._convert_input(name, value) for name, value in data.items()}
        rebatched = any(x.ndim == 0 for x in arrays.values())
        arrays = {name: x.reshape(1, 1) if x.ndim == 0 else x[:, None] if x.ndim == 1 else x
                  for name, x in arrays.items()}
        outputs = self._encode(arrays)
        if rebatched:  # one sample in, one sample out
            outputs = outputs[0] if self.output_mode == "concat" else {
                name: x[0] if x.ndim == 2 and x.shape[0] == 1 else x for name, x in outputs.items()}
        return _to_tensor(outputs)

    def call(self, inputs):
        return self(inputs)

    def _convert_input(self, name, value):
        x = np.asarray(ops.convert_to_numpy(value) if not isinstance(value, (list, tuple, int, float, str))
                       else value)
        family = _family(self.features[name].dtype)
        if family == "string" and x.dtype.kind in "OSU":
            x = np.char.decode(x, "utf-8") if x.dtype.kind == "S" else x.astype(str)
        elif family == "string":
            x = x.astype(str)  # a stand-in of zeros from a symbolic probe
        elif family == "float" and x.dtype.kind in "fiub":
            x = x.astype(self.features[name].dtype)
        return x

    def _encode(self, arrays, building=False):
        preprocessed = {name: _numpy(self.preprocessors[name](arrays[name])) for name in sorted(self.features)}
        crossed = {cross.name: _numpy(self.crossers[cross.name]([preprocessed[n] for n in cross.feature_names]))
                   for cross in self.crosses}
        names = sorted(preprocessed) + sorted(crossed)
        outputs = {}
        for name in names:
            value = preprocessed[name] if name in preprocessed else crossed[name]
            if building:
                self._make_encoder(name, value)
            encoder = self.one_hot_encoders.get(name)
            outputs[name] = _numpy(encoder(value)) if encoder is not None else value
            if building and self.output_mode == "concat" and outputs[name].dtype.kind not in "fc":
                raise ValueError(f"FeatureSpace {self.name!r}: cannot concatenate feature {name!r}, which is not "
                                 f"encoded (its output has dtype {outputs[name].dtype}); give it "
                                 "output_mode='one_hot' or use output_mode='dict'")
        if self.output_mode == "dict":
            return outputs
        return np.concatenate([outputs[name].astype("float32", copy=False) for name in names], axis=-1)

    def _make_encoder(self, name, value):
        spec = self.features.get(name) or self.crosses_by_name[name]
        if spec.output_mode != "one_hot":
            return
        layer = self.preprocessors.get(name) or self.crossers[name]
        if value.dtype.kind not in "iu":
            raise ValueError(f"FeatureSpace {self.name!r}: feature {name!r} has output_mode='one_hot', so its "
                             f"preprocessor must give integer ids; it gives {value.dtype}")
        kind = type(layer).__name__
        if kind in ("IntegerLookup", "StringLookup"):
            size = layer.vocabulary_size()
        elif kind == "CategoryEncoding":
            size = layer.num_tokens
        elif kind in ("Discretization",):
            size = layer.num_bins if layer.num_bins is not None else len(layer.bin_boundaries) + 1
        elif kind in ("Hashing", "HashedCrossing"):
            size = layer.num_bins
        else:
            raise ValueError(f"FeatureSpace {self.name!r}: feature {name!r} has output_mode='one_hot' but its "
                             f"preprocessor ({kind}) has no known number of ids; use output_mode='int'")
        self.one_hot_encoders[name] = layers.CategoryEncoding(num_tokens=size, output_mode="multi_hot")

    # -- saving ---------------------------------------------------------------------------------------

    def get_config(self):
        return {"features": serialization.serialize(self.features), "output_mode": self.output_mode,
                "crosses": serialization.serialize(self.crosses), "crossing_dim": self.crossing_dim,
                "hashing_dim": self.hashing_dim, "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        return {name: feature.preprocessor.get_build_config() for name, feature in self.features.items()}

    def build_from_config(self, config):
        """Build the preprocessors as saved (their state is loaded after), adapted from then on."""
        for name, build in (config or {}).items():
            layer = self.features[name].preprocessor
            if build and not layer.built:
                layer.build_from_config(build)
        self._is_adapted = True
        self._sublayers_built = False  # the encoders are sized on first use, once the saved state is loaded

    def save(self, filepath):
        """Write the FeatureSpace to a `.keras` file (`nablanet.saving.load_model` reads it back)."""
        from nablanet.saving import save_model

        self._check_if_built()
        return save_model(self, filepath)


def _family(dtype):
    text = str(dtype)
    if text in ("string", "str", "object") or text.startswith("<U"):
        return "string"
    return "float" if text.startswith(("float", "bfloat")) else "int"


def _numpy_dtype(dtype):
    return str if _family(dtype) == "string" else np.dtype(dtype)


def _numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def _to_tensor(outputs):
    if isinstance(outputs, dict):
        return {name: ops.convert_to_tensor(x) for name, x in outputs.items()}
    return ops.convert_to_tensor(outputs)


# -- reading the adapt data ---------------------------------------------------------------------------

def _feature_batches(dataset, names):
    """`{name: [batch, ...]}` for the features `names`, each batch at least 2-D, batched as Keras's
    adapt batches a `tf.data.Dataset` built from the same data."""
    if isinstance(dataset, dict):
        _require(dataset, names, "the dict")
        columns = {name: np.asarray(dataset[name]) for name in names}
        return {name: _batched([column[i] for i in range(len(column))], name) for name, column in columns.items()}
    if isinstance(dataset, PyDataset):
        if dataset.num_batches is None:
            raise ValueError("FeatureSpace.adapt: the PyDataset is endless (num_batches is None); give it a length")
        elements = (dataset[i] for i in range(dataset.num_batches))
    elif hasattr(dataset, "__iter__") and not isinstance(dataset, (str, bytes, np.ndarray)):
        elements = iter(dataset)
    else:
        raise TypeError(f"FeatureSpace.adapt: expected a dict of arrays or lists, an iterable of dict batches or a "
                        f"PyDataset, got {type(dataset).__name__}")
    found = {name: [] for name in names}
    for element in elements:
        if isinstance(element, (tuple, list)) and element and isinstance(element[0], dict):
            element = element[0]  # an (x, y) batch: the features are x
        if not isinstance(element, dict):
            raise TypeError(f"FeatureSpace.adapt: expected each batch to be a dict of features, got "
                            f"{type(element).__name__}")
        _require(element, names, "a batch")
        for name in names:
            found[name].append(np.asarray(ops.convert_to_numpy(element[name])
                                          if not isinstance(element[name], (list, tuple)) else element[name]))
    if names and not found[names[0]]:
        raise ValueError("FeatureSpace.adapt: the dataset is empty")
    return {name: _batched(values, name) for name, values in found.items()}


def _require(element, names, where):
    missing = [name for name in names if name not in element]
    if missing:
        raise ValueError(f"FeatureSpace.adapt: {where} lacks the features {missing} (it has {sorted(element)})")


def _batched(elements, name):
    """Single values grouped by `ADAPT_BATCH`; each batch given a trailing axis when it is 1-D."""
    if not elements:
        raise ValueError(f"FeatureSpace.adapt: no data for feature {name!r}")
    rank = np.ndim(elements[0])
    if rank == 0:
        elements = [np.asarray(elements[i:i + ADAPT_BATCH]) for i in range(0, len(elements), ADAPT_BATCH)]
    return [np.asarray(x)[:, None] if rank in (0, 1) else np.asarray(x) for x in elements]


serialization.register_table("layers", {"FeatureSpace": FeatureSpace, "Feature": Feature, "Cross": Cross,
                                        "TFDIdentity": TFDIdentity}, "keras.layers")
