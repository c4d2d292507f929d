"""The output structure of a layer that does not give its output shape: found by running it.

A functional call of a custom layer that keeps `Layer.compute_output_shape`'s default runs
`call` on zeros twice (with the mask it will receive, as all-true stand-ins), each unknown
dimension 2 and then 3: a dimension that follows them is unknown in the output too (Keras
traces `call` symbolically for the same answer). The probe leaves no
trace: random generators are rewound and the losses it adds are dropped.
"""

import numpy as np

from nablanet import backend
from nablanet.autodiff import no_grad
from nablanet.autodiff.tensor import Tensor
from nablanet.symbolic import KerasTensor
from nablanet.tree import map_structure


class OutputSpec:
    """The shape (None where unknown) and dtype of one probed output."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def probe_outputs(layer, inputs, args, kwargs):
    """The structure of `layer`'s outputs on the symbolic `inputs`, an `OutputSpec` for each.

    `kwargs` are those `call` takes (see `Layer._call_kwargs`).
    """
    layers = with_sublayers(layer)
    losses = [(each, list(each._losses)) for each in layers]
    generators = _generators(layers)
    states = [generator.bit_generator.state for generator in generators]

    def run(size):
        concrete = [map_structure(lambda t: _stand_in(t, size, layer.dtype), value)
                    for value in (inputs, list(args), kwargs)]
        with no_grad(), np.errstate(all="ignore"):
            return layer.call(concrete[0], *concrete[1], **concrete[2])

    try:
        first, second = run(2), run(3)
    finally:
        for each, saved in losses:
            each._losses[:] = saved
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state

    return map_structure(_spec, first, second)


def probe_mask(layer, inputs, masks):
    """The structure of `layer.compute_mask(inputs, masks)` on stand-ins, an `OutputSpec` (or None) each."""

    def run(size):
        concrete = [map_structure(lambda t: _stand_in(t, size, layer.dtype), value) for value in (inputs, masks)]
        with no_grad(), np.errstate(all="ignore"):
            return layer.compute_mask(*concrete)

    return map_structure(lambda a, b: None if a is None else _spec(a, b), run(2), run(3))


def _stand_in(t, size, dtype):
    """Zeros for a KerasTensor (a mask that keeps every step for a boolean one), unknown dimensions `size`."""
    if not isinstance(t, KerasTensor):
        return t
    shape = tuple(size if d is None else d for d in t.shape)
    fill = np.ones if t.dtype == np.bool_ else np.zeros
    return Tensor._wrap(fill(shape, dtype=t.dtype or dtype))


def _spec(out, other):
    shape = tuple(a if a == b else None for a, b in zip(np.shape(out), np.shape(other)))
    dtype = getattr(out, "dtype", None)
    return OutputSpec(shape, dtype)


def with_sublayers(layer):
    """`layer` and every layer inside it, each once."""
    found, pending = [], [layer]
    while pending:
        current = pending.pop()
        if not any(current is seen for seen in found):
            found.append(current)
            pending.extend(current._sublayers())
    return found


def _generators(layers):
    """The random generators a probe could advance: the shared one and any the layers hold."""
    found = [backend.generator()]
    for layer in layers:
        for value in vars(layer).values():
            value = getattr(value, "generator", value)  # a SeedGenerator holds one
            if isinstance(value, np.random.Generator) and not any(value is g for g in found):
                found.append(value)
    return found
