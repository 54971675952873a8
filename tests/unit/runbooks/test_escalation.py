"""Escalating an incident to its runbook's next stage: by hand (API and console, en and ar), and automatically once a
stage's escalate_after_minutes have passed (the beat job's service, once even when two runs meet); the contacts told,
the timeline line and the audit event, and the refusals (last stage, closed, no permission, a bad note)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext, refresh

from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.db import utcnow
from govern.notifications.models import Notification
from govern.runbooks import service
from govern.runbooks.models import Incident
from tests import factories
from tests.support.console import signed_in_with_role
from tests.unit.runbooks.test_console import token_for
from tests.unit.runbooks.test_runbooks import create

ESCALATION = Actor.system("runbook-escalation")


@pytest.fixture
def people(session, actor):
    account = factories.account(session, actor, handle="acme_escalation")
    first, second, third = (factories.person(session, actor) for _ in range(3))
    session.commit()
    return account, first, second, third


def body(account_id, *stages, **overrides):
    return {"name": "Escalating crisis", "scope": {"type": "account", "value": account_id}, "severities": ["high"],
            "stages": [{"name": name, "contacts": [{"type": "person", "value": str(person.id)}], **extra}
                       for name, person, extra in stages],
            "pause_on_activate": False, **overrides}


def open_incident(client, headers, runbook):
    made = client.post(f"/api/v1/runbooks/{runbook['id']}/activate", json={"severity": "high", "reason": "a bad post"},
                       headers=headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def told(session, incident_id, kind):
    return session.scalars(sa.select(Notification.person_id).where(
        Notification.subject_type == "incident", Notification.subject_id == str(incident_id), Notification.kind == kind)
        .order_by(Notification.id)).all()


def audit_actions(session, incident_id):
    return session.scalars(sa.select(AuditEvent.action).where(AuditEvent.target_type == "incident",
                                                              AuditEvent.target_id == str(incident_id))
                           .order_by(AuditEvent.seq)).all()


def test_escalating_by_hand_tells_the_next_stage_once_and_stops_at_the_last(client, auth_headers, session, people):
    account, first, second, _third = people
    runbook = create(client, auth_headers(Role.GOVERNANCE),
                     body(account.id, ("First call", first, {}), ("Executives", second, {})))
    lead = auth_headers(Role.IT)
    incident = open_incident(client, lead, runbook)
    assert (incident["stage"], incident["stage_name"]) == (0, "First call")

    escalated = client.post(f"/api/v1/incidents/{incident['id']}/escalate", json={"note": "no answer in 10 minutes"},
                            headers=lead)
    assert escalated.status_code == 200, escalated.get_json()
    document = escalated.get_json()
    assert (document["stage"], document["stage_name"]) == (1, "Executives")
    assert told(session, incident["id"], "incident_escalated") == [second.id]
    assert told(session, incident["id"], "incident_opened") == [first.id]  # the first stage is not told again
    event = document["timeline"][-1]
    assert event["kind"] == "escalate" and event["label"] == "Escalated: the next stage's contacts notified"
    assert event["details"]["stage"] == "Executives" and event["details"]["contacts"] == 1
    assert event["details"]["note"] == "no answer in 10 minutes" and event["details"]["automatic"] is False
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "runbooks:incident:escalate"))
    assert audit.target_id == str(incident["id"]) and audit.actor.startswith("api_client:")
    assert audit.summary["stage_name"] == "Executives" and audit.summary["automatic"] is False

    last = client.post(f"/api/v1/incidents/{incident['id']}/escalate", json={}, headers=lead)
    assert last.status_code == 409 and last.mimetype == "application/problem+json"
    assert last.get_json()["code"] == "last-stage"
    session.expire_all()
    assert session.get(Incident, incident["id"]).stage == 1
    assert told(session, incident["id"], "incident_escalated") == [second.id]
    assert audit_actions(session, incident["id"]).count("runbooks:incident:escalate") == 1
    assert [e["kind"] for e in client.get(f"/api/v1/incidents/{incident['id']}", headers=lead).get_json()["timeline"]
            ].count("escalate") == 1


def test_a_closed_incident_is_not_escalated(client, auth_headers, session, people):
    account, first, second, _third = people
    runbook = create(client, auth_headers(Role.GOVERNANCE), body(account.id, ("One", first, {}), ("Two", second, {})))
    lead = auth_headers(Role.GOVERNANCE)
    incident = open_incident(client, lead, runbook)
    assert client.post(f"/api/v1/incidents/{incident['id']}/close", json={}, headers=lead).status_code == 200
    refused = client.post(f"/api/v1/incidents/{incident['id']}/escalate", json={}, headers=lead)
    assert refused.status_code == 409 and refused.get_json()["code"] == "incident-closed"
    assert told(session, incident["id"], "incident_escalated") == []
    missing = client.post("/api/v1/incidents/999999/escalate", json={}, headers=lead)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_escalating_needs_incidents_lead_and_a_short_note(client, auth_headers, session, people):
    account, first, second, _third = people
    runbook = create(client, auth_headers(Role.GOVERNANCE), body(account.id, ("One", first, {}), ("Two", second, {})))
    incident = open_incident(client, auth_headers(Role.ADMIN), runbook)
    url = f"/api/v1/incidents/{incident['id']}/escalate"
    assert client.post(url, json={}, headers=auth_headers(Role.AUDITOR)).status_code == 403
    for bad in ({"note": "x" * 2001}, {"note": 12}):
        refused = client.post(url, json=bad, headers=auth_headers(Role.ADMIN))
        # an invalid field is 422 across this API (schema validation), as close's note is
        assert refused.status_code == 422 and refused.mimetype == "application/problem+json", refused.get_json()
        assert "note" in str(refused.get_json().get("errors"))
    session.expire_all()
    assert session.get(Incident, incident["id"]).stage == 0
    assert told(session, incident["id"], "incident_escalated") == []


def test_a_stage_escalates_itself_after_its_minutes_once(client, auth_headers, session, people):
    account, first, second, third = people
    runbook = create(client, auth_headers(Role.GOVERNANCE), body(
        account.id, ("First call", first, {"escalate_after_minutes": 15}),
        ("Executives", second, {"escalate_after_minutes": 30}), ("Board", third, {})))
    assert [stage.get("escalate_after_minutes") for stage in runbook["stages"]] == [15, 30, None]
    incident = open_incident(client, auth_headers(Role.IT), runbook)
    opened = utcnow()

    assert service.escalate_due(session, ESCALATION, now=opened + timedelta(minutes=14)) == 0
    later = opened + timedelta(minutes=16)
    assert service.escalate_due(session, ESCALATION, now=later) == 1
    session.commit()
    assert service.escalate_due(session, ESCALATION, now=later) == 0  # a second run at the same moment: nothing
    session.commit()
    row = session.get(Incident, incident["id"])
    assert row.stage == 1 and told(session, incident["id"], "incident_escalated") == [second.id]
    [event] = [e for e in row.timeline if e.kind == "escalate"]
    assert event.details["automatic"] is True and event.details["stage"] == "Executives"
    assert event.actor_id == "system:runbook-escalation"
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "runbooks:incident:escalate"))
    assert audit.actor == "system:runbook-escalation" and audit.summary["automatic"] is True

    # the second stage waits its own 30 minutes from when it was reached, then the board is told; the last stage stays
    assert service.escalate_due(session, ESCALATION, now=later + timedelta(minutes=29)) == 0
    assert service.escalate_due(session, ESCALATION, now=later + timedelta(minutes=31)) == 1
    session.commit()
    assert service.escalate_due(session, ESCALATION, now=later + timedelta(days=3)) == 0
    session.commit()
    session.expire_all()
    assert session.get(Incident, incident["id"]).stage == 2
    assert told(session, incident["id"], "incident_escalated") == [second.id, third.id]


def test_a_stage_without_minutes_never_escalates_itself_nor_a_closed_incident(client, auth_headers, session, people):
    account, first, second, _third = people
    governance = auth_headers(Role.GOVERNANCE)
    by_hand = create(client, governance, body(account.id, ("One", first, {}), ("Two", second, {})))
    timed = create(client, governance, body(account.id, ("One", first, {"escalate_after_minutes": 1}),
                                            ("Two", second, {}), name="Timed"))
    waiting = open_incident(client, governance, by_hand)
    closed = open_incident(client, governance, timed)
    assert client.post(f"/api/v1/incidents/{closed['id']}/close", json={}, headers=governance).status_code == 200
    assert service.escalate_due(session, ESCALATION, now=utcnow() + timedelta(days=30)) == 0
    session.commit()
    session.expire_all()
    assert session.get(Incident, waiting["id"]).stage == 0 and session.get(Incident, closed["id"]).stage == 0
    assert told(session, waiting["id"], "incident_escalated") == [] == told(session, closed["id"], "incident_escalated")


def test_the_due_incidents_are_locked_skipping_those_another_run_holds(client, auth_headers, session, people):
    """Each test runs in one rolled-back transaction, so no second connection can see (and lock) its rows: the test
    looks at the statement PostgreSQL is sent instead; the re-check under the lock is what the test above proves."""
    account, first, second, _third = people
    runbook = create(client, auth_headers(Role.GOVERNANCE),
                     body(account.id, ("One", first, {"escalate_after_minutes": 5}), ("Two", second, {})))
    open_incident(client, auth_headers(Role.GOVERNANCE), runbook)
    sent: list[str] = []

    def remember(_conn, _cursor, statement, *_args):
        sent.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        assert service.escalate_due(session, ESCALATION, now=utcnow() + timedelta(minutes=6)) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    locking = [statement for statement in sent if "FOR UPDATE" in statement and "FROM incidents" in statement]
    if engine.dialect.name == "postgresql":
        assert locking and "SKIP LOCKED" in locking[0] and "FOR UPDATE OF incidents" in locking[0], sent


@pytest.mark.parametrize("field, value", [("escalate_after_minutes", 0), ("escalate_after_minutes", 1441),
                                          ("escalate_after_minutes", "15")])
def test_a_bad_waiting_time_is_refused(client, auth_headers, people, field, value):
    account, first, second, _third = people
    refused = client.post("/api/v1/runbooks", json=body(account.id, ("One", first, {field: value}), ("Two", second, {})),
                          headers=auth_headers(Role.GOVERNANCE))
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"


def test_the_service_checks_the_waiting_time_too(session, actor, people):
    account, first, _second, _third = people
    from govern.errors import InvalidOperation

    for value in (0, 1441, True, "5"):
        with pytest.raises(InvalidOperation):
            service.create_runbook(session, actor, None, body(account.id, ("One", first, {"escalate_after_minutes": value})))
    session.rollback()


def test_the_escalation_job_is_scheduled(app):
    schedule = {entry["task"]: entry["schedule"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    assert schedule["govern.runbooks.escalate_due"] <= 60
    assert "govern.runbooks.escalate_due" in app.extensions["celery"].tasks


@pytest.mark.parametrize("locale, button, direction", [("en", "Escalate to", "ltr"), ("ar", "التصعيد إلى", "rtl")])
def test_the_console_escalates_from_the_incident_page(app, client, auth_headers, session, people, locale, button,
                                                      direction):
    account, first, second, _third = people
    runbook = create(client, auth_headers(Role.GOVERNANCE),
                     body(account.id, ("First call", first, {}), ("Executives", second, {})))
    incident = open_incident(client, auth_headers(Role.GOVERNANCE), runbook)
    page_url, action = f"/incidents/{incident['id']}", f"/incidents/{incident['id']}/escalate"

    auditor = signed_in_with_role(app, session, Role.AUDITOR)
    assert action not in auditor.get(page_url).get_data(as_text=True)  # readers see the stage, not the button

    lead = signed_in_with_role(app, session, Role.IT)
    with lead.session_transaction() as cookie:
        cookie["locale"] = locale
    refresh()  # the requests share the test's app context: forget the auditor's locale cached there
    page = lead.get(page_url).get_data(as_text=True)
    assert f'<html lang="{locale}" dir="{direction}">' in page
    assert action in page and button in page and "Executives" in page and 'id="incident-stage"' in page
    with force_locale(locale):
        stage_word = gettext("Stage")
    assert stage_word in page and (locale == "en" or stage_word != "Stage")

    asked = lead.post(action, data={"csrf_token": token_for(lead, page_url)})
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
    assert told(session, incident["id"], "incident_escalated") == []
    assert lead.post(action, data={"confirmed": "1"}).status_code == 400  # no CSRF token, no escalation
    done = lead.post(action, data={"csrf_token": token_for(lead, page_url), "confirmed": "1", "reason": "no answer"})
    assert done.status_code == 302, done.get_data(as_text=True)[-2000:]
    assert told(session, incident["id"], "incident_escalated") == [second.id]
    after = lead.get(page_url).get_data(as_text=True)
    assert action not in after and "no answer" in after  # at the last stage: no button; the note is on the timeline
    again = lead.post(action, data={"csrf_token": token_for(lead, page_url), "confirmed": "1"})
    assert again.status_code == 409
    assert told(session, incident["id"], "incident_escalated") == [second.id]


def test_the_editor_keeps_a_stage_waiting_time(app, session, people):
    from tests.unit.runbooks.test_editor_console import _form

    account, _first, _second, _third = people
    writer = signed_in_with_role(app, session, Role.GOVERNANCE)
    bad = writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id,
                                                  stage1_people="", stage1_escalate_after="soon"))
    assert bad.status_code == 400 and 'id="stage1_escalate_after"' in bad.get_data(as_text=True)
    made = writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id, stage1_people="",
                                                   stage1_escalate_after="20"))
    assert made.status_code == 302, made.get_data(as_text=True)[-2000:]
    from govern.runbooks.models import Runbook

    runbook = session.scalar(sa.select(Runbook).where(Runbook.name == "Editor crisis"))
    assert [stage.get("escalate_after_minutes") for stage in runbook.stages] == [20, None]
    edit_url = f"/runbooks/{runbook.id}/edit"
    assert 'value="20"' in writer.get(edit_url).get_data(as_text=True)
