"""The programs in examples/ run to the end."""

import pathlib
import subprocess
import sys

import pytest

# mnist_convnet reads ../shared/data, which a clone elsewhere lacks, and trains two frameworks
# for about 15 s: it is an example to run by hand, not a test. next_word_lstm trains for two
# minutes by default, transformer_next_word for two: tests/test_next_word.py and
# tests/test_transformer.py run them on a small text for a few seconds.
BY_HAND = {"mnist_convnet.py", "next_word_lstm.py", "transformer_next_word.py"}
EXAMPLES = sorted(p for p in (pathlib.Path(__file__).parent.parent / "examples").glob("*.py")
                  if p.name not in BY_HAND)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path):
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
