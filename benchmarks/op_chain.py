"""Per-op overhead: forward + backward through a chain of 20 elementwise ops.

The chain repeats (y * 1.1, y + x, tanh, y * x, sigmoid) four times, then sums; x requires a
gradient, so every op is recorded and differentiated. Small (1x10) arrays measure the framework's
per-op cost; medium (1000x1000) float32 arrays measure its elementwise kernels.
"""

import numpy as np

from benchmarks.timing import per_call, report

SHAPES = {"small 1x10": (1, 10), "medium 1000x1000": (1000, 1000)}


def nablanet_step(x):
    from nablanet import ops

    def step():
        y = x
        for _ in range(4):
            y = ops.sigmoid(ops.tanh(y * 1.1 + x) * x)
        ops.sum(y).backward()
        x.grad = None

    return step


def torch_step(x):
    import torch

    def step():
        y = x
        for _ in range(4):
            y = torch.sigmoid(torch.tanh(y * 1.1 + x) * x)
        y.sum().backward()
        x.grad = None

    return step


def run():
    import torch

    from nablanet import Tensor

    ratios = {}
    for name, shape in SHAPES.items():
        data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        ours = per_call(nablanet_step(Tensor(data.copy(), requires_grad=True)))
        theirs = per_call(torch_step(torch.tensor(data, requires_grad=True)))
        unit = "us" if np.prod(shape) < 10_000 else "ms"
        ratios[name] = report(f"op chain x20, fwd+bwd, {name}", ours, theirs, unit)
    return ratios
