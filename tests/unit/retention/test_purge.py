"""The purge: rows past their kind's cutoff go, everything else stays, and every deletion is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from govern.audit.models import AuditEvent
from govern.audit.service import AuditUnavailable
from govern.audit.trail import verify_chain
from govern.directory.models import SyncStatus
from govern.outbox.models import JobState
from govern.policy.workflow_models import ViolationStatus
from govern.publishing.models import ApprovalStatus
from govern.retention import service
from govern.retention.kinds import AUDIT_EVENTS, KNOWN_KINDS
from tests.unit.retention.conftest import DELETABLE_KINDS, TICK, audit_events, exists


def _by_kind(outcomes):
    return {outcome.kind: outcome for outcome in outcomes}


@pytest.mark.parametrize("kind", DELETABLE_KINDS)
def test_rows_older_than_the_cutoff_go_and_the_row_at_the_cutoff_stays(session, actor, rows, now, kind):
    cutoff = rows.cutoff(kind)
    old = rows.build(kind, cutoff - TICK).id
    at_cutoff = rows.build(kind, cutoff).id
    recent = rows.build(kind, now - timedelta(days=1)).id

    outcome = _by_kind(service.purge(session, actor, now, False, {}))[kind]

    assert (outcome.outcome, outcome.count, outcome.eligible, outcome.cutoff) == ("deleted", 1, 1, cutoff)
    assert not exists(session, kind, old)
    assert exists(session, kind, at_cutoff) and exists(session, kind, recent)


def test_rows_still_in_use_are_kept_however_old(session, actor, rows, now):
    ancient = now - timedelta(days=3650)
    kept = {
        "notifications": rows.notification(ancient, read=False).id,
        "sync_runs": rows.sync_run(ancient, status=SyncStatus.HELD).id,
        "policy_violations": rows.violation(ancient, status=ViolationStatus.ASSIGNED).id,
        "policy_approvals": rows.approval(ancient, status=ApprovalStatus.PENDING).id,
        "jobs": rows.job(ancient, state=JobState.DELIVERED).id,  # not run yet: it must still run
    }
    running = rows.sync_run(ancient, status=SyncStatus.RUNNING).id

    outcomes = _by_kind(service.purge(session, actor, now, False, {}))

    for kind, row in kept.items():
        assert exists(session, kind, row), kind
        assert outcomes[kind].count == 0
    assert exists(session, "sync_runs", running)


def test_configured_retention_moves_the_cutoff(session, actor, rows, now):
    forty_days_old = rows.notification(now - timedelta(days=40)).id
    outcomes = _by_kind(service.purge(session, actor, now, False, {"notifications": 30}))
    assert outcomes["notifications"].retention_days == 30
    assert outcomes["notifications"].cutoff == now - timedelta(days=30)
    assert not exists(session, "notifications", forty_days_old)


def test_each_kind_that_lost_rows_writes_one_audit_event_with_its_count(session, actor, rows, now):
    for _ in range(3):
        rows.notification(rows.cutoff("notifications") - timedelta(days=1))
    rows.sync_run(rows.cutoff("sync_runs") - timedelta(days=1))

    service.purge(session, actor, now, False, {})

    events = audit_events(session, "retention:data:purge")
    assert [(event.target_id, event.summary["count"]) for event in events] == [("notifications", 3), ("sync_runs", 1)]
    first = events[0]
    assert first.actor == actor.id and first.target_type == "data_kind"
    assert first.summary["kind"] == "notifications"
    assert first.summary["cutoff"] == rows.cutoff("notifications").isoformat()
    assert first.summary["retention_days"] == 365


def test_a_dry_run_deletes_nothing_and_records_nothing(session, actor, rows, now):
    old = rows.notification(rows.cutoff("notifications") - timedelta(days=1)).id
    events_before = session.scalar(select(func.count()).select_from(AuditEvent))

    outcome = _by_kind(service.purge(session, actor, now, True, {}))["notifications"]

    assert (outcome.outcome, outcome.count, outcome.eligible) == ("would_delete", 1, 1)
    assert exists(session, "notifications", old)
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_if_the_audit_event_cannot_be_written_nothing_is_deleted(session, actor, rows, now, monkeypatch):
    notification = rows.notification(rows.cutoff("notifications") - timedelta(days=1)).id
    sync_run = rows.sync_run(rows.cutoff("sync_runs") - timedelta(days=1)).id
    session.commit()  # the rows exist before the purge's transaction starts
    written = []

    def record_then_fail(*args, **kwargs):
        if written:  # the first kind's event goes in; the second kind's cannot be written
            raise AuditUnavailable("the audit chain head is missing")
        written.append(kwargs)

    monkeypatch.setattr(service, "record", record_then_fail)
    with pytest.raises(AuditUnavailable):
        service.purge(session, actor, now, False, {})
    session.rollback()

    assert written and written[0]["kind"] == "notifications"
    assert exists(session, "notifications", notification)
    assert exists(session, "sync_runs", sync_run)


def test_deletes_in_bounded_batches_and_the_next_run_carries_on(session, actor, rows, now):
    old = [rows.notification(rows.cutoff("notifications") - timedelta(days=day)).id for day in range(1, 6)]

    first = _by_kind(service.purge(session, actor, now, False, {}, batch_rows=2, max_batches=2))["notifications"]
    assert (first.count, first.eligible, first.more) == (4, 5, True)
    assert sum(exists(session, "notifications", row) for row in old) == 1

    second = _by_kind(service.purge(session, actor, now, False, {}, batch_rows=2, max_batches=2))["notifications"]
    assert (second.count, second.more) == (1, False)
    assert [event.summary["count"] for event in audit_events(session, "retention:data:purge")] == [4, 1]


def test_audit_events_are_never_deleted_and_the_chain_still_verifies(session, actor, rows, now):
    rows.notification(now - timedelta(days=400))
    seqs_before = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    events_before = len(seqs_before)
    assert events_before > 0
    eight_years_on = now + timedelta(days=8 * 365)  # every event written so far is past its minimum

    outcomes = _by_kind(service.purge(session, actor, eight_years_on, False, {}))

    audit = outcomes[AUDIT_EVENTS]
    assert audit.outcome == "kept" and audit.count == 0
    assert audit.eligible == events_before + 1  # and the notifications purge's own event, written just before
    assert audit.reason == "kept (minimum retention 7 years; archive through the SIEM stream and evidence bundles)"
    assert outcomes["notifications"].count == 1
    seqs_after = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
    assert seqs_after[:events_before] == seqs_before and len(seqs_after) == events_before + 1
    result = verify_chain(session)
    assert result.ok, result.first_break


def test_every_known_kind_is_reported(session, actor, now):
    outcomes = service.purge(session, actor, now, True, {})
    assert [outcome.kind for outcome in outcomes] == list(KNOWN_KINDS)


def test_now_must_be_timezone_aware(session, actor, now):
    with pytest.raises(ValueError, match="timezone-aware"):
        service.purge(session, actor, now.replace(tzinfo=None), True, {})
