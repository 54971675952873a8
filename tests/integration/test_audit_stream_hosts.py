"""Two hosts streaming the audit trail to one SIEM sink on one PostgreSQL database: every event shipped exactly once."""

from __future__ import annotations

import json
import threading

import pytest

from govern.audit import stream
from govern.actor import Actor
from govern.audit.service import record
from govern.extensions import db

pytestmark = pytest.mark.integration
EVENTS = 240


@pytest.fixture
def two_hosts(make_committed_app, tmp_path, monkeypatch):
    """Two apps (hosts) with instance folders of their own, one database, one sink."""
    monkeypatch.setattr(stream, "BATCH", 20)  # many batches, so the two hosts' rounds interleave
    sink = tmp_path / "siem" / "audit.jsonl"
    hosts = [make_committed_app(instance_path=tmp_path / f"host-{n}", audit_stream=f"file:{sink}") for n in (1, 2)]
    with hosts[0].app_context():
        for n in range(EVENTS):
            record(db.session, Actor.system("tests"), "tests:thing:touch", "thing", n)
        db.session.commit()
    return hosts, sink


def test_two_hosts_streaming_at_once_ship_every_event_exactly_once(two_hosts):
    from govern.audit.tasks import stream_to_siem

    hosts, sink = two_hosts
    start = threading.Barrier(len(hosts))
    failures: list[BaseException] = []

    def stream_rounds(host) -> None:
        try:
            with host.app_context():
                start.wait()
                for _ in range(4):
                    stream_to_siem()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=stream_rounds, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    with hosts[1].app_context():
        stream_to_siem()  # whatever a skipped round left behind
    shipped = [json.loads(line)["seq"] for line in sink.read_text().splitlines()]
    assert len(shipped) == len(set(shipped)), "an event was shipped twice"
    assert shipped == list(range(1, shipped[-1] + 1)) and shipped[-1] >= EVENTS
