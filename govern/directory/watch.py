"""The directory watcher: look at the directory's change mark every second and, when it moves, run the incremental sync.

The sync it runs is the scheduled one (the same cursor, holds, mass threshold and audit), so a change is applied
once whichever of the two sees it first; the watcher only makes it seconds instead of a minute. See decision 0079.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from govern.actor import Actor
from govern.adapters.directory import Directory, DirectoryError

log = structlog.get_logger("govern.directory.watch")

FAILED = "failed"
NOTHING = "nothing"  # the sync found nothing to do and kept no run
WATCH_ACTOR = Actor.system("directory-watch")


class WatchUnsupported(RuntimeError):
    """The directory offers no change mark to watch (Active Directory, or OpenLDAP without a readable accesslog)."""


@dataclass
class WatchState:
    """What the loop knows between looks: the mark last synced, failures in a row, syncs run (for tests and logs)."""

    mark: str | None = None
    failures: int = 0
    syncs: int = 0


def backoff_seconds(failures: int, interval: float, ceiling: float = 30.0) -> float:
    """interval, 2x, 4x ... up to `ceiling`: a directory that is down is asked about less and less often."""
    return min(ceiling, interval * (2 ** max(0, failures - 1)))


def watch(directory: Directory, sync_once: Callable[[], str], stop: threading.Event, *, interval: float = 1.0,
          ceiling: float = 30.0, state: WatchState | None = None, on_ready: Callable[[], None] | None = None) -> WatchState:
    """Until `stop` is set (looking at least once): read the change mark; when it differs from the last synced one
    (or none was synced yet, which catches up on what changed while govern was down), call `sync_once()`, which runs
    one incremental sync in its own transaction and returns the run's status. Failures back off, never end the loop.

    The mark is read before the sync, so a write made during the sync moves it again and is synced next time.
    `on_ready` is called once, after the first look that succeeded (the catch-up is done)."""
    state = state or WatchState()
    first = True
    while True:
        try:
            mark = directory.change_mark()
            if mark is None:
                if first:
                    raise WatchUnsupported(
                        "this directory offers no change log govern can watch (OpenLDAP needs the accesslog overlay with "
                        "syncprov on cn=accesslog, readable by govern's account; Active Directory stays on the schedule)")
                raise DirectoryError("the accesslog's contextCSN is not readable any more")
            first = False
            if mark != state.mark or state.failures:
                status = sync_once()
                state.syncs += 1
                if status == FAILED:
                    raise DirectoryError("the incremental sync failed; see its run")
                state.mark = mark
            if on_ready is not None:
                on_ready()
                on_ready = None
            if state.failures:
                log.info("directory watch resumed", after_failures=state.failures)
            state.failures = 0
            delay = interval
        except WatchUnsupported:
            raise
        except Exception as exc:  # noqa: BLE001 - a long-running loop outlives a lost directory or database
            state.failures += 1
            delay = backoff_seconds(state.failures, interval, ceiling)
            log.warning("directory watch: retrying", error=f"{type(exc).__name__}: {exc}", failures=state.failures,
                        retry_in_seconds=round(delay, 1))
        if stop.wait(delay):
            return state


def start_watch_thread(directory: Directory, sync_once: Callable[[], str], *, interval: float = 1.0) -> threading.Event:
    """The watcher on a daemon thread; set() the returned event to stop it. An unsupported directory is logged once."""
    stop = threading.Event()

    def run() -> None:
        started = time.monotonic()
        try:
            watch(directory, sync_once, stop, interval=interval)
        except WatchUnsupported as exc:
            log.warning("directory watch not started", reason=str(exc), after_seconds=round(time.monotonic() - started, 1))

    threading.Thread(target=run, name="govern-directory-watch", daemon=True).start()
    return stop


def committed_sync(app, directory: Directory) -> Callable[[], str]:
    """One incremental sync in an app context and a transaction of its own, committed (or rolled back): the watcher's
    unit of work. Like a task, it owns its commit; the sync itself is the service's, which only flushes."""
    from govern.directory import service
    from govern.extensions import db

    def sync_once() -> str:
        with app.app_context():
            try:
                run = service.sync_incremental_from(db.session, WATCH_ACTOR, directory, keep_empty=False)
                db.session.commit()
                return NOTHING if run is None else run.status.value
            except BaseException:
                db.session.rollback()
                raise

    return sync_once
