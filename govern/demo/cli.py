"""`govern demo seed`: realistic demo data for the console."""

from __future__ import annotations

import click

from govern.cli_support import with_app
from govern.extensions import db


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command("seed")
@click.option("--seed", "random_seed", default=7, show_default=True, help="Random seed; the same seed gives the same data.")
@with_app
def seed(random_seed: int) -> None:
    """Create ~40 accounts, 300 people (English, Arabic, Hebrew names), their grants, and something for every flow to
    show: the demo network connected (with GOVERN_DEMO_NETWORK), posts awaiting approval, violations, departures,
    sync runs, a 2FA login and a break-glass checkout. Does nothing if present."""
    from govern.demo.seed import seed_demo_data

    summary = seed_demo_data(db.session, random_seed)
    click.echo(summary)
