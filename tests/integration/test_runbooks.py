"""A holding statement during a pause, through the broker against OpenBao and the loopback network: the crisis lead
asks, a second person confirms, exactly that text goes out once on exactly that account; the lead alone, another
text, or the same text a second time is refused (409 / 423)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.grants.models import GrantRole
from govern.pauses.models import PauseRelease
from tests import factories
from tests.support.broker import connect, register

STATEMENT = "We are aware of the issue and are looking into it."


def act(client, account_id, headers, action, **params):
    return client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": action, "params": params}, headers=headers)


def _token(session, role):
    _, token = create_api_client(session, Actor.system("tests"), f"{role.value}-{uuid.uuid4().hex[:8]}", role)
    session.commit()
    return {"Authorization": f"Bearer {token.reveal()}"}


def test_a_confirmed_statement_goes_out_once_during_the_pause(client, admin, network, publisher_headers, session, actor):
    register(client, admin, network)
    account_id = connect(client, admin)
    lead = publisher_headers(account_id)  # an IT token for a person with a publishing grant: the crisis lead
    contact = factories.person(session, actor)
    session.commit()
    governance, approver = _token(session, Role.GOVERNANCE), _token(session, Role.ADMIN)
    made = client.post("/api/v1/runbooks", headers=governance, json={
        "name": "Account crisis", "scope": {"type": "account", "value": account_id}, "severities": ["high"],
        "stages": [{"name": "First call", "contacts": [{"type": "person", "value": str(contact.id)}]}],
        "statements": [{"language": "en", "text": STATEMENT}, {"language": "en", "text": "Not approved yet."}],
    })
    assert made.status_code == 201, made.get_json()
    runbook = made.get_json()
    approved, unapproved = runbook["statements"]
    assert client.post(f"/api/v1/runbooks/{runbook['id']}/statements/{approved['id']}/approve",
                       headers=approver).status_code == 200
    incident = client.post(f"/api/v1/runbooks/{runbook['id']}/activate", json={"severity": "high", "reason": "hacked post"},
                           headers=lead).get_json()
    assert incident["pause_id"]
    assert act(client, account_id, lead, "publish", text=STATEMENT).status_code == 423  # nothing gets through alone

    statements = f"/api/v1/incidents/{incident['id']}/statements"
    refused = client.post(statements, json={"statement_id": unapproved["id"], "account_id": account_id}, headers=lead)
    assert refused.status_code == 409 and refused.get_json()["code"] == "statement-not-approved"
    asked = client.post(statements, json={"statement_id": approved["id"], "account_id": account_id}, headers=lead)
    assert asked.status_code == 201, asked.get_json()
    release = asked.get_json()
    assert release["status"] == "pending" and network.posts == []
    alone = client.post(f"{statements}/{release['id']}/confirm", headers=lead)
    assert alone.status_code == 409 and alone.get_json()["code"] == "second-person-required"
    assert network.posts == []

    confirmed = client.post(f"{statements}/{release['id']}/confirm", headers=governance)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["status"] == "published" and confirmed.get_json()["confirmed_by_name"]
    assert [post["text"] for post in network.posts] == [STATEMENT]
    assert client.post(f"{statements}/{release['id']}/confirm", headers=approver).status_code == 409  # used

    # the release was single-use and for this text only: the same text again, or any other text, is refused
    assert act(client, account_id, lead, "publish", text=STATEMENT).status_code == 423
    assert act(client, account_id, lead, "publish", text=STATEMENT + " Update.").status_code == 423
    assert [post["text"] for post in network.posts] == [STATEMENT]
    [row] = session.scalars(sa.select(PauseRelease)).all()
    assert row.account_id == account_id and row.consumed_at is not None
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.in_(
        ["pauses:release:grant", "pauses:release:use", "runbooks:statement_release:publish"])).order_by(AuditEvent.seq)).all()
    assert actions == ["pauses:release:grant", "pauses:release:use", "runbooks:statement_release:publish"]
    timeline = client.get(f"/api/v1/incidents/{incident['id']}", headers=governance).get_json()["timeline"]
    assert [event["kind"] for event in timeline] == ["activate", "pause", "notify", "statement_request", "statement_publish"]


def test_a_confirmed_statement_the_broker_refuses_leaves_no_release_behind(client, admin, network, session, actor):
    register(client, admin, network)
    account_id = connect(client, admin)
    contact = factories.person(session, actor)
    session.commit()
    governance, approver = _token(session, Role.GOVERNANCE), _token(session, Role.ADMIN)
    runbook = client.post("/api/v1/runbooks", headers=governance, json={
        "name": "No grant", "scope": {"type": "all"}, "severities": ["high"],
        "stages": [{"name": "First call", "contacts": [{"type": "person", "value": str(contact.id)}]}],
        "statements": [{"language": "ar", "network": "x", "text": "نحن على علم بالمشكلة."}],
    }).get_json()
    statement = runbook["statements"][0]["id"]
    client.post(f"/api/v1/runbooks/{runbook['id']}/statements/{statement}/approve", headers=approver)
    incident = client.post(f"/api/v1/runbooks/{runbook['id']}/activate", json={"severity": "high", "reason": "crisis"},
                           headers=governance).get_json()
    # the lead is a governance token with no person and no grant: the broker refuses the publish at confirmation
    release = client.post(f"/api/v1/incidents/{incident['id']}/statements",
                          json={"statement_id": statement, "account_id": account_id}, headers=governance).get_json()
    confirmed = client.post(f"/api/v1/incidents/{incident['id']}/statements/{release['id']}/confirm", headers=approver)
    assert confirmed.status_code == 200 and confirmed.get_json()["status"] == "failed" and confirmed.get_json()["error"]
    assert network.posts == []
    assert session.scalars(sa.select(PauseRelease)).all() == []  # rolled back with the refused publish
    timeline = client.get(f"/api/v1/incidents/{incident['id']}", headers=governance).get_json()["timeline"]
    assert timeline[-1]["kind"] == "statement_fail"
