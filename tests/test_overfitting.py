"""Dropout, L2 and EarlyStopping each shrink the gap between validation and training loss on a
model that overfits 150 digits (fixed seeds; the demo prints the numbers)."""

import pytest

from nablanet.demos import overfitting


@pytest.mark.slow
def test_each_regularizer_shrinks_the_generalization_gap(tmp_path):
    pytest.importorskip("sklearn")
    results = overfitting.run(out=lambda line: None, directory=str(tmp_path))
    plain = results["plain"]
    assert plain["train_loss"] < 0.01 and plain["gap"] > 0.25  # it really overfits
    for variant in ("dropout", "l2", "early_stopping"):
        assert results[variant]["gap"] < 0.9 * plain["gap"], (variant, results[variant], plain)
    assert results["early_stopping"]["epochs"] < 100
    assert any(p.name == "plain_loss.png" for p in tmp_path.iterdir())
