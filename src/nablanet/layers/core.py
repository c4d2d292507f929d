"""Core layers: Input, Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
Lambda, Identity, ActivityRegularization."""

import inspect
import math

import numpy as np

from nablanet import activations, backend, constraints, initializers, ops, regularizers, serialization
from nablanet.compat import warn_ignored
from nablanet.layers import operation  # noqa: F401 -- records ops called on symbolic tensors
from nablanet.layers.base import Layer
from nablanet.layers.probe import probe_outputs
from nablanet.symbolic import KerasTensor, Node
from nablanet.tree import flatten, map_shape_structure, map_structure


class InputLayer(Layer):
    """The entry point of a functional model: holds the shape and dtype of its data.

    Args:
        shape: The shape of one sample (without the batch axis); None for unknown lengths.
        batch_size: An optional fixed batch size.
        dtype: The data's dtype (floatx by default; "int32" for token ids).
        sparse, ragged: Keras's; only dense data exists here, so they must be None or False.
        batch_shape: The shape with the batch axis, instead of `shape` and `batch_size`.
        input_tensor: Keras's; ignored, with a warning (the graph starts from its own placeholder).
        optional: Keras's; must be False (every input needs data).
        name: The layer's name.
    """

    accepts_integer_inputs = True

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None,
                 input_tensor=None, optional=False, name=None, **kwargs):
        if shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if batch_shape is None and "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        if batch_shape is not None:
            if shape is not None or batch_size is not None:
                raise ValueError("InputLayer: pass either shape (and batch_size) or batch_shape, not both; got "
                                 f"shape={shape}, batch_size={batch_size}, batch_shape={batch_shape}")
            batch_shape = tuple(batch_shape)
            if not batch_shape:
                raise ValueError("InputLayer: batch_shape must include the batch axis, got ()")
            shape, batch_size = batch_shape[1:], batch_shape[0]
        if shape is None:
            raise ValueError("InputLayer: shape is required, e.g. InputLayer(shape=(784,))")
        for argument, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise ValueError(f"InputLayer: {argument}=True is not supported: nablanet's inputs are dense "
                                 "arrays that every call passes")
        warn_ignored("InputLayer", "input_tensor", input_tensor, "graphs start from their own placeholder")
        text = dtype == "string"  # Keras's name for text; its arrays are NumPy object or str arrays
        super().__init__(name=name, dtype=None if text else dtype, **kwargs)
        self.shape = tuple(None if d is None else int(d) for d in np.atleast_1d(shape).tolist()) if shape != () else ()
        self.batch_size = batch_size
        self.output_dtype = np.dtype(object if text else dtype or backend.floatx())
        self.built = True
        node = Node(self, [], (), {}, None)
        node.outputs = KerasTensor((batch_size,) + self.shape, self.output_dtype, name=self.name, history=(node, 0))
        self._inbound_nodes.append(node)

    def call(self, inputs):
        return inputs

    def get_config(self):
        dtype = "string" if self.output_dtype.kind == "O" else self.output_dtype.name
        return {"batch_shape": [self.batch_size, *self.shape], "dtype": dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        """Also Keras's older `batch_input_shape`."""
        return cls(**config)


def Input(shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None, name=None,  # noqa: N802
          tensor=None, optional=False):
    """A symbolic input for the functional API: `Input(shape=(784,))` or `Input(batch_shape=(32, 784))`.

    Returns a `KerasTensor`; calling layers on it builds the graph that `Model(inputs,
    outputs)` runs. The arguments are `InputLayer`'s (`tensor` is its `input_tensor`).

    >>> Input(shape=(3,)).shape
    (None, 3)
    >>> Input(batch_shape=(8, 3)).shape
    (8, 3)
    """
    warn_ignored("Input", "tensor", tensor, "graphs start from their own placeholder")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, ragged=ragged,
                      batch_shape=batch_shape, optional=optional, name=name).output


def set_weight_options(layer, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                       bias_regularizer, kernel_constraint, bias_constraint):
    """The activation and the kernel's and bias's initializers, regularizers and constraints of a
    Dense or convolution layer, each resolved from its Keras identifier."""
    layer.activation = activations.get(activation)
    layer.use_bias = use_bias
    set_weight_roles(layer, kernel=(kernel_initializer, kernel_regularizer, kernel_constraint),
                     bias=(bias_initializer, bias_regularizer, bias_constraint))


def set_weight_roles(layer, **roles):
    """For each weight role (`kernel=(initializer, regularizer, constraint)`), the attributes
    `<role>_initializer`, `<role>_regularizer` and `<role>_constraint`, each resolved from its
    Keras identifier."""
    for role, (initializer, regularizer, constraint) in roles.items():
        setattr(layer, f"{role}_initializer", initializers.get(initializer))
        setattr(layer, f"{role}_regularizer", regularizers.get(regularizer))
        setattr(layer, f"{role}_constraint", constraints.get(constraint))


def weight_options_config(layer):
    """`set_weight_options`'s settings (and the activity regularizer) as Keras's config keys."""
    return {
        "activation": activations.serialize(layer.activation), "use_bias": layer.use_bias,
        "kernel_initializer": initializers.serialize(layer.kernel_initializer),
        "bias_initializer": initializers.serialize(layer.bias_initializer),
        "kernel_regularizer": regularizers.serialize(layer.kernel_regularizer),
        "bias_regularizer": regularizers.serialize(layer.bias_regularizer),
        "activity_regularizer": regularizers.serialize(layer.activity_regularizer),
        "kernel_constraint": constraints.serialize(layer.kernel_constraint),
        "bias_constraint": constraints.serialize(layer.bias_constraint),
    }


def refuse_unavailable(where, **arguments):
    """Refuse LoRA and quantization arguments: a layer that silently ignored them would train or
    predict differently from Keras's, so an explicit error is the honest answer."""
    for name, value in arguments.items():
        if value is not None:
            raise NotImplementedError(f"{where}: {name}={value!r} (LoRA / quantization) is not available in nablanet; "
                                      f"leave {name}=None")


class Dense(Layer):
    """A densely connected layer: `activation(inputs @ kernel + bias)`.

    Inputs with more than two axes are multiplied along the last one.

    Args:
        units: Dimensionality of the output space.
        activation: Activation name or callable; None applies none.
        use_bias: Whether to add a learned bias vector.
        kernel_initializer: Initializer for the `(input_dim, units)` kernel.
        bias_initializer: Initializer for the `(units,)` bias.
        kernel_regularizer, bias_regularizer: Penalties on the weights.
        activity_regularizer: A penalty on the outputs.
        kernel_constraint, bias_constraint: Projections applied after each update.

    Example:
        >>> Dense(4, activation="tanh")(np.ones((2, 3))).shape
        (2, 4)
    """

    fixed_rank = False  # Keras's Dense takes any rank of at least 2 once built

    supports_masking = True  # passes the mask on, as Keras

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        refuse_unavailable("Dense", lora_rank=lora_rank, quantization_config=quantization_config)
        self.units = int(units)
        set_weight_options(self, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                           bias_regularizer, kernel_constraint, bias_constraint)

    def build(self, input_shape):
        if input_shape[-1] is None:
            raise ValueError(f"Dense {self.name!r}: the last axis of the input must be known, got {input_shape}")
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        name="bias")

    def call(self, inputs):
        relu, sigmoid = self.activation is activations.relu, self.activation is activations.sigmoid
        x = ops.dense(inputs, self.kernel, self.bias, relu=relu, sigmoid=sigmoid)  # one 2-D product, in place
        return x if relu or sigmoid or self.activation is activations.linear else self.activation(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, **weight_options_config(self)}


class Activation(Layer):
    """Applies an activation function: `Activation("relu")`."""

    keeps_shape = True
    supports_masking = True  # passes the mask on, as Keras

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its inputs unchanged (any structure), passing their mask on.

    >>> Identity()(np.ones((1, 2))).numpy()
    array([[1., 1.]], dtype=float32)
    """

    keeps_shape = True
    fixed_last_axis = False
    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True  # no weights: built at once, as Keras's

    def call(self, inputs):
        return inputs


class ActivityRegularization(Layer):
    """Returns its inputs unchanged and adds `l1 * sum(|x|) + l2 * sum(x ** 2)` (per sample) to the losses.

    >>> layer = ActivityRegularization(l1=0.5)
    >>> _ = layer(np.array([[1.0, -2.0]]))
    >>> float(layer.losses[0])
    1.5
    """

    keeps_shape = True
    fixed_last_axis = False
    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # l1 and l2 make it, as in Keras's config
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2
        self.built = True

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability `rate` and scale the
    rest by `1 / (1 - rate)`; at inference, the identity.

    Args:
        rate: The fraction of inputs to drop, in [0, 1).
        noise_shape: The shape of the mask, broadcast over the inputs (1 to share a mask
            along an axis); None for the input's shape.
        seed: Seed for the layer's own generator; by default the shared one.
    """

    keeps_shape = True
    supports_masking = True  # passes the mask on, as Keras

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a float in [0, 1), got {rate!r}")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed
        self._generator = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else tuple(
            n if n is not None else s for n, s in zip(self.noise_shape, inputs.shape))
        generator = self._generator or backend.noise_generator()
        keep = generator.random(shape) >= self.rate
        mask = keep.astype(inputs.dtype) * np.asarray(1 / (1 - self.rate), inputs.dtype)
        return inputs * mask

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}


class Flatten(Layer):
    """Flattens every axis after the batch axis: `(batch, ...) -> (batch, prod(...))`."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1)."""

    fixed_last_axis = False

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, got {self.target_shape}")

    def compute_output_shape(self, input_shape):
        known = input_shape[1:]
        if -1 not in self.target_shape:
            size = math.prod(self.target_shape)
            if None not in known and math.prod(known) != size:
                raise ValueError(
                    f"Reshape {self.name!r}: cannot reshape samples of shape {tuple(known)} "
                    f"({math.prod(known)} values) to {self.target_shape} ({size} values)"
                )
            return (input_shape[0],) + self.target_shape
        if None in known:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        rest = math.prod(d for d in self.target_shape if d != -1)
        if math.prod(known) % rest:
            raise ValueError(f"Reshape {self.name!r}: cannot reshape {tuple(known)} to {self.target_shape}")
        return (input_shape[0],) + tuple(math.prod(known) // rest if d == -1 else d for d in self.target_shape)

    def call(self, inputs):
        self.compute_output_shape((None,) + tuple(inputs.shape[1:]))  # a clear error on mismatch
        return ops.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permutes the non-batch axes: `dims` is 1-indexed, e.g. `Permute((2, 1))`."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute: dims must be a permutation of 1..{len(self.dims)}, got {self.dims}")

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeats a `(batch, features)` input `n` times: `(batch, n, features)`."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer, got {n!r}")
        self.n = int(n)

    def call(self, inputs):
        if inputs.ndim != 2:
            raise ValueError(f"RepeatVector {self.name!r}: expected a 2-D input, got shape {inputs.shape}")
        return ops.broadcast_to(ops.expand_dims(inputs, 1), (inputs.shape[0], self.n, inputs.shape[1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Lambda(Layer):
    """Wraps a function of Tensors as a layer: `Lambda(lambda x: x ** 2)`, or of several:
    `Lambda(lambda ab: ab[0] * ab[1])([a, b])` (any structure of inputs: lists, dicts, nested).

    Args:
        function: The function; called as `function(inputs, **arguments)`, with `mask=` and
            `training=` too when it takes them.
        output_shape: The output shape without the batch axis (or a structure of them for
            several outputs), or a function of the input shapes that returns the full output
            shapes; by default found by running the function on stand-in data.
        arguments: Extra keyword arguments for the function.
    """

    fixed_last_axis = False

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        warn_ignored("Lambda", "mask", mask, "the layer passes no mask on")
        self.function, self._output_shape, self.arguments = function, output_shape, arguments or {}
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            parameters = {}
        self._function_takes = {name for name in ("mask", "training") if name in parameters}

    def call(self, inputs, mask=None, training=None):
        extra = {"mask": mask, "training": training}
        return self.function(inputs, **self.arguments, **{k: extra[k] for k in self._function_takes})

    def compute_output_shape(self, input_shape):
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        if self._output_shape is not None:
            batch = flatten(map_shape_structure(lambda shape: shape[0] if shape else None, input_shape))[0]
            return map_shape_structure(lambda shape: (batch, *shape), _as_shapes(self._output_shape))
        stand_ins = map_shape_structure(lambda shape: KerasTensor(shape, self.dtype), input_shape)
        return map_structure(lambda spec: spec.shape, probe_outputs(self, stand_ins, (), {}))

    def get_config(self):
        if serialization.get_registered_name(self.function) == getattr(self.function, "__name__", None):
            raise ValueError(
                f"Lambda {self.name!r}: its function cannot be saved: nablanet never serializes "
                "code (no pickle, no bytecode). Register the function with "
                "@nablanet.saving.register_keras_serializable() so it is saved by name, or write a "
                "Layer subclass."
            )
        output_shape = self._output_shape if not callable(self._output_shape) else None
        return {**super().get_config(), "function": serialization.serialize(self.function),
                "output_shape": output_shape, "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild with the function found by name in the allowlist or `custom_objects`; a function
        stored as code (Keras's `__lambda__`) is refused whatever `safe_mode` says, as nablanet
        never runs code from a file."""
        config = dict(config)
        function = config.get("function")
        try:
            if isinstance(function, str):
                with serialization.custom_object_scope(custom_objects or {}):
                    config["function"] = serialization.lookup(function)
            elif isinstance(function, dict):
                config["function"] = serialization.deserialize(function, custom_objects)
            else:  # Keras 2 stored the function's bytecode
                raise serialization.SerializationError(
                    "the function is stored as Python code, which nablanet never runs")
        except serialization.SerializationError as error:
            raise serialization.SerializationError(
                f"Lambda layer {config.get('name')!r} refused: {error}") from None
        return cls(**config)


def _as_shapes(value):
    """Lists of ints (from a JSON config) as shape tuples, in any structure."""
    return map_shape_structure(lambda shape: tuple(shape), value)
