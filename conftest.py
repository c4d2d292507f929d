"""Shared fixtures, and the rule that makes a skipped test fail in CI.

Reference tests compare against PyTorch and Keras. On a developer machine without them they
skip; in CI (NABLANET_REQUIRE_REFERENCE=1, set by .ci/run) a skip is a failure, so a missing
reference can never pass silently.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports keras

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from _pytest.doctest import DoctestItem  # noqa: E402

REQUIRE_REFERENCE = os.environ.get("NABLANET_REQUIRE_REFERENCE") == "1"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_REFERENCE and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where every test must run: {reason}"


@pytest.fixture(autouse=True)
def _doctest_names(request):
    """Every docstring example may use `np` and `ops` without importing them."""
    if isinstance(request.node, DoctestItem):
        from nablanet import ops

        request.getfixturevalue("doctest_namespace").update(np=np, ops=ops)
