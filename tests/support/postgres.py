"""Throwaway databases on a PostgreSQL server, for tests and benchmarks that need their own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

# Any existing database of the test server; every test database is created next to it. The unit, integration and
# browser tests all take it from here.
POSTGRES_ADMIN_URL = os.environ.get("GOVERN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_available(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
    """None when the server answers; otherwise the first line of why not."""
    try:
        engine = sa.create_engine(admin_url, poolclass=sa.pool.NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


class ScratchPostgres:
    """Creates and drops databases through an admin URL (any existing database of the server)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
                                      connect_args={"connect_timeout": 3})

    def create(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return sa.make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = sa.make_url(url).database
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def migration_database(database: str, scratch: ScratchPostgres, tmp_path: Path, prefix: str) -> Iterator[tuple[str, sa.Engine]]:
    """An empty database for a migration round trip, on PostgreSQL (`database` "postgresql") or in a SQLite file: its
    URL and an engine without a pool. Disposed, and dropped on PostgreSQL, at the end."""
    url = scratch.create(prefix) if database == "postgresql" else f"sqlite:///{tmp_path / 'm.sqlite'}"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield url, engine
    finally:
        engine.dispose()
        if database == "postgresql":
            scratch.drop(url)
