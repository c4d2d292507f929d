"""Keras 3's newer optimizers (Lion, Lamb, Adafactor, Ftrl, Muon, ScheduleFreeAdamW) and wrappers
(LossScaleOptimizer, MultiOptimizer with OptimizerMap), step for step against Keras (torch backend).

The float64 cases agree to 1e-6: Keras keeps the learning rate in float32 and its torch backend
rounds a few scalars through float32 (Adafactor's step size, the weight-decay factor), which moves
weights by about 1e-7; a wrong formula misses by far more. Float32 weights are compared with every
optimizer's defaults in test_against_keras.py.
"""

import numpy as np
import pytest

import nablanet
from nablanet import Variable, name_scope, optimizers
from nablanet.optimizers import schedules

keras = pytest.importorskip("keras")

rng = np.random.default_rng(7)
SHAPES = [(4, 3), (3,), (2, 2, 2)]
NAMES = ["kernel", "bias", "cube"]  # Muon routes by path: the 2-D "kernel" is Muon's, the others AdamW's
WEIGHTS = [rng.standard_normal(s) for s in SHAPES]
GRADS = [[rng.standard_normal(s) for s in SHAPES] for _ in range(8)]

CASES = [
    ("lion", "Lion", {"learning_rate": 2**-6}),
    ("lion-weight-decay", "Lion", {"learning_rate": 2**-6, "weight_decay": 0.1}),
    ("lamb", "Lamb", {"learning_rate": 2**-5}),
    ("lamb-weight-decay", "Lamb", {"learning_rate": 2**-5, "weight_decay": 0.05, "beta_1": 0.8}),
    ("adafactor", "Adafactor", {}),
    ("adafactor-clipped", "Adafactor", {"learning_rate": 0.25, "clip_threshold": 0.5, "beta_2_decay": -0.6}),
    ("ftrl", "Ftrl", {"learning_rate": 2**-3}),
    ("ftrl-regularized", "Ftrl", {
        "learning_rate": 2**-3, "learning_rate_power": -0.25, "l1_regularization_strength": 0.01,
        "l2_regularization_strength": 0.1, "l2_shrinkage_regularization_strength": 0.05, "beta": 0.5,
    }),
    ("muon", "Muon", {"learning_rate": 2**-5}),
    ("muon-plain-momentum", "Muon", {"learning_rate": 2**-5, "nesterov": False, "rms_rate": None,
                                     "weight_decay": None, "ns_steps": 3, "adam_lr_ratio": 0.5}),
    ("muon-excluded-layer", "Muon", {"learning_rate": 2**-5, "exclude_layers": ["ker"]}),
    ("schedule-free-adamw", "ScheduleFreeAdamW", {"learning_rate": 2**-5}),
    ("schedule-free-adamw-warmup", "ScheduleFreeAdamW", {"learning_rate": 2**-5, "warmup_steps": 4,
                                                         "weight_decay": 0.1}),
    ("adafactor-weight-decay", "Adafactor", {"learning_rate": 2**-3, "weight_decay": 0.05}),
    ("ftrl-weight-decay", "Ftrl", {"learning_rate": 2**-3, "weight_decay": 0.05}),
    ("lion-ema-accumulation", "Lion", {"learning_rate": 2**-6, "use_ema": True, "ema_momentum": 0.9,
                                       "gradient_accumulation_steps": 2}),
    ("muon-accumulation-clipnorm", "Muon", {"learning_rate": 2**-5, "gradient_accumulation_steps": 2,
                                            "clipnorm": 1.0}),
    ("lion-cosine", "Lion", {"schedule": ("CosineDecay", {"initial_learning_rate": 0.05, "decay_steps": 6})}),
    ("lamb-exponential", "Lamb", {"schedule": ("ExponentialDecay", {
        "initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5})}),
    ("ftrl-inverse-time", "Ftrl", {"schedule": ("InverseTimeDecay", {
        "initial_learning_rate": 0.2, "decay_steps": 2, "decay_rate": 0.7})}),
    ("muon-piecewise", "Muon", {"schedule": ("PiecewiseConstantDecay", {
        "boundaries": [3], "values": [0.05, 0.01]})}),
    ("schedule-free-polynomial", "ScheduleFreeAdamW", {"schedule": ("PolynomialDecay", {
        "initial_learning_rate": 0.05, "decay_steps": 5, "end_learning_rate": 0.01})}),
]


def pair(kwargs):
    """Our and Keras's constructor arguments, with a schedule built on each side."""
    ours, theirs = dict(kwargs), dict(kwargs)
    if "schedule" in kwargs:
        name, arguments = ours.pop("schedule")
        del theirs["schedule"]
        ours["learning_rate"] = getattr(schedules, name)(**arguments)
        theirs["learning_rate"] = getattr(keras.optimizers.schedules, name)(**arguments)
    return ours, theirs


def variables(dtype="float64"):
    return ([Variable(w.astype(dtype), name=n) for w, n in zip(WEIGHTS, NAMES)],
            [keras.Variable(w.astype(dtype), dtype=dtype, name=n) for w, n in zip(WEIGHTS, NAMES)])


def run_both(ours, theirs, grads=GRADS):
    mine, ref = variables()
    for step in grads:
        ours.apply(step, mine)
        theirs.apply([keras.ops.convert_to_tensor(g) for g in step], ref)
    return mine, ref


def assert_same(mine, ref, tolerance=1e-6):
    for a, b in zip(mine, ref, strict=True):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a.numpy(), keras.ops.convert_to_numpy(b), rtol=tolerance, atol=tolerance / 100)


@pytest.mark.parametrize("name, cls, kwargs", CASES, ids=[c[0] for c in CASES])
def test_steps_match_keras(name, cls, kwargs):
    ours_kwargs, theirs_kwargs = pair(kwargs)
    ours, theirs = getattr(optimizers, cls)(**ours_kwargs), getattr(keras.optimizers, cls)(**theirs_kwargs)
    mine, ref = run_both(ours, theirs)
    if kwargs.get("use_ema"):
        ours.finalize_variable_values(mine)
        theirs.finalize_variable_values(ref)
    steps = len(GRADS) // kwargs.get("gradient_accumulation_steps", 1)
    assert ours.iterations == int(keras.ops.convert_to_numpy(theirs.iterations)) == steps
    assert_same(mine, ref)
    assert not np.allclose(mine[0].numpy(), WEIGHTS[0], atol=1e-3)  # the case moved the weights


def test_muon_routes_variables_as_keras_does():
    opt = optimizers.Muon(exclude_layers=["head"])
    with name_scope("head"):
        head = Variable(np.ones((3, 2)), name="kernel")
    with name_scope("token_embedding"):
        table = Variable(np.ones((5, 2)), name="embeddings")
    body, bias = Variable(np.ones((2, 3)), name="kernel"), Variable(np.ones(3), name="bias")
    assert [opt._should_use_adamw(v) for v in (body, head, table, bias)] == [False, True, True, True]
    assert not optimizers.Muon(exclude_embeddings=False)._should_use_adamw(table)
    opt.build([body, head, table, bias])
    assert [v is None for v in opt.adam_velocities] == [True, False, False, False]
    reference = keras.optimizers.Muon()
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(opt.zeropower_via_newtonschulz5(x, 5),
                               keras.ops.convert_to_numpy(reference.zeropower_via_newtonschulz5(
                                   keras.ops.convert_to_tensor(x), 5)), rtol=1e-6, atol=1e-8)  # Keras: a float32 norm
    with pytest.raises(ValueError, match=r"zeropower_via_newtonschulz5: expected at least 2 dimensions, got shape"):
        opt.zeropower_via_newtonschulz5(np.ones(3), 5)


def test_schedule_free_adamw_keeps_the_interpolated_point_in_the_weights():
    """Keras exposes no train/eval swap: after `fit` the weights are `y`, the momentum slot `z`."""
    opt = optimizers.ScheduleFreeAdamW(learning_rate=0.1)
    w = Variable(np.array([1.0, -2.0]))
    opt.build([w])
    np.testing.assert_array_equal(opt.momentums[0], [1.0, -2.0])  # z starts at the weights
    for g in ([0.5, 0.5], [0.25, -1.0]):  # at step 1 the average is z itself
        opt.apply([np.array(g)], [w])
    z = opt.momentums[0]
    assert not np.allclose(w.numpy(), z)
    opt.finalize_variable_values([w])
    assert not np.allclose(w.numpy(), z)
    assert not hasattr(keras.optimizers.ScheduleFreeAdamW, "swap_to_eval")


def test_loss_scale_optimizer_scale_and_steps_match_keras():
    ours = optimizers.LossScaleOptimizer(optimizers.Adam(learning_rate=2**-6), initial_scale=2.0**4,
                                         dynamic_growth_steps=2)
    theirs = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=2**-6), initial_scale=2.0**4,
                                                 dynamic_growth_steps=2)
    assert ours.scale_loss(1.5) == pytest.approx(float(keras.ops.convert_to_numpy(theirs.scale_loss(1.5))))
    scaled = [[g * 16 for g in step] for step in GRADS]
    scaled[2] = [np.full(s, np.inf) for s in SHAPES]  # skipped: the scale halves
    scaled[5] = [g.copy() for g in scaled[5]]
    scaled[5][1][0] = np.nan
    mine, ref = run_both(ours, theirs, scaled)
    assert_same(mine, ref)
    assert ours.iterations == int(keras.ops.convert_to_numpy(theirs.iterations)) == len(GRADS) - 2
    assert float(ours.dynamic_scale) == float(keras.ops.convert_to_numpy(theirs.dynamic_scale))
    assert int(ours.step_counter) == int(keras.ops.convert_to_numpy(theirs.step_counter))
    assert ours.learning_rate == 2**-6
    ours.learning_rate = 0.5
    assert ours.inner_optimizer.learning_rate == 0.5


def test_multi_optimizer_routes_by_path_as_keras_does():
    def make(lib):
        routes = lib.optimizers.OptimizerMap(lib.optimizers.SGD(learning_rate=2**-4, momentum=0.5))
        routes["ker.*"] = lib.optimizers.Adam(learning_rate=2**-6)
        routes["cube"] = lib.optimizers.Lion(learning_rate=2**-6)
        return lib.optimizers.MultiOptimizer(routes)

    ours, theirs = make(nablanet), make(keras)
    mine, ref = run_both(ours, theirs)
    assert_same(mine, ref, tolerance=1e-10)
    assert ours.iterations == int(keras.ops.convert_to_numpy(theirs.iterations)) == len(GRADS)
    assert [type(o).__name__ for o in ours.optimizers] == [type(o).__name__ for o in theirs.optimizers]
    assert [a.shape for a in ours.variables] == [tuple(v.shape) for v in theirs.variables
                                                if "iteration" not in v.path and "learning_rate" not in v.path]
    with pytest.raises(AttributeError, match="MultiOptimizer has no learning rate"):
        ours.learning_rate  # noqa: B018


def test_multi_optimizer_takes_a_selector_function():
    fast, slow = optimizers.SGD(learning_rate=1.0), optimizers.SGD(learning_rate=0.5)
    opt = optimizers.MultiOptimizer(lambda v: fast if v.name == "a" else slow, loss_scale_factor=2.0)
    a, b = Variable([1.0], name="a"), Variable([1.0], name="b")
    opt.apply([np.array([2.0]), np.array([2.0])], [a, b])
    assert (a.numpy()[0], b.numpy()[0]) == (0.0, 0.5)  # gradients unscaled by 2 first
    assert opt.optimizers == [fast, slow] and fast.loss_scale_factor == 2.0


def test_configs_match_keras_and_round_trip_between_them():
    import json

    made = {
        "LossScaleOptimizer": lambda lib: lib.optimizers.LossScaleOptimizer(lib.optimizers.Lion(learning_rate=0.5),
                                                                            initial_scale=8.0),
        "MultiOptimizer": lambda lib: lib.optimizers.MultiOptimizer(lib.optimizers.OptimizerMap(
            lib.optimizers.SGD(learning_rate=0.5), {"dense/.*": lib.optimizers.Lamb(learning_rate=0.25)})),
        "Muon": lambda lib: lib.optimizers.Muon(exclude_layers=["out"], rms_rate=None, learning_rate=0.5),
    }
    for name, make in made.items():
        theirs = keras.optimizers.serialize(make(keras))
        ours = optimizers.serialize(make(nablanet))
        assert drop_names(json.loads(json.dumps(ours))["config"]) == drop_names(theirs["config"]), name
        back = keras.optimizers.deserialize(json.loads(json.dumps(ours)))
        assert type(back).__name__ == name
        again = optimizers.deserialize(json.loads(json.dumps(theirs)))
        assert type(again) is getattr(optimizers, name)
        assert drop_names(optimizers.serialize(again)["config"]) == drop_names(ours["config"])


def drop_names(config):
    """A serialized config without the auto-made names and the modules of Keras's torch classes."""
    if isinstance(config, dict):
        return {k: drop_names(v) for k, v in config.items() if k not in ("name", "module", "registered_name")}
    return config


@pytest.mark.parametrize("make, message", [
    (lambda: optimizers.Lion(beta_1=0.0), r"Lion: beta_1 must be a float in \(0, 1\].*got 0.0"),
    (lambda: optimizers.Lion(beta_1=1.5), r"Lion: beta_1 must be a float in \(0, 1\].*got 1.5"),
    (lambda: optimizers.Ftrl(initial_accumulator_value=-1.0), "Ftrl: initial_accumulator_value must be >= 0, got -1"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.5), "Ftrl: learning_rate_power must be <= 0, got 0.5"),
    (lambda: optimizers.Ftrl(l1_regularization_strength=-0.1), "Ftrl: l1_regularization_strength must be >= 0"),
    (lambda: optimizers.LossScaleOptimizer(optimizers.SGD(), clipnorm=1.0),
     "LossScaleOptimizer: clipnorm cannot be set on the wrapper; set it on the inner_optimizer"),
    (lambda: optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic=False), "dynamic=False is not supported"),
    (lambda: optimizers.LossScaleOptimizer("adam"), "inner_optimizer must be an Optimizer, got 'adam'"),
    (lambda: optimizers.OptimizerMap("sgd"), "default_optimizer must be an Optimizer, got 'sgd'"),
])
def test_bad_arguments_name_what_was_expected(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_optimizer_map_refuses_what_keras_refuses():
    routes = optimizers.OptimizerMap(optimizers.SGD(), {"a/.*": optimizers.Adam()})
    with pytest.raises(ValueError, match="'a/.*' is already mapped"):
        routes["a/.*"] = optimizers.SGD()
    with pytest.raises(ValueError, match="a LossScaleOptimizer cannot be mapped"):
        routes["b"] = optimizers.LossScaleOptimizer(optimizers.SGD())
    routes["a/b.*"] = optimizers.Lion()
    with pytest.raises(ValueError, match="variable 'a/bc' matches several keys"):
        routes["a/bc"]  # noqa: B018
    inner = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()))
    with pytest.raises(ValueError, match="a MultiOptimizer cannot be used inside a MultiOptimizer"):
        optimizers.MultiOptimizer(lambda v: inner).build([Variable([1.0])])


@pytest.mark.parametrize("name", ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"])
def test_legacy_names_refuse_like_keras(name):
    with pytest.raises(ImportError) as theirs:
        getattr(keras.optimizers.legacy, name)(learning_rate=0.1)
    with pytest.raises(ImportError, match=rf"legacy\.{name}: .*not part of Keras 3.*use nablanet\.optimizers\.{name}"):
        getattr(optimizers.legacy, name)(learning_rate=0.1)
    assert "not supported in Keras 3" in str(theirs.value)


def test_muon_picks_the_same_variables_as_keras_in_a_model():
    def routes(lib):
        net = lib.Sequential([lib.Input((3,), dtype="int32"), lib.layers.Embedding(10, 4), lib.layers.Flatten(),
                              lib.layers.Dense(4), lib.layers.Dense(2, name="head")])
        opt = lib.optimizers.Muon(exclude_layers=["head"])
        return [opt._should_use_adamw(v) for v in net.trainable_variables]

    assert routes(nablanet) == routes(keras) == [True, False, True, True, True]  # only the hidden kernel is Muon's
