"""Legal holds: placed and released with a reason and an audit event; while one names a kind, the purge spares it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from govern.audit.models import LegalHold
from govern.audit.service import AuditUnavailable
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.retention import service
from tests.unit.retention.conftest import DELETABLE_KINDS, audit_events, exists


def _old_row_of_each_kind(rows) -> dict[str, int]:
    return {kind: rows.build(kind, rows.cutoff(kind) - timedelta(days=1)).id for kind in DELETABLE_KINDS}


def test_a_hold_on_a_kind_spares_it_and_only_it(session, actor, rows, now):
    old = _old_row_of_each_kind(rows)
    hold = service.place_hold(session, actor, "Matter 42", ["notifications"], "litigation with Example Corp")

    outcomes = {outcome.kind: outcome for outcome in service.purge(session, actor, now, False, {})}

    held = outcomes["notifications"]
    assert (held.outcome, held.count, held.eligible, held.held_by) == ("held", 0, 1, [hold.id])
    assert held.reason == f"held by legal hold #{hold.id} 'Matter 42'"
    assert exists(session, "notifications", old["notifications"])
    for kind in DELETABLE_KINDS[1:]:
        assert outcomes[kind].outcome == "deleted" and not exists(session, kind, old[kind]), kind
    assert "notifications" not in [event.target_id for event in audit_events(session, "retention:data:purge")]


def test_a_hold_on_every_kind_spares_them_all(session, actor, rows, now):
    old = _old_row_of_each_kind(rows)
    service.place_hold(session, actor, "Regulator inquiry", ["*"], "preserve everything")

    outcomes = service.purge(session, actor, now, False, {})

    assert {outcome.kind: outcome.outcome for outcome in outcomes if outcome.kind in DELETABLE_KINDS} == dict.fromkeys(DELETABLE_KINDS, "held")
    assert all(exists(session, kind, row_id) for kind, row_id in old.items())
    assert audit_events(session, "retention:data:purge") == []


def test_releasing_the_hold_lets_the_next_purge_delete(session, actor, rows, now):
    old = rows.notification(rows.cutoff("notifications") - timedelta(days=1)).id
    hold = service.place_hold(session, actor, "Matter 42", ["notifications", "sync_runs"], "litigation")
    service.purge(session, actor, now, False, {})
    assert exists(session, "notifications", old)

    service.release_hold(session, actor, hold.id, "the matter settled")
    outcome = {o.kind: o for o in service.purge(session, actor, now, False, {})}["notifications"]

    assert (outcome.outcome, outcome.count) == ("deleted", 1)
    assert not exists(session, "notifications", old)


def test_a_dry_run_reports_the_hold_too(session, actor, rows, now):
    rows.notification(rows.cutoff("notifications") - timedelta(days=1))
    hold = service.place_hold(session, actor, "Matter 7", ["notifications"], "litigation")
    outcome = {o.kind: o for o in service.purge(session, actor, now, True, {})}["notifications"]
    assert (outcome.outcome, outcome.held_by, outcome.eligible) == ("held", [hold.id], 1)


def test_placing_and_releasing_are_audited_with_the_reason(session, actor):
    hold = service.place_hold(session, actor, "  Matter 42 ", ["sync_runs", "notifications", "sync_runs"], " litigation ")
    assert (hold.name, hold.data_kinds, hold.reason, hold.placed_by) == ("Matter 42", ["sync_runs", "notifications"], "litigation", actor.id)
    [placed] = audit_events(session, "retention:legal_hold:place")
    assert placed.target_id == str(hold.id)
    assert placed.summary["after"] == {"name": "Matter 42", "data_kinds": ["sync_runs", "notifications"]}
    assert placed.summary["reason"] == "litigation"

    service.release_hold(session, actor, hold.id, "settled out of court")
    assert hold.released_by == actor.id and hold.released_at is not None
    [released] = audit_events(session, "retention:legal_hold:release")
    assert released.target_id == str(hold.id) and released.summary["reason"] == "settled out of court"


def test_star_with_other_kinds_is_just_star(session, actor):
    assert service.place_hold(session, actor, "All", ["notifications", "*"], "everything").data_kinds == ["*"]


@pytest.mark.parametrize("name, kinds, reason, message", [
    ("Matter", ["notifications", "tweets"], "litigation", "unknown data kinds tweets"),
    ("Matter", [], "litigation", "at least one data kind"),
    ("Matter", [" "], "litigation", "at least one data kind"),
    ("Matter", ["notifications"], "  ", "reason of at least 3"),
    ("Matter", ["notifications"], "x" * 2001, "longer than 2000"),
    ("", ["notifications"], "litigation", "name of 1 to 200"),
])
def test_a_bad_hold_is_refused_and_nothing_is_placed(session, actor, name, kinds, reason, message):
    with pytest.raises(InvalidOperation, match=message):
        service.place_hold(session, actor, name, kinds, reason)
    assert session.scalar(select(func.count()).select_from(LegalHold)) == 0


def test_releasing_needs_a_reason_an_existing_hold_and_only_once(session, actor):
    hold = service.place_hold(session, actor, "Matter", ["notifications"], "litigation")
    with pytest.raises(InvalidOperation, match="reason"):
        service.release_hold(session, actor, hold.id, "")
    assert hold.released_at is None
    with pytest.raises(NotFound):
        service.release_hold(session, actor, hold.id + 1000, "done")
    service.release_hold(session, actor, hold.id, "done")
    with pytest.raises(Conflict, match="already released"):
        service.release_hold(session, actor, hold.id, "done again")


def test_a_hold_whose_audit_event_cannot_be_written_is_not_placed(session, actor, monkeypatch):
    def fail(*args, **kwargs):
        raise AuditUnavailable("the audit chain head is missing")

    monkeypatch.setattr(service, "record", fail)
    with pytest.raises(AuditUnavailable):
        service.place_hold(session, actor, "Matter", ["notifications"], "litigation")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(LegalHold)) == 0


def test_list_holds_newest_first_and_active_only(session, actor, now):
    first = service.place_hold(session, actor, "First", ["notifications"], "litigation", now=now - timedelta(days=2))
    second = service.place_hold(session, actor, "Second", ["*"], "litigation", now=now - timedelta(days=1))
    service.release_hold(session, actor, first.id, "done")
    assert [hold.id for hold in service.list_holds(session)] == [second.id, first.id]
    assert [hold.id for hold in service.list_holds(session, active_only=True)] == [second.id]
