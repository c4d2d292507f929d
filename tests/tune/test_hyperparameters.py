"""HyperParameters: values, defaults, conditions, the grid, and bad input."""

import pytest

from nablanet.tune import HyperParameters
from nablanet.tune.hyperparameters import grid_points


def test_defaults_are_keras_tuners():
    hp = HyperParameters()
    assert hp.Int("units", 32, 512, step=32) == 32
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == 1e-4
    assert hp.Choice("activation", ["tanh", "relu"]) == "tanh"
    assert hp.Boolean("bias") is False
    assert hp.Fixed("epochs", 7) == 7
    assert hp.Int("layers", 1, 4, default=3) == 3
    assert hp.values == {"units": 32, "lr": 1e-4, "activation": "tanh", "bias": False, "epochs": 7,
                         "layers": 3}
    assert [spec.kind for spec in hp.space] == ["Int", "Float", "Choice", "Boolean", "Fixed", "Int"]


def test_conditions_make_hyperparameters_inactive():
    hp = HyperParameters()
    hp.Choice("model", ["mlp", "linear"])
    with hp.conditional_scope("model", ["mlp"]):
        units = hp.Int("units", 8, 64)
    with hp.conditional_scope("model", "linear"):
        l2 = hp.Float("l2", 0.0, 1.0)
    bias = hp.Boolean("bias", parent_name="model", parent_values=["linear"])
    assert (units, l2, bias) == (8, None, None)
    assert hp.values == {"model": "mlp", "units": 8}
    assert hp.get("units") == 8 and hp["l2"] is None and not hp.is_active("bias")
    with pytest.raises(KeyError, match="'depth' was never declared"):
        hp.get("depth")


def test_nested_scopes_need_every_condition():
    hp = HyperParameters()
    hp.Boolean("a", default=True)
    hp.Boolean("b")
    with hp.conditional_scope("a", [True]), hp.conditional_scope("b", [True]):
        assert hp.Int("both", 1, 2) is None
    with hp.conditional_scope("a", [True]):
        assert hp.Int("only_a", 1, 2) == 1


def test_one_name_one_definition():
    hp = HyperParameters()
    assert hp.Int("units", 1, 8) == hp.Int("units", 1, 8) == 1
    with pytest.raises(ValueError, match=r"Int\('units'\): already declared as Int"):
        hp.Int("units", 1, 16)


@pytest.mark.parametrize("declare, message", [
    (lambda hp: hp.Choice("act", []), r"Choice\('act'\): expected a non-empty list of values, got \[\]"),
    (lambda hp: hp.Int("units", 64, 32),
     r"Int\('units'\): expected min_value <= max_value, got min_value=64, max_value=32"),
    (lambda hp: hp.Float("lr", 0.1, 0.01), r"Float\('lr'\): expected min_value <= max_value"),
    (lambda hp: hp.Float("lr", 0.0, 0.1, sampling="log"),
     r"sampling='log' needs a range above 0, got min_value=0"),
    (lambda hp: hp.Int("units", 0, 8, sampling="log"), r"Int\('units'\): sampling='log' needs a range above 0"),
    (lambda hp: hp.Int("units", 1, 8, step=0), r"expected a positive step \(or None\), got step=0"),
    (lambda hp: hp.Int("units", 1, 8, step=1, sampling="log"), r"the step multiplies, so it must be > 1"),
    (lambda hp: hp.Float("x", 0, 1, sampling="uniform"), r"expected sampling 'linear' or 'log', got 'uniform'"),
    (lambda hp: hp.Int("units", 1.5, 8), r"expected a finite int min_value, got 1.5"),
    (lambda hp: hp.Float("x", 0, float("nan")), r"expected a finite float max_value, got nan"),
    (lambda hp: hp.Int("units", 1, 8, step=2, default=2), r"expected a default inside the space, got default=2"),
    (lambda hp: hp.Choice("act", ["relu", 1]), r"all numbers, all strings or all booleans"),
    (lambda hp: hp.Choice("act", ["relu", "relu"]), r"expected distinct values"),
    (lambda hp: hp.Choice("act", "relu"), r"expected a list of values, got 'relu'"),
    (lambda hp: hp.Boolean("flag", default=1), r"expected a bool default, got 1"),
    (lambda hp: hp.Int("units", 1, 8, parent_name="model", parent_values=["a"]),
     r"expected a declared parent, got 'model'"),
    (lambda hp: hp.Int("", 1, 8), r"expected a non-empty string name"),
])
def test_bad_input_names_what_was_expected(declare, message):
    with pytest.raises(ValueError, match=message):
        declare(HyperParameters())


def test_grids_follow_steps_and_log_multipliers():
    hp = HyperParameters()
    hp.Int("units", 32, 300, step=2, sampling="log")
    hp.Int("layers", 1, 7, step=3)
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Float("lr", 1e-4, 1e-1, step=10, sampling="log")
    grids = {spec.name: spec.grid() for spec in hp.space}
    assert grids["units"] == [32, 64, 128, 256]
    assert grids["layers"] == [1, 4, 7]
    assert grids["dropout"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert grids["lr"] == [1e-4, 1e-3, 1e-2, 1e-1]


def test_a_float_without_a_step_has_no_grid():
    hp = HyperParameters()
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    with pytest.raises(ValueError, match="GridSearch: Float 'lr' has no step, so its values cannot be listed"):
        grid_points(hp.space)


def test_grid_points_multiply_only_active_branches():
    hp = HyperParameters()
    hp.Choice("model", ["a", "b"])
    hp.Fixed("epochs", 3)
    with hp.conditional_scope("model", ["a"]):
        hp.Int("units", 4, 8, step=4)
    with hp.conditional_scope("model", ["b"]):
        hp.Boolean("flag")
    assert grid_points(hp.space) == [
        {"model": "a", "units": 4}, {"model": "a", "units": 8},
        {"model": "b", "flag": False}, {"model": "b", "flag": True},
    ]


def test_given_values_are_checked_against_the_space():
    hp = HyperParameters._from(values={"units": 12})
    with pytest.raises(ValueError, match=r"Int\('units'\): expected a value inside the space, got 12"):
        hp.Int("units", 8, 64, step=8)
