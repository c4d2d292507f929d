"""Scaled dot-product attention: forward + backward of `ops.dot_product_attention` against PyTorch's SDPA.

Query, key and value are float32 (batch 32, 64 tokens, 4 heads, 16 dims), all requiring a gradient;
the loss is the sum of the output times a fixed random array. nablanet takes Keras's layout
(batch, seq, heads, dim), PyTorch its own (batch, heads, seq, dim), each given contiguous. The
cases: plain, causal, and grouped key/value heads (4 query heads over 2). A last line runs PyTorch
on one thread, the way NumPy runs, to separate per-core speed from PyTorch's threads.
"""

import numpy as np

from benchmarks.timing import compare, report

SHAPE = (32, 64, 4, 16)
CASES = {"": {}, ", causal": {"is_causal": True}, ", 2 kv heads": {"kv_heads": 2}}


def _inputs(kv_heads):
    rng = np.random.default_rng(0)
    batch, seq, heads, dim = SHAPE
    q = rng.standard_normal(SHAPE).astype(np.float32)
    k, v = (rng.standard_normal((batch, seq, kv_heads or heads, dim)).astype(np.float32) for _ in range(2))
    return q, k, v, rng.standard_normal(SHAPE).astype(np.float32)


def step_nablanet(q, k, v, weights, is_causal=False):
    """One timed iteration: forward, backward, and clearing the gradients."""
    from nablanet import Tensor, ops

    tensors = [Tensor(x, requires_grad=True) for x in (q, k, v)]

    def one_step():
        out = ops.dot_product_attention(*tensors, is_causal=is_causal)
        ops.sum(out * weights).backward()
        for t in tensors:
            t.grad = None

    return one_step


def step_torch(q, k, v, weights, is_causal=False):
    import torch

    def heads_first(x):
        return torch.tensor(np.ascontiguousarray(x.transpose(0, 2, 1, 3)), requires_grad=True)

    tensors = [heads_first(x) for x in (q, k, v)]
    weights = torch.tensor(np.ascontiguousarray(weights.transpose(0, 2, 1, 3)))
    grouped = k.shape[2] != q.shape[2]

    def one_step():
        out = torch.nn.functional.scaled_dot_product_attention(*tensors, is_causal=is_causal, enable_gqa=grouped)
        (out * weights).sum().backward()
        for t in tensors:
            t.grad = None

    return one_step


def run():
    import torch

    cases = [(name, params, None) for name, params in CASES.items()]
    cases.append((", torch on 1 thread", {}, 1))
    default_threads = torch.get_num_threads()
    ratios = {}
    for name, params, threads in cases:
        params = dict(params)
        arrays = _inputs(params.pop("kv_heads", None))
        torch.set_num_threads(threads or default_threads)
        try:
            ours, theirs = compare(step_nablanet(*arrays, **params), step_torch(*arrays, **params))
        finally:
            torch.set_num_threads(default_threads)
        ratios[name] = report(f"attention {SHAPE}, fwd+bwd{name}", ours, theirs, "ms")
    return ratios


if __name__ == "__main__":
    run()
