"""/api/v1/retention and /api/v1/legal-holds: who may do what, and bad input as problem+json."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govern.auth.roles import Role
from tests.unit.retention.conftest import audit_events, exists

PROBLEM = "application/problem+json"


@pytest.fixture
def old_notification(session, rows):
    row_id = rows.notification(rows.cutoff("notifications") - timedelta(days=1)).id
    session.commit()
    return row_id


def _place(client, headers, **body):
    payload = {"name": "Matter 42", "data_kinds": ["notifications"], "reason": "litigation"} | body
    return client.post("/api/v1/legal-holds", json=payload, headers=headers)


def test_the_overview_shows_kinds_settings_holds_and_the_plan(client, auth_headers, old_notification):
    response = client.get("/api/v1/retention", headers=auth_headers(Role.AUDITOR))
    assert response.status_code == 200
    body = response.get_json()
    assert [kind["kind"] for kind in body["kinds"]][-1] == "audit_events"
    assert body["retention_days"]["notifications"] == 365
    assert body["holds"] == []
    plan = {item["kind"]: item for item in body["plan"]}
    assert (plan["notifications"]["outcome"], plan["notifications"]["count"]) == ("would_delete", 1)
    assert plan["audit_events"]["outcome"] == "kept"


def test_reading_needs_audit_read(client, auth_headers):
    assert client.get("/api/v1/retention", headers=auth_headers(Role.IT)).status_code == 403
    assert client.get("/api/v1/legal-holds", headers=auth_headers(Role.IT)).status_code == 403


def test_placing_and_releasing_need_audit_manage(client, auth_headers):
    assert _place(client, auth_headers(Role.AUDITOR)).status_code == 403
    placed = _place(client, auth_headers(Role.GOVERNANCE))
    assert placed.status_code == 201
    hold_id = placed.get_json()["id"]
    release = f"/api/v1/legal-holds/{hold_id}/release"
    assert client.post(release, json={"reason": "settled"}, headers=auth_headers(Role.AUDITOR)).status_code == 403
    assert client.post(release, json={"reason": "settled"}, headers=auth_headers(Role.GOVERNANCE)).status_code == 200


def test_a_hold_through_the_api_spares_its_kind_until_released(session, client, auth_headers, old_notification):
    headers = auth_headers(Role.GOVERNANCE)
    placed = _place(client, headers).get_json()
    assert placed["active"] is True and placed["data_kinds"] == ["notifications"]

    purged = client.post("/api/v1/retention/purge", json={}, headers=headers).get_json()
    notifications = {item["kind"]: item for item in purged["kinds"]}["notifications"]
    assert (notifications["outcome"], notifications["held_by"]) == ("held", [placed["id"]])
    assert exists(session, "notifications", old_notification)

    active = client.get("/api/v1/legal-holds?active=true", headers=headers).get_json()
    assert [hold["id"] for hold in active] == [placed["id"]]
    released = client.post(f"/api/v1/legal-holds/{placed['id']}/release", json={"reason": "settled"}, headers=headers)
    assert released.get_json()["active"] is False
    assert client.get("/api/v1/legal-holds?active=true", headers=headers).get_json() == []

    purged = client.post("/api/v1/retention/purge", json={"dry_run": False}, headers=headers).get_json()
    assert {item["kind"]: item for item in purged["kinds"]}["notifications"]["count"] == 1
    assert not exists(session, "notifications", old_notification)
    assert [event.target_id for event in audit_events(session, "retention:data:purge")] == ["notifications"]


def test_a_dry_run_purge_through_the_api_deletes_nothing(session, client, auth_headers, old_notification):
    response = client.post("/api/v1/retention/purge", json={"dry_run": True}, headers=auth_headers(Role.ADMIN))
    assert response.status_code == 200 and response.get_json()["dry_run"] is True
    assert exists(session, "notifications", old_notification)


@pytest.mark.parametrize("body", [None, {}], ids=["no body", "empty object"])
def test_a_purge_without_dry_run_false_is_a_dry_run(session, client, auth_headers, old_notification, body):
    """Deleting is asked for explicitly: a bare POST only reports what a purge would delete."""
    response = client.post("/api/v1/retention/purge", json=body, headers=auth_headers(Role.ADMIN))
    assert response.status_code == 200, response.get_json()
    notifications = {item["kind"]: item for item in response.get_json()["kinds"]}["notifications"]
    assert response.get_json()["dry_run"] is True and notifications["outcome"] == "would_delete"
    assert exists(session, "notifications", old_notification)
    assert audit_events(session, "retention:data:purge") == []


def test_purging_needs_audit_manage(client, auth_headers):
    assert client.post("/api/v1/retention/purge", json={}, headers=auth_headers(Role.AUDITOR)).status_code == 403


@pytest.mark.parametrize("body", [
    {"data_kinds": ["tweets"]},
    {"data_kinds": []},
    {"data_kinds": "notifications"},
    {"reason": ""},
    {"reason": None},
    {"name": ""},
    {"name": "x" * 201},
])
def test_a_bad_hold_is_a_problem_not_a_500(client, auth_headers, body):
    response = _place(client, auth_headers(Role.GOVERNANCE), **body)
    assert response.status_code == 422 and response.content_type == PROBLEM


def test_releasing_a_missing_or_released_hold(client, auth_headers):
    headers = auth_headers(Role.GOVERNANCE)
    missing = client.post("/api/v1/legal-holds/999999/release", json={"reason": "settled"}, headers=headers)
    assert missing.status_code == 404 and missing.content_type == PROBLEM
    hold_id = _place(client, headers).get_json()["id"]
    assert client.post(f"/api/v1/legal-holds/{hold_id}/release", json={}, headers=headers).status_code == 422
    client.post(f"/api/v1/legal-holds/{hold_id}/release", json={"reason": "settled"}, headers=headers)
    again = client.post(f"/api/v1/legal-holds/{hold_id}/release", json={"reason": "settled"}, headers=headers)
    assert again.status_code == 409 and again.content_type == PROBLEM


def test_not_json_is_a_problem(client, auth_headers):
    response = client.post("/api/v1/legal-holds", data=b"\xff{", headers={**auth_headers(Role.GOVERNANCE), "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and response.content_type == PROBLEM
