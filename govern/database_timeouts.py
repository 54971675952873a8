"""Bounded waits on PostgreSQL: connect and pool timeouts, statement timeouts per web request or job, a watchdog, fail-fast."""

from __future__ import annotations

import itertools
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg
import structlog
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = structlog.get_logger("govern.database")

# A server that answers cancels a statement itself at statement_timeout; the watchdog only steps in this much later.
WATCHDOG_SLACK_SECONDS = 2.0
_IN_JOB: ContextVar[bool] = ContextVar("govern_database_in_job", default=False)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Seconds; a statement timeout of 0 means none (the server's own default applies)."""

    connect: float = 5.0
    web_statement: float = 15.0
    job_statement: float = 0.0
    pool: float = 5.0


@contextmanager
def job_scope() -> Iterator[None]:
    """Database calls in here are a job's (or the CLI's): they get the job statement timeout, even inside a request."""
    token = _IN_JOB.set(True)
    try:
        yield
    finally:
        _IN_JOB.reset(token)


def engine_options(url: str, timeouts: DatabaseTimeouts) -> dict[str, Any]:
    """create_engine() options that bound connecting and waiting for a pooled connection (PostgreSQL only)."""
    if not url.startswith("postgresql"):
        return {}  # SQLite is a local file: PRAGMA busy_timeout bounds its only wait, a lock
    # libpq counts whole seconds and treats anything under 2 as 2
    return {"connect_args": {"connect_timeout": max(2, math.ceil(timeouts.connect))}, "pool_timeout": timeouts.pool}


def install(engine: Engine, sessionmaker: Any, timeouts: DatabaseTimeouts, in_web_request: Callable[[], bool]) -> None:
    """Give web requests a server-side statement_timeout, put every wait for the server under the watchdog, and fail
    fast while the database is known to be down.

    statement_timeout is set per transaction (SET LOCAL), so it can never leak from a request into a job that
    reuses the pooled connection. It only works while the server runs: a frozen or unreachable server cancels
    nothing, and the client would wait forever. So every wait for the server (psycopg funnels each execute,
    fetch of a server-side cursor, commit and rollback through Connection.wait) is also armed on the watchdog,
    which shuts the socket down a little after the deadline; psycopg then fails at once and SQLAlchemy
    discards the connection.
    """
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    dialect = engine.dialect
    outage = Outage(dialect.loaded_dbapi.OperationalError)

    def statement_seconds() -> float:
        return timeouts.job_statement if _IN_JOB.get() or not in_web_request() else timeouts.web_statement

    def deadline() -> float | None:
        if (quick := _QUICK.get()) is not None:
            return quick
        seconds = statement_seconds()
        return seconds + WATCHDOG_SLACK_SECONDS if seconds else None

    @event.listens_for(sessionmaker, "after_begin")
    def _statement_timeout(_session, _transaction, connection) -> None:
        seconds = statement_seconds()
        if seconds:
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect, _record, cargs, cparams):
        connection = outage.attempt(WatchedConnection.connect, *cargs, mark_down_on_error=True, **cparams)
        connection.govern_deadline, connection.govern_outage = deadline, outage
        return connection

    # A ping or a rollback is instant on a server that answers: they get the connect timeout, whatever the context.
    # While the database is down, a pooled connection's ping waits only if no other caller is finding out already.
    ping, rollback = dialect.do_ping, dialect.do_rollback
    dialect.do_ping = partial(outage.attempt, _with_deadline(ping, timeouts.connect))
    dialect.do_rollback = _with_deadline(rollback, timeouts.connect)


_QUICK: ContextVar[float | None] = ContextVar("govern_database_quick_deadline", default=None)


def _with_deadline(call: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        token = _QUICK.set(seconds)
        try:
            return call(*args, **kwargs)
        finally:
            _QUICK.reset(token)

    return bounded


class WatchedConnection(psycopg.Connection):
    """psycopg's connection, with each wait for the server armed on the watchdog (install() sets the deadline)."""

    govern_deadline: Callable[[], float | None] | None = None
    govern_outage: Outage | None = None

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        seconds = self.govern_deadline() if self.govern_deadline else None
        if seconds is None:
            return super().wait(gen, *args, **kwargs)
        key = WATCHDOG.arm(self, seconds, self.govern_outage)
        try:
            return super().wait(gen, *args, **kwargs)
        finally:
            WATCHDOG.disarm(key)


class Outage:
    """Once the database has stopped answering, one caller at a time finds out whether it is back; the rest fail at once.

    Without this, every request that needs the database during an outage waits out a timeout, and a burst of
    them takes every thread for that long (the liveness probe, which needs a thread too, included). Marked down
    by a failed connect or a call the watchdog had to cut; up again by any connect or ping that succeeds.
    """

    def __init__(self, error: type[Exception]) -> None:
        self.down = False
        self._error = error
        self._probe = threading.Lock()

    def attempt(self, call: Callable[..., Any], *args: Any, mark_down_on_error: bool = False, **kwargs: Any) -> Any:
        probing = self.down
        if probing and not self._probe.acquire(blocking=False):
            raise self._error("the database is not answering; another request is finding out whether it is back")
        try:
            result = call(*args, **kwargs)
        except self._error:
            if mark_down_on_error and not self.down:
                log.error("database_down")
            self.down = self.down or mark_down_on_error
            raise
        finally:
            if probing:
                self._probe.release()
        if self.down:
            log.warning("database_back")
        self.down = False
        return result


class Watchdog:
    """One thread per process that shuts down the socket of a database call still running past its deadline."""

    POLL_SECONDS = 0.2

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:  # also in a forked child: the parent's thread and lock holder are not there
        self._lock = threading.Lock()
        self._armed: dict[int, tuple[float, float, Any, Outage | None]] = {}
        self._keys = itertools.count()
        self._thread_pid: int | None = None

    def arm(self, dbapi_connection: Any, seconds: float, outage: Outage | None) -> int:
        key = next(self._keys)
        with self._lock:
            self._armed[key] = (time.monotonic() + seconds, seconds, dbapi_connection, outage)
            if self._thread_pid != os.getpid():
                self._thread_pid = os.getpid()
                threading.Thread(target=self._watch, name="govern-database-watchdog", daemon=True).start()
        return key

    def disarm(self, key: int) -> None:
        with self._lock:
            self._armed.pop(key, None)

    def _watch(self) -> None:
        while True:
            time.sleep(self.POLL_SECONDS)
            now = time.monotonic()
            with self._lock:  # cut under the lock: once disarm() has returned, that call's connection is safe
                for key in [key for key, (deadline, *_) in self._armed.items() if deadline <= now]:
                    _, seconds, connection, outage = self._armed.pop(key)
                    log.error("database_call_cut", after_seconds=seconds)
                    if outage is not None:
                        outage.down = True
                    _shut_down(connection)


def _shut_down(dbapi_connection: Any) -> None:
    """Shut the connection's socket down (not close: psycopg owns the descriptor), which wakes the blocked caller."""
    try:
        descriptor = dbapi_connection.pgconn.socket
        with socket.socket(fileno=os.dup(descriptor)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # already closed, or not a psycopg connection: nothing is waiting on it
        pass


WATCHDOG = Watchdog()
os.register_at_fork(after_in_child=WATCHDOG._reset)
