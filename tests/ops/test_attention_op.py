"""`ops.dot_product_attention`: the fused first-order kernel and the composite, against PyTorch's SDPA.

Outside the calculus transforms the op is the fused primitive; inside them it is a composite of
differentiable ops. Both are compared with `torch.nn.functional.scaled_dot_product_attention` in
values and gradients (float64, 1e-10), with each other, and with central differences.
"""

import numpy as np
import pytest
import torch

from nablanet import Tensor, grad, gradcheck, hessian, ops
from nablanet.autodiff import toposort, transform_scope

rng = np.random.default_rng(7)
SDPA = torch.nn.functional.scaled_dot_product_attention


def normal(*shape):
    return rng.standard_normal(shape)


def mask(*shape):
    m = rng.random(shape) > 0.4
    m[..., 0] = True  # every query sees a key: PyTorch has no finite answer for an empty row
    return m


def heads_first(x):
    return x.transpose(1, 2)  # Keras's (batch, seq, heads, dim) to PyTorch's (batch, heads, seq, dim)


# (query, key, value) shapes, then the op's keyword arguments; "bias" is differentiated too
CASES = [
    ("self", (2, 5, 3, 4), (2, 5, 3, 4), (2, 5, 3, 4), {}),
    ("cross", (2, 5, 3, 4), (2, 7, 3, 4), (2, 7, 3, 6), {}),
    ("causal", (2, 6, 2, 4), (2, 6, 2, 4), (2, 6, 2, 4), {"is_causal": True}),
    ("causal, fewer queries", (1, 4, 2, 3), (1, 6, 2, 3), (1, 6, 2, 3), {"is_causal": True}),
    ("causal, more queries", (1, 6, 2, 3), (1, 4, 2, 3), (1, 4, 2, 3), {"is_causal": True}),
    ("scale", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4), {"scale": 0.37}),
    ("full mask", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4), {"mask": mask(2, 3, 5, 6)}),
    ("mask over keys", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4), {"mask": mask(2, 1, 1, 6)}),
    ("mask per head", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4), {"mask": mask(3, 1, 6)}),
    ("2-D mask", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4), {"mask": mask(5, 6)}),
    ("grouped", (2, 5, 6, 4), (2, 7, 2, 4), (2, 7, 2, 3), {}),
    ("grouped, causal, scale", (2, 5, 4, 4), (2, 5, 2, 4), (2, 5, 2, 4), {"is_causal": True, "scale": 0.8}),
    ("grouped, mask", (2, 5, 4, 4), (2, 6, 2, 4), (2, 6, 2, 4), {"mask": mask(2, 4, 5, 6)}),
    ("one kv head", (2, 5, 3, 4), (2, 6, 1, 4), (2, 6, 1, 4), {"mask": mask(2, 1, 5, 6)}),
    ("bias", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4), {"bias": normal(2, 3, 5, 6)}),
    ("bias over keys", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4), {"bias": normal(2, 1, 1, 6)}),
    ("2-D bias, causal", (2, 5, 3, 4), (2, 5, 3, 4), (2, 5, 3, 4), {"bias": normal(5, 5), "is_causal": True}),
    ("grouped, bias per head", (2, 5, 4, 4), (2, 6, 2, 4), (2, 6, 2, 4), {"bias": normal(1, 4, 5, 6)}),
]
IDS = [c[0] for c in CASES]


def _draw(case):
    _, q_shape, k_shape, v_shape, params = case
    return [normal(*s) for s in (q_shape, k_shape, v_shape)], dict(params)


def _ours(arrays, params, weights, dtype=np.float64):
    """The output and the gradients of `sum(out * weights)` for q, k, v (and bias), by the fused kernel."""
    tensors = [Tensor(x.astype(dtype), requires_grad=True) for x in arrays]
    if "bias" in params:
        params["bias"] = Tensor(params["bias"].astype(dtype), requires_grad=True)
        tensors.append(params["bias"])
    out = ops.dot_product_attention(*tensors[:3], **params)
    assert "dot_product_attention" in {t.node.op.name for t in toposort(out) if t.node is not None}
    ops.sum(out * weights.astype(dtype)).backward()
    return out.numpy(), [t.grad for t in tensors]


def _torch(arrays, params, weights, dtype=torch.float64):
    tensors = [torch.tensor(x, dtype=dtype, requires_grad=True) for x in arrays]
    kwargs = {"is_causal": params.get("is_causal", False), "scale": params.get("scale")}
    if "mask" in params:
        kwargs["attn_mask"] = torch.tensor(params["mask"])
    if "bias" in params:
        bias = torch.tensor(params["bias"], dtype=dtype, requires_grad=True)
        kwargs["attn_mask"] = bias
        tensors.append(bias)
        if kwargs["is_causal"]:  # PyTorch takes one of attn_mask and is_causal: fold the causal mask in
            kwargs["is_causal"] = False
            causal = torch.ones(bias.shape[-2:], dtype=torch.bool).tril()
            kwargs["attn_mask"] = bias.masked_fill(~causal, -torch.inf)
    grouped = arrays[1].shape[2] != arrays[0].shape[2]
    out = heads_first(SDPA(*[heads_first(t) for t in tensors[:3]], enable_gqa=grouped, **kwargs))
    (out * torch.tensor(weights, dtype=dtype)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_and_gradients_equal_torch_sdpa(case):
    arrays, params = _draw(case)
    weights = normal(*arrays[0].shape[:3], arrays[2].shape[3])
    out, grads = _ours(arrays, dict(params), weights)
    expected, expected_grads = _torch(arrays, params, weights)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    assert len(grads) == len(expected_grads)
    for name, g, e in zip("qkvb", grads, expected_grads):
        assert g.shape == e.shape, name
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("case", CASES[::3], ids=IDS[::3])
def test_float32_stays_float32_and_equals_torch_to_its_rounding(case):
    arrays, params = _draw(case)
    weights = normal(*arrays[0].shape[:3], arrays[2].shape[3])
    out, grads = _ours(arrays, dict(params), weights, np.float32)
    expected, expected_grads = _torch(arrays, params, weights, torch.float32)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_mask_and_causal_together_equal_torch_with_the_masks_combined():
    q, k, v = normal(2, 5, 3, 4), normal(2, 5, 3, 4), normal(2, 5, 3, 4)
    allowed = mask(2, 1, 5, 5)
    combined = allowed & np.tril(np.ones((5, 5), bool))
    weights = normal(2, 5, 3, 4)
    out, grads = _ours([q, k, v], {"mask": allowed, "is_causal": True}, weights)
    expected, expected_grads = _torch([q, k, v], {"mask": combined}, weights)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)


def _composite(arrays, params, weights):
    """What `_ours` gives when the op takes its composite path (as inside a transform)."""
    tensors = [Tensor(x, requires_grad=True) for x in arrays]
    if "bias" in params:
        params["bias"] = Tensor(params["bias"], requires_grad=True)
        tensors.append(params["bias"])
    with transform_scope():
        out = ops.dot_product_attention(*tensors[:3], **params)
    assert "dot_product_attention" not in {t.node.op.name for t in toposort(out) if t.node is not None}
    ops.sum(out * weights).backward()
    return out.numpy(), [t.grad for t in tensors]


EMPTY_ROWS = mask(2, 3, 5, 6)
EMPTY_ROWS[0, 1, 2] = EMPTY_ROWS[1, :, 4] = False  # queries that may attend to nothing


@pytest.mark.parametrize("case", CASES + [("empty rows", (2, 5, 3, 4), (2, 6, 3, 4), (2, 6, 3, 4),
                                           {"mask": EMPTY_ROWS})], ids=IDS + ["empty rows"])
def test_fused_and_composite_paths_agree(case):
    arrays, params = _draw(case)
    weights = normal(*arrays[0].shape[:3], arrays[2].shape[3])
    out, grads = _ours(arrays, dict(params), weights)
    expected, expected_grads = _composite(arrays, dict(params), weights)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_a_query_that_may_attend_to_nothing_averages_the_values_and_passes_no_gradient_to_its_logits():
    q, k, v = normal(1, 2, 1, 3), normal(1, 4, 1, 3), normal(1, 4, 1, 2)
    allowed = np.array([[True, False, True, False], [False] * 4])
    out, (dq, dk, dv) = _ours([q, k, v], {"mask": allowed}, np.ones((1, 2, 1, 2)))
    np.testing.assert_allclose(out[0, 1, 0], v[0, :, 0].mean(axis=0), rtol=1e-12)
    np.testing.assert_array_equal(dq[0, 1], 0.0)
    np.testing.assert_allclose(dv[0, :, 0].sum(axis=0), [2.0, 2.0], rtol=1e-12)


def test_plain_arrays_in_give_an_array_out():
    q = normal(2, 3, 2, 4).astype(np.float32)
    out = ops.dot_product_attention(q, q, q)
    assert type(out) is np.ndarray and out.dtype == np.float32 and out.shape == (2, 3, 2, 4)


# -- central differences -------------------------------------------------------------------------


def _numeric_gradients(f, arrays, weights, eps=1e-6):
    """Central differences of `sum(f(*arrays) * weights)` for every element of every array, outside any
    transform, so that `f` runs the fused kernel."""
    grads = []
    for i, x in enumerate(arrays):
        g = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            shifted = [a.copy() for a in arrays]
            shifted[i][index] += eps
            plus = np.sum(f(*shifted) * weights)
            shifted[i][index] -= 2 * eps
            g[index] = (plus - np.sum(f(*shifted) * weights)) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in ("cross", "grouped, mask", "grouped, bias per head",
                                                                 "2-D bias, causal")], ids=lambda c: c[0])
def test_fused_gradients_match_central_differences(case):
    arrays, params = _draw(case)
    arrays = [a[:, :, :, :3] if a.shape[3] > 3 else a for a in arrays]  # fewer elements to perturb
    bias = params.pop("bias", None)
    weights = normal(*arrays[0].shape[:3], arrays[2].shape[3])
    if bias is None:
        def f(q, k, v):
            return ops.dot_product_attention(q, k, v, **params)
        inputs = arrays
    else:
        def f(q, k, v, b):
            return ops.dot_product_attention(q, k, v, bias=b, **params)
        inputs = arrays + [bias]
    _, grads = _ours(arrays, dict(params, **({} if bias is None else {"bias": bias})), weights)
    for g, e in zip(grads, _numeric_gradients(f, inputs, weights)):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_second_derivatives_through_the_composite_path():
    q, k, v = normal(1, 3, 2, 2), normal(1, 4, 1, 2), normal(1, 4, 1, 2)
    allowed = mask(1, 1, 3, 4)

    def loss(q, k, v):
        out = ops.dot_product_attention(q, k, v, mask=allowed, scale=0.9)
        return ops.sum(out * out)

    for i in range(3):
        gradcheck(grad(loss, argnums=i), q, k, v, rtol=1e-5, atol=1e-7)
    h = hessian(lambda x: loss(ops.reshape(x, q.shape), k, v))(q.ravel())
    np.testing.assert_allclose(h, h.T, atol=1e-10)


def test_soft_cap_takes_the_composite_path_and_caps_the_logits():
    q, k = 50 * normal(1, 2, 1, 4), normal(1, 3, 1, 4)
    v = np.eye(3)[None, :, None, :]
    out = ops.dot_product_attention(Tensor(q, requires_grad=True), k, v, attn_logits_soft_cap=2.0, scale=1.0)
    assert "dot_product_attention" not in {t.node.op.name for t in toposort(out) if t.node is not None}
    logits = 2.0 * np.tanh(np.einsum("qd,kd->qk", q[0, :, 0], k[0, :, 0]) / 2.0)
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(out.numpy()[0, :, 0], expected, rtol=1e-12)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("args, kwargs, message", [
    ((np.ones((2, 3, 4)), np.ones((2, 3, 1, 4)), np.ones((2, 3, 1, 4))), {},
     r"dot_product_attention: expected 4-D \(batch, seq, heads, dim\) query, got query shape \(2, 3, 4\)"),
    ((np.ones((2, 3, 2, 4)), np.ones((2, 3, 2, 5)), np.ones((2, 3, 2, 4))), {},
     r"expected key's head dimension to equal query's \(4\), got query shape \(2, 3, 2, 4\) and key shape "
     r"\(2, 3, 2, 5\)"),
    ((np.ones((2, 3, 2, 4)), np.ones((2, 3, 2, 4)), np.ones((2, 5, 2, 4))), {},
     r"expected value with key's sequence length and heads, got key shape \(2, 3, 2, 4\) and value shape"),
    ((np.ones((2, 3, 3, 4)), np.ones((2, 3, 2, 4)), np.ones((2, 3, 2, 4))), {},
     r"3 query heads cannot share 2 key/value heads evenly"),
    ((np.ones((2, 3, 2, 4)), np.ones((1, 3, 2, 4)), np.ones((1, 3, 2, 4))), {},
     r"expected query, key and value of one batch size"),
    ((np.ones((2, 3, 2, 4)), np.ones((2, 5, 2, 4)), np.ones((2, 5, 2, 4))), {"mask": np.ones((2, 2, 3, 4), bool)},
     r"expected mask broadcastable to \(batch, heads, query_seq, key_seq\) = \(2, 2, 3, 5\), got mask shape "
     r"\(2, 2, 3, 4\)"),
    ((np.ones((2, 3, 2, 4)), np.ones((2, 5, 2, 4)), np.ones((2, 5, 2, 4))), {"mask": np.ones((1, 2, 2, 3, 5), bool)},
     r"got mask shape \(1, 2, 2, 3, 5\)"),
    ((np.ones((2, 3, 2, 4)), np.ones((2, 5, 2, 4)), np.ones((2, 5, 2, 4))), {"bias": np.ones((3, 3))},
     r"expected bias broadcastable to .* = \(2, 2, 3, 5\), got bias shape \(3, 3\)"),
    ((np.ones((2, 3, 2, 4)),) * 3, {"bias": np.ones((3, 3)), "mask": np.ones((3, 3), bool)},
     "expected one of bias and mask, got both"),
    ((np.ones((2, 3, 2, 4)),) * 3, {"flash_attention": True}, "flash_attention=True needs a GPU kernel"),
])
def test_bad_input_names_the_op_the_argument_and_the_shapes(args, kwargs, message):
    with pytest.raises(ValueError, match=message) as error:
        ops.dot_product_attention(*args, **kwargs)
    assert str(error.value).startswith("dot_product_attention: ")
