"""The `nablanet` command and its demos."""

import subprocess
import sys

from nablanet.cli import main


def test_bare_demo_runs_the_tour_and_lists_the_demos(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "1. The derivative is a limit" in out and "3. Descending a valley" in out
    assert "autodiff f'(x)" in out and "(error 0.0e+00)" in out
    assert "gradcheck at the start: passed=True" in out
    assert "nablanet demo calculus" in out and "nablanet demo mlp" in out
    assert "Epoch 10/10" in out and "(Dense)" in out and "Total params: 157,061" in out


def test_unknown_demo_names_the_choices(capsys):
    assert main(["demo", "nope"]) == 2
    assert "unknown demo 'nope'; choose from: calculus, mlp, cnn, overfitting, autoencoder" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "nablanet", "version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("nablanet ")


def test_benchmark_workloads_compute_the_same_gradient():
    import numpy as np
    import torch

    from benchmarks.op_chain import chain_nablanet, chain_torch
    from nablanet import Tensor

    data = np.random.default_rng(0).standard_normal((3, 4))
    x, t = Tensor(data.copy(), requires_grad=True), torch.tensor(data, requires_grad=True)
    chain_nablanet(x).backward()
    chain_torch(t).backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10)


def test_cnn_demo_reports_accuracy_and_a_confusion_matrix():
    import pytest

    pytest.importorskip("sklearn")
    from nablanet.demos import cnn

    lines = []
    accuracy = cnn.run(out=lines.append, epochs=2)
    assert 0.5 < accuracy <= 1.0
    assert any(line.startswith("  9: ") for line in lines)
