"""Per-op overhead: forward + backward through a chain of 20 elementwise ops.

The chain repeats (y * 1.1, y + x, tanh, y * x, sigmoid) four times, then sums; x requires a
gradient, so every op is recorded and differentiated. Small (1x10) arrays measure the framework's
per-op cost; medium (1000x1000) float32 arrays measure its elementwise kernels. A last line runs
PyTorch on one thread, the way NumPy runs, to separate per-core speed from PyTorch's threads.
"""

import numpy as np

from benchmarks.timing import compare, report

SHAPES = {"small 1x10": (1, 10), "medium 1000x1000": (1000, 1000)}


def chain_nablanet(x):
    from nablanet import ops

    y = x
    for _ in range(4):
        y = ops.sigmoid(ops.tanh(y * 1.1 + x) * x)
    return ops.sum(y)


def chain_torch(x):
    import torch

    y = x
    for _ in range(4):
        y = torch.sigmoid(torch.tanh(y * 1.1 + x) * x)
    return y.sum()


def step(chain, x):
    """One timed iteration: forward, backward, and clearing the gradient."""

    def one_step():
        chain(x).backward()
        x.grad = None

    return one_step


def run():
    import torch

    from nablanet import Tensor

    cases = [(name, shape, None) for name, shape in SHAPES.items()]
    cases.append(("medium, torch on 1 thread", SHAPES["medium 1000x1000"], 1))
    default_threads = torch.get_num_threads()
    ratios = {}
    for name, shape, threads in cases:
        data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        torch.set_num_threads(threads or default_threads)
        try:
            ours, theirs = compare(
                step(chain_nablanet, Tensor(data.copy(), requires_grad=True)),
                step(chain_torch, torch.tensor(data, requires_grad=True)),
            )
        finally:
            torch.set_num_threads(default_threads)
        unit = "us" if np.prod(shape) < 10_000 else "ms"
        ratios[name] = report(f"op chain x20, fwd+bwd, {name}", ours, theirs, unit)
    return ratios
