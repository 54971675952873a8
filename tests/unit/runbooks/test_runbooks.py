"""Crisis runbooks: writing one, second-person approval of its statements, activating it by hand (pause, notify,
incident) and from a crisis alert, ticking steps, closing, the post-incident report in Arabic, and the single-use
pause release a confirmed statement goes out by."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import select

from govern.alerts.service import AlertRules, InboundItem, record_inbound
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.db import utcnow
from govern.notifications.models import Notification
from govern.pauses import service as pauses
from govern.pauses.models import PauseRelease, PauseScope, PublishingPause
from govern.runbooks.models import Incident
from tests import factories
from tests.unit.alerts.test_rules import LEXICON


def runbook_body(account_id, contact_person_id, **overrides):
    return {
        "name": "Brand crisis on X", "description": "When a post goes wrong.",
        "scope": {"type": "account", "value": account_id},
        "severities": ["low", "high", "critical"],
        "stages": [{"name": "First call", "contacts": [{"type": "person", "value": str(contact_person_id)},
                                                       {"type": "email", "value": "pr-desk@example.com"}]},
                   {"name": "Escalate", "contacts": [{"type": "role", "value": "admin"}]}],
        "steps": [{"key": "legal", "title": "Call legal", "owner": {"type": "role", "value": "governance"}},
                  {"title": "Brief the CEO"}],
        "statements": [{"language": "en", "text": "We are aware of the issue and are looking into it."},
                       {"language": "ar", "network": "x", "text": "نحن على علم بالمشكلة ونعمل على حلها."}],
        **overrides,
    }


@pytest.fixture
def setup(session, actor):
    account = factories.account(session, actor, handle="acme_crisis")
    contact = factories.person(session, actor, display_name="سارة كوهين")
    session.commit()
    return account, contact


def create(client, headers, body):
    made = client.post("/api/v1/runbooks", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def test_create_read_update_and_second_person_approval(client, auth_headers, setup, session):
    account, contact = setup
    author, other = auth_headers(Role.GOVERNANCE), auth_headers(Role.ADMIN)
    runbook = create(client, author, runbook_body(account.id, contact.id))
    assert runbook["scope"] == {"type": "account", "value": str(account.id)}
    assert [step["key"] for step in runbook["steps"]] == ["legal", "step-2"]
    assert [s["approved"] for s in runbook["statements"]] == [False, False]
    assert client.get(f"/api/v1/runbooks/{runbook['id']}", headers=auth_headers(Role.AUDITOR)).status_code == 200
    assert [r["id"] for r in client.get("/api/v1/runbooks", headers=auth_headers(Role.IT)).get_json()] == [runbook["id"]]

    statement = runbook["statements"][0]["id"]
    url = f"/api/v1/runbooks/{runbook['id']}/statements/{statement}/approve"
    refused = client.post(url, headers=author)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "second-person-required"
    approved = client.post(url, headers=other)
    assert approved.status_code == 200 and approved.get_json()["approved"] is True
    assert client.post(url, headers=auth_headers(Role.GOVERNANCE)).status_code == 409  # already approved

    patched = client.patch(f"/api/v1/runbooks/{runbook['id']}", json={"auto_activate": True, "auto_severity": "high",
                                                                     "statements": [{"language": "he", "text": "אנחנו בודקים."}]},
                           headers=author)
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert body["auto_activate"] is True and len(body["statements"]) == 3 and body["statements"][0]["approved"] is True
    put = client.put(f"/api/v1/runbooks/{runbook['id']}", json=runbook_body(account.id, contact.id, name="Renamed"),
                     headers=author)
    assert put.status_code == 200 and put.get_json()["name"] == "Renamed"
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "runbook",
                                                              AuditEvent.target_id == str(runbook["id"]))).all()
    assert actions == ["runbooks:runbook:create", "runbooks:statement:approve", "runbooks:runbook:update",
                       "runbooks:runbook:update"]


@pytest.mark.parametrize("change, status", [
    ({"severities": []}, 422), ({"scope": {"type": "account", "value": 999999}}, 422),
    ({"stages": [{"name": "x", "contacts": [{"type": "role", "value": "pope"}]}]}, 422),
    ({"stages": [{"name": "x", "contacts": [{"type": "email", "value": "not-an-address"}]}]}, 422),
    ({"statements": [{"language": "fr", "text": "Bonjour"}]}, 422), ({"auto_severity": "apocalyptic"}, 422),
])
def test_bad_runbooks_are_clear_problems(client, auth_headers, setup, change, status):
    account, contact = setup
    response = client.post("/api/v1/runbooks", json=runbook_body(account.id, contact.id, **change),
                           headers=auth_headers(Role.GOVERNANCE))
    assert response.status_code == status and response.mimetype == "application/problem+json", response.get_json()


def test_only_governance_and_admin_write_runbooks(client, auth_headers, setup):
    account, contact = setup
    for role in (Role.IT, Role.AUDITOR):
        assert client.post("/api/v1/runbooks", json=runbook_body(account.id, contact.id),
                           headers=auth_headers(role)).status_code == 403


def test_manual_activation_pauses_notifies_and_opens_an_incident(client, auth_headers, setup, session):
    account, contact = setup
    runbook = create(client, auth_headers(Role.GOVERNANCE), runbook_body(account.id, contact.id))
    lead = auth_headers(Role.IT)
    bad = client.post(f"/api/v1/runbooks/{runbook['id']}/activate", json={"severity": "meh", "reason": "a bad post"},
                      headers=lead)
    assert bad.status_code == 422
    made = client.post(f"/api/v1/runbooks/{runbook['id']}/activate",
                       json={"severity": "high", "reason": "an offensive post went out"}, headers=lead)
    assert made.status_code == 201, made.get_json()
    incident = made.get_json()
    assert incident["status"] == "open" and incident["pause_id"] is not None
    assert [e["kind"] for e in incident["timeline"]] == ["activate", "pause", "notify"]
    assert incident["timeline"][0]["actor_name"] and not incident["timeline"][0]["actor_name"].startswith("api_client:")
    pause = session.get(PublishingPause, incident["pause_id"])
    assert pause.scope_type is PauseScope.ACCOUNT and pause.scope_value == str(account.id)
    assert pauses.covering_pause(session, account) is not None
    told = session.scalars(select(Notification).where(Notification.subject_type == "incident",
                                                      Notification.subject_id == str(incident["id"]))).all()
    assert [n.person_id for n in told] == [contact.id]
    again = client.post(f"/api/v1/runbooks/{runbook['id']}/activate", json={"severity": "high", "reason": "again"},
                        headers=lead)
    assert again.status_code == 409 and again.get_json()["code"] == "incident-open"

    step = client.post(f"/api/v1/incidents/{incident['id']}/steps/legal/done", headers=lead)
    assert step.status_code == 200 and "legal" in step.get_json()["steps_done"]
    assert client.post(f"/api/v1/incidents/{incident['id']}/steps/legal/done", headers=lead).status_code == 409
    assert client.post(f"/api/v1/incidents/{incident['id']}/steps/nope/done", headers=lead).status_code == 404
    closed = client.post(f"/api/v1/incidents/{incident['id']}/close", json={"note": "handled"}, headers=lead)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    assert [e["kind"] for e in closed.get_json()["timeline"]][-2:] == ["step", "close"]
    assert client.post(f"/api/v1/incidents/{incident['id']}/close", json={}, headers=lead).status_code == 409
    listed = client.get("/api/v1/incidents?status=closed", headers=auth_headers(Role.AUDITOR)).get_json()
    assert [i["id"] for i in listed] == [incident["id"]]

    pdf = client.get(f"/api/v1/incidents/{incident['id']}/report.pdf?lang=ar", headers=auth_headers(Role.AUDITOR))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = _pdf_text(pdf.data)
    with force_locale("ar"):
        heading = gettext("Timeline")
    assert heading != "Timeline" and set(heading.replace(" ", "")) <= set(text), "the Arabic headings are not in the PDF"
    assert "Timeline" not in text
    bad_lang = client.get(f"/api/v1/incidents/{incident['id']}/report.pdf?lang=fr", headers=auth_headers(Role.AUDITOR))
    assert bad_lang.status_code == 422


def test_a_crisis_alert_activates_the_runbooks_set_to_activate_themselves(client, auth_headers, setup, session, actor):
    account, contact = setup
    elsewhere = factories.account(session, actor, handle="acme_elsewhere")
    session.commit()
    governance = auth_headers(Role.GOVERNANCE)
    auto = create(client, governance, runbook_body(account.id, contact.id, auto_activate=True, auto_severity="critical"))
    create(client, governance, runbook_body(account.id, contact.id, name="By hand only"))
    create(client, governance, runbook_body(elsewhere.id, contact.id, name="Other account", auto_activate=True))
    now = utcnow()
    record_inbound(session, AlertRules(lexicon=LEXICON), account.id, [InboundItem("comment", "c1", "boycott them", now)], now=now)
    session.commit()
    [incident] = session.scalars(select(Incident)).all()
    assert incident.runbook_id == auto["id"] and incident.severity == "critical" and incident.alert_id is not None
    assert incident.opened_by == "system:runbooks" and incident.pause_id is not None
    assert [event.kind for event in incident.timeline] == ["activate", "pause", "notify"]
    record_inbound(session, AlertRules(lexicon=LEXICON), account.id,
                   [InboundItem("comment", "c2", "scam scam", now)], now=now)
    session.commit()
    assert len(session.scalars(select(Incident)).all()) == 1  # an open incident takes the next alert on its timeline


def test_a_release_lets_one_exact_text_out_once(session, actor, setup):
    account, _ = setup
    pauses.pause(session, actor, None, PauseScope.ACCOUNT, account.id, "brand crisis")
    pauses.grant_release(session, actor, account, "Our statement.", "incident 1, statement release 1")
    with pytest.raises(pauses.PublishingPaused):
        pauses.refuse_if_paused(session, actor, account, "publish", None, content="Our statement, changed.")
    with pytest.raises(pauses.PublishingPaused):
        pauses.refuse_if_paused(session, actor, account, "reply", None, content="Our statement.")
    pauses.refuse_if_paused(session, actor, account, "publish", None, content="Our statement.")  # goes through once
    with pytest.raises(pauses.PublishingPaused):
        pauses.refuse_if_paused(session, actor, account, "publish", None, content="Our statement.")
    [release] = session.scalars(select(PauseRelease)).all()
    assert release.consumed_at is not None
    used = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("pauses:release:%"))).all()
    assert used == ["pauses:release:grant", "pauses:release:use"]


def test_incidents_are_readable_by_auditors(client, auth_headers):
    assert client.get("/api/v1/incidents", headers=auth_headers(Role.AUDITOR)).status_code == 200
    assert client.get("/api/v1/incidents/999999", headers=auth_headers(Role.AUDITOR)).status_code == 404


def _pdf_text(data: bytes) -> str:
    """The PDF's text layer (Pango shaped the Arabic with real glyphs; the text layer maps them back to letters)."""
    import shutil
    import subprocess

    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(data)
    return "".join(document[index].get_textpage().get_text_range() for index in range(len(document)))
