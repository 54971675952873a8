"""`govern sync directory`, `govern directory test` and `govern directory watch`."""

from __future__ import annotations

import signal
import sys
import threading

import click
from flask import current_app

from govern import app_services
from govern.adapters.directory import DirectoryError
from govern.cli_support import cli_actor, with_app
from govern.directory import service
from govern.directory.models import SyncCursor, SyncStatus
from govern.extensions import db


def _directory_or_exit():
    from govern.adapters.directory_factory import build_directory

    directory = build_directory(app_services.settings())
    if directory is None:
        raise click.ClickException("no directory is configured: set GOVERN_LDAP_URL and GOVERN_LDAP_BASE_DN")
    return directory


def _print_plan(plan: service.SyncPlan) -> None:
    counts = plan.counts()
    click.echo("dry run, nothing was changed: " + ", ".join(f"{name} {number}" for name, number in counts.items()))
    for entry in plan.creates:
        click.echo(f"  + create  {entry.username}  {entry.display_name}  ({entry.key})")
    for entry in plan.updates:
        click.echo(f"  ~ update  {entry.username}  {entry.display_name}  ({entry.key})")
    for entry in plan.returners:
        click.echo(f"  ^ returns {entry.username}  {entry.display_name}  (nothing is restored)")
    for departure in plan.departures:
        click.echo(f"  - departs {departure.display_name}  (person {departure.person_id}: {', '.join(departure.signals)})")


@click.group("sync")
def sync() -> None:
    """Synchronise with outside systems."""


@sync.command("directory")
@click.option("--full", is_flag=True, help="Reconcile the whole scope (sees deletions and moves), not just recent changes.")
@click.option("--dry-run", is_flag=True, help="Print exactly what would change; change and revoke nothing.")
@with_app
def sync_directory(full: bool, dry_run: bool) -> None:
    """Sync people from the directory now."""
    directory = _directory_or_exit()
    if dry_run:
        try:
            if full:
                plan = service.plan_full(db.session, directory.source, directory.all_entries())
            else:
                cursor = db.session.get(SyncCursor, directory.source)
                batch = directory.changes_since(cursor.cursor if cursor else None)
                plan = service.plan_changes(db.session, directory.source, batch, directory.service_account)
        except DirectoryError as exc:
            raise click.ClickException(f"the directory could not be read: {exc}") from None
        _print_plan(plan)
        db.session.rollback()
        return
    if full:
        run = service.sync_full_from(db.session, cli_actor(), directory)
    else:
        run = service.sync_incremental_from(db.session, cli_actor(), directory)
    click.echo(f"sync run {run.id}: {run.status.value} " + ", ".join(f"{k} {v}" for k, v in (run.counts or {}).items()))
    if run.status == SyncStatus.HELD:
        click.echo(f"  {len(run.held_departures)} departures are held for a governance decision (approve or dismiss run {run.id})")
    if run.status == SyncStatus.FAILED:
        click.echo(f"  {run.error}; nobody was revoked", err=True)
        db.session.commit()  # keep the failed run on record
        sys.exit(1)


@click.group("directory")
def directory() -> None:
    """The company directory."""


@directory.command("test")
@with_app(database=False)
def directory_test() -> None:
    """Bind, read a sample and show how attributes map to people."""
    source = _directory_or_exit()
    try:
        source.check()
        sample = []
        for entry in source.all_entries(page_size=50):
            sample.append(entry)
            if len(sample) == 5:
                break
    except DirectoryError as exc:
        raise click.ClickException(f"the directory could not be read: {exc}") from None
    click.echo(f"bound and read the {source.source} directory; a sample of {len(sample)}:")
    for entry in sample:
        state = "active" if entry.active else "leaver: " + ", ".join(entry.leaver_signals)
        click.echo(f"  {entry.key}  {entry.username}  {entry.display_name}  {entry.email or '-'}  manager={entry.manager_key or '-'}  [{state}]")


@directory.command("watch")
@click.option("--interval", type=click.FloatRange(0.2, 60), default=None, metavar="SECONDS",
              help="How often to look at the accesslog for a new write (default GOVERN_LDAP_WATCH_INTERVAL_SECONDS, 1).")
@click.option("--once", is_flag=True, help="Look once (and sync if anything changed since the stored cursor), then exit.")
@with_app
def directory_watch(interval: float | None, once: bool) -> None:
    """Apply OpenLDAP's changes within seconds: watch the accesslog and run the incremental sync when it moves.

    Runs until stopped (Ctrl-C or SIGTERM). Each change goes through the same incremental sync as the schedule
    (the same cursor, mass-departure hold and audit); the minute schedule and the nightly full sync stay on as the
    safety net. When the directory is down it retries with backoff and resumes from the stored cursor, so a change
    made while it was down or stopped is applied on its return. Active Directory is not watched: it stays on the
    schedule.
    """
    from govern.directory.watch import WatchUnsupported, committed_sync, watch

    source = _directory_or_exit()
    settings = app_services.settings()
    stop = threading.Event()
    if once:
        stop.set()  # the loop looks once before it checks the event
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    every = interval or settings.ldap_watch_interval_seconds

    def ready() -> None:
        click.echo(f"caught up; watching the {source.source} directory every {every:g} s (Ctrl-C stops)")

    try:
        state = watch(source, committed_sync(current_app._get_current_object(), source), stop, interval=every,
                      on_ready=None if once else ready)
    except WatchUnsupported as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        state = None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if close := getattr(source, "close", None):
            close()
    if state is not None and state.failures:
        raise click.ClickException(f"the directory could not be synced ({state.failures} failures in a row); "
                                   "see the log and the sync runs")
    click.echo("stopped", err=True)
