"""`keras.ops`' core ops: conversion, dtype and shape queries, control flow, scatter and slices.

Control flow runs eagerly in Python: `cond` calls one branch, `scan`, `while_loop` and friends run
their body once per step. Whatever the body records is differentiated as usual, so a loop is as
differentiable as the ops inside it.

>>> from nablanet import ops
>>> ops.fori_loop(0, 4, lambda i, total: total + i, 0)
6
>>> ops.scan(lambda carry, x: (carry + x, carry * x), 0.0, np.array([1.0, 2.0, 3.0]))[1]
array([0., 2., 9.])
"""

import builtins
import functools
import inspect

import numpy as np

from nablanet import tree
from nablanet.autodiff.ops import (
    cast, clip, concatenate, getitem, maximum, minimum, multiply, pad, reshape, stack, where,
)
from nablanet.autodiff.ops.shape import scatter_add
from nablanet.autodiff.primitive import Primitive, no_grad
from nablanet.autodiff.tensor import Tensor, as_array

__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
    "fori_loop", "is_tensor", "map", "saturate_cast", "scan", "scatter", "scatter_update", "shape", "slice",
    "slice_update", "stop_gradient", "switch", "unstack", "vectorized_map", "while_loop",
]


# -- conversion and queries ---------------------------------------------------------------------


def _default_dtype(x):
    """The dtype Keras gives a value that carries none of its own: float32 for Python floats,
    int32 for Python ints, bool for bools; arrays keep theirs."""
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    array = np.asarray(tree.map_structure(as_array, x) if isinstance(x, (list, tuple)) else x)
    if array.dtype.kind == "f":
        return np.dtype("float32")
    if array.dtype.kind in "iu":
        return np.dtype("int32")
    return array.dtype


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """A Tensor holding `x` (a Tensor is returned as it is, or cast when `dtype` differs).

    Python floats become float32 and Python ints int32, as in Keras; NumPy arrays keep their dtype.
    `sparse` and `ragged` are accepted for Keras's signature; nablanet tensors are always dense.

    >>> convert_to_tensor([1, 2]).dtype
    dtype('int32')
    """
    if sparse or ragged:
        raise ValueError("convert_to_tensor: nablanet has dense tensors only; got sparse=True or ragged=True")
    if isinstance(x, Tensor):
        return x if dtype is None or np.dtype(dtype) == x.dtype else cast(x, dtype)
    data = np.asarray(tree.map_structure(as_array, x)) if isinstance(x, (list, tuple)) else as_array(x)
    target = np.dtype(dtype) if dtype is not None else _default_dtype(x)
    if data.dtype.kind == "O":
        raise TypeError(f"convert_to_tensor: cannot make a tensor of {type(x).__name__} {x!r}")
    return Tensor(data.astype(target, copy=False))


def convert_to_numpy(x):
    """The NumPy array behind `x` (a Tensor's data, or `numpy.asarray(x)`)."""
    return np.asarray(as_array(x))


def is_tensor(x):
    """Whether `x` is a nablanet Tensor (Variables included)."""
    return isinstance(x, Tensor)


def shape(x):
    """The shape of `x` as a tuple of ints."""
    return tuple(int(d) for d in np.shape(as_array(x)))


def dtype(x):
    """The dtype of `x` as Keras's string (`"float32"`, `"int64"`, ...)."""
    if isinstance(x, (Tensor, np.ndarray, np.generic)):
        return np.dtype(x.dtype).name
    return _default_dtype(x).name


def saturate_cast(x, dtype):
    """Cast to `dtype`, first clipping values to the range that `dtype` can hold.

    >>> saturate_cast(np.array([-5.0, 300.5, 3.7]), "uint8")
    array([  0, 255,   3], dtype=uint8)
    """
    target = np.dtype(dtype)
    info = np.iinfo(target) if target.kind in "iu" else np.finfo(target) if target.kind == "f" else None
    source = np.dtype(as_array(x).dtype)
    if info is not None and source.kind in "iuf":
        low, high = info.min, info.max
        if source.kind in "iu":  # clipping bounds the source cannot represent are no bound at all
            low, high = max(low, np.iinfo(source).min), min(high, np.iinfo(source).max)
        x = clip(x, low, high)
    return cast(x, target)


def stop_gradient(variable):
    """The value of `variable`, cut from the tape: nothing flows back through it."""
    if isinstance(variable, Tensor):
        return Tensor._wrap(variable.data)
    return np.asarray(variable)


def unstack(x, num=None, axis=0):
    """Split `x` along `axis` into a list of its slices (differentiable)."""
    n = np.shape(as_array(x))
    if not -len(n) <= axis < len(n):
        raise ValueError(f"unstack: axis {axis} is out of range for {len(n)} dimensions")
    axis %= len(n)
    if num is not None and num != n[axis]:
        raise ValueError(f"unstack: num={num} does not match the length {n[axis]} of axis {axis}")
    return [getitem(x, (builtins.slice(None),) * axis + (i,)) for i in range(n[axis])]


# -- custom gradients ---------------------------------------------------------------------------


def custom_gradient(f):
    """Decorate `f(*args)` that returns `(output, grad_fn)` so that the gradient of its output is
    `grad_fn`'s instead of the one the tape would record.

    `grad_fn` is called as Keras's torch backend calls it, `grad_fn(*args, upstream=g)`, when it
    takes `*args` or a keyword-only `upstream`; otherwise as TensorFlow and JAX call it,
    `grad_fn(g)`. It returns one gradient per positional argument of `f` (a single one when `f`
    has one). `f` runs with recording off, so its output is differentiated only through
    `grad_fn`; the gradient flows to Tensors passed as arguments (pass a layer's weights as
    arguments to train them). A recorded sweep (`hessian`, `grad` of `grad`) differentiates
    `grad_fn` itself.

    >>> from nablanet import grad, ops
    >>> @custom_gradient
    ... def clip_gradient(x):
    ...     return x * 1.0, lambda upstream: ops.clip(upstream, -0.5, 0.5)
    >>> grad(lambda x: ops.sum(clip_gradient(x) * 3.0))(np.array([1.0, 2.0]))
    array([0.5, 0.5])
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        with no_grad():
            result = f(*args, **kwargs)
        if not isinstance(result, (tuple, list)) or len(result) != 2 or not callable(result[1]):
            raise TypeError(
                f"custom_gradient: {getattr(f, '__name__', f)!r} must return (output, grad_fn), "
                f"got {type(result).__name__}"
            )
        output, grad_fn = result
        if isinstance(output, (tuple, list, dict)):
            raise TypeError(
                f"custom_gradient: {getattr(f, '__name__', f)!r} must return one output tensor with its "
                f"grad_fn, got a {type(output).__name__} of outputs"
            )
        if not any(isinstance(a, Tensor) for a in args):
            return output
        data = as_array(output)
        name = f"custom_gradient({getattr(f, '__name__', 'f')})"
        op = Primitive(name, lambda *arrays: data, _custom_vjp(name, grad_fn, args))
        return op(*args)

    return wrapper


def _torch_style(grad_fn):
    """Whether `grad_fn` takes the inputs positionally and `upstream` by keyword (Keras on torch)."""
    try:
        params = inspect.signature(grad_fn).parameters.values()
    except (TypeError, ValueError):
        return False
    kinds = {p.name: p.kind for p in params}
    has_varargs = inspect.Parameter.VAR_POSITIONAL in kinds.values()
    return has_varargs or kinds.get("upstream") == inspect.Parameter.KEYWORD_ONLY


def _custom_vjp(name, grad_fn, args):
    torch_style = _torch_style(grad_fn)

    def vjp(g, out, *inputs):
        recorded = isinstance(g, Tensor)
        upstream = g if recorded else Tensor._wrap(np.asarray(g))
        grads = grad_fn(*args, upstream=upstream) if torch_style else grad_fn(upstream)
        grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        if len(grads) != len(inputs):
            raise ValueError(
                f"{name}: grad_fn returned {len(grads)} gradient(s) for {len(inputs)} positional argument(s)"
            )
        if recorded:
            return tuple(None if gx is None else gx if isinstance(gx, Tensor) else Tensor(gx) for gx in grads)
        return tuple(None if gx is None else np.asarray(as_array(gx)) for gx in grads)

    return vjp


# -- control flow --------------------------------------------------------------------------------


def _truth(pred, where):
    value = as_array(pred)
    if value.size != 1:
        raise ValueError(f"{where}: the predicate must be a scalar, got shape {value.shape}")
    return bool(value.reshape(()))


def _scalar_as_array(value):
    """A Python number as a 0-d array of Keras's dtype for it (float32, int32, bool), so that a
    loop's state has the dtype it has in Keras; anything else as it is."""
    if isinstance(value, (bool, int, float)):
        return np.asarray(value, _default_dtype(value))
    return value


def cond(pred, true_fn, false_fn):
    """`true_fn()` if `pred` holds, else `false_fn()` (only the branch taken runs)."""
    return true_fn() if _truth(pred, "cond") else false_fn()


def switch(index, branches, *operands):
    """`branches[index](*operands)`, with `index` clamped to the valid range as Keras does."""
    if not branches:
        raise ValueError("switch: expected at least one branch, got none")
    i = int(np.clip(int(as_array(index).reshape(())), 0, len(branches) - 1))
    return branches[i](*operands)


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Run `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` holds (at most
    `maximum_iterations` times); a single loop variable is passed and returned unwrapped."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    values = tree.map_structure(_scalar_as_array, tuple(loop_vars) if is_tuple else (loop_vars,))
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and _truth(cond(*values), "while_loop"):
        values = body(*values)
        values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
        steps += 1
    return values if is_tuple else values[0]


def fori_loop(lower, upper, body_fun, init_val):
    """`val = body_fun(i, val)` for `i` in `range(lower, upper)`; returns the final `val`."""
    val = init_val
    for i in range(int(as_array(lower)), int(as_array(upper))):
        val = body_fun(i, val)
    return val


def _stack_structures(items):
    """Stack a list of same-shaped structures leaf by leaf along a new first axis."""
    return tree.map_structure(lambda *leaves: stack(list(leaves)), *items)


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Carry a state through a sequence: `carry, y = f(carry, x)` for each slice `x` of `xs` along
    its first axis (or `length` times with `x=None`); returns `(carry, ys stacked)`.

    `unroll` is accepted for Keras's signature; eager execution has nothing to unroll.
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {f!r}")
    if xs is None and length is None:
        raise ValueError("scan: pass xs to scan over, or length when there is none")
    leaves = [] if xs is None else tree.flatten(xs)
    n = int(length) if length is not None else np.shape(as_array(leaves[0]))[0]
    if any(np.shape(as_array(leaf))[:1] != (n,) for leaf in leaves):
        raise ValueError(f"scan: every leaf of xs must have {n} rows, got shapes {[shape(v) for v in leaves]}")
    carry, ys = tree.map_structure(_scalar_as_array, init), []
    for i in reversed(range(n)) if reverse else range(n):
        x = None if xs is None else tree.pack_sequence_as(xs, [getitem(leaf, i) for leaf in leaves])
        carry, y = f(carry, x)
        ys.append(y if y is not None else tree.map_structure(lambda v: as_array(v) * 0, init))
    if reverse:
        ys.reverse()
    if not ys:
        return carry, None
    return carry, _stack_structures(ys)


def map(f, xs):  # noqa: A001 -- Keras's name
    """`f` applied to each slice of `xs` along its first axis, the results stacked."""
    return scan(lambda carry, x: (carry, f(x)), (), xs)[1]


def vectorized_map(function, elements):
    """`function` applied to each slice of `elements` (any structure) along the first axis, the
    results stacked: what `vmap` computes, one slice at a time."""
    return map(function, elements)


def associative_scan(f, elems, reverse=False, axis=0):
    """Inclusive prefix combination along `axis`: `out[i] = f(out[i - 1], elems[i])`.

    `f` must be associative; it receives slices that keep `axis` (length 1), as with JAX's batched
    slices. With `reverse`, the combination runs from the end.
    """
    if not callable(f):
        raise TypeError(f"associative_scan: f must be callable, got {f!r}")
    leaves = tree.flatten(elems)
    ndim = np.ndim(as_array(leaves[0]))
    if not -ndim <= axis < ndim:
        raise ValueError(f"associative_scan: axis {axis} is out of range for {ndim} dimensions")
    axis %= ndim
    n = np.shape(as_array(leaves[0]))[axis]
    head = (builtins.slice(None),) * axis
    pieces = [tree.pack_sequence_as(elems, [getitem(v, head + (builtins.slice(i, i + 1),)) for v in leaves])
              for i in range(n)]
    order = range(n - 1, -1, -1) if reverse else range(n)
    out, acc = [None] * n, None
    for i in order:
        acc = pieces[i] if acc is None else f(acc, pieces[i])
        out[i] = acc
    if not out:
        return elems
    return tree.map_structure(lambda *parts: concatenate(list(parts), axis=axis), *out)


# -- scatter and slices --------------------------------------------------------------------------


def _as_input(x):
    return x if isinstance(x, Tensor) else as_array(convert_to_tensor(x))


def _index_rows(indices, rank, where):
    indices = np.asarray(as_array(indices))
    if not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"{where}: indices must be integers, got dtype {indices.dtype}")
    if indices.ndim < 1 or not 1 <= indices.shape[-1] <= rank:
        raise ValueError(
            f"{where}: indices must have a last axis of length 1 to {rank} (the target's rank), "
            f"got shape {indices.shape}"
        )
    return indices.reshape(-1, indices.shape[-1])


def scatter(indices, values, shape):
    """A zero tensor of `shape` with `values` added at `indices` (`(..., k)` coordinates into the
    first k axes); repeated indices accumulate. Differentiable in `values`."""
    shape = tuple(int(d) for d in shape)
    rows = _index_rows(indices, len(shape), "scatter")
    values = _as_input(values)
    values = reshape(values, (rows.shape[0],) + shape[rows.shape[1]:])
    return scatter_add(values, shape=shape, index=tuple(rows.T))


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with the entries at `indices` replaced by `updates` (`reduction=None`), or
    combined with them (`"add"`, `"max"`, `"min"`, `"mul"`). Differentiable in both."""
    inputs = _as_input(inputs)
    target = np.shape(as_array(inputs))
    rows = _index_rows(indices, len(target), "scatter_update")
    updates = cast(_as_input(updates), as_array(inputs).dtype)
    updates = reshape(updates, (rows.shape[0],) + target[rows.shape[1]:])
    index = tuple(rows.T)
    if reduction is None:
        hit = np.zeros(target, bool)
        hit[index] = True
        return where(hit, scatter_add(updates, shape=target, index=index), inputs)
    if reduction == "add":
        return inputs + scatter_add(updates, shape=target, index=index)
    combine = {"max": maximum, "min": minimum, "mul": multiply}.get(reduction)
    if combine is None:
        raise ValueError(f"scatter_update: reduction must be None, 'add', 'max', 'min' or 'mul', got {reduction!r}")
    out = inputs
    for i, row in enumerate(rows):  # one at a time: repeated indices combine in order
        at = tuple(int(c) for c in row)
        hit = np.zeros(target, bool)
        hit[at] = True
        value = combine(getitem(out, at), getitem(updates, i))
        out = where(hit, scatter_add(value, shape=target, index=at), out)
    return out


def _starts(start_indices, rank, where):
    starts = [int(s) for s in np.asarray(as_array(start_indices)).reshape(-1)]
    if len(starts) != rank:
        raise ValueError(f"{where}: expected {rank} start indices (one per axis), got {len(starts)}")
    return starts


def slice(inputs, start_indices, shape):  # noqa: A001 -- Keras's name
    """The block of `inputs` of size `shape` starting at `start_indices` (-1 in `shape`: to the end)."""
    full = np.shape(as_array(inputs))
    starts = _starts(start_indices, len(full), "slice")
    sizes = [int(s) for s in np.asarray(as_array(shape)).reshape(-1)]
    if len(sizes) != len(full):
        raise ValueError(f"slice: expected {len(full)} sizes (one per axis), got {len(sizes)}")
    index = tuple(builtins.slice(a, n if s == -1 else a + s) for a, s, n in zip(starts, sizes, full))
    return getitem(_as_input(inputs), index)


def slice_update(inputs, start_indices, updates):
    """`inputs` with the block starting at `start_indices` replaced by `updates`."""
    inputs, updates = _as_input(inputs), _as_input(updates)
    full, part = np.shape(as_array(inputs)), np.shape(as_array(updates))
    starts = _starts(start_indices, len(full), "slice_update")
    if len(part) != len(full) or any(a < 0 or a + p > n for a, p, n in zip(starts, part, full)):
        raise ValueError(
            f"slice_update: updates of shape {part} at {tuple(starts)} do not fit in inputs of shape {full}"
        )
    widths = [(a, n - a - p) for a, p, n in zip(starts, part, full)]
    hit = np.zeros(full, bool)
    hit[tuple(builtins.slice(a, a + p) for a, p in zip(starts, part))] = True
    placed = pad(cast(updates, as_array(inputs).dtype), widths)
    return where(hit, placed, inputs)
