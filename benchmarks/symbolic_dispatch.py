"""What the symbolic dispatch of `nablanet.ops` costs on data: each public op against the function it
wraps, in one process, interleaved, timed in this thread's CPU time so that other processes on the
machine change both sides alike.

Run: `python -m benchmarks.symbolic_dispatch`.
"""

import time
import timeit

import numpy as np

CASES = 15


def _chain(table, x):
    def run():
        y = x
        for _ in range(4):
            y = table["sigmoid"](table["tanh"](y * 1.1 + x) * x)
        table["sum"](y).backward()
        x.grad = None

    return run


def run():
    from nablanet import Tensor, ops

    a = Tensor(np.ones((4, 4), np.float32))
    b = Tensor(np.ones((4, 4), np.float32))
    x = Tensor(np.random.default_rng(0).standard_normal((1, 10)).astype(np.float32), requires_grad=True)
    wrapped = {name: getattr(ops, name) for name in ("add", "mean", "sigmoid", "tanh", "sum")}
    plain = {name: getattr(op, "__wrapped__", op) for name, op in wrapped.items()}
    workloads = [
        ("ops.add(Tensor, Tensor)", lambda t: (lambda: t["add"](a, b)), 20000),
        ("ops.mean(Tensor, axis=1)", lambda t: (lambda: t["mean"](a, axis=1)), 5000),
        ("op chain 1x10, forward + backward (20 ops)", lambda t: _chain(t, x), 500),
    ]
    for title, make, number in workloads:
        best = {"plain": float("inf"), "dispatch": float("inf")}
        for _ in range(CASES):
            for label, table in (("plain", plain), ("dispatch", wrapped)):
                seconds = timeit.timeit(make(table), number=number, timer=time.thread_time) / number
                best[label] = min(best[label], seconds * 1e6)
        extra = best["dispatch"] - best["plain"]
        print(f"{title}: {best['plain']:.3f} us plain, {best['dispatch']:.3f} us with dispatch "
              f"({extra:+.3f} us, {100 * extra / best['plain']:+.1f}%)")


if __name__ == "__main__":
    run()
