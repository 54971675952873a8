"""Every CLI command against a missing or unmigrated database says so in one line and exits non-zero."""

from __future__ import annotations

import click
import pytest
import sqlalchemy as sa
from alembic import command as alembic_command
from click.testing import CliRunner

from govern.cli import alembic_config, main

# The commands that create or change the schema, or never open the database.
WITHOUT_DATABASE = {"db upgrade", "db downgrade", "db revision", "policy check", "policy test", "directory test"}

# Every other command, with arguments that get it past click's own checks.
ARGUMENTS = {
    "serve": ["--port", "1"],
    "jobs run": [],
    "jobs relay": [],
    "jobs show": ["00000000-0000-4000-8000-000000000000"],
    "token create": ["--name", "x", "--role", "admin"],
    "token revoke": ["--name", "x"],
    "console create-user": ["--email", "a@example.com", "--name", "A", "--role", "admin"],
    "console login-link": ["--email", "a@example.com"],
    "console sign-out-everywhere": ["--email", "a@example.com", "--reason", "laptop stolen"],
    "demo seed": [],
    "audit verify": [],
    "audit checkpoint": [],
    "audit keys": [],
    "audit rotate-key": ["--reason", "yearly rotation"],
    "audit stream": ["--to", "stdout"],
    "evidence export": ["--from", "2026-01-01", "--to", "2026-02-01", "--output", "{tmp}/evidence.zip"],
    "sync directory": [],
    "directory watch": ["--once"],
    "scim token create": ["--name", "x"],
    "policy register-image": ["{tmp}/image.png", "--label", "x", "--status", "licensed"],
    "accounts impostors": ["--candidates", "{tmp}/candidates.txt"],
    "retention show": [],
    "retention purge": [],
    "legal-hold place": ["--name", "x", "--kinds", "notifications", "--reason", "litigation"],
    "legal-hold release": ["1", "--reason", "settled"],
    "legal-hold list": [],
    "report": ["access", "--output", "{tmp}/access.csv"],
    "notifications smtp-password": [],
    "notifications deliver": [],
}


def _leaf_commands(command: click.Command, path: tuple[str, ...] = ()) -> list[str]:
    if isinstance(command, click.Group):
        return [leaf for name, sub in command.commands.items() for leaf in _leaf_commands(sub, (*path, name))]
    return [" ".join(path)]


def _invoke(name: str, tmp_path):
    for needed in ("image.png", "candidates.txt"):
        (tmp_path / needed).write_bytes(b"x")
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in ARGUMENTS[name]]
    return CliRunner().invoke(main, [*name.split(), *arguments])


def test_every_command_is_listed_here():
    assert set(_leaf_commands(main)) == WITHOUT_DATABASE | set(ARGUMENTS)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_a_missing_database_is_one_line_naming_it_and_the_command_that_creates_it(name, tmp_path, monkeypatch):
    instance = tmp_path / "nowhere" / "instance"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GOVERN_DATABASE_URL", raising=False)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(instance))
    result = _invoke(name, tmp_path)
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: no govern database at {instance / 'govern.sqlite'}; create it with 'govern db upgrade' "
                             "(or point GOVERN_INSTANCE_PATH or GOVERN_DATABASE_URL at the service's)\n")
    assert not instance.exists()  # no instance folder with fresh keys beside the real one
    assert not (tmp_path / "instance").exists()


@pytest.fixture
def empty_postgres(scratch_postgres, tmp_path, monkeypatch):
    url = scratch_postgres.create("govern_unmigrated")
    monkeypatch.setenv("GOVERN_DATABASE_URL", url)
    monkeypatch.setenv("GOVERN_SECRET_KEY", "cli-secret-" + "k" * 32)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path / "instance"))
    yield url
    scratch_postgres.drop(url)


def _shown(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def test_a_database_without_tables_says_to_run_the_migrations(empty_postgres, tmp_path):
    result = _invoke("token create", tmp_path)
    assert result.exit_code == 1
    assert result.output == (f"Error: the database at {_shown(empty_postgres)} has no govern tables; "
                             "create them with 'govern db upgrade'\n")


def test_a_database_behind_the_code_says_to_run_the_migrations(empty_postgres, tmp_path):
    alembic_command.upgrade(alembic_config(empty_postgres), "6b2e1d4f8c32")
    result = _invoke("retention show", tmp_path)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: the database at {_shown(empty_postgres)} is at revision 6b2e1d4f8c32, ")
    assert result.output.endswith("; bring it up to date with 'govern db upgrade'\n") and result.output.count("\n") == 1


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GOVERN_DATABASE_URL", f"postgresql+psycopg://govern:hunter2-secret@127.0.0.1:{port}/govern")
    monkeypatch.setenv("GOVERN_SECRET_KEY", "cli-secret-" + "k" * 32)
    monkeypatch.setenv("GOVERN_INSTANCE_PATH", str(tmp_path / "instance"))
    result = _invoke("legal-hold list", tmp_path)
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert result.output.startswith(f"Error: cannot reach the database at postgresql+psycopg://govern:***@127.0.0.1:{port}/govern: ")
    assert "hunter2" not in result.output


def test_a_migrated_database_runs_the_command(empty_postgres, tmp_path):
    alembic_command.upgrade(alembic_config(empty_postgres), "head")
    result = _invoke("legal-hold list", tmp_path)
    assert result.exit_code == 0, result.output
