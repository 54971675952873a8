"""The accounts API: create, update, retire, filters, keyset pagination and Unicode search."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govern.audit.models import AuditEvent
from govern.auth.roles import Role

PROBLEM = "application/problem+json"


@pytest.fixture
def admin(auth_headers):
    return auth_headers(Role.ADMIN)


def _create(client, headers, **body):
    payload = {"network": "x", "handle": "acme", "display_name": "Acme", **body}
    return client.post("/api/v1/accounts", json=payload, headers=headers)


def test_create_then_read_with_audit_event(client, admin, session):
    created = _create(client, admin, handle="acme_ksa", display_name="أكمي السعودية", business_unit="KSA", tags=["regional"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["display_name"] == "أكمي السعودية" and body["network"] == "x" and body["status"] == "active"
    fetched = client.get(f"/api/v1/accounts/{body['id']}", headers=admin).get_json()
    assert fetched == body
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "accounts:account:create", AuditEvent.target_id == str(body["id"])))
    assert event.summary["after"]["handle"] == "acme_ksa"
    assert event.actor.startswith("api_client:")


def test_duplicate_handle_is_a_clear_conflict(client, admin):
    assert _create(client, admin, handle="dup").status_code == 201
    again = _create(client, admin, handle="dup")
    assert again.status_code == 409 and again.content_type == PROBLEM
    assert "already has an account with handle 'dup'" in again.get_json()["detail"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"network": "x"}, "handle"),
        ({"network": "x", "handle": "", "display_name": "a"}, "handle"),
        ({"network": "x", "handle": "a", "display_name": "a", "status": "retired"}, "status"),
        ({"network": "x", "handle": "a", "display_name": "a", "owner_id": "abc"}, "owner_id"),
        ({"network": "x", "handle": "a", "display_name": "a", "tags": "news"}, "tags"),
        ({"network": "x", "handle": "a", "display_name": "a", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_input_is_a_problem_naming_the_field(client, admin, body, field):
    response = client.post("/api/v1/accounts", json=body, headers=admin)
    assert response.status_code == 422 and response.content_type == PROBLEM
    problem = response.get_json()
    assert field in problem["errors"] and problem["title"] == "Invalid input" and problem["status"] == 422


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe\x00garbage", b"[]", b"null"])
def test_malformed_bodies_never_500(client, admin, raw):
    response = client.post("/api/v1/accounts", data=raw, headers={**admin, "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and response.content_type == PROBLEM


def test_unknown_network_and_owner_are_rejected(client, admin):
    assert _create(client, admin, network="myspace").status_code == 422
    assert "not a known person" in _create(client, admin, owner_id=999999).get_json()["detail"]


def test_update_records_only_what_changed(client, admin, session):
    account_id = _create(client, admin, handle="upd").get_json()["id"]
    response = client.patch(f"/api/v1/accounts/{account_id}", json={"display_name": "עדכון", "handle": "upd"}, headers=admin)
    assert response.status_code == 200 and response.get_json()["display_name"] == "עדכון"
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "accounts:account:update"))
    assert event.summary["before"] == {"display_name": "Acme"} and event.summary["after"] == {"display_name": "עדכון"}


def test_retire_revokes_grants_and_freezes_the_account(client, admin, session, actor):
    from tests import factories

    account_id = _create(client, admin, handle="old").get_json()["id"]
    person = factories.person(session, actor)
    session.commit()
    grant = client.post("/api/v1/grants", json={"person_id": person.id, "account_id": account_id, "role": "publisher", "reason": "campaign"}, headers=admin)
    assert grant.status_code == 201
    retired = client.post(f"/api/v1/accounts/{account_id}/retire", json={"reason": "brand closed"}, headers=admin)
    assert retired.status_code == 200 and retired.get_json()["status"] == "retired"
    revoked = client.get(f"/api/v1/grants/{grant.get_json()['id']}", headers=admin).get_json()
    assert revoked["state"] == "revoked" and "account retired" in revoked["revoke_reason"]
    assert client.patch(f"/api/v1/accounts/{account_id}", json={"notes": "x"}, headers=admin).status_code == 422
    assert client.post(f"/api/v1/accounts/{account_id}/retire", json={"reason": "again"}, headers=admin).status_code == 409


def test_missing_account_is_404_problem(client, admin):
    response = client.get("/api/v1/accounts/424242", headers=admin)
    assert response.status_code == 404 and response.content_type == PROBLEM


def test_keyset_pagination_walks_every_row_once(client, admin):
    handles = {f"page_{n:02d}" for n in range(7)}
    for handle in handles:
        assert _create(client, admin, handle=handle).status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, "q": "page_", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/accounts", query_string=query, headers=admin).get_json()
        seen += [item["handle"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == 3 and seen == sorted(handles)


def test_tampered_cursor_is_a_clear_error(client, admin):
    response = client.get("/api/v1/accounts", query_string={"cursor": "not-a-cursor!!"}, headers=admin)
    assert response.status_code == 400 and "cursor" in response.get_json()["detail"]


def test_search_folds_arabic_and_hebrew_marks(client, admin):
    _create(client, admin, handle="acme_eg", display_name="أَكْمِي مِصْر")
    _create(client, admin, handle="acme_il", display_name="אַקְמִי יִשְׂרָאֵל")
    _create(client, admin, handle="acme_uk", display_name="Acme UK")

    def found(q):
        return [i["handle"] for i in client.get("/api/v1/accounts", query_string={"q": q}, headers=admin).get_json()["items"]]

    assert found("اكمي") == ["acme_eg"]
    assert found("ישראל") == ["acme_il"]
    assert found("ACME uk") == ["acme_uk"]
    assert found("100%_") == []


def test_filters_by_network_status_and_whole_tag(client, admin):
    _create(client, admin, handle="t1", tags=["news"])
    _create(client, admin, handle="t2", tags=["newsroom"], network="linkedin")
    _create(client, admin, handle="t3", status="suspended")

    def handles(**query):
        return sorted(i["handle"] for i in client.get("/api/v1/accounts", query_string=query, headers=admin).get_json()["items"])

    assert handles(tag="news") == ["t1"]
    assert handles(network="linkedin") == ["t2"]
    assert handles(status="suspended") == ["t3"]


def test_sorting_by_name_uses_unicode_collation(client, admin, session):
    for handle, name in [("s1", "Zoe"), ("s2", "ádam"), ("s3", "Bob")]:
        _create(client, admin, handle=handle, display_name=name)
    items = client.get("/api/v1/accounts", query_string={"sort": "display_name", "q": "s"}, headers=admin).get_json()["items"]
    names = [i["display_name"] for i in items if i["handle"] in {"s1", "s2", "s3"}]
    if session.connection().dialect.name == "postgresql":
        assert names == ["ádam", "Bob", "Zoe"]
    else:
        assert sorted(names) == ["Bob", "Zoe", "ádam"]


def test_change_is_refused_when_its_audit_event_cannot_be_written(client, admin, session):
    if session.connection().dialect.name != "postgresql":
        pytest.skip("uses a PostgreSQL trigger to make the audit insert fail")
    session.execute(sa.text(
        "CREATE FUNCTION pg_temp.refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit disk full'; END; $$ LANGUAGE plpgsql"
    ))
    session.execute(sa.text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"))
    session.commit()
    response = _create(client, admin, handle="unaudited")
    assert response.status_code == 503 and response.content_type == PROBLEM
    assert client.get("/api/v1/accounts", query_string={"q": "unaudited"}, headers=admin).get_json()["items"] == []
