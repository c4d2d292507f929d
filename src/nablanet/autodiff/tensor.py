"""Tensor: an array, its gradient, and the node that says how it was computed."""

import importlib
import numbers
import sys

import numpy as np

from nablanet import tree

_FREED = "freed"  # a node cleared by backward(); differentiating through it again is an error


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode autodiff.

    Args:
        data: Anything `numpy.asarray` accepts, or another Tensor. The array is not copied.
        requires_grad: Whether gradients with respect to this tensor are wanted. Only
            floating-point tensors can require gradients.
        dtype: Optional dtype to convert `data` to.

    `grad` holds the accumulated gradient as a NumPy array after `backward()` (a Tensor when
    `backward(create_graph=True)` was used, so it can be differentiated again).

    Example:
        >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        array([2., 4., 6.])
    """

    # _keras_mask: the (batch, steps) mask a masking layer attached, as Keras does; unset otherwise
    __slots__ = ("data", "grad", "requires_grad", "node", "_keras_mask", "__weakref__")
    __array_priority__ = 1000  # NumPy defers binary operators to Tensor

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = np.asarray(data, dtype=dtype)
        if requires_grad and not np.issubdtype(self.data.dtype, np.floating):
            raise TypeError(
                f"Tensor: only floating-point tensors can require gradients, got dtype "
                f"{self.data.dtype}. Convert first, e.g. Tensor(x.astype('float64'), "
                "requires_grad=True)."
            )
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.node = None

    @classmethod
    def _wrap(cls, data):
        """Wrap an op's output without the checks of `__init__` (the hot path)."""
        t = object.__new__(cls)
        t.data = data if type(data) is np.ndarray else np.asarray(data)
        t.grad = None
        t.requires_grad = False
        t.node = None
        return t

    # -- array facts ---------------------------------------------------------------------------

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    @property
    def T(self):
        return ops.transpose(self)

    @property
    def is_leaf(self):
        """True for tensors made by the user rather than by a recorded op."""
        return self.node is None

    def numpy(self):
        """Return the underlying NumPy array (not a copy; the graph is not involved)."""
        return self.data

    def detach(self):
        """Return a Tensor sharing this data, cut from the graph."""
        return Tensor._wrap(self.data)

    def item(self):
        """Return the value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"Tensor.item: expected a one-element tensor, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def astype(self, dtype):
        """Cast to `dtype`, differentiably between float types."""
        return ops.cast(self, dtype)

    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires a gradient.

        Args:
            grad: The cotangent to start from; required unless the tensor has one element.
            retain_graph: Keep the graph so that `backward` can go through it again; by
                default only when `create_graph` is set, as in PyTorch.
            create_graph: Record the backward pass itself, so the gradients can be
                differentiated again (second derivatives).
        """
        return engine.backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)

    # -- reductions and shape, as methods (NumPy's names) ----------------------------------------

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return ops.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return ops.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return ops.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False):
        return ops.var(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return ops.reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
            axes = axes[0]
        return ops.transpose(self, axes or None)

    def flatten(self):
        return ops.reshape(self, (-1,))

    def squeeze(self, axis=None):
        return ops.squeeze(self, axis=axis)

    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def tanh(self):
        return ops.tanh(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def clip(self, x_min, x_max):
        return ops.clip(self, x_min, x_max)

    # -- operators -------------------------------------------------------------------------------
    # Keras's promotion (keras.ops, through `_public`) wherever NumPy's differs. For + - * / the
    # primitive runs first: when its result keeps this tensor's dtype, NumPy promoted as Keras does
    # (same dtypes, a weak Python number, a narrower operand), so the common case pays one `is`.

    def __add__(self, other):
        try:
            out = ops.add(self, other)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("add")(self, other)
        return out if out.data.dtype is self.data.dtype else _public("add")(self, other)

    def __radd__(self, other):
        try:
            out = ops.add(other, self)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("add")(other, self)
        return out if out.data.dtype is self.data.dtype else _public("add")(other, self)

    def __sub__(self, other):
        try:
            out = ops.subtract(self, other)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("subtract")(self, other)
        return out if out.data.dtype is self.data.dtype else _public("subtract")(self, other)

    def __rsub__(self, other):
        try:
            out = ops.subtract(other, self)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("subtract")(other, self)
        return out if out.data.dtype is self.data.dtype else _public("subtract")(other, self)

    def __mul__(self, other):
        try:
            out = ops.multiply(self, other)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("multiply")(self, other)
        return out if out.data.dtype is self.data.dtype else _public("multiply")(self, other)

    def __rmul__(self, other):
        try:
            out = ops.multiply(other, self)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("multiply")(other, self)
        return out if out.data.dtype is self.data.dtype else _public("multiply")(other, self)

    def __truediv__(self, other):
        try:
            out = ops.divide(self, other)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("divide")(self, other)
        return out if out.data.dtype is self.data.dtype else _public("divide")(self, other)

    def __rtruediv__(self, other):
        try:
            out = ops.divide(other, self)
        except (OverflowError, TypeError):  # NumPy refuses (an int outside the dtype): Keras's rules decide
            return _public("divide")(other, self)
        return out if out.data.dtype is self.data.dtype else _public("divide")(other, self)

    def __pow__(self, other):
        return ops.power(self, other) if _same_float(self, other) else _public("power")(self, other)

    def __rpow__(self, other):
        return ops.power(other, self) if _same_float(self, other) else _public("power")(other, self)

    def __matmul__(self, other):
        return ops.matmul(self, other) if _same_float(self, other) else _public("matmul")(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self) if _same_float(self, other) else _public("matmul")(other, self)

    def __floordiv__(self, other):
        return _public("floor_divide")(self, other)

    def __rfloordiv__(self, other):
        return _public("floor_divide")(other, self)

    def __mod__(self, other):
        return _public("mod")(self, other)

    def __rmod__(self, other):
        return _public("mod")(other, self)

    def __neg__(self):
        return ops.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    # Comparisons give boolean tensors that carry no gradient.
    def __eq__(self, other):
        if not isinstance(other, _ARRAY_LIKE):
            return NotImplemented  # let the other side decide (pytest.approx, None, ...)
        return ops.equal(self, other) if _same_dtype(self, other) else _public("equal")(self, other)

    def __ne__(self, other):
        if not isinstance(other, _ARRAY_LIKE):
            return NotImplemented
        return ops.not_equal(self, other) if _same_dtype(self, other) else _public("not_equal")(self, other)

    def __lt__(self, other):
        return ops.less(self, other) if _same_dtype(self, other) else _public("less")(self, other)

    def __le__(self, other):
        return ops.less_equal(self, other) if _same_dtype(self, other) else _public("less_equal")(self, other)

    def __gt__(self, other):
        return ops.greater(self, other) if _same_dtype(self, other) else _public("greater")(self, other)

    def __ge__(self, other):
        return ops.greater_equal(self, other) if _same_dtype(self, other) else _public("greater_equal")(self, other)

    def __and__(self, other):
        return ops.logical_and(self, other)

    def __or__(self, other):
        return ops.logical_or(self, other)

    def __invert__(self):
        return ops.logical_not(self)

    __hash__ = object.__hash__  # identity, as in PyTorch; == is elementwise

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def __setitem__(self, index, value):
        raise TypeError(
            "Tensor: item assignment is not supported, since it would change a value the graph "
            "depends on. Build a new tensor (ops.where, ops.concatenate), or use "
            "Variable.assign for weights."
        )

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("Tensor: len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        self._refuse_implicit("float")
        return float(self.data)

    def __int__(self):
        self._refuse_implicit("int")
        return int(self.data)

    def _refuse_implicit(self, what):
        if self.requires_grad and in_transform():
            raise TypeError(
                f"Tensor: {what}() of a tensor being differentiated would silently drop it from "
                "the graph (math.exp(x) and float(x) do this). Use nablanet.ops, or .item() if "
                "the value really is a constant."
            )

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = f", dtype={self.data.dtype}"
        if self.node is not None and self.node is not _FREED:
            extra += f", op={self.node.op.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # -- NumPy interoperability ------------------------------------------------------------------

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise TypeError(
                "Tensor: cannot convert a tensor that requires grad to a NumPy array implicitly: "
                "that would silently drop it from the graph. Call .numpy() (or .detach()) first."
            )
        return self.data if dtype is None else self.data.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = _OPERATOR_UFUNCS.get(ufunc)
        if name is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            a, b = inputs  # `array + tensor` promotes as `tensor + array`
            dtypes = {x.dtype for x in inputs if isinstance(x, (Tensor, np.ndarray))}
            if ufunc in UFUNCS and len(dtypes) == 1 and (name in _COMPARISONS or next(iter(dtypes)).kind == "f"):
                return UFUNCS[ufunc](a, b)
            return _public(name)(a, b)
        op = UFUNCS.get(ufunc)
        if op is not None and method == "__call__" and not kwargs:
            return op(*inputs)
        if not _any_requires_grad(inputs):  # no gradient at stake: plain NumPy
            return getattr(ufunc, method)(*_unwrap(list(inputs)), **kwargs)
        how = "" if method == "__call__" else f".{method}"
        how += f" with {', '.join(kwargs)}" if kwargs else ""
        raise TypeError(
            f"Tensor: NumPy ufunc {ufunc.__name__!r}{how} has no nablanet primitive, so applying "
            "it to a tensor that requires grad would lose the gradient. Use nablanet.ops, or "
            "call .numpy() first."
        )

    def __array_function__(self, func, types, args, kwargs):
        op = FUNCTIONS.get(func)
        if op is not None:
            return op(*args, **kwargs)
        if _any_requires_grad(args) or _any_requires_grad(kwargs.values()):
            raise TypeError(
                f"Tensor: numpy.{func.__name__} has no nablanet counterpart, so applying it to a "
                "tensor that requires grad would lose the gradient. Use nablanet.ops, or call "
                ".numpy() first."
            )
        return func(*_unwrap(list(args)), **_unwrap(kwargs))


def _same_float(tensor, other):
    """Whether the primitive gives Keras's dtype as it is: a float tensor with another of its dtype or
    with a Python number (weak: NumPy keeps the tensor's dtype, as Keras does); the layers' case."""
    dtype = tensor.data.dtype
    if isinstance(other, Tensor):  # NumPy's dtypes of one kind are one object: `is` is the cheap test
        return other.data.dtype is dtype and dtype.kind == "f"
    kind = type(other)
    if kind is float or kind is int:
        return dtype.kind == "f"
    return kind is np.ndarray and other.dtype is dtype and dtype.kind == "f"


def _same_dtype(tensor, other):
    """Whether a comparison needs no promotion: operands of one dtype, or a float tensor and a number."""
    if isinstance(other, (Tensor, np.ndarray)):
        return (other.data if isinstance(other, Tensor) else other).dtype == tensor.data.dtype
    return _same_float(tensor, other)


def _public(name):
    """The public op `name` (keras.ops's dtype rules), looked up in `nablanet.ops` on first use: that part
    sits above this one, so it is found by its module path held as data, as the registry finds its owners."""
    op = OPERATORS.get(name)
    if op is None:
        module = sys.modules.get(_PUBLIC_OPS) or importlib.import_module(_PUBLIC_OPS)
        op = OPERATORS[name] = getattr(module, name)
    return op


def as_array(x):
    """The NumPy array behind `x`: a Tensor's data (not a copy), anything else through `np.asarray`.

    >>> as_array(Tensor([1.0, 2.0])), as_array([3, 4])
    (array([1., 2.]), array([3, 4]))
    """
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _any_requires_grad(values):
    return any(isinstance(v, Tensor) and v.requires_grad for v in tree.flatten(list(values)))


def _unwrap(values):
    return tree.map_structure(lambda v: v.data if isinstance(v, Tensor) else v, values)


_ARRAY_LIKE = (Tensor, np.ndarray, np.generic, numbers.Number, list, tuple)
UFUNCS = {}  # numpy ufunc -> nablanet op, filled in by nablanet.autodiff.ops
_OPERATOR_UFUNCS = {np.add: "add", np.subtract: "subtract", np.multiply: "multiply", np.true_divide: "divide",
                    np.floor_divide: "floor_divide", np.remainder: "mod", np.power: "power", np.matmul: "matmul",
                    np.equal: "equal", np.not_equal: "not_equal", np.less: "less", np.less_equal: "less_equal",
                    np.greater: "greater", np.greater_equal: "greater_equal"}
_COMPARISONS = {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}
OPERATORS = {}  # operator's public op name -> that op (keras.ops's promotion), filled on first use
_PUBLIC_OPS = "nablanet.ops"
FUNCTIONS = {}  # numpy function -> nablanet op, likewise

from nablanet.autodiff import engine, ops  # noqa: E402  -- ops need Tensor defined first
from nablanet.autodiff.primitive import in_transform  # noqa: E402
