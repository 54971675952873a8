"""`govern token` and `govern console`: API tokens, console users and sign-in links."""

from __future__ import annotations

from datetime import timedelta

import click

from govern import app_services
from govern.auth import service, sessions
from govern.auth.roles import Role
from govern.cli_support import cli_actor, with_app
from govern.db import utcnow
from govern.extensions import db

ROLE_CHOICE = click.Choice([r.value for r in Role])
CONSOLE_ROLE_CHOICE = click.Choice([r.value for r in Role if r != Role.SCIM])  # SCIM is a machine role


@click.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--name", required=True, help="A name for the client, e.g. 'okta-sync'.")
@click.option("--role", required=True, type=ROLE_CHOICE, help="The token's role; reviewer is console-only and refused.")
@click.option("--person-email", default=None, help="The person this token acts for (needed for brokered actions); not a leaver.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None,
              help="The token stops working on its own after this many days; without it, it works until revoked.")
@with_app
def token_create(name: str, role: str, person_email: str | None, expires_in_days: int | None) -> None:
    """Mint a bearer token; it is shown once and stored only as a hash."""
    person_id = service.person_id_by_email(db.session, person_email) if person_email else None
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    client, secret = service.create_api_client(db.session, cli_actor(), name, Role(role), person_id, expires_at)
    click.echo(f"API client {client.name!r} ({client.role.value}) created. Token (shown once):", err=True)
    click.echo(secret.reveal())


@token.command("revoke")
@click.option("--name", required=True)
@with_app
def token_revoke(name: str) -> None:
    """Revoke an API token at once."""
    service.revoke_api_client(db.session, cli_actor(), name)
    click.echo(f"API client {name!r} revoked")


@click.group()
def console() -> None:
    """Console users and sign-in links."""


@console.command("create-user")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", required=True, type=CONSOLE_ROLE_CHOICE)
@click.option("--person-email", default=None, help="The person this user is (needed to act on accounts through govern).")
@with_app
def create_user(email: str, display_name: str, role: str, person_email: str | None) -> None:
    """Create a console user by hand: the break-glass admin, or anyone when no directory sign-in is configured."""
    person_id = service.person_id_by_email(db.session, person_email) if person_email else None
    user = service.ensure_console_user(db.session, cli_actor(), email, display_name, Role(role), person_id)
    click.echo(f"console user {user.email} ({user.role.value})")


@console.command("login-link")
@click.option("--email", required=True)
@with_app
def login_link(email: str) -> None:
    """Print a one-time sign-in link for a console user."""
    settings = app_services.settings()
    code = service.issue_login_link(db.session, cli_actor(), email, settings.login_link_ttl_seconds,
                                    admin_only=settings.login_links_admin_only)
    click.echo(f"{settings.base_url}/login/{code.reveal()}")


@console.command("sign-out-everywhere")
@click.option("--email", required=True, help="The console user whose sessions end.")
@click.option("--reason", required=True, help="Why, for the audit trail (e.g. 'laptop stolen').")
@with_app
def sign_out_everywhere(email: str, reason: str) -> None:
    """End every console session of a user at once; audited."""
    user, ended = sessions.sign_out_everywhere(db.session, cli_actor(), email, reason)
    click.echo(f"{user.email}: {ended} console session(s) ended")
