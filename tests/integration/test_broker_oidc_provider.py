"""The generic OAuth 2.0 / OIDC network against an independent OpenID Connect server (panva's oidc-provider, run by
node): connect -> use -> refresh -> disconnect, tokens in OpenBao, revocation checked by introspection at the provider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from govern import app_services
from govern.adapters.secret_store import account_path
from govern.auth.roles import Role
from tests.support.standin import start_or_require
from tests.support.oidc_provider import OidcProviderUnavailable, start_oidc_provider

pytestmark = pytest.mark.integration

CALLBACK = "http://127.0.0.1:8000/oauth/callback"  # the test app's base_url


@pytest.fixture(scope="module")
def provider():
    server = start_or_require("oidc-provider (node)", lambda: start_oidc_provider(CALLBACK, access_token_ttl=120),
                              unavailable=(OidcProviderUnavailable,))
    yield server
    server.stop()


@pytest.fixture
def admin(auth_headers):
    return auth_headers(Role.ADMIN)


def register(client, headers, provider, scopes, **extra):
    body = {
        "client_id": provider.client_id, "client_secret": provider.client_secret,
        "authorize_url": provider.endpoint("authorization_endpoint"), "token_url": provider.endpoint("token_endpoint"),
        "revocation_url": provider.endpoint("revocation_endpoint"), "whoami_url": provider.endpoint("userinfo_endpoint"),
        "api_url": provider.issuer, "scopes": scopes, **extra,
    }
    response = client.put("/api/v1/networks/generic_oauth2/app", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def connect(client, headers, provider) -> tuple[int, str]:
    started = client.post("/api/v1/connections", json={"network": "generic_oauth2"}, headers=headers)
    assert started.status_code == 201, started.get_json()
    authorize_url = started.get_json()["authorize_url"]
    answer = provider.authorize(authorize_url, CALLBACK)
    assert "code" in answer, answer
    finished = client.get("/oauth/callback", query_string={"state": answer["state"][0], "code": answer["code"][0]})
    assert finished.status_code == 302, finished.get_data(as_text=True)
    return int(finished.headers["Location"].split("/accounts/")[1].split("?")[0]), authorize_url


def stored_tokens(app, account_id: int) -> dict[str, str]:
    stored = app_services.broker(app).store.read(account_path(account_id, "oauth"))
    return {name: value.reveal() for name, value in stored.data.items()}


@pytest.fixture
def person_headers(session, actor):
    from govern.auth.service import create_api_client
    from govern.grants.models import GrantRole
    from govern.grants.service import create_grant
    from tests import factories

    def make(account_id: int):
        person = factories.person(session, actor, display_name="נועה ברק")
        create_grant(session, actor, person.id, account_id, GrantRole.PUBLISHER, "identity team")
        _, token = create_api_client(session, actor, f"person-{person.id}", Role.IT, person.id)
        session.commit()
        return {"Authorization": f"Bearer {token.reveal()}"}

    return make


def whoami(client, headers, account_id: int) -> dict:
    response = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "whoami"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["result"]


def test_connect_use_refresh_disconnect_against_oidc_provider(client, admin, provider, app, person_headers):
    register(client, admin, provider, ["openid", "profile", "offline_access"])
    account_id, authorize_url = connect(client, admin, provider)
    first = stored_tokens(app, account_id)
    assert "refresh_token" in first, "the provider issued no refresh token for offline_access"
    assert parse_qs(urlparse(authorize_url).query)["prompt"] == ["consent"]  # OpenID Connect Core §11
    assert provider.introspect(first["refresh_token"])["active"] is True
    headers = person_headers(account_id)
    assert whoami(client, headers, account_id) == {"id": "oidc-user-1", "name": "OIDC Test User"}

    refreshed = client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin)
    assert refreshed.status_code == 200, refreshed.get_json()
    assert refreshed.get_json()["health"] == "healthy" and refreshed.get_json()["store_version"] == 2
    second = stored_tokens(app, account_id)
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert provider.introspect(first["refresh_token"])["active"] is False  # the provider rotates refresh tokens
    assert whoami(client, headers, account_id)["id"] == "oidc-user-1"  # the new access token works

    assert provider.introspect(second["access_token"])["active"] is True
    gone = client.delete(f"/api/v1/accounts/{account_id}/connection", json={"reason": "offboarded integration"}, headers=admin)
    assert gone.status_code == 200 and gone.get_json()["health"] == "revoked"
    assert provider.introspect(second["refresh_token"])["active"] is False
    assert provider.introspect(second["access_token"])["active"] is False


def test_disconnect_revokes_the_access_token_too(client, admin, provider, app, session):
    import sqlalchemy as sa

    from govern.audit.models import AuditEvent

    register(client, admin, provider, ["openid", "profile", "offline_access"])
    account_id, _ = connect(client, admin, provider)
    tokens = stored_tokens(app, account_id)
    gone = client.delete(f"/api/v1/accounts/{account_id}/connection", json={"reason": "no longer used"}, headers=admin)
    assert gone.status_code == 200
    assert provider.introspect(tokens["access_token"])["active"] is False
    assert provider.introspect(tokens["refresh_token"])["active"] is False
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "broker:connection:revoke",
                                                        AuditEvent.target_id == str(account_id))).one()
    assert event.summary["revoked_at_network"] == {"refresh_token": True, "access_token": True}


def test_refresh_now_without_a_refresh_token_is_a_no_op_that_says_so(client, admin, provider, app, person_headers):
    register(client, admin, provider, ["openid", "profile"])  # no offline_access: the provider gives no refresh token
    account_id, authorize_url = connect(client, admin, provider)
    assert "prompt" not in parse_qs(urlparse(authorize_url).query)
    before = stored_tokens(app, account_id)
    assert "refresh_token" not in before
    health_before = client.get(f"/api/v1/accounts/{account_id}/connection", headers=admin).get_json()["health"]
    refreshed = client.post(f"/api/v1/accounts/{account_id}/connection/refresh", headers=admin)
    assert refreshed.status_code == 200, refreshed.get_json()
    body = refreshed.get_json()
    assert body["refreshed"] is False and "no refresh token" in body["refresh_note"]
    assert body["health"] == health_before != "needs_reconnect" and body["store_version"] == 1
    assert stored_tokens(app, account_id) == before
    assert whoami(client, person_headers(account_id), account_id)["id"] == "oidc-user-1"


def test_extra_authorization_parameters_reach_the_provider(client, admin, provider):
    registered = register(client, admin, provider, ["openid", "profile"], extra_authorize_params={"ui_locales": "ar he", "max_age": "600"})
    assert registered["extra_authorize_params"] == {"ui_locales": "ar he", "max_age": "600"}
    started = client.post("/api/v1/connections", json={"network": "generic_oauth2"}, headers=admin).get_json()
    query = parse_qs(urlparse(started["authorize_url"]).query)
    assert query["ui_locales"] == ["ar he"] and query["max_age"] == ["600"]
    assert "code" in provider.authorize(started["authorize_url"], CALLBACK)  # the provider accepts them
