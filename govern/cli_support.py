"""What every CLI command shares: building the app, owning the commit, and the CLI actor."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable
from typing import Any

import click

from govern.audit.service import Actor
from govern.config import ConfigurationError
from govern.errors import DomainError


def cli_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", getpass.getuser())


def with_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run the command in an app context; commit if it returns, roll back if it fails."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from govern import create_app
        from govern.extensions import db

        try:
            app = create_app()
        except ConfigurationError as exc:
            raise click.ClickException(str(exc)) from None
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
