"""`govern scim token create`: bearer tokens for identity providers that provision people over SCIM."""

from __future__ import annotations

from datetime import timedelta

import click

from govern import app_services
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.cli_support import cli_actor, with_app
from govern.db import utcnow
from govern.extensions import db


@click.group("scim")
def scim() -> None:
    """SCIM provisioning from Okta or Entra ID."""


@scim.group("token")
def scim_token() -> None:
    """Bearer tokens for identity providers."""


@scim_token.command("create")
@click.option("--name", required=True, help="Who will use it, e.g. 'okta' or 'entra'.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), default=None,
              help="The token stops working on its own after this many days; without it, it works until revoked.")
@with_app
def token_create(name: str, expires_in_days: int | None) -> None:
    """Mint a SCIM token (role scim: provisioning only); shown once, stored only as a hash."""
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    client, secret = create_api_client(db.session, cli_actor(), name, Role.SCIM, expires_at=expires_at)
    base_url = app_services.settings().base_url
    click.echo(f"SCIM client {client.name!r} created. SCIM base URL: {base_url}/scim/v2", err=True)
    click.echo("Token (shown once; revoke with `govern token revoke --name NAME`):", err=True)
    click.echo(secret.reveal())
