"""`govern retention show|purge` and `govern legal-hold place|release|list`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from govern import app_services
from govern.audit.service import AuditUnavailable
from govern.cli_support import cli_actor, with_app
from govern.db import utcnow
from govern.extensions import db
from govern.retention import service


def _readable_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """What with_app does not turn into a message (no audit chain, no schema) becomes one, not a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AuditUnavailable as exc:
            raise click.ClickException(f"nothing was changed: {exc}") from None
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise click.ClickException(f"nothing was changed, the database refused: {reason} (is 'govern db upgrade' done?)") from None

    return run


def _configured() -> dict[str, int]:
    return app_services.settings().retention_days


def _describe_hold(hold) -> str:
    state = (f"released {hold.released_at:%Y-%m-%d %H:%M} by {hold.released_by}" if hold.released_at
             else "ACTIVE")
    return (f"#{hold.id}  {hold.name}  kinds: {', '.join(hold.data_kinds)}  {state}\n"
            f"      placed {hold.placed_at:%Y-%m-%d %H:%M} by {hold.placed_by}: {hold.reason}")


def _print_outcomes(outcomes: list[service.KindOutcome], dry_run: bool) -> None:
    for outcome in outcomes:
        cutoff = f"{outcome.cutoff:%Y-%m-%d %H:%M}"
        if outcome.outcome in ("deleted", "would_delete"):
            verb = "would delete" if dry_run else "deleted"
            more = "  (more remain for the next run)" if outcome.more else ""
            click.echo(f"  {outcome.kind:<18} {verb} {outcome.count} older than {cutoff}{more}")
        else:
            click.echo(f"  {outcome.kind:<18} {outcome.reason}; {outcome.eligible} older than {cutoff}")


@click.group("retention")
def retention() -> None:
    """Data retention per kind: what is kept how long, and the purge."""


@retention.command("show")
@_readable_errors
@with_app
def show() -> None:
    """The data kinds, their retention, the holds in place and what a purge would do now."""
    click.echo("  kind                days  default  older than")
    for kind in service.kinds_document(_configured()):
        click.echo(f"  {kind['kind']:<18} {kind['retention_days']:>5}  {kind['default_days']:>7}  {kind['age_basis']}")
    holds = service.list_holds(db.session, active_only=True)
    click.echo(f"legal holds in place: {len(holds)}")
    for hold in holds:
        click.echo("  " + _describe_hold(hold))
    click.echo("a purge now:")
    _print_outcomes(service.purge(db.session, cli_actor(), utcnow(), True, _configured()), dry_run=True)


@retention.command("purge")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
@_readable_errors
@with_app
def purge(dry_run: bool) -> None:
    """Delete what is past its retention now (the daily job does the same)."""
    outcomes = service.purge(db.session, cli_actor(), utcnow(), dry_run, _configured())
    click.echo("dry run, nothing was deleted:" if dry_run else "purged:")
    _print_outcomes(outcomes, dry_run)


def _kinds(_ctx, _param, value: str) -> list[str]:
    kinds = [kind.strip() for kind in value.split(",") if kind.strip()]
    if not kinds:
        raise click.BadParameter("name at least one data kind, comma-separated, or '*' for all")
    return kinds


@click.group("legal-hold")
def legal_hold() -> None:
    """Legal holds: while one names a data kind, retention deletes none of it."""


@legal_hold.command("place")
@click.option("--name", required=True, help="What the hold is for, e.g. the matter's name.")
@click.option("--kinds", required=True, callback=_kinds, help="Data kinds, comma-separated, or '*' for all.")
@click.option("--reason", required=True, help="Why (kept with the hold and in the audit trail).")
@_readable_errors
@with_app
def place(name: str, kinds: list[str], reason: str) -> None:
    """Place a legal hold on data kinds."""
    hold = service.place_hold(db.session, cli_actor(), name, kinds, reason)
    click.echo(f"legal hold #{hold.id} placed on {', '.join(hold.data_kinds)}")


@legal_hold.command("release")
@click.argument("hold_id", type=click.IntRange(min=1))
@click.option("--reason", required=True, help="Why the hold ends (kept in the audit trail).")
@_readable_errors
@with_app
def release(hold_id: int, reason: str) -> None:
    """Release legal hold HOLD_ID; the next purge deletes what it kept."""
    hold = service.release_hold(db.session, cli_actor(), hold_id, reason)
    click.echo(f"legal hold #{hold.id} released")


@legal_hold.command("list")
@click.option("--active", is_flag=True, help="Only holds still in place.")
@_readable_errors
@with_app
def list_(active: bool) -> None:
    """Legal holds, newest first."""
    holds = service.list_holds(db.session, active_only=active)
    if not holds:
        click.echo("no legal holds" if not active else "no legal holds in place")
    for hold in holds:
        click.echo(_describe_hold(hold))
