"""The runbooks and incidents console pages in en, ar and he: read a runbook, approve a statement (a second person),
activate (asked first), tick a step, close, download the report; the timeline shows names, not ids."""

from __future__ import annotations

import pytest

from govern.auth.roles import Role
from tests import factories
from tests.support.console import csrf_token_of as _csrf_token_of
from tests.support.console import signed_in_with_role
from tests.unit.runbooks.test_runbooks import create, runbook_body


def token_for(client, path: str) -> str:
    from flask import g

    g.pop("csrf_token", None)
    return _csrf_token_of(client.get(path))


@pytest.fixture
def runbook(client, auth_headers, session, actor):
    account = factories.account(session, actor, handle="acme_console")
    contact = factories.person(session, actor)
    session.commit()
    return create(client, auth_headers(Role.GOVERNANCE), runbook_body(account.id, contact.id))


def test_the_console_runs_an_incident_from_the_runbook_page(app, session, runbook):
    lead = signed_in_with_role(app, session, Role.GOVERNANCE)
    listing = lead.get("/runbooks")
    assert listing.status_code == 200 and "Brand crisis on X" in listing.get_data(as_text=True)
    page = lead.get(f"/runbooks/{runbook['id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Call legal" in text and "نحن على علم" in text
    statement = runbook["statements"][0]["id"]
    approved = lead.post(f"/runbooks/{runbook['id']}/statements/{statement}/approve",
                         data={"csrf_token": token_for(lead, f"/runbooks/{runbook['id']}")})
    assert approved.status_code == 302, approved.get_data(as_text=True)[-2000:]

    token = token_for(lead, f"/runbooks/{runbook['id']}")
    asked = lead.post(f"/runbooks/{runbook['id']}/activate", data={"csrf_token": token, "severity": "high"})
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
    done = lead.post(f"/runbooks/{runbook['id']}/activate", data={"csrf_token": token, "severity": "high",
                                                                 "reason": "a bad post", "confirmed": "1"})
    assert done.status_code == 302, done.get_data(as_text=True)[-2000:]
    incident_url = done.headers["Location"]
    incident_id = int(incident_url.rstrip("/").split("/")[-1])
    shown = lead.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert "governance tester" in shown and "console_user:" not in shown  # names, not ids
    ticked = lead.post(f"/incidents/{incident_id}/steps/legal/done", data={"csrf_token": token_for(lead, f"/incidents/{incident_id}")})
    assert ticked.status_code == 302
    closed = lead.post(f"/incidents/{incident_id}/close", data={"csrf_token": token_for(lead, f"/incidents/{incident_id}"),
                                                                "confirmed": "1", "reason": "over"})
    assert closed.status_code == 302
    assert "/report.pdf?lang=ar" in lead.get(f"/incidents/{incident_id}").get_data(as_text=True)
    report = lead.get(f"/incidents/{incident_id}/report.pdf?lang=he")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    assert lead.get("/incidents").status_code == 200
    assert lead.get("/incidents/999999").status_code == 404


@pytest.mark.parametrize("locale, heading", [("en", "Crisis runbooks"), ("ar", "خطط الأزمات"), ("he", "תוכניות משבר")])
def test_the_runbooks_page_in_three_languages(app, session, runbook, locale, heading):
    auditor = signed_in_with_role(app, session, Role.AUDITOR)
    with auditor.session_transaction() as cookie:
        cookie["locale"] = locale
    page = auditor.get("/runbooks")
    assert page.status_code == 200 and heading in page.get_data(as_text=True)
    assert "/activate" not in auditor.get(f"/runbooks/{runbook['id']}").get_data(as_text=True)  # auditors read


def test_it_leads_incidents_but_does_not_approve_statements(app, session, runbook):
    it = signed_in_with_role(app, session, Role.IT)
    statement = runbook["statements"][0]["id"]
    refused = it.post(f"/runbooks/{runbook['id']}/statements/{statement}/approve",
                      data={"csrf_token": token_for(it, f"/runbooks/{runbook['id']}")})
    assert refused.status_code == 403


def test_the_console_asks_for_a_statement_and_only_a_second_person_confirms(app, session, runbook, client, auth_headers):
    approver = auth_headers(Role.ADMIN)
    statement = runbook["statements"][0]["id"]
    client.post(f"/api/v1/runbooks/{runbook['id']}/statements/{statement}/approve", headers=approver)
    incident = client.post(f"/api/v1/runbooks/{runbook['id']}/activate", json={"severity": "high", "reason": "crisis"},
                           headers=approver).get_json()
    account_id = runbook["scope"]["value"]
    lead = signed_in_with_role(app, session, Role.IT)
    page = f"/incidents/{incident['id']}"
    bad = lead.post(f"{page}/statements", data={"csrf_token": token_for(lead, page), "statement_id": "", "account_id": "x"})
    assert bad.status_code == 422 and "Choose a pre-approved statement" in bad.get_data(as_text=True)
    asked = lead.post(f"{page}/statements", data={"csrf_token": token_for(lead, page), "statement_id": str(statement),
                                                  "account_id": account_id})
    assert asked.status_code == 302, asked.get_data(as_text=True)[-2000:]
    shown = lead.get(page).get_data(as_text=True)
    assert "Waiting for a second person" in shown and "/confirm" in shown
    release_id = client.get(f"/api/v1/incidents/{incident['id']}/statements", headers=approver).get_json()[0]["id"]
    alone = lead.post(f"{page}/statements/{release_id}/confirm", data={"csrf_token": token_for(lead, page), "confirmed": "1"})
    assert alone.status_code == 409 and "second person" in alone.get_data(as_text=True)
    second = signed_in_with_role(app, session, Role.GOVERNANCE)
    asked_first = second.post(f"{page}/statements/{release_id}/confirm", data={"csrf_token": token_for(second, page)})
    assert asked_first.status_code == 200 and 'name="confirmed"' in asked_first.get_data(as_text=True)
    done = second.post(f"{page}/statements/{release_id}/confirm", data={"csrf_token": token_for(second, page), "confirmed": "1"})
    assert done.status_code == 302  # the account is not connected here: recorded as failed, with the broker's reason
    status = client.get(f"/api/v1/incidents/{incident['id']}/statements", headers=approver).get_json()[0]
    assert status["status"] == "failed" and status["confirmed_by"] == second.actor_id
