"""How a test asks for a real service: one rule for the whole suite.

Under CI=true every service the suite needs is there, so a missing one is a failure; elsewhere the test is skipped
with the reason, so a laptop without OpenLDAP or Chromium can still run the rest.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI") == "true"


def require_service(name: str, reason: str) -> None:
    """A missing service fails the run under CI and skips the test elsewhere."""
    message = f"{name} is required but unavailable: {reason}"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
