"""What every CLI command shares: finding the database, building the app, owning the commit, and the CLI actor."""

from __future__ import annotations

import functools
import getpass
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from govern.actor import Actor
from govern.config import ConfigurationError, Settings, load_settings
from govern.errors import DomainError

if TYPE_CHECKING:
    from flask import Flask

UPGRADE = "'govern db upgrade'"
DATABASE_CONNECT_TIMEOUT_SECONDS = 5


def cli_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", getpass.getuser())


def database_problem(settings: Settings) -> str | None:
    """Why the configured database cannot serve a command, in one line naming it; None when it is there and migrated.

    Looked at before the app is built: building it writes a secret key and store keys into the instance folder,
    which must not happen beside the real instance because a command ran from the wrong place.
    """
    import sqlalchemy as sa
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from govern.migrations_config import alembic_config

    url = sa.make_url(settings.effective_database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        return (f"no govern database at {url.database}; create it with {UPGRADE} "
                "(or point GOVERN_INSTANCE_PATH or GOVERN_DATABASE_URL at the service's)")
    connect_args = {"connect_timeout": DATABASE_CONNECT_TIMEOUT_SECONDS} if url.get_backend_name() == "postgresql" else {}
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return f"cannot reach the database at {shown}: {reason}"
    finally:
        engine.dispose()
    if not current:
        return f"the database at {shown} has no govern tables; create them with {UPGRADE}"
    expected = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    if current != expected:
        return (f"the database at {shown} is at revision {', '.join(sorted(current))}, this govern needs "
                f"{', '.join(sorted(expected))}; bring it up to date with {UPGRADE}")
    return None


def cli_app(database: bool = True) -> Flask:
    """The app a command runs in; a bad setting or a missing or unmigrated database is one line and exit status 1."""
    from govern import create_app

    try:
        if database and (problem := database_problem(load_settings())):
            raise click.ClickException(problem)
        return create_app()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def with_app(command: Callable[..., Any] | None = None, *, database: bool = True) -> Any:
    """Run the command in an app context; commit if it returns, roll back if it fails.

    `@with_app(database=False)` for a command that never opens the database (it then runs without one).
    """
    if command is None:
        return functools.partial(with_app, database=database)

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from govern.extensions import db

        app = cli_app(database)
        with app.app_context():
            try:
                result = command(*args, **kwargs)
                db.session.commit()
                return result
            except DomainError as exc:
                db.session.rollback()
                raise click.ClickException(exc.detail) from None
            except BaseException:
                db.session.rollback()
                raise

    return run


def moment_or_seq(value: str | None, option: str, *, end_of_day: bool = False) -> int | datetime | None:
    """--from/--to take an event number (123) or a UTC date or time (2026-01-31, 2026-01-31T12:00:00Z). With
    `end_of_day` (a --to), a bare date includes that whole day, as the console, the reports and the API read it:
    the instant returned is the next midnight, the period's exclusive end. A time is the exclusive end as written."""
    if value is None:
        return None
    if re.fullmatch(r"\d+", value):
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither an event number nor a date (YYYY-MM-DD[THH:MM:SSZ])", param_hint=option) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if end_of_day and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return moment + timedelta(days=1)
    return moment
