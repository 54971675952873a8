"""/api/v1/reviews: opening, progress, my items, deciding, the deadline; bad input answers problem+json, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from govern import app_services
from govern.auth.roles import Role
from govern.grants.models import Grant
from govern.reviews.models import ReviewCampaign
from tests.unit.reviews.conftest import later

BASE = "/api/v1/reviews"


def open_body(**fields):
    return {"name": "Q4 access review", "scope_kind": "business_unit", "scope_value": "News", "deadline": later(days=10).isoformat(),
            **fields}


def open_via_api(client, headers, **fields) -> dict:
    """POST a campaign (202: a job snapshots it; embedded, the job has run once the request committed), then read it."""
    opened = client.post(f"{BASE}/campaigns", json=open_body(**fields), headers=headers)
    assert opened.status_code == 202, opened.get_json()
    return client.get(opened.headers["Location"], headers=headers).get_json()["campaign"]


def test_governance_opens_a_campaign_and_sees_its_progress(client, world, token_for):
    governance = token_for(Role.GOVERNANCE)
    opened = client.post(f"{BASE}/campaigns", json=open_body(), headers=governance)
    assert opened.status_code == 202, opened.get_json()
    body = opened.get_json()
    assert body["campaign"]["status"] == "opening" and body["campaign"]["progress"]["total"] == 0
    assert body["job"]["task"] == "govern.reviews.open_campaign" and body["campaign"]["opening_job_id"] == body["job"]["job_id"]
    assert opened.headers["Location"].endswith(f"/api/v1/reviews/campaigns/{body['campaign']['id']}")
    job = client.get(f"{BASE}/campaigns/{body['campaign']['id']}/opening-job", headers=governance).get_json()
    assert job["state"] == "done", "embedded, the job runs in this process once the request has committed"
    campaign = client.get(opened.headers["Location"], headers=governance).get_json()["campaign"]
    assert campaign["status"] == "open" and campaign["on_deadline"] == "revoke" and campaign["reminder_every_hours"] == 72
    assert campaign["snapshot_at"] is not None
    assert campaign["progress"] == {"total": 4, "decided": 0, "pending": 4, "certified": 0, "revoked": 0,
                                    "revoked_at_deadline": 0, "escalated": 0, "percent": 0}
    detail = client.get(f"{BASE}/campaigns/{campaign['id']}", headers=token_for(Role.AUDITOR)).get_json()
    reviewers = {(r["reviewer"] or {}).get("id"): (r["total"], r["pending"]) for r in detail["reviewers"]}
    assert reviewers == {world.people["owner"]: (2, 2), world.people["manager"]: (1, 1), None: (1, 1)}
    assert detail["reviewers_total"] == 3
    listed = client.get(f"{BASE}/campaigns", headers=governance).get_json()
    assert [c["id"] for c in listed] == [campaign["id"]]


def test_an_owner_decides_through_the_api_and_twice_is_a_409(client, world, token_for):
    opened = open_via_api(client, token_for(Role.GOVERNANCE))
    owner = token_for(Role.IT, world.people["owner"])  # reviewer is console-only: an integration answers with its own role
    mine = client.get(f"{BASE}/items/mine", headers=owner).get_json()["items"]
    assert sorted(i["grant_id"] for i in mine) == sorted([world.grants["dana_news"], world.grants["noa_news"]])
    assert all(i["state"] == "pending" and i["campaign_id"] == opened["id"] for i in mine)
    noa = next(i for i in mine if i["grant_id"] == world.grants["noa_news"])
    removed = client.post(f"{BASE}/items/{noa['id']}/decision", json={"decision": "revoke", "comment": "left the team"}, headers=owner)
    assert removed.status_code == 200 and removed.get_json()["decision"] == "revoked"
    again = client.post(f"{BASE}/items/{noa['id']}/decision", json={"decision": "certify"}, headers=owner)
    assert again.status_code == 409 and again.content_type == "application/problem+json"
    assert "already decided" in again.get_json()["detail"]
    grant = client.get(f"/api/v1/grants/{world.grants['noa_news']}", headers=token_for(Role.AUDITOR)).get_json()
    assert grant["state"] == "revoked"
    assert [i["grant_id"] for i in client.get(f"{BASE}/items/mine", headers=owner).get_json()["items"]] == [world.grants["dana_news"]]
    everything = client.get(f"{BASE}/items/mine?pending_only=false", headers=owner).get_json()["items"]
    assert [i["state"] for i in everything] == ["pending", "revoked"], "waiting first, then what was decided"


def test_a_reviewer_cannot_decide_someone_elses_item(client, world, token_for):
    client.post(f"{BASE}/campaigns", json=open_body(), headers=token_for(Role.GOVERNANCE))
    owner_items = client.get(f"{BASE}/items/mine", headers=token_for(Role.IT, world.people["owner"])).get_json()["items"]
    stranger = token_for(Role.IT, world.people["noa"])
    refused = client.post(f"{BASE}/items/{owner_items[0]['id']}/decision", json={"decision": "certify"}, headers=stranger)
    assert refused.status_code == 403 and refused.get_json()["title"] == "Not your review"
    unlinked = token_for(Role.IT)  # may respond to reviews, but is nobody's reviewer
    assert client.get(f"{BASE}/items/mine", headers=unlinked).get_json() == {"items": [], "next_cursor": None, "prev_cursor": None}


@pytest.mark.parametrize("body", [
    {},
    {"name": "x", "scope_kind": "planet", "deadline": "2030-01-01T00:00:00+00:00"},
    {"name": "x", "scope_kind": "all", "deadline": "tomorrow"},
    {"name": "x", "scope_kind": "all", "deadline": "2030-01-01T00:00:00"},  # no offset
    {"name": "", "scope_kind": "all", "deadline": "2030-01-01T00:00:00+00:00"},
    {"name": "x", "scope_kind": "all", "deadline": "2030-01-01T00:00:00+00:00", "on_deadline": "shrug"},
    {"name": "x", "scope_kind": "all", "deadline": "2030-01-01T00:00:00+00:00", "reminder_every_hours": 0},
    {"name": "x", "scope_kind": "all", "deadline": "2001-01-01T00:00:00+00:00"},
    {"name": "x", "scope_kind": "network", "scope_value": "myspace", "deadline": "2030-01-01T00:00:00+00:00"},
    {"name": "x", "scope_kind": "business_unit", "deadline": "2030-01-01T00:00:00+00:00"},
    {"name": ["x"], "scope_kind": 3, "deadline": None},
])
def test_bad_campaigns_are_refused_with_problem_json(client, world, token_for, body):
    response = client.post(f"{BASE}/campaigns", json=body, headers=token_for(Role.GOVERNANCE))
    assert response.status_code in (400, 422) and response.content_type == "application/problem+json", response.get_json()


@pytest.mark.parametrize("body", [{}, {"decision": "maybe"}, {"decision": "revoke"}, {"decision": "revoke", "comment": "x" * 501},
                                  {"decision": 1}])
def test_bad_decisions_are_refused_with_problem_json(client, world, token_for, body):
    governance = token_for(Role.GOVERNANCE)
    opened = open_via_api(client, governance)
    item = client.get(f"{BASE}/campaigns/{opened['id']}/items", headers=governance).get_json()["items"][0]
    response = client.post(f"{BASE}/items/{item['id']}/decision", json=body, headers=governance)
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    assert client.get(f"{BASE}/items/999999/decision", headers=governance).status_code == 405
    missing = client.post(f"{BASE}/items/999999/decision", json={"decision": "certify"}, headers=governance)
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_process_deadline_holds_a_mass_revocation_until_governance_approves(client, session, world, token_for, app, monkeypatch):
    governance = token_for(Role.GOVERNANCE)
    opened = open_via_api(client, governance, scope_kind="all", scope_value=None)
    early = client.post(f"{BASE}/campaigns/{opened['id']}/process-deadline", headers=governance)
    assert early.status_code == 422 and "not passed" in early.get_json()["detail"]
    session.execute(update(ReviewCampaign).where(ReviewCampaign.id == opened["id"]).values(deadline=later(minutes=-5)))
    session.commit()
    settings = app_services.settings(app).model_copy(update={"review_mass_revocation_threshold": 3})
    monkeypatch.setitem(app.extensions, "govern.settings", settings)
    held = client.post(f"{BASE}/campaigns/{opened['id']}/process-deadline", json={}, headers=governance)
    assert held.status_code == 200 and held.get_json()["status"] == "held"
    assert client.post(f"{BASE}/campaigns/{opened['id']}/approve-held", headers=token_for(Role.AUDITOR)).status_code == 403
    approved = client.post(f"{BASE}/campaigns/{opened['id']}/approve-held", headers=governance)
    assert approved.status_code == 200 and approved.get_json()["status"] == "closed"
    assert approved.get_json()["progress"]["revoked_at_deadline"] == approved.get_json()["progress"]["total"] >= 5
    session.expire_all()
    assert session.get(Grant, world.grants["dana_brand"]).revoked_at is not None
    again = client.post(f"{BASE}/campaigns/{opened['id']}/approve-held", headers=governance)
    assert again.status_code == 409


def test_extend_and_close(client, world, token_for):
    governance = token_for(Role.GOVERNANCE)
    opened = open_via_api(client, governance)
    extended = client.post(f"{BASE}/campaigns/{opened['id']}/extend", json={"deadline": later(days=30).isoformat()}, headers=governance)
    assert extended.status_code == 200 and extended.get_json()["deadline"] > opened["deadline"]
    assert client.post(f"{BASE}/campaigns/{opened['id']}/extend", json={"deadline": "soon"}, headers=governance).status_code == 422
    closed = client.post(f"{BASE}/campaigns/{opened['id']}/close", json={"reason": "merged into the yearly review"}, headers=governance)
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed" and closed.get_json()["progress"]["pending"] == 4
    assert client.post(f"{BASE}/campaigns/{opened['id']}/close", json={}, headers=governance).status_code == 409


@pytest.mark.parametrize(("role", "read", "manage", "respond"), [
    (Role.ADMIN, True, True, True), (Role.GOVERNANCE, True, True, True), (Role.AUDITOR, True, False, False),
    (Role.IT, False, False, True), (Role.SCIM, False, False, False),  # reviewer is console-only: no token (tests/unit/auth)
])
def test_who_may_do_what(client, world, token_for, role, read, manage, respond):
    headers = token_for(role)
    assert (client.get(f"{BASE}/campaigns", headers=headers).status_code == 200) is read
    assert (client.post(f"{BASE}/campaigns", json=open_body(), headers=headers).status_code == 202) is manage
    assert (client.get(f"{BASE}/items/mine", headers=headers).status_code == 200) is respond
    assert client.get(f"{BASE}/campaigns").status_code == 401
