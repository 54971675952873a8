"""The migration that gives incidents their stage (for escalation): an incident opened before it is at its first
stage since it opened; down and up again, on PostgreSQL and SQLite."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.postgres import migration_database

BEFORE = "c8d9e0f1a2b3"
MIGRATION = "d9e0f1a2b3c4"
OPENED = "2026-12-01 08:30:00+00:00"


def _an_open_incident(engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO runbooks (id, name, description, scope_type, severities, stages, steps, pause_on_activate, "
            "auto_activate, created_by, created_by_name, created_at, updated_at) VALUES (7, 'Old runbook', '', 'all', "
            "'[\"high\"]', '[{\"name\": \"One\", \"contacts\": []}, {\"name\": \"Two\", \"contacts\": []}]', '[]', "
            "false, false, 'test', 'test', :at, :at)"), {"at": OPENED})
        connection.execute(sa.text(
            "INSERT INTO incidents (id, runbook_id, status, severity, reason, opened_by, opened_by_name, opened_at, "
            "steps_done) VALUES (70, 7, 'open', 'high', 'before escalation', 'test', 'test', :at, '{}')"),
            {"at": OPENED})


def _columns(engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("incidents")}


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_incidents_get_a_stage_and_lose_it_again(database, scratch_postgres, tmp_path):
    from alembic import command as alembic_command

    from govern.cli import alembic_config

    with migration_database(database, scratch_postgres, tmp_path, "govern_stage_migration") as (url, engine):
        alembic_command.upgrade(alembic_config(url), BEFORE)
        _an_open_incident(engine)
        alembic_command.upgrade(alembic_config(url), MIGRATION)
        with engine.connect() as connection:
            stage, since, opened = connection.execute(sa.text(
                "SELECT stage, stage_since, opened_at FROM incidents WHERE id = 70")).one()
        assert stage == 0 and since is not None and str(since) == str(opened)
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:  # a stage is required from now on
            connection.execute(sa.text("UPDATE incidents SET stage = NULL WHERE id = 70"))
        alembic_command.downgrade(alembic_config(url), BEFORE)
        assert {"stage", "stage_since"}.isdisjoint(_columns(engine))
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT reason FROM incidents WHERE id = 70")).scalar() == "before escalation"
        alembic_command.upgrade(alembic_config(url), "head")
        assert {"stage", "stage_since"} <= _columns(engine)
