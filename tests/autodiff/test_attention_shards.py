"""The fused attention kernel split over batch slices on threads gives what it gives in one piece.

`backend.batch_shards` splits only batches with enough work; the tests lower the threshold and ask
for three threads, so that a batch of five runs as uneven slices, and compare the output and every
gradient (q, k, v and a bias) with the unsplit kernel, with masks, empty rows and grouped heads.
"""

import numpy as np
import pytest

from nablanet import Tensor, backend, ops

rng = np.random.default_rng(11)


def _mask(*shape):
    m = rng.random(shape) > 0.4
    m[..., 0] = True
    return m


EMPTY = _mask(5, 3, 4, 6)
EMPTY[1, 2, 3] = EMPTY[4, :, 0] = False  # queries that may attend to nothing

# (query, key, value) shapes and the op's keyword arguments
CASES = [
    ("self", (5, 4, 3, 4), (5, 4, 3, 4), (5, 4, 3, 4), {}),
    ("cross, causal", (5, 4, 2, 3), (5, 6, 2, 3), (5, 6, 2, 5), {"is_causal": True}),
    ("grouped, bias per batch", (5, 4, 4, 3), (5, 6, 2, 3), (5, 6, 2, 3), {"bias": rng.standard_normal((5, 4, 4, 6))}),
    ("bias over keys", (5, 4, 3, 4), (5, 6, 3, 4), (5, 6, 3, 4), {"bias": rng.standard_normal((1, 1, 1, 6))}),
    ("mask per batch, empty rows", (5, 4, 3, 4), (5, 6, 3, 4), (5, 6, 3, 4), {"mask": EMPTY}),
    ("2-D mask", (5, 4, 3, 4), (5, 6, 3, 4), (5, 6, 3, 4), {"mask": _mask(4, 6)}),
]


def _run(arrays, params, weights, dtype):
    tensors = [Tensor(x.astype(dtype), requires_grad=True) for x in arrays]
    params = dict(params)
    if "bias" in params:
        params["bias"] = Tensor(params["bias"].astype(dtype), requires_grad=True)
        tensors.append(params["bias"])
    out = ops.dot_product_attention(*tensors[:3], **params)
    ops.sum(out * weights.astype(dtype)).backward()
    return [out.numpy()] + [t.grad for t in tensors]


@pytest.fixture
def split(monkeypatch):
    """Force every attention batch into three slices; count the calls that really split."""
    calls = []
    run_shards = backend.run_shards

    def counting(fn, shards):
        calls.append(len(shards))
        return run_shards(fn, shards)

    monkeypatch.setenv("NABLANET_NUM_THREADS", "3")
    monkeypatch.setattr(backend, "SHARD_MIN_WORK", 1)
    monkeypatch.setattr(backend, "run_shards", counting)
    return calls


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_split_batch_gives_the_unsplit_outputs_and_gradients(case, dtype, split, monkeypatch):
    _, q_shape, k_shape, v_shape, params = case
    arrays = [rng.standard_normal(s) for s in (q_shape, k_shape, v_shape)]
    weights = rng.standard_normal(q_shape[:3] + v_shape[3:])
    pieces = _run(arrays, params, weights, dtype)
    assert split and all(n == 3 for n in split), "the batch was not split"
    monkeypatch.setenv("NABLANET_NUM_THREADS", "1")
    whole = _run(arrays, params, weights, dtype)
    tolerance = 1e-12 if dtype == np.float64 else 1e-6
    for name, a, b in zip(["out", "q", "k", "v", "bias"], pieces, whole):
        assert a.dtype == b.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance, err_msg=name)
