"""Shipping audit events to a SIEM as JSON lines (stdout, a file, or syslog), in order, from a saved cursor.

Events are read back from the committed chain, never from the write path: a rolled-back change is never shipped,
and a sink that is down delays shipping without touching the changes themselves. Each line carries the event's
hash and prev_hash, so the SIEM copy can be verified on its own. Delivery is at least once: the cursor moves only
after a batch is written.
"""

from __future__ import annotations

import logging.handlers
import socket
import sys
from pathlib import Path
from typing import Callable, Protocol
from urllib.parse import urlparse

import orjson
from sqlalchemy.orm import Session

from govern.audit.checkpoints import stored_events
from govern.audit.models import AuditChainHead

BATCH = 5000


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


class Cursor:
    """The last seq shipped, in a small file beside the instance data."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def read(self) -> int:
        try:
            return int(self._path.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def write(self, seq: int) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(str(seq))
        temporary.replace(self._path)


def ship(session: Session, sink: Sink, after_seq: int, on_batch: Callable[[int], None] = lambda seq: None) -> int:
    """Write every committed event after `after_seq` to the sink; returns the last seq shipped."""
    head = session.get(AuditChainHead, 1)
    last = head.last_seq if head else 0
    shipped = after_seq
    while shipped < last:
        batch = [orjson.dumps(event.as_json()) for event in stored_events(session, shipped + 1, min(shipped + BATCH, last))]
        if not batch:
            break
        sink.write(batch)
        shipped = min(shipped + BATCH, last)
        on_batch(shipped)
    return shipped
