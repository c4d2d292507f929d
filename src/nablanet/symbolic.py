"""The symbolic tensors of the functional API and the graph nodes that link them.

`Input()` makes a `KerasTensor`; calling a layer on one records a `Node` (the call: its layer,
inputs, arguments and outputs) and returns new KerasTensors whose `history` points back at it.
`Model(inputs, outputs)` walks these nodes back from its outputs.
"""

import numpy as np

from nablanet import backend
from nablanet.tree import flatten


class KerasTensor:
    """A symbolic tensor of the functional API: a shape (None for the batch and any unknown
    dimension), a dtype, and the layer call that produced it.

    Example:
        >>> KerasTensor((None, 3)).shape
        (None, 3)
    """

    def __init__(self, shape, dtype=None, name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype or backend.floatx())
        self.name = name
        self.history = history  # (node, index in the node's outputs), None for an Input

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "KerasTensor: a symbolic tensor from Input() stands for data that does not exist yet, "
            "so ops cannot run on it. Use layers (layers.Add, layers.Multiply, layers.Lambda, ...) "
            "to combine symbolic tensors."
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _refuse
    __matmul__ = __pow__ = __neg__ = __getitem__ = __array__ = _refuse
    __hash__ = object.__hash__


class Node:
    """One call of a layer in a functional graph: its symbolic inputs, arguments and outputs."""

    def __init__(self, layer, inputs, args, kwargs, outputs):
        self.layer, self.inputs, self.args, self.kwargs = layer, inputs, args, kwargs
        self.outputs = outputs

    def input_tensors(self):
        """The symbolic tensors the call reads: in its inputs, and in its other arguments (an
        RNN's `initial_state=[h, c]` from an encoder, a `mask=`)."""
        reads = flatten(self.inputs) + flatten(list(self.args)) + flatten(list(self.kwargs.values()))
        return [t for t in reads if isinstance(t, KerasTensor)]
