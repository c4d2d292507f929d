"""The optimizer base: the PyTorch-style path, errors, configs, weight-decay exclusions."""

import numpy as np
import pytest

from nablanet import Tensor, Variable, name_scope, optimizers
from nablanet.optimizers import schedules


def test_pytorch_style_backward_then_step_then_zero_grad():
    w = Variable(np.array([1.0, -2.0]), name="w")
    opt = optimizers.SGD(learning_rate=0.5)
    opt.build([w])
    loss = (w * w).sum()
    loss.backward()
    opt.step()
    np.testing.assert_allclose(w.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None and opt.iterations == 1


def test_gradient_descent_minimizes_a_quadratic():
    w = Variable(np.array([3.0, -1.0]))
    opt = optimizers.Adam(learning_rate=0.1)
    for _ in range(300):
        loss = ((w - Tensor([1.0, 2.0])) ** 2).sum()
        loss.backward()
        opt.step([w])
        opt.zero_grad([w])
    np.testing.assert_allclose(w.numpy(), [1.0, 2.0], atol=1e-3)


def test_none_gradients_are_skipped():
    a, b = Variable([1.0]), Variable([1.0])
    optimizers.SGD(learning_rate=1.0).apply([None, np.array([1.0])], [a, b])
    assert a.numpy()[0] == 1.0 and b.numpy()[0] == 0.0


def test_exclude_from_weight_decay_by_name():
    with name_scope("dense"):  # Keras refuses '/' in a name: the scope makes the paths dense/kernel, dense/bias
        kernel, bias = Variable([1.0], name="kernel"), Variable([1.0], name="bias")
    opt = optimizers.SGD(learning_rate=0.5, weight_decay=0.1)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply([np.zeros(1), np.zeros(1)], [kernel, bias])
    assert kernel.numpy()[0] == pytest.approx(0.95) and bias.numpy()[0] == 1.0
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["x"])


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown optimizer 'AdamWW'. Did you mean 'adamw'"):
        optimizers.get("AdamWW")  # matched case-insensitively, shown as written
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'. Did you mean 'adam'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="AdamW: weight_decay cannot be None"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match=r"SGD: momentum must be a float in \[0, 1\], got 1.5"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="expected one gradient per variable, got 1 gradients for 2"):
        optimizers.SGD().apply([np.ones(1)], [Variable([1.0]), Variable([1.0])])
    with pytest.raises(ValueError, match=r"gradient of shape \(2,\) for variable 'v' of shape \(1,\)"):
        optimizers.SGD().apply([np.ones(2)], [Variable([1.0], name="v")])
    with pytest.raises(TypeError, match="learning_rate must be a float"):
        optimizers.SGD(learning_rate="fast")
    built = optimizers.SGD()
    built.build([Variable([1.0])])  # a layer unfrozen after compile() adds variables like "new"
    with pytest.raises(KeyError, match=r"'new' is not among .* call model.compile\(\) again with a new optimizer"):
        built.apply([np.ones(1)], [Variable([1.0], name="new")])


def test_config_round_trip_keeps_schedules():
    opt = optimizers.Adam(learning_rate=schedules.CosineDecay(0.1, 100), clipnorm=1.0, amsgrad=True)
    config = optimizers.serialize(opt)
    again = optimizers.deserialize(config)
    assert isinstance(again, optimizers.Adam) and again.amsgrad and again.clipnorm == 1.0
    assert again.learning_rate == opt.learning_rate == pytest.approx(0.1)
    assert optimizers.get(config).get_config() == opt.get_config()


def test_loss_scale_factor_scales_and_unscales():
    w = Variable([1.0])
    opt = optimizers.SGD(learning_rate=1.0, loss_scale_factor=128.0)
    assert opt.scale_loss(2.0) == 256.0
    opt.apply([np.array([128.0])], [w])
    assert w.numpy()[0] == 0.0
