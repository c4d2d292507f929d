"""Every optimizer, ten steps on the same weights and gradients as Keras (torch backend).

The comparison runs in float64, where the two must agree to 1e-10: in float32, rounding in a
different order alone moves weights by about 1e-6 over ten steps of learning rate 0.1. Keras
keeps the learning rate in a float32 variable, so the cases use learning rates that float32
represents exactly. Keras also rounds some scalars through float32 (schedules, clip thresholds,
the weight-decay factor `1 - wd * lr`, the EMA momentum): those cases agree to 1e-6, the
precision of those scalars, and a wrong formula would miss by far more.
"""

import numpy as np
import pytest

from nablanet import Variable, optimizers
from nablanet.optimizers import schedules

FLOAT32_SCALARS = ("schedule", "clipnorm", "global_clipnorm", "clipvalue", "weight_decay", "use_ema")

keras = pytest.importorskip("keras")

rng = np.random.default_rng(3)
SHAPES = [(4, 3), (3,), (2, 2, 2)]
WEIGHTS = [rng.standard_normal(s) for s in SHAPES]
GRADS = [[rng.standard_normal(s) for s in SHAPES] for _ in range(10)]


def schedule(name, **kwargs):
    return getattr(schedules, name)(**kwargs), getattr(keras.optimizers.schedules, name)(**kwargs)


# (id, optimizer class name, kwargs); schedules are built in pairs below.
CASES = [
    ("sgd", "SGD", {"learning_rate": 2**-6}),
    ("sgd-momentum", "SGD", {"momentum": 0.9, "learning_rate": 2**-6}),
    ("sgd-nesterov", "SGD", {"momentum": 0.9, "nesterov": True, "learning_rate": 2**-4}),
    ("adam", "Adam", {"learning_rate": 2**-10}),
    ("adam-amsgrad", "Adam", {"amsgrad": True, "learning_rate": 2**-7}),
    ("adam-clipnorm", "Adam", {"clipnorm": 0.5, "learning_rate": 2**-7}),
    ("adam-global-clipnorm", "Adam", {"global_clipnorm": 0.5, "learning_rate": 2**-7}),
    ("adam-clipvalue", "Adam", {"clipvalue": 0.1, "learning_rate": 2**-7}),
    ("adam-weight-decay", "Adam", {"weight_decay": 0.05, "learning_rate": 2**-7}),
    ("adamw", "AdamW", {"learning_rate": 2**-7}),
    ("adamax", "Adamax", {"learning_rate": 2**-7}),
    ("nadam", "Nadam", {"learning_rate": 2**-7}),
    ("rmsprop", "RMSprop", {"learning_rate": 2**-10}),
    ("rmsprop-momentum-centered", "RMSprop", {"momentum": 0.9, "centered": True, "learning_rate": 2**-10}),
    ("adagrad", "Adagrad", {"learning_rate": 2**-5}),
    ("adadelta", "Adadelta", {"learning_rate": 1.0}),
    ("sgd-ema", "SGD", {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 3, "learning_rate": 2**-6}),
    ("adam-accumulation", "Adam", {"gradient_accumulation_steps": 3, "learning_rate": 2**-7}),
    ("sgd-exponential-decay", "SGD", {
        "schedule": ("ExponentialDecay", {
            "initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True,
        }),
    }),
    ("sgd-inverse-time", "SGD", {
        "momentum": 0.5,
        "schedule": ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.7}),
    }),
    ("adam-piecewise", "Adam", {
        "schedule": ("PiecewiseConstantDecay", {"boundaries": [2, 5], "values": [0.1, 0.01, 0.001]}),
    }),
    ("adam-polynomial", "Adam", {
        "schedule": ("PolynomialDecay", {
            "initial_learning_rate": 0.05, "decay_steps": 4, "power": 2.0, "cycle": True,
        }),
    }),
    ("rmsprop-cosine-warmup", "RMSprop", {
        "weight_decay": 0.1,
        "schedule": ("CosineDecay", {
            "initial_learning_rate": 0.0, "decay_steps": 6, "alpha": 0.1, "warmup_target": 0.05, "warmup_steps": 3,
        }),
    }),
]


@pytest.mark.parametrize("name, cls, kwargs", CASES, ids=[c[0] for c in CASES])
def test_ten_steps_match_keras(name, cls, kwargs):
    kwargs = dict(kwargs)
    ours_kwargs, theirs_kwargs = dict(kwargs), dict(kwargs)
    if "schedule" in kwargs:
        schedule_name, schedule_kwargs = kwargs["schedule"]
        ours_schedule, theirs_schedule = schedule(schedule_name, **schedule_kwargs)
        del ours_kwargs["schedule"], theirs_kwargs["schedule"]
        ours_kwargs["learning_rate"], theirs_kwargs["learning_rate"] = ours_schedule, theirs_schedule
    ours = getattr(optimizers, cls)(**ours_kwargs)
    theirs = getattr(keras.optimizers, cls)(**theirs_kwargs)
    mine = [Variable(w.copy()) for w in WEIGHTS]
    ref = [keras.Variable(w.copy(), dtype="float64") for w in WEIGHTS]
    for grads in GRADS:
        ours.apply(grads, mine)
        theirs.apply([keras.ops.convert_to_tensor(g) for g in grads], ref)
    if kwargs.get("use_ema"):
        ours.finalize_variable_values(mine)
        theirs.finalize_variable_values(ref)
    assert ours.iterations == int(keras.ops.convert_to_numpy(theirs.iterations))
    tolerance = 1e-6 if set(FLOAT32_SCALARS) & set(kwargs) or cls == "AdamW" else 1e-10
    for a, b in zip(mine, ref):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), rtol=tolerance, atol=tolerance / 100)


@pytest.mark.parametrize("cls", sorted(optimizers.ALL.values(), key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_float32_weights_stay_float32_and_track_keras(cls):
    mine = [Variable(w.astype(np.float32)) for w in WEIGHTS]
    ref = [keras.Variable(w.astype(np.float32)) for w in WEIGHTS]
    ours, theirs = cls(), getattr(keras.optimizers, cls.__name__)()
    for grads in GRADS:
        ours.apply([g.astype(np.float32) for g in grads], mine)
        theirs.apply([keras.ops.convert_to_tensor(g.astype(np.float32)) for g in grads], ref)
    for a, b in zip(mine, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["ExponentialDecay", "InverseTimeDecay", "PolynomialDecay", "CosineDecay"])
def test_schedules_match_keras_step_by_step(name):
    kwargs = {"initial_learning_rate": 0.1, "decay_steps": 7}
    extra = {"ExponentialDecay": {"decay_rate": 0.3}, "InverseTimeDecay": {"decay_rate": 0.3, "staircase": True},
             "PolynomialDecay": {"power": 0.5}, "CosineDecay": {"alpha": 0.2, "warmup_target": 0.3, "warmup_steps": 4}}
    ours, theirs = schedule(name, **kwargs, **extra[name])
    for step in range(0, 25):
        want = float(keras.ops.convert_to_numpy(theirs(step)))
        assert ours(step) == pytest.approx(want, rel=1e-6, abs=1e-9), f"step {step}"


def test_keras_defaults_are_pinned():
    assert optimizers.SGD().learning_rate == 0.01
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert optimizers.AdamW().weight_decay == 0.004
    assert optimizers.Adagrad().initial_accumulator_value == 0.1
    assert (optimizers.RMSprop().rho, optimizers.Adadelta().rho) == (0.9, 0.95)
    for name, cls in optimizers.ALL.items():
        ours, theirs = cls().get_config(), getattr(keras.optimizers, cls.__name__)().get_config()
        for key, value in theirs.items():
            if key != "name":
                assert ours[key] == pytest.approx(value), f"{name}.{key}"


def test_adam_epsilon_is_applied_the_keras_way_not_pytorchs():
    torch = pytest.importorskip("torch")
    w0, g = np.full(3, 1.0), np.full(3, 1e-3)
    keras_way = Variable(w0.copy())
    optimizers.Adam(learning_rate=0.1).apply([g], [keras_way])
    ref = torch.tensor(w0.copy(), requires_grad=True)
    torch_opt = torch.optim.Adam([ref], lr=0.1, eps=1e-7)
    ref.grad = torch.tensor(g)
    torch_opt.step()
    # Step 1 has m = (1 - beta_1) g and v = (1 - beta_2) g^2, so Keras's step is
    # lr * g / (|g| + eps / sqrt(1 - beta_2)): epsilon acts 32 times larger than in PyTorch's
    # lr * g / (|g| + eps). For g = 1e-3 that is a 0.3% smaller step.
    keras_step = 0.1 * 1e-3 / (1e-3 + 1e-7 / np.sqrt(1 - 0.999))
    np.testing.assert_allclose(w0 - keras_way.numpy(), keras_step, rtol=1e-12)
    assert not np.allclose(keras_way.numpy(), ref.detach().numpy(), rtol=1e-7, atol=0)
