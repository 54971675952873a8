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
    """Create ~40 accounts, 300 people (English, Arabic, Hebrew names) and their grants; does nothing if present."""
    from govern.demo.seed import seed_demo_data

    summary = seed_demo_data(db.session, random_seed)
    click.echo(summary)
