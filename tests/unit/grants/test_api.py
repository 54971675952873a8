"""Grants with expiry, people with their access, and the audit events list."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from govern.auth.roles import Role
from govern.grants.models import Grant
from govern.people.models import PersonStatus
from tests import factories


@pytest.fixture
def admin(auth_headers):
    return auth_headers(Role.ADMIN)


@pytest.fixture
def world(session, actor):
    boss = factories.person(session, actor, display_name="ليلى حداد")
    person = factories.person(session, actor, display_name="נועה כהן", manager_id=boss.id, department="Marketing")
    account = factories.account(session, actor, handle="acme_news")
    session.commit()
    return {"person": person.id, "boss": boss.id, "account": account.id}


def _grant(client, headers, world, **body):
    payload = {"person_id": world["person"], "account_id": world["account"], "role": "publisher", "reason": "launch campaign", **body}
    return client.post("/api/v1/grants", json=payload, headers=headers)


def _later(**delta) -> str:
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


def test_grant_shows_in_person_access_and_lists(client, admin, world):
    created = _grant(client, admin, world, expires_at=_later(days=30))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["state"] == "active"
    detail = client.get(f"/api/v1/people/{world['person']}", headers=admin).get_json()
    assert detail["person"]["display_name"] == "נועה כהן" and detail["person"]["manager"]["display_name"] == "ليلى حداد"
    assert [g["account"]["handle"] for g in detail["access"]] == ["acme_news"]
    listed = client.get("/api/v1/grants", query_string={"account_id": world["account"]}, headers=admin).get_json()["items"]
    assert [g["id"] for g in listed] == [created.get_json()["id"]]


def test_expired_grant_stops_counting_at_expiry_without_a_job(client, admin, world, session):
    grant_id = _grant(client, admin, world, expires_at=_later(hours=1)).get_json()["id"]
    # time passes: the expiry is now behind us, and no job has run
    session.execute(sa.update(Grant).where(Grant.id == grant_id).values(
        starts_at=datetime.now(timezone.utc) - timedelta(days=2), expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    session.commit()
    assert client.get(f"/api/v1/people/{world['person']}", headers=admin).get_json()["access"] == []
    assert client.get("/api/v1/grants", query_string={"person_id": world["person"]}, headers=admin).get_json()["items"] == []
    expired = client.get("/api/v1/grants", query_string={"person_id": world["person"], "state": "expired"}, headers=admin).get_json()["items"]
    assert [g["id"] for g in expired] == [grant_id] and expired[0]["state"] == "expired"
    assert _grant(client, admin, world).status_code == 201  # the expired grant no longer blocks a new one


def test_duplicate_grant_is_a_conflict_and_revoke_ends_it(client, admin, world):
    grant_id = _grant(client, admin, world).get_json()["id"]
    assert _grant(client, admin, world).status_code == 409
    revoked = client.post(f"/api/v1/grants/{grant_id}/revoke", json={"reason": "left the project"}, headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["state"] == "revoked"
    assert client.post(f"/api/v1/grants/{grant_id}/revoke", json={"reason": "again"}, headers=admin).status_code == 409
    assert client.get(f"/api/v1/people/{world['person']}", headers=admin).get_json()["access"] == []


@pytest.mark.parametrize(
    "body, status",
    [
        ({"expires_at": "2020-01-01T00:00:00+00:00"}, 422),
        ({"expires_at": "2030-01-01T00:00:00"}, 422),
        ({"expires_at": "tomorrow"}, 422),
        ({"role": "owner"}, 422),
        ({"reason": ""}, 422),
        ({"starts_at": "2031-01-01T00:00:00+00:00", "expires_at": "2030-01-01T00:00:00+00:00"}, 422),
        ({"account_id": 999999}, 422),
    ],
)
def test_bad_grants_are_refused_with_a_reason(client, admin, world, body, status):
    response = _grant(client, admin, world, **body)
    assert response.status_code == status and response.content_type == "application/problem+json"
    assert response.get_json()["detail"]


def test_leavers_cannot_be_granted(client, admin, world, session):
    from govern.people.models import Person

    session.get(Person, world["person"]).status = PersonStatus.LEAVER
    session.commit()
    response = _grant(client, admin, world)
    assert response.status_code == 422 and "has left" in response.get_json()["detail"]


def test_people_search_and_filters(client, admin, world):
    found = client.get("/api/v1/people", query_string={"q": "כהן"}, headers=admin).get_json()["items"]
    assert [p["id"] for p in found] == [world["person"]]
    reports = client.get("/api/v1/people", query_string={"manager_id": world["boss"]}, headers=admin).get_json()["items"]
    assert [p["id"] for p in reports] == [world["person"]]
    assert client.get("/api/v1/people", query_string={"status": "gone"}, headers=admin).status_code == 422


def test_audit_events_filter_and_page(client, admin, world, auth_headers):
    _grant(client, admin, world)
    auditor = auth_headers(Role.AUDITOR)
    page = client.get("/api/v1/audit/events", query_string={"action": "grants:", "limit": 1}, headers=auditor).get_json()
    assert [e["action"] for e in page["items"]] == ["grants:grant:create"]
    assert page["items"][0]["summary"]["after"]["reason"] == "launch campaign"
    older = client.get("/api/v1/audit/events", query_string={"before_seq": page["items"][0]["seq"], "limit": 500}, headers=auditor).get_json()
    assert all(e["seq"] < page["items"][0]["seq"] for e in older["items"])
