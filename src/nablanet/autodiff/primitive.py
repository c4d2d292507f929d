"""How a primitive op and its derivative rule are declared, called and recorded.

A primitive pairs a NumPy `forward` with its vector-Jacobian product `vjp(g, out, *inputs,
**params)`. A rule may return, instead of a cotangent, a function of no arguments that computes
it: the engine calls it only for an input that needs a gradient (matmul's input gradient is
never computed for the data fed to a first layer). Calling it on Tensors computes the forward on
their arrays and, when a gradient is needed and grad mode is on, records a `Node` on the output.
Calling it on plain arrays is plain NumPy: arrays in, arrays out, nothing recorded. Backprop
leans on that: a first-order sweep hands the rules raw arrays, so a rule written with these ops
runs at NumPy speed, while a recorded sweep (`create_graph=True`) hands them Tensors and the
same rule builds a differentiable graph.
"""

import contextlib
import weakref
from collections import namedtuple

import numpy as np

from nablanet.autodiff.tensor import Tensor

Node = namedtuple("Node", "op inputs params")  # how a Tensor was computed

REGISTRY = {}  # name -> Primitive: the table the gradient tests walk
_SAVED = {}  # id(output array) -> (weakref to it, what a fused forward kept for its VJP)


def save_for_backward(out, value):
    """Keep `value` (arrays a fused kernel's VJP needs) for as long as the output array `out`
    lives, or until the op is known not to be recorded."""
    key = id(out)
    _SAVED[key] = (weakref.ref(out, lambda _: _SAVED.pop(key, None)), value)


def saved_for_backward(out):
    """What the forward that produced `out` saved, or None."""
    entry = _SAVED.get(id(out))
    return entry[1] if entry is not None and entry[0]() is out else None


class _GradMode:
    enabled = True  # process-wide, like Keras; PyTorch keeps it per thread
    transforms = 0  # calculus transforms now evaluating their function (see transform_scope)


def in_transform():
    """Whether a calculus transform (`grad`, `jacobian`, ...) is evaluating its function now, so
    that what is computed may be differentiated again: first-order fused kernels are then not
    chosen, and `float()` of a tensor being differentiated is refused.

    >>> in_transform()
    False
    """
    return _GradMode.transforms > 0


@contextlib.contextmanager
def transform_scope():
    """Mark the block as a transform evaluating its function (nested scopes count).

    >>> with transform_scope():
    ...     in_transform()
    True
    """
    _GradMode.transforms += 1
    try:
        yield
    finally:
        _GradMode.transforms -= 1


def is_grad_enabled():
    """Return whether ops on Tensors that require gradients are being recorded."""
    return _GradMode.enabled


@contextlib.contextmanager
def enable_grad(mode=True):
    """Turn recording on (or to `mode`) inside the block; restore the previous state after.

    Also usable as a decorator.
    """
    previous = _GradMode.enabled
    _GradMode.enabled = bool(mode)
    try:
        yield
    finally:
        _GradMode.enabled = previous


def no_grad():
    """Record nothing inside the block: ops run on raw arrays at NumPy speed.

    >>> from nablanet import Tensor
    >>> x = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    return enable_grad(False)


class Primitive:
    """A NumPy function paired with its vector-Jacobian product (VJP)."""

    __slots__ = ("name", "forward", "vjp", "order")

    def __init__(self, name, forward, vjp, *, order=None):
        self.name, self.forward, self.vjp = name, forward, vjp
        self.order = order  # None: differentiable to any order; 1: hand-written NumPy VJP

    def __call__(self, *inputs, **params):
        arrays = []
        wrap = tracked = False
        for x in inputs:
            if isinstance(x, Tensor):
                wrap = True
                tracked = tracked or x.requires_grad
                arrays.append(x.data)
            else:
                arrays.append(x)
        try:
            data = self.forward(*arrays, **params)
        except (ValueError, TypeError, IndexError) as error:
            raise _input_error(self.name, arrays, error) from error
        if not (wrap and tracked and _GradMode.enabled):
            _SAVED.pop(id(data), None)  # no VJP will run: free what the forward kept
            return Tensor._wrap(data) if wrap else data
        out = Tensor._wrap(data)
        out.requires_grad = True
        out.node = Node(self, inputs, params)
        return out

    def __repr__(self):
        return f"<primitive {self.name}>"


def _input_error(name, arrays, error):
    message = str(error)
    if message.startswith(f"{name}:"):
        return error  # the forward already explained itself
    shapes = ", ".join(f"{np.shape(a)} {np.asarray(a).dtype}" for a in arrays)
    kind = next(k for k in (IndexError, TypeError, ValueError) if isinstance(error, k))
    return kind(f"{name}: cannot apply to inputs of shape/dtype {shapes}: {message}")


def primitive(name, forward, vjp, *, order=None):
    """Create a primitive op, register it under `name` and return it.

    `order=1` marks a fused kernel whose VJP is hand-written NumPy: first-order backprop runs it
    directly, and any attempt to differentiate through it a second time raises a clear error.
    """
    if name in REGISTRY:
        raise ValueError(f"primitive: an op named {name!r} is already registered")
    if order not in (None, 1):
        raise ValueError(f"primitive: order must be None or 1, got {order!r}")
    if order == 1:
        vjp = _first_order_only(name, vjp)
    op = Primitive(name, forward, vjp, order=order)
    REGISTRY[name] = op
    return op


def _first_order_only(name, numpy_vjp):
    """Wrap a NumPy VJP so that a recorded sweep marks its cotangents as not differentiable."""

    def guard_vjp(g, out, *inputs):
        raise NotImplementedError(
            f"{name}: second derivatives are not available; its VJP is a fused first-order "
            "NumPy kernel. Compose the op from differentiable primitives to get higher orders."
        )

    guard = Primitive(f"{name}_vjp", lambda cotangent, *inputs: cotangent, guard_vjp, order=1)

    def vjp(g, out, *inputs, **params):
        if not isinstance(g, Tensor):  # first-order sweep: raw arrays all the way
            return numpy_vjp(g, out, *inputs, **params)
        raw = [x.data if isinstance(x, Tensor) else x for x in inputs]
        cotangents = numpy_vjp(g.data, out.data, *raw, **params)
        tensors = [x for x in inputs if isinstance(x, Tensor)]
        return tuple(
            None if c is None else guard(c() if callable(c) else c, g, *tensors) for c in cotangents
        )

    return vjp
