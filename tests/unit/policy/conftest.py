"""Fixtures for the policy engine tests: the repository's packs, compiled once."""

from __future__ import annotations

import pytest

from govern.policy.engine.evaluation import CompiledPolicy, load_policy
from tests.support.policy_packs import PACKS


@pytest.fixture(scope="session")
def compiled() -> CompiledPolicy:
    return load_policy(PACKS)
