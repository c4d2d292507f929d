"""The code passes ruff with the rules pyproject.toml selects, so README's test command fails on lint."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATHS = ["src", "tests", "benchmarks", "examples", "conftest.py"]


def test_ruff_finds_nothing():
    pytest.importorskip("ruff")  # the test extra installs it
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--config", "pyproject.toml", *PATHS]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"ruff check found problems:\n{result.stdout}{result.stderr}"
