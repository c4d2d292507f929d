"""Learning-rate schedules against Keras's, step by step."""

import pytest

from nablanet.optimizers import schedules

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("kwargs", [{}, {"t_mul": 1.0, "m_mul": 0.5, "alpha": 0.1}, {"t_mul": 1.5, "m_mul": 0.8}])
def test_cosine_decay_restarts_matches_keras(kwargs):
    ours = schedules.CosineDecayRestarts(0.1, 3, **kwargs)
    theirs = keras.optimizers.schedules.CosineDecayRestarts(0.1, 3, **kwargs)
    for step in range(40):
        want = float(keras.ops.convert_to_numpy(theirs(step)))
        assert ours(step) == pytest.approx(want, rel=1e-5, abs=1e-8), f"step {step}"
    assert ours.get_config() == theirs.get_config()
    restored = schedules.deserialize(keras.optimizers.schedules.serialize(theirs))
    assert isinstance(restored, schedules.CosineDecayRestarts) and restored.get_config() == ours.get_config()
    with pytest.raises(ValueError, match="first_decay_steps must be positive, got 0"):
        schedules.CosineDecayRestarts(0.1, 0)
