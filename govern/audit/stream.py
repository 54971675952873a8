"""Shipping audit events to a SIEM as JSON lines (stdout, a file, or syslog), in order, from a cursor in the database.

Events are read back from the committed chain, never from the write path: a rolled-back change is never shipped,
and a sink that is down delays shipping without touching the changes themselves. Each line carries the event's
hash and prev_hash, so the SIEM copy can be verified on its own. Delivery is at least once: the cursor moves only
after a batch is written. The cursor is one row per sink, locked while a batch ships, so several hosts streaming to
the same sink never ship an event twice, and a cursor always belongs to the database whose events it counts.
"""

from __future__ import annotations

import logging.handlers
import socket
import sys
from pathlib import Path
from typing import Callable, Protocol
from urllib.parse import urlparse

import orjson
import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from govern.audit.trail import stored_events
from govern.audit.models import AuditChainHead, AuditStreamCursor
from govern.db import utcnow

BATCH = 5000
LEGACY_CURSOR_FILE = "audit-stream.cursor"  # where the cursor lived before it moved into the database
log = structlog.get_logger(__name__)


class Sink(Protocol):
    def write(self, lines: list[bytes]) -> None: ...

    def close(self) -> None: ...


class StdoutSink:
    def write(self, lines: list[bytes]) -> None:
        sys.stdout.buffer.write(b"".join(line + b"\n" for line in lines))
        sys.stdout.buffer.flush()

    def close(self) -> None:
        pass


class FileSink:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "ab")

    def write(self, lines: list[bytes]) -> None:
        self._handle.write(b"".join(line + b"\n" for line in lines))
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class SyslogSink:
    """RFC 3164 syslog through the standard library: the local socket, or UDP to host:port."""

    def __init__(self, address: str | tuple[str, int]) -> None:
        self._handler = logging.handlers.SysLogHandler(address=address, facility=logging.handlers.SysLogHandler.LOG_AUTH,
                                                       socktype=socket.SOCK_DGRAM)
        self._handler.ident = "govern-audit: "

    def write(self, lines: list[bytes]) -> None:
        for line in lines:
            self._handler.emit(logging.makeLogRecord({"msg": line.decode(), "levelno": logging.INFO, "levelname": "INFO"}))

    def close(self) -> None:
        self._handler.close()


def open_sink(target: str) -> Sink:
    """`stdout`, `file:/path`, `syslog` (the local /dev/log) or `syslog://host:port` (UDP)."""
    if target == "stdout":
        return StdoutSink()
    if target.startswith("file:"):
        return FileSink(Path(target.removeprefix("file:")))
    if target == "syslog":
        return SyslogSink("/dev/log" if Path("/dev/log").exists() else ("127.0.0.1", 514))
    if target.startswith("syslog://"):
        parsed = urlparse(target)
        return SyslogSink((parsed.hostname or "127.0.0.1", parsed.port or 514))
    raise ValueError(f"unknown audit stream target {target!r}; use stdout, file:/path, syslog or syslog://host:port")


def _head_seq(session: Session) -> int:
    return session.scalar(select(AuditChainHead.last_seq).where(AuditChainHead.id == 1)) or 0


def _legacy_start(session: Session, legacy_file: Path | None) -> int:
    """The last seq an old cursor file names, taken once: by the first cursor row made, and only if it can be this
    database's (a file cursor beyond the head came from another database)."""
    if legacy_file is None or session.scalar(select(func.count()).select_from(AuditStreamCursor)):
        return 0
    try:
        seq = int(legacy_file.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0
    head = _head_seq(session)
    if not 0 < seq <= head:
        log.warning("audit_stream_legacy_cursor_ignored", file=str(legacy_file), seq=seq, head=head)
        return 0
    log.info("audit_stream_legacy_cursor_taken", file=str(legacy_file), seq=seq)
    return seq


def claim_cursor(session: Session, sink_key: str, legacy_file: Path | None = None) -> AuditStreamCursor | None:
    """Lock the sink's cursor row (made the first time, at 0 or at the old file cursor); None while another host holds
    it, so that host goes on shipping and this one ships nothing twice."""
    if session.scalar(select(AuditStreamCursor.sink).where(AuditStreamCursor.sink == sink_key)) is None:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.execute(dialect.insert(AuditStreamCursor).values(
            sink=sink_key, last_seq=_legacy_start(session, legacy_file), updated_at=utcnow(),
        ).on_conflict_do_nothing(index_elements=["sink"]))
    return session.scalars(
        select(AuditStreamCursor).where(AuditStreamCursor.sink == sink_key)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).first()


def ship_batch(session: Session, cursor: AuditStreamCursor, sink: Sink) -> int:
    """Write the next batch of committed events after the (locked) cursor to the sink, then move the cursor; how many."""
    last = _head_seq(session)
    if cursor.last_seq >= last:
        return 0
    upto = min(cursor.last_seq + BATCH, last)
    batch = [orjson.dumps(event.as_json()) for event in stored_events(session, cursor.last_seq + 1, upto)]
    if batch:
        sink.write(batch)
    cursor.last_seq, cursor.updated_at = upto, utcnow()
    session.flush()
    return len(batch)


def ship(session: Session, sink_key: str, sink: Sink, commit: Callable[[], None], *, after_seq: int | None = None,
         legacy_file: Path | None = None) -> int | None:
    """Ship every committed event the sink has not had, one batch per claim of its cursor; `commit` (the entry
    point's) ends each batch's transaction, releasing the lock. Returns the last seq shipped, or None when another
    host held the cursor. `after_seq` moves the cursor first (re-ship from there, or skip ahead)."""
    shipped = None
    while True:
        cursor = claim_cursor(session, sink_key, legacy_file)
        if cursor is None:
            commit()
            return shipped
        if after_seq is not None:
            cursor.last_seq, after_seq = after_seq, None
        sent = ship_batch(session, cursor, sink)
        shipped = cursor.last_seq
        commit()
        if not sent:
            return shipped
