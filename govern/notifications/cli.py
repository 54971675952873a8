"""`govern notifications smtp-password` (kept in the secret store) and `govern notifications deliver` (send what is due now)."""

from __future__ import annotations

import click

from govern import app_services
from govern.cli_support import cli_actor, with_app
from govern.extensions import db
from govern.notifications import endpoints
from govern.secret_value import SecretValue


@click.group("notifications")
def notifications() -> None:
    """E-mail and webhook delivery of notifications."""


@notifications.command("smtp-password")
@with_app
def smtp_password_command() -> None:
    """Store the mail server's password in the secret store (read from the prompt, or from standard input)."""
    password = click.prompt("SMTP password", hide_input=True, confirmation_prompt=False)
    version = endpoints.set_smtp_password(db.session, app_services.broker().store, cli_actor(), SecretValue(password.strip()))
    click.echo(f"stored (version {version})")


@notifications.command("deliver")
@with_app
def deliver_command() -> None:
    """Send every e-mail and webhook delivery that is due now (the periodic sweep does this every 30 seconds)."""
    from govern.notifications.tasks import deliver_due

    outcome = deliver_due(None)
    click.echo(" ".join(f"{state}={count}" for state, count in sorted(outcome.items())) or "nothing due")
