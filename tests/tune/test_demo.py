"""`nablanet demo tune`: random against Bayesian search on digits, the tables and the plots."""

from nablanet.cli import main
from nablanet.demos import tune as demo


def test_the_demo_compares_random_and_bayesian_search(tmp_path):
    lines = []
    found = demo.run(out=lines.append, directory=tmp_path, trials=4, epochs=2)
    text = "\n".join(lines)
    assert "Random search" in text and "Bayesian optimization (TPE)" in text
    assert text.count("trial     state  units  dropout  learning_rate  val_accuracy") == 2
    for kind in ("random", "bayesian"):
        tuner = found[kind]["tuner"]
        assert len(tuner.study.trials) == 4
        assert 0.5 < found[kind]["best"] <= 1.0  # two epochs on 600 digits already learn
        assert (tmp_path / f"{kind}_history.png").stat().st_size > 1000
        assert f"{kind:<10}{found[kind]['best']:>19.4f}" in text


def test_the_demo_is_registered(capsys):
    assert main(["demo", "no-such-demo"]) == 2
    assert "tune" in capsys.readouterr().err.strip().split("choose from: ")[1].split(", ")
