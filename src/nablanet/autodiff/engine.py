"""The tape: topological order, the reverse sweep, and unbroadcasting. Nothing else."""

import numpy as np

from nablanet.autodiff.primitive import enable_grad
from nablanet.autodiff.tensor import _FREED, Tensor


def toposort(root):
    """Return every tensor `root` depends on that requires a gradient, inputs before outputs."""
    order, visited = [], {id(root)}
    stack = [[root, 0]]  # each entry: a tensor and how many of its inputs have been looked at
    while stack:  # iterative depth-first search: no recursion limit on long chains
        entry = stack[-1]
        t, i = entry
        node = t.node
        if node is _FREED:
            raise RuntimeError(
                "backward: this graph was freed by an earlier backward(). Pass "
                "retain_graph=True to the first backward() to go through the graph twice."
            )
        inputs = () if node is None else node.inputs
        while i < len(inputs):  # descend into the next unvisited input, if any
            x = inputs[i]
            i += 1
            if isinstance(x, Tensor) and x.requires_grad and id(x) not in visited:
                visited.add(id(x))
                entry[1] = i
                stack.append([x, 0])
                break
        else:
            order.append(stack.pop()[0])  # every input is placed: place t
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
    # Record the sweep only for higher-order derivatives. Infinite derivatives (sqrt at 0) are
    # legitimate values here, and masks turn them into 0 where a branch is not taken, so
    # NumPy's divide/overflow warnings are off during the sweep, as PyTorch has none.
    with enable_grad(create_graph), np.errstate(divide="ignore", over="ignore", invalid="ignore"):
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
                if callable(gx):  # a deferred cotangent: computed only now that x needs it
                    gx = gx()
                if gx.shape != x.data.shape:  # rules return arrays, NumPy scalars or Tensors
                    gx = unbroadcast(gx, x.data.shape)
                k = id(x)
                grads[k] = grads[k] + gx if k in grads else gx
    results, seen = [], {id(seed)}
    for x in inputs:
        results.append(_result(grads.get(id(x)), x, create_graph, seen))
    return results


def _result(g, x, create_graph, seen):
    """The gradient for input `x`, in x's dtype: zeros where `out` does not depend on it, and in
    a first-order sweep an array of its own (no view, no alias of the seed or another result)."""
    if g is None:
        g = np.zeros(x.data.shape, x.data.dtype)
        return Tensor._wrap(g) if create_graph else g
    if create_graph:
        return g if isinstance(g, Tensor) else Tensor._wrap(np.asarray(g))
    g = np.asarray(g)
    if g.dtype != x.data.dtype:
        g = g.astype(x.data.dtype)
    elif id(g) in seen or not (g.flags.owndata and g.flags.writeable):
        g = g.copy()
    seen.add(id(g))
    return g


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
    for leaf, g in zip(leaves, grads):
        if leaf.grad is None:
            leaf.grad = g  # backprop hands back arrays of their own
        elif create_graph or isinstance(leaf.grad, Tensor):
            leaf.grad = leaf.grad + g
        else:
            leaf.grad += g  # accumulate in place, as PyTorch does


def _seed(out, grad):
    if grad is None:
        if out.data.size != 1:
            raise RuntimeError(
                f"backward: the gradient can only be implied for a one-element output, got shape "
                f"{out.data.shape}. Pass grad= with that shape, e.g. "
                f"out.backward(np.ones({out.data.shape})), or reduce first with .sum()."
            )
        return np.ones(out.data.shape, out.data.dtype)
    seed = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=out.data.dtype)  # a copy
    if seed.shape != out.data.shape:
        raise ValueError(
            f"backward: grad must have the output's shape {out.data.shape}, got {seed.shape}"
        )
    return seed
