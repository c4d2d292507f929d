"""Tensor and Variable: the array facts, operators, indexing and conversions."""

import numpy as np
import pytest

from nablanet import Tensor, Variable, ops


def test_wraps_without_copying_and_reports_array_facts():
    a = np.arange(6.0).reshape(2, 3)
    t = Tensor(a)
    assert t.data is a and t.shape == (2, 3) and t.ndim == 2 and t.size == 6
    assert t.dtype == np.float64 and t.numpy() is a and t.T.shape == (3, 2)


def test_python_operators_match_numpy(rng):
    a, b = rng.uniform(0.5, 2, (2, 3)), rng.uniform(0.5, 2, (3,))
    x, y = Tensor(a), Tensor(b)
    for got, want in [
        (x + y, a + b), (x - y, a - b), (x * y, a * b), (x / y, a / b), (x**y, a**b),
        (2 + x, 2 + a), (2 - x, 2 - a), (2 * x, 2 * a), (2 / x, 2 / a), (2**x, 2**a),
        (-x, -a), (abs(-x), a), (x @ Tensor(a.T), a @ a.T), (+x, a),
    ]:
        np.testing.assert_allclose(got.numpy(), want)


def test_comparisons_return_boolean_tensors_without_gradient():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for mask, want in [(x > 2, [0, 0, 1]), (x >= 2, [0, 1, 1]), (x < 2, [1, 0, 0]),
                       (x <= 2, [1, 1, 0]), (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1]),
                       ((x > 1) & (x < 3), [0, 1, 0]), ((x < 2) | (x > 2), [1, 0, 1]),
                       (~(x > 2), [1, 1, 0])]:
        assert mask.dtype == bool and not mask.requires_grad
        assert mask.tolist() == [bool(w) for w in want]


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2


def test_indexing_basic_advanced_and_boolean_with_gradients():
    x = Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[0, 1:3].sum() + x[[2, 2], [0, 3]].sum() + x[x.numpy() > 9].sum() + x[..., -1].sum()
    y.backward()
    want = np.zeros((3, 4))
    want[0, 1:3] += 1
    want[2, 0] += 1
    want[2, 3] += 1
    want[2, 2:] += 1  # 10 and 11 exceed 9
    want[:, -1] += 1
    np.testing.assert_array_equal(x.grad, want)


def test_index_with_a_tensor_of_integers():
    x = Tensor(np.arange(5.0), requires_grad=True)
    x[Tensor(np.array([4, 4, 0]))].sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 0, 0, 0, 2])


def test_item_assignment_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="item assignment is not supported.*Variable.assign"):
        Tensor(np.zeros(3))[0] = 1.0


def test_iteration_len_item_and_conversions():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(t) == 2 and [row.tolist() for row in t] == [[1.0, 2.0], [3.0, 4.0]]
    assert Tensor(2.5).item() == 2.5 and float(Tensor(2.5)) == 2.5 and int(Tensor(3)) == 3
    with pytest.raises(ValueError, match=r"one-element tensor, got shape \(2, 2\)"):
        t.item()


def test_methods_mirror_the_ops():
    a = np.arange(1.0, 7.0).reshape(2, 3)
    t = Tensor(a)
    assert t.sum(axis=0).tolist() == a.sum(axis=0).tolist()
    assert t.mean() == a.mean() and t.max() == 6 and t.min(axis=1).tolist() == [1, 4]
    assert t.prod() == 720 and t.var() == pytest.approx(a.var())
    assert t.reshape(3, 2).shape == (3, 2) and t.reshape((6,)).shape == (6,)
    assert t.transpose().shape == (3, 2) and t.transpose(1, 0).shape == (3, 2)
    assert t.flatten().shape == (6,) and Tensor(np.ones((1, 3))).squeeze().shape == (3,)


def test_astype_is_differentiable_between_floats():
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x.astype("float64")
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]


def test_repr_shows_values_dtype_and_origin():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "Tensor([1., 2.], dtype=float64, requires_grad=True)"
    assert repr(x * 2) == "Tensor([2., 4.], dtype=float64, op=multiply)"


def test_detach_cuts_the_graph():
    x = Tensor([1.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.node is None


def test_ops_shape_helpers():
    x = np.arange(24.0).reshape(2, 3, 4)
    assert ops.squeeze(np.ones((1, 3, 1)), axis=0).shape == (3, 1)
    assert ops.expand_dims(x, (0, -1)).shape == (1, 2, 3, 4, 1)
    assert [p.shape for p in ops.split(x, [1, 3], axis=2)] == [(2, 3, 1), (2, 3, 2), (2, 3, 1)]
    np.testing.assert_array_equal(ops.take(x, [0, 5]), [0.0, 5.0])
    np.testing.assert_array_equal(ops.gather(x, [1], axis=0), x[[1]])
    assert ops.one_hot(Tensor(np.array([1, 0])), 3, axis=0).shape == (3, 2)
    with pytest.raises(ValueError, match="cannot remove axis 1 of length 3"):
        ops.squeeze(x, 1)
    with pytest.raises(IndexError, match="take: index 7 is out of range for axis 0 of length 2"):
        ops.take(x, [7], axis=0)
    with pytest.raises(ValueError, match=r"one_hot: labels must lie in \[0, 3\)"):
        ops.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="split: axis 1 of length 3 cannot be split into 2"):
        ops.split(x, 2, axis=1)
    with pytest.raises(ValueError, match="sum: axis 3 is out of range for an input with 3 dimensions"):
        ops.sum(x, axis=3)


def test_variable_copies_assigns_in_place_and_tracks_trainability():
    init = np.zeros(3)
    v = Variable(init, name="w")
    assert v.data is not init and v.requires_grad and v.trainable and v.name == "w"
    assert Variable(np.asfortranarray(np.ones((2, 3)))).data.flags.c_contiguous  # row-major, always
    alias = v.data
    v.assign([1.0, 2.0, 3.0])
    v.assign_add(np.ones(3))
    v.assign_sub(Tensor(np.full(3, 0.5)))
    assert v.data is alias and v.numpy().tolist() == [1.5, 2.5, 3.5]
    v.trainable = False
    assert not v.requires_grad
    with pytest.raises(ValueError, match=r"Variable.assign: expected shape \(3,\) for 'w', got \(2,\)"):
        v.assign([1.0, 2.0])


def test_variable_from_a_callable_initializer_and_unique_names():
    v = Variable(lambda shape, dtype=None: np.ones(shape, dtype), shape=(2, 2), dtype="float32")
    assert v.shape == (2, 2) and v.dtype == np.float32
    assert Variable(1.0).name != Variable(1.0).name


def test_variable_gradient_flows_like_a_leaf():
    w = Variable(np.array([1.0, -1.0]))
    (w * w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, -6.0])
