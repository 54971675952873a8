"""Fixtures for the integration tests: the `govern` CLI on a database of its own."""

from __future__ import annotations

import pytest

from tests.support import broker

admin, network, publisher_headers = broker.admin, broker.network, broker.publisher_headers  # the broker tests' fixtures


@pytest.fixture
def cli_env(scratch_postgres, tmp_path, monkeypatch):
    """GOVERN_* pointing the CLI at a fresh PostgreSQL database and an instance folder of its own."""
    url = scratch_postgres.create("govern_cli")
    monkeypatch.setenv("GOVERN_DATABASE_URL", url)
    monkeypatch.setenv("GOVERN_SECRET_KEY", "cli-secret-" + "k" * 32)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path))
    yield url
    scratch_postgres.drop(url)
