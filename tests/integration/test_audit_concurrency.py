"""Many transactions appending audit events at once still form one unbroken chain."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from govern.audit.models import AuditEvent
from govern.actor import Actor
from govern.audit.service import record
from govern.audit.trail import verify_chain
from govern.extensions import db

WRITERS, EVENTS_EACH = 8, 25


def test_concurrent_writers_extend_one_gapless_chain(make_committed_app):
    app = make_committed_app()
    start, failures = threading.Barrier(WRITERS), []

    def writer(number: int) -> None:
        with app.app_context():
            start.wait()
            try:
                for event in range(EVENTS_EACH):
                    record(db.session, Actor.system(f"writer{number}"), "tests:audit:append", "writer", number, event=event)
                    if event % 5 == 4:
                        db.session.rollback()  # a change that failed: its events must leave no gap
                    else:
                        db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with app.app_context():
        seqs = db.session.scalars(sa.select(AuditEvent.seq).where(AuditEvent.action == "tests:audit:append")).all()
        result = verify_chain(db.session)
        all_seqs = db.session.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert failures == []
    assert len(seqs) == WRITERS * EVENTS_EACH * 4 // 5
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    assert result.ok, result.first_break
