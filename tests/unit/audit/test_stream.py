"""The SIEM stream's sinks and cursor: each event one JSON line, in order, to a file or to syslog over UDP, resuming
from the sink's cursor row in the database."""

from __future__ import annotations

import json
import socket

import sqlalchemy as sa

from govern.audit.models import AuditStreamCursor
from govern.audit.stream import open_sink, ship
from govern.audit.service import record


def test_syslog_sink_sends_one_datagram_per_event_in_order(session, actor):
    for n in range(3):
        record(session, actor, "tests:thing:touch", "thing", n, note="حدث")
    session.flush()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        target = f"syslog://127.0.0.1:{receiver.getsockname()[1]}"
        sink = open_sink(target)
        head = ship(session, target, sink, session.flush)
        sink.close()
        datagrams = [receiver.recv(65535).decode() for _ in range(head)]
    events = [json.loads(d[d.index("{"):].rstrip("\x00")) for d in datagrams]
    assert [e["seq"] for e in events] == list(range(1, head + 1))
    assert datagrams[0].startswith("<38>govern-audit: ")  # facility auth, severity info
    assert events[-1]["summary"]["note"] == "حدث" and events[-1]["prev_hash"] == events[-2]["hash"]


def _cursor(session, target: str) -> int:
    return session.scalar(sa.select(AuditStreamCursor.last_seq).where(AuditStreamCursor.sink == target))


def test_the_cursor_resumes_after_the_last_shipped_event(session, actor, tmp_path):
    for n in range(2):
        record(session, actor, "tests:thing:touch", "thing", n)
    session.flush()
    target = f"file:{tmp_path / 'out.jsonl'}"
    sink = open_sink(target)
    last = ship(session, target, sink, session.flush)
    record(session, actor, "tests:thing:touch", "thing", 3)
    session.flush()
    ship(session, target, sink, session.flush)
    sink.close()
    seqs = [json.loads(line)["seq"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert seqs == list(range(1, last + 2)) and _cursor(session, target) == last + 1
    other = f"file:{tmp_path / 'other.jsonl'}"
    assert ship(session, other, open_sink(other), session.flush) == last + 1  # each sink has its own cursor


def test_an_old_file_cursor_is_taken_once_and_only_if_it_fits_this_database(session, actor, tmp_path):
    for n in range(4):
        record(session, actor, "tests:thing:touch", "thing", n)
    session.flush()
    head = session.scalar(sa.text("SELECT last_seq FROM audit_chain_head"))
    legacy = tmp_path / "audit-stream.cursor"
    legacy.write_text(str(head + 1000))  # from another database: ignored, everything is shipped
    first = f"file:{tmp_path / 'first.jsonl'}"
    ship(session, first, open_sink(first), session.flush, legacy_file=legacy)
    assert json.loads((tmp_path / "first.jsonl").read_text().splitlines()[0])["seq"] == 1
    session.execute(sa.delete(AuditStreamCursor))
    legacy.write_text(str(head - 2))
    second = f"file:{tmp_path / 'second.jsonl'}"
    ship(session, second, open_sink(second), session.flush, legacy_file=legacy)
    assert [json.loads(line)["seq"] for line in (tmp_path / "second.jsonl").read_text().splitlines()] == [head - 1, head]
    third = f"file:{tmp_path / 'third.jsonl'}"  # a later sink starts from 0: the file was taken once, by the first row
    ship(session, third, open_sink(third), session.flush, legacy_file=legacy)
    assert json.loads((tmp_path / "third.jsonl").read_text().splitlines()[0])["seq"] == 1
