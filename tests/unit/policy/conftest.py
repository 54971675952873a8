"""Fixtures for the policy engine tests: the repository's packs, compiled once."""

from __future__ import annotations

from pathlib import Path

import pytest

from govern.policy.engine import CompiledPolicy, load_policy

PACKS = Path(__file__).resolve().parents[3] / "policies"


@pytest.fixture(scope="session")
def compiled() -> CompiledPolicy:
    return load_policy(PACKS)
