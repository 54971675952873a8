"""The SIEM stream's sinks: each event one JSON line, in order, to a file or to syslog over UDP."""

from __future__ import annotations

import json
import socket

from govern.audit.stream import Cursor, open_sink, ship
from govern.audit.service import record


def test_syslog_sink_sends_one_datagram_per_event_in_order(session, actor):
    for n in range(3):
        record(session, actor, "tests:thing:touch", "thing", n, note="حدث")
    session.flush()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        sink = open_sink(f"syslog://127.0.0.1:{receiver.getsockname()[1]}")
        head = ship(session, sink, 0)
        sink.close()
        datagrams = [receiver.recv(65535).decode() for _ in range(head)]
    events = [json.loads(d[d.index("{"):].rstrip("\x00")) for d in datagrams]
    assert [e["seq"] for e in events] == list(range(1, head + 1))
    assert datagrams[0].startswith("<38>govern-audit: ")  # facility auth, severity info
    assert events[-1]["summary"]["note"] == "حدث" and events[-1]["prev_hash"] == events[-2]["hash"]


def test_the_cursor_resumes_after_the_last_shipped_event(session, actor, tmp_path):
    for n in range(2):
        record(session, actor, "tests:thing:touch", "thing", n)
    session.flush()
    cursor = Cursor(tmp_path / "cursor")
    target = tmp_path / "out.jsonl"
    sink = open_sink(f"file:{target}")
    last = ship(session, sink, cursor.read(), on_batch=cursor.write)
    record(session, actor, "tests:thing:touch", "thing", 3)
    session.flush()
    ship(session, sink, cursor.read(), on_batch=cursor.write)
    sink.close()
    seqs = [json.loads(line)["seq"] for line in target.read_text().splitlines()]
    assert seqs == list(range(1, last + 2)) and cursor.read() == last + 1
