"""`govern audit verify`: walk the chain and name the first broken link."""

from __future__ import annotations

import sys

import click

from govern.audit.service import verify_chain
from govern.cli_support import with_app
from govern.extensions import db


@click.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@with_app
def verify() -> None:
    """Check every event's hash and link; exit 1 at the first break."""
    result = verify_chain(db.session)
    if result.ok:
        click.echo(f"audit chain intact: {result.checked} events, head {result.head_seq} {result.head_hash}")
        return
    click.echo(f"audit chain BROKEN at {result.first_break} ({result.checked} events verified before it)", err=True)
    sys.exit(1)
