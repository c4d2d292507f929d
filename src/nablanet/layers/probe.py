"""The output structure of a layer that does not give its output shape: found by running it.

A functional call of a custom layer that keeps `Layer.compute_output_shape`'s default runs
`call` on zeros twice, each unknown dimension 2 and then 3: a dimension that follows them is
unknown in the output too (Keras traces `call` symbolically for the same answer). The probe
leaves no trace: random generators are rewound and the losses it adds are dropped.
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
        zeros = map_structure(lambda t: Tensor._wrap(np.zeros(
            tuple(size if d is None else d for d in t.shape), dtype=t.dtype or layer.dtype))
            if isinstance(t, KerasTensor) else t, inputs)
        with no_grad(), np.errstate(all="ignore"):
            return layer.call(zeros, *args, **kwargs)

    try:
        first, second = run(2), run(3)
    finally:
        for each, saved in losses:
            each._losses[:] = saved
        for generator, state in zip(generators, states):
            generator.bit_generator.state = state

    def spec(out, other):
        shape = tuple(a if a == b else None for a, b in zip(np.shape(out), np.shape(other)))
        return OutputSpec(shape, getattr(out, "dtype", None))

    return map_structure(spec, first, second)


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
