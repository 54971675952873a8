"""Connect -> refresh -> brokered actions -> disconnect, against OpenBao and the loopback network."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import sqlalchemy as sa

from govern import app_services
from govern.adapters.secret_store import SecretNotFound
from govern.audit.models import AuditEvent
from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.broker.models import AccountConnection
from govern.db import utcnow
from govern.grants.models import GrantRole
from tests import factories
from tests.support.broker import connect, register
from tests.support.fake_network import FakeNetwork

NETWORKS = ["x", "facebook", "linkedin", "tiktok", "youtube", "mastodon", "generic_oauth2"]


@pytest.mark.parametrize("key", NETWORKS)
def test_every_preset_connects_and_acts_through_the_broker(client, admin, network, publisher_headers, key):
    register(client, admin, network, key=key)
    account_id = connect(client, admin, key=key)
    connection = client.get(f"/api/v1/accounts/{account_id}/connection", headers=admin).get_json()
    assert connection["health"] == "healthy" and connection["store"] == "vault" and connection["store_version"] == 1
    headers = publisher_headers(account_id)
    whoami = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=headers)
    assert whoami.status_code == 200 and whoami.get_json()["result"]["id"] == "page-1001"
    published = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "publish", "params": {"text": "مرحبا بالعالم"}}, headers=headers)
    assert published.status_code == 200, published.get_json()
    assert [p["text"] for p in network.posts] == ["مرحبا بالعالم"]


def test_connect_refresh_publish_retire_end_to_end(client, admin, network, publisher_headers, session, app):
    register(client, admin, network)
    account_id = connect(client, admin)
    headers = publisher_headers(account_id)
    refreshed = client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin)
    assert refreshed.status_code == 200 and refreshed.get_json()["store_version"] == 2
    assert network.stats["refresh_requests"] == 1
    post = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "publish", "params": {"text": "launch"}}, headers=headers)
    assert post.status_code == 200
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.target_id == str(account_id), AuditEvent.action.like("broker:%"))).all()
    assert {"broker:connection:connect", "broker:connection:refresh", "broker:action:publish"} <= {e.action for e in events}
    retired = client.post(f"/api/v1/accounts/{account_id}/retire", json={"reason": "campaign over"}, headers=admin)
    assert retired.status_code == 200
    assert network.stats["revocations"] == 2  # the refresh token, then the access token
    assert client.get(f"/api/v1/accounts/{account_id}/connection", headers=admin).get_json()["health"] == "revoked"
    store = app_services.broker(app).store
    with pytest.raises(SecretNotFound):
        store.read(f"govern/accounts/{account_id}/oauth")


def test_person_without_a_fitting_grant_is_refused(client, admin, network, publisher_headers):
    register(client, admin, network)
    account_id = connect(client, admin)
    analyst = publisher_headers(account_id, GrantRole.ANALYST)
    refused = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "publish", "params": {"text": "x"}}, headers=analyst)
    assert refused.status_code == 403 and "no grant" in refused.get_json()["detail"]
    assert client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "list_recent_posts"}, headers=analyst).status_code == 200
    unlinked = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=admin)
    assert unlinked.status_code == 403 and network.posts == []


def test_invalid_grant_moves_the_account_to_needs_reconnect(client, admin, network, publisher_headers, session):
    register(client, admin, network)
    account_id = connect(client, admin)
    headers = publisher_headers(account_id)
    network.fail_next_refresh("invalid_grant")
    response = client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin)
    assert response.get_json()["health"] == "needs_reconnect"
    blocked = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=headers)
    assert blocked.status_code == 409 and "reconnected" in blocked.get_json()["detail"]
    assert session.scalar(sa.select(AuditEvent.seq).where(AuditEvent.action == "broker:connection:needs_reconnect"))
    reconnected = connect(client, admin, account_id=account_id)
    assert reconnected == account_id
    assert client.get(f"/api/v1/accounts/{account_id}/connection", headers=admin).get_json()["health"] == "healthy"


def test_expired_access_token_is_refreshed_before_use(client, admin, network, publisher_headers, session):
    register(client, admin, network)
    account_id = connect(client, admin)
    headers = publisher_headers(account_id)
    session.execute(sa.update(AccountConnection).where(AccountConnection.account_id == account_id).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    network.expire_access_tokens()
    response = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=headers)
    assert response.status_code == 200 and network.stats["refresh_requests"] == 1


def test_failed_network_action_is_audited_and_reported(client, admin, network, publisher_headers, session):
    register(client, admin, network)
    account_id = connect(client, admin)
    headers = publisher_headers(account_id)
    response = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "delete_post", "params": {"post_id": "post-404"}}, headers=headers)
    assert response.status_code == 502 and response.content_type == "application/problem+json"
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "broker:action:delete_post"))
    assert event is not None and event.summary["outcome"] == "failed"


def test_connect_refuses_a_different_identity(client, admin, network, session, actor):
    register(client, admin, network)
    existing = factories.account(session, actor, handle="acme_official", external_id="someone-else")
    session.commit()
    started = client.post("/api/v1/connections", json={"network": "x", "account_id": existing.id}, headers=admin).get_json()
    location = requests.get(started["authorize_url"], allow_redirects=False, timeout=10).headers["Location"]
    query = parse_qs(urlparse(location).query)
    refused = client.get("/oauth/callback", query_string={"state": query["state"][0], "code": query["code"][0]})
    assert refused.status_code == 422
    assert session.scalar(sa.select(AccountConnection).where(AccountConnection.account_id == existing.id)) is None


def test_callback_with_unknown_state_is_refused(client):
    response = client.get("/oauth/callback", query_string={"state": "forged", "code": "x"})
    assert response.status_code == 422


def test_wrapped_handoff_unwraps_once_and_alerts_on_reuse(client, admin, network, session, openbao):
    register(client, admin, network)
    account_id = connect(client, admin)
    issued = client.post(f"/api/v1/accounts/{account_id}/handoffs", json={"purpose": "nightly analytics export", "ttl_seconds": 120}, headers=admin)
    assert issued.status_code == 201, issued.get_json()
    wrapping_token = issued.get_json()["wrapping_token"]
    assert client.post(f"/api/v1/accounts/{account_id}/handoffs", json={"purpose": "too long a hand-off", "ttl_seconds": 301}, headers=admin).status_code == 422
    first = client.post("/api/v1/handoffs/unwrap", json={"wrapping_token": wrapping_token})
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    assert requests.get(network.whoami_url, headers={"Authorization": f"Bearer {first.get_json()['access_token']}"}, timeout=5).status_code == 200
    second = client.post("/api/v1/handoffs/unwrap", json={"wrapping_token": wrapping_token})
    assert second.status_code == 410
    alert = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "broker:handoff:unwrap_refused"))
    assert alert is not None and alert.summary["known_handoff"] is True
    issue_event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "broker:handoff:issue"))
    assert wrapping_token not in repr(issue_event.summary)


def test_compromise_revokes_everything_and_flags_the_account(client, admin, network, session, app):
    register(client, admin, network)
    account_id = connect(client, admin)
    outstanding = client.post(f"/api/v1/accounts/{account_id}/handoffs", json={"purpose": "integration that must not run", "ttl_seconds": 200}, headers=admin).get_json()
    response = client.post(f"/api/v1/accounts/{account_id}/compromise", json={"reason": "password phished"}, headers=admin)
    assert response.status_code == 200 and response.get_json()["health"] == "revoked"
    account = client.get(f"/api/v1/accounts/{account_id}", headers=admin).get_json()
    assert account["status"] == "suspended" and "compromised" in account["tags"]
    assert network.stats["revocations"] == 2  # the refresh token, then the access token
    assert client.post("/api/v1/handoffs/unwrap", json={"wrapping_token": outstanding["wrapping_token"]}).status_code == 410


def test_abandoned_connects_are_purged_with_their_verifiers(client, admin, network, session, app):
    from govern.broker.models import PendingConnect
    from govern.broker.service import purge_expired_connects

    register(client, admin, network)
    assert client.post("/api/v1/connections", json={"network": "x"}, headers=admin).status_code == 201
    pending = session.scalar(sa.select(PendingConnect))
    path = f"govern/pending/{pending.state_hash}"
    store = app_services.broker(app).store
    assert store.read(path).data["code_verifier"]
    assert purge_expired_connects(session, app_services.broker(app)) == 0
    assert purge_expired_connects(session, app_services.broker(app), utcnow() + timedelta(minutes=11)) == 1
    assert session.scalar(sa.select(PendingConnect)) is None
    with pytest.raises(SecretNotFound):
        store.read(path)


def test_facebook_keeps_one_page_token_per_page(client, admin, session, publisher_headers):
    pages = [{"id": "page-2001", "name": "Acme Careers"}, {"id": "page-2002", "name": "أكمي الشرق الأوسط"}]
    with FakeNetwork(pages=pages) as network:
        register(client, admin, network, key="facebook")
        first_id = connect(client, admin, key="facebook")
        accounts = client.get("/api/v1/accounts", query_string={"network": "facebook"}, headers=admin).get_json()["items"]
        assert {a["external_id"] for a in accounts} >= {"page-2001", "page-2002"}
        by_page = {a["external_id"]: a["id"] for a in accounts}
        for page_id, account_id in by_page.items():
            connection = client.get(f"/api/v1/accounts/{account_id}/connection", headers=admin).get_json()
            assert connection["health"] == "healthy" and connection["expires_at"] is None  # Page tokens do not expire
            whoami = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=publisher_headers(account_id))
            assert whoami.get_json()["result"]["id"] == page_id
        assert first_id in by_page.values()

        unbound = factories.account(session, Actor.system("test"), handle="acme_new_page", network="facebook")
        session.commit()
        started = client.post("/api/v1/connections", json={"network": "facebook", "account_id": unbound.id}, headers=admin).get_json()
        location = requests.get(started["authorize_url"], allow_redirects=False, timeout=10).headers["Location"]
        query = parse_qs(urlparse(location).query)
        refused = client.get("/oauth/callback", query_string={"state": query["state"][0], "code": query["code"][0]})
        assert refused.status_code == 422 and "several Pages" in refused.get_data(as_text=True)


def test_owner_is_notified_when_the_account_needs_reconnecting(client, admin, network, session):
    from govern.people.models import PersonStatus

    actor = Actor.system("test")
    manager = factories.person(session, actor, display_name="Omar Haddad")
    owner = factories.person(session, actor, display_name="سارة الحسيني", manager_id=manager.id)
    register(client, admin, network)
    account_id = connect(client, admin)
    client.patch(f"/api/v1/accounts/{account_id}", json={"owner_id": owner.id}, headers=admin)
    _, owner_token = create_api_client(session, actor, "owner-token", Role.IT, owner.id)
    session.commit()
    network.fail_next_refresh("invalid_grant")
    client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin)
    inbox = client.get("/api/v1/notifications", headers={"Authorization": f"Bearer {owner_token.reveal()}"}).get_json()
    assert [(n["kind"], n["subject_id"]) for n in inbox] == [("connection_needs_reconnect", str(account_id))]
    read = client.post(f"/api/v1/notifications/{inbox[0]['id']}/read", headers={"Authorization": f"Bearer {owner_token.reveal()}"})
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert client.post(f"/api/v1/notifications/{inbox[0]['id']}/read", headers=admin).status_code == 404  # not theirs

    session.get(type(owner), owner.id).status = PersonStatus.LEAVER  # the owner left: the manager is told next time
    session.commit()
    connect(client, admin, account_id=account_id)
    network.fail_next_refresh("invalid_grant")
    client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin)
    from govern.notifications.service import unread_for

    assert [n.subject_id for n in unread_for(session, manager.id)] == [str(account_id)]


def test_refresh_now_on_a_page_token_is_a_no_op_and_the_page_stays_healthy(client, admin, session, publisher_headers):
    with FakeNetwork(pages=[{"id": "page-3001", "name": "Acme Support"}]) as network:
        register(client, admin, network, key="facebook")
        account_id = connect(client, admin, key="facebook")
        refreshed = client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin)
        assert refreshed.status_code == 200
        body = refreshed.get_json()
        assert (body["refreshed"], body["refresh_result"], body["health"]) == (False, "no_refresh_token", "healthy")
        assert "does not expire" in body["refresh_note"] and network.stats["refresh_requests"] == 0
        whoami = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=publisher_headers(account_id))
        assert whoami.status_code == 200 and whoami.get_json()["result"]["id"] == "page-3001"


@pytest.mark.parametrize("params, problem", [
    ({"state": "fixed"}, "state is set by govern"),
    ({"code_challenge": "x"}, "code_challenge is set by govern"),
    ({"Redirect_URI": "https://evil.example/cb"}, "Redirect_URI is set by govern"),
    ({"client_id": "other"}, "client_id is set by govern"),
    ({"response_type": "token"}, "response_type is set by govern"),
    ({"ui_locales": 3}, "Not a valid string"),
    ({"bad name": "x"}, "is not a parameter name"),
])
def test_extra_authorization_parameters_cannot_override_what_govern_sets(client, admin, network, params, problem):
    body = {"client_id": "govern-test", "client_secret": "s3cret", "extra_authorize_params": params}
    refused = client.put("/api/v1/networks/x/app", json=body, headers=admin)
    assert refused.status_code == 422 and problem in str(refused.get_json()["errors"]["extra_authorize_params"])


def test_extra_authorization_parameters_are_sent_with_the_presets_own(client, admin, network):
    register(client, admin, network, key="youtube", extra_authorize_params={"login_hint": "brand@acme.example"})
    started = client.post("/api/v1/connections", json={"network": "youtube"}, headers=admin).get_json()
    query = parse_qs(urlparse(started["authorize_url"]).query)
    assert query["login_hint"] == ["brand@acme.example"] and query["access_type"] == ["offline"] and query["prompt"] == ["consent"]


def test_connect_when_the_apps_client_secret_is_gone_from_the_store_is_a_clear_409(client, admin, network, app):
    register(client, admin, network, key="mastodon")
    context = app_services.broker(app)
    context.store.destroy("govern/networks/mastodon/client")  # lost in a Vault restore, or deleted by hand
    context.clients.clear()
    refused = client.post("/api/v1/connections", json={"network": "mastodon"}, headers=admin)
    assert refused.status_code == 409 and refused.content_type == "application/problem+json"
    assert "register the app's secret again" in refused.get_json()["detail"]
    register(client, admin, network, key="mastodon")
    assert client.post("/api/v1/connections", json={"network": "mastodon"}, headers=admin).status_code == 201
