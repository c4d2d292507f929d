"""`InputSpec`: what a layer accepts (rank, dtype, fixed axes, shape), checked on every call.

A layer that sets `self.input_spec` (one spec, or a list of them for several inputs) has its
inputs checked before it builds or runs, with Keras's rules and an error naming the layer.

>>> spec = InputSpec(min_ndim=2, axes={-1: 3})
>>> spec
InputSpec(min_ndim=2, axes={-1: 3})
>>> check_input_spec(spec, np.zeros((4, 2)), "dense")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: Input 0 of layer 'dense' is incompatible with the layer: expected axis -1 ... of shape (4, 2)
"""

import numpy as np

from nablanet.tree import flatten


class InputSpec:
    """The rank, dtype and dimensions a layer accepts for one input.

    Args:
        dtype: The expected dtype, or None for any.
        shape: The expected shape with the batch axis (None for any length); sets `ndim`.
        ndim: The expected rank.
        max_ndim, min_ndim: Bounds on the rank.
        axes: `{axis: size}` for axes whose length is fixed (negative axes count from the end).
        allow_last_axis_squeeze: Whether a last axis of length 1 may be missing from the input
            or the spec when the shapes are compared (and then `ndim` is not enforced).
        name: The input's name, for dict inputs.
        optional: Whether the input may be None.
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = None if dtype is None else np.dtype(dtype).name
        if shape is not None:
            self.shape = tuple(None if d is None else int(d) for d in shape)
            self.ndim = len(self.shape)
        else:
            self.shape, self.ndim = None, ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.optional, self.allow_last_axis_squeeze = name, optional, allow_last_axis_squeeze
        try:
            axes = axes or {}
            self.axes = {int(k): axes[k] for k in axes}
        except (ValueError, TypeError):
            raise TypeError(f"InputSpec: axes must be a dict with integer keys, got {axes!r}") from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            top = (self.ndim if self.ndim else self.max_ndim) - 1
            if max(self.axes) > top:
                raise ValueError(f"InputSpec: axis {max(self.axes)} is greater than the maximum allowed value {top}")

    def __repr__(self):
        parts = [f"{key}={value}" for key, value in (
            ("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim), ("max_ndim", self.max_ndim),
            ("min_ndim", self.min_ndim), ("axes", self.axes)) if value]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes, "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def check_input_spec(input_spec, inputs, layer_name):
    """Raise a ValueError naming the layer when `inputs` do not fit `input_spec` (one spec or a list)."""
    if not input_spec:
        return
    specs = flatten(input_spec)
    if isinstance(inputs, dict) and all(spec is not None and spec.name for spec in specs):
        missing = [spec.name for spec in specs if spec.name not in inputs]
        if missing:
            raise ValueError(f"Layer {layer_name!r}: missing data for input(s) {missing}; got a dict with keys "
                             f"{sorted(inputs)}, expected keys {[spec.name for spec in specs]}")
        inputs = [inputs[spec.name] for spec in specs]
    inputs = flatten(inputs)
    if len(inputs) != len(specs):
        raise ValueError(f"Layer {layer_name!r} expects {len(specs)} input(s), but it received {len(inputs)} input "
                         "tensors")
    for index, (x, spec) in enumerate(zip(inputs, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        if not hasattr(x, "shape"):
            raise ValueError(f"Layer {layer_name!r}: inputs to a layer should be tensors, got {x!r} (of type "
                             f"{type(x).__name__}) as input {index}")
        _check_one(spec, tuple(x.shape), np.dtype(x.dtype).name if x.dtype is not None else None,
                   f"Input {index} of layer {layer_name!r} is incompatible with the layer")


def _check_one(spec, shape, dtype, where):
    ndim = len(shape)
    if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
        raise ValueError(f"{where}: expected ndim={spec.ndim}, found ndim={ndim}. Full shape received: {shape}")
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        raise ValueError(f"{where}: expected max_ndim={spec.max_ndim}, found ndim={ndim}. Full shape received: "
                         f"{shape}")
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        raise ValueError(f"{where}: expected min_ndim={spec.min_ndim}, found ndim={ndim}. Full shape received: "
                         f"{shape}")
    if spec.dtype is not None and dtype is not None and dtype != spec.dtype:
        raise ValueError(f"{where}: expected dtype={spec.dtype}, found dtype={dtype}")
    for axis, value in spec.axes.items():
        if value is not None and -ndim <= axis < ndim and shape[axis] not in (value, None):
            raise ValueError(f"{where}: expected axis {axis} of the input shape to have value {value}, but "
                             f"received an input of shape {shape}")
    if spec.shape is not None:
        expected = spec.shape
        if spec.allow_last_axis_squeeze:
            shape = shape[:-1] if shape and shape[-1] == 1 else shape
            expected = expected[:-1] if expected and expected[-1] == 1 else expected
        if any(e is not None and d is not None and e != d for e, d in zip(expected, shape)):
            raise ValueError(f"{where}: expected shape={spec.shape}, found shape={shape}")
