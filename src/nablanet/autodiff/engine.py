"""The tape: topological order, the reverse sweep, and unbroadcasting. Nothing else."""

import numpy as np

from nablanet.autodiff.primitive import enable_grad
from nablanet.autodiff.tensor import _FREED, Tensor


def toposort(root):
    """Return every tensor `root` depends on that requires a gradient, inputs before outputs."""
    order, visited = [], {id(root)}
    stack = [root]
    while stack:  # iterative depth-first search: no recursion limit on long chains
        t = stack[-1]
        node = t.node
        if node is _FREED:
            raise RuntimeError(
                "backward: this graph was freed by an earlier backward(). Pass "
                "retain_graph=True to the first backward() to go through the graph twice."
            )
        if node is not None:
            for x in node.inputs:  # descend into the first unvisited input, if any
                if isinstance(x, Tensor) and x.requires_grad and id(x) not in visited:
                    visited.add(id(x))
                    stack.append(x)
                    break
            else:
                order.append(stack.pop())  # every input is placed: place t
        else:
            order.append(stack.pop())
    return order


def backprop(out, inputs, seed, *, create_graph=False, order=None, free=False):
    """Return `seed @ d(out)/d(x)` for each `x` in `inputs`, in one reverse sweep.

    With `create_graph=False` the rules see raw arrays and the result is arrays; with
    `create_graph=True` they see Tensors, the sweep is recorded and the result is Tensors.
    `free=True` (Tensor.backward) lets go of each node once its rule has run, so intermediate
    arrays are released during the sweep; the functional API keeps the graph, since
    `jacobian` calls the same pullback once per output row.
    """
    if order is None:
        order = toposort(out)
    wanted = {id(x) for x in inputs}
    grads = {id(out): seed}  # keyed by id: Tensor.__eq__ is elementwise
    with enable_grad(create_graph):  # record the sweep only for higher-order derivatives
        for i in range(len(order) - 1, -1, -1):
            t = order[i]
            key = id(t)
            g = grads.get(key) if key in wanted else grads.pop(key, None)
            node = t.node
            if free and node is not None:
                t.node, order[i] = _FREED, None  # release this step's arrays as we go
            if g is None or node is None:
                continue
            op, args, params = node
            if create_graph:
                cotangents = op.vjp(g, t, *args, **params)
            else:
                raw = [x.data if isinstance(x, Tensor) else x for x in args]
                cotangents = op.vjp(g, t.data, *raw, **params)
            for x, gx in zip(args, cotangents):
                if gx is None or not (isinstance(x, Tensor) and x.requires_grad):
                    continue
                if gx.shape != x.data.shape:  # rules return arrays, NumPy scalars or Tensors
                    gx = unbroadcast(gx, x.data.shape)
                k = id(x)
                grads[k] = grads[k] + gx if k in grads else gx
    return [_result(grads.get(id(x)), x, create_graph) for x in inputs]


def _result(g, x, create_graph):
    """The gradient for input `x`: zeros where `out` does not depend on it, in x's dtype."""
    if g is None:
        g = np.zeros(x.data.shape, x.data.dtype)
        return Tensor._wrap(g) if create_graph else g
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g))
    g = np.asarray(g)
    return g if g.dtype == x.data.dtype else g.astype(x.data.dtype)


def unbroadcast(g, shape):
    """Sum `g` over the axes that broadcasting added or stretched, so it has `shape`."""
    from nablanet.autodiff.ops import broadcast_to, reshape, sum  # noqa: A004

    g_shape = np.shape(g)
    lead = len(g_shape) - len(shape)
    if lead < 0:  # a rule returned a cotangent smaller than its input: copy it along
        return broadcast_to(g, shape)
    stretched = tuple(lead + i for i, n in enumerate(shape) if n == 1 and g_shape[lead + i] != 1)
    g = sum(g, axis=tuple(range(lead)) + stretched, keepdims=True)
    return reshape(g, shape)


def backward(out, grad=None, *, retain_graph=None, create_graph=False):
    """`Tensor.backward`: backprop into `.grad` of every leaf, then free the graph."""
    if not out.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad, so there is no graph to go back "
            "through. Create the inputs with Tensor(..., requires_grad=True)."
        )
    seed = _seed(out, grad)
    order = toposort(out)
    leaves = [t for t in order if t.node is None]
    if create_graph:
        seed = Tensor._wrap(seed)
    free = not (create_graph if retain_graph is None else retain_graph)  # PyTorch's default
    grads = backprop(out, leaves, seed, create_graph=create_graph, order=order, free=free)
    seen = set()
    for leaf, g in zip(leaves, grads):
        if create_graph:
            leaf.grad = g if leaf.grad is None else leaf.grad + g
        elif leaf.grad is None or isinstance(leaf.grad, Tensor):
            own = g.flags.owndata and g.flags.writeable and id(g) not in seen
            leaf.grad = (g if own else g.copy()) if leaf.grad is None else leaf.grad.data + g
        else:
            leaf.grad += g  # accumulate in place, as PyTorch does
        seen.add(id(g))


def _seed(out, grad):
    if grad is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"backward: the gradient can only be implied for a one-element output, got shape "
                f"{out.data.shape}. Pass grad= with that shape, e.g. "
                f"out.backward(np.ones({out.data.shape})), or reduce first with .sum()."
            )
        return np.ones(out.data.shape, out.data.dtype)
    seed = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=out.data.dtype)
    if seed.shape != out.data.shape:
        raise ValueError(
            f"backward: grad must have the output's shape {out.data.shape}, got {seed.shape}"
        )
    return seed
