"""The loopback fake network, driven over HTTP by authlib's own OAuth 2.0 client, as govern drives real networks."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.support.fake_network import FakeNetwork

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
SCOPES = "publish read offline.access"


@pytest.fixture
def network():
    with FakeNetwork(client_id="govern-test", client_secret="s3cret", access_ttl=7200) as fake:
        yield fake


def oauth_session(secret: str = "s3cret", auth_method: str = "client_secret_basic") -> OAuth2Session:
    return OAuth2Session(
        client_id="govern-test", client_secret=secret, token_endpoint_auth_method=auth_method,
        revocation_endpoint_auth_method=auth_method, redirect_uri=REDIRECT_URI, scope=SCOPES,
        code_challenge_method="S256", default_timeout=5,
    )


def authorize(network: FakeNetwork, session: OAuth2Session, verifier: str) -> dict[str, list[str]]:
    """Visit the authorization URL as the browser would and return the query of the redirect back."""
    url, state = session.create_authorization_url(network.authorize_url, state=secrets.token_urlsafe(16), code_verifier=verifier)
    consent = requests.get(url, allow_redirects=False, timeout=5)
    assert consent.status_code == 302, consent.text
    location = consent.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = parse_qs(urlparse(location).query)
    assert query["state"] == [state]
    return query


def connect(network: FakeNetwork, session: OAuth2Session | None = None) -> dict:
    session = session or oauth_session()
    verifier = secrets.token_urlsafe(48)
    code = authorize(network, session, verifier)["code"][0]
    return session.fetch_token(network.token_url, grant_type="authorization_code", code=code, code_verifier=verifier)


def refresh(network: FakeNetwork, refresh_token: str) -> dict:
    return oauth_session().refresh_token(network.token_url, refresh_token=refresh_token)


def api(method: str, url: str, access_token: str, **kwargs) -> requests.Response:
    return requests.request(method, url, headers={"Authorization": f"Bearer {access_token}"}, timeout=5, **kwargs)


def whoami_status(network: FakeNetwork, access_token: str) -> int:
    return api("GET", network.whoami_url, access_token).status_code


def raw_authorize(network: FakeNetwork, **params: str) -> requests.Response:
    query = {"response_type": "code", "client_id": "govern-test", "redirect_uri": REDIRECT_URI, "state": "st-1", "scope": SCOPES, **params}
    return requests.get(network.authorize_url, params=query, allow_redirects=False, timeout=5)


def test_authorization_code_with_pkce_issues_tokens_for_the_current_user(network):
    token = connect(network)
    assert token["token_type"] == "Bearer" and token["expires_in"] == 7200 and token["scope"] == SCOPES
    assert token["refresh_token"] and "refresh_token_expires_in" not in token
    me = api("GET", network.whoami_url, token["access_token"])
    assert me.status_code == 200 and (me.json()["id"], me.json()["name"]) == ("page-1001", "Acme Page")
    assert network.whoami_url == network.api_url + "/me" and network.api_url == network.base_url + "/api"
    assert network.stats["token_requests"] == 1 and network.stats["api_calls"] == 1


def test_client_secret_post_and_another_user(network):
    network.set_user(id="person-7", name="Jo Personal", personal=True)
    token = connect(network, oauth_session(auth_method="client_secret_post"))
    assert api("GET", network.whoami_url, token["access_token"]).json()["personal"] is True
    assert api("GET", network.whoami_url, token["access_token"]).json()["id"] == "person-7"


def test_authorization_without_pkce_is_refused(network):
    refused = raw_authorize(network)
    query = parse_qs(urlparse(refused.headers["Location"]).query)
    assert refused.status_code == 302 and query["error"] == ["invalid_request"] and query["state"] == ["st-1"]
    assert "code" not in query


def test_plain_code_challenge_is_refused(network):
    verifier = secrets.token_urlsafe(48)
    for params in ({"code_challenge": verifier, "code_challenge_method": "plain"}, {"code_challenge": verifier}):
        query = parse_qs(urlparse(raw_authorize(network, **params).headers["Location"]).query)
        assert query["error"] == ["invalid_request"] and "code" not in query


def test_wrong_verifier_and_replayed_code_are_refused(network):
    session, verifier = oauth_session(), secrets.token_urlsafe(48)
    code = authorize(network, session, verifier)["code"][0]
    with pytest.raises(OAuthError) as wrong:
        session.fetch_token(network.token_url, code=code, code_verifier=secrets.token_urlsafe(48))
    assert wrong.value.error == "invalid_grant"
    token = session.fetch_token(network.token_url, code=code, code_verifier=verifier)
    with pytest.raises(OAuthError) as replayed:
        session.fetch_token(network.token_url, code=code, code_verifier=verifier)
    assert replayed.value.error == "invalid_grant"
    assert whoami_status(network, token["access_token"]) == 401  # a replayed code revokes what it issued


def test_unregistered_redirect_uri_and_unknown_scope_are_refused():
    with FakeNetwork(redirect_uris=[REDIRECT_URI]) as network:
        challenge = create_s256_code_challenge(secrets.token_urlsafe(48))
        pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
        elsewhere = raw_authorize(network, redirect_uri="http://127.0.0.1:9/steal", **pkce)
        assert elsewhere.status_code == 400 and "Location" not in elsewhere.headers
        query = parse_qs(urlparse(raw_authorize(network, scope="publish admin", **pkce).headers["Location"]).query)
        assert query["error"] == ["invalid_scope"]


def test_wrong_client_secret_is_refused(network):
    for method in ("client_secret_basic", "client_secret_post"):
        with pytest.raises(OAuthError) as refused:
            connect(network, oauth_session(secret="wrong", auth_method=method))
        assert refused.value.error == "invalid_client"
    token = connect(network)
    with pytest.raises(OAuthError) as refused:
        oauth_session(secret="wrong").refresh_token(network.token_url, refresh_token=token["refresh_token"])
    assert refused.value.error == "invalid_client"


def test_publish_list_delete_and_moderate(network):
    access = connect(network)["access_token"]
    first = api("POST", f"{network.api_url}/posts", access, json={"text": "hello"})
    second = api("POST", f"{network.api_url}/posts", access, json={"text": "مرحبا"})
    assert first.status_code == 201 and first.json() == {"id": first.json()["id"], "text": "hello"}
    assert first.json()["id"].startswith("post-")
    listed = api("GET", f"{network.api_url}/posts", access).json()["data"]
    assert [p["text"] for p in listed] == ["مرحبا", "hello"] and [p["text"] for p in network.posts] == ["hello", "مرحبا"]
    assert api("POST", f"{network.api_url}/posts", access, json={}).status_code == 400

    comment = network.add_comment(first.json()["id"], "rude words", author="troll")
    assert api("POST", f"{network.api_url}/comments/{comment['id']}/hide", access).json() == {"hidden": True}
    reply = api("POST", f"{network.api_url}/comments/{comment['id']}/replies", access, json={"text": "thanks"})
    assert reply.status_code == 201
    comments = api("GET", f"{network.api_url}/posts/{first.json()['id']}/comments", access).json()["data"]
    assert [(c["id"], c["hidden"]) for c in comments] == [(comment["id"], True), (reply.json()["id"], False)]
    assert comments[1]["author"] == "Acme Page" and comments[1]["parent_id"] == comment["id"]

    assert api("DELETE", f"{network.api_url}/posts/{second.json()['id']}", access).json() == {"deleted": True}
    assert api("DELETE", f"{network.api_url}/posts/post-404", access).status_code == 404
    assert api("POST", f"{network.api_url}/comments/comment-404/hide", access).status_code == 404
    assert [p["text"] for p in network.posts] == ["hello"] and network.stats["api_calls"] == 10


def test_api_refuses_missing_and_unknown_tokens(network):
    missing = requests.get(network.whoami_url, timeout=5)
    unknown = api("POST", f"{network.api_url}/posts", "not-a-token", json={"text": "x"})
    assert missing.status_code == 401 and "WWW-Authenticate" in missing.headers
    assert unknown.status_code == 401 and 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
    assert network.posts == []


def test_refresh_rotates_the_refresh_token(network):
    first = connect(network)
    second = refresh(network, first["refresh_token"])
    third = refresh(network, second["refresh_token"])
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert third["expires_in"] == 7200 and third["scope"] == SCOPES
    assert whoami_status(network, third["access_token"]) == 200
    assert network.seen_refresh_tokens == [first["refresh_token"], second["refresh_token"]]
    assert network.stats["refresh_requests"] == 2 and network.stats["token_requests"] == 3


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(network):
    first = connect(network)
    second = refresh(network, first["refresh_token"])
    bystander = connect(network)  # another authorization: a different family
    with pytest.raises(OAuthError) as reused:
        refresh(network, first["refresh_token"])
    assert reused.value.error == "invalid_grant" and network.stats["refresh_reuse_detected"] == 1
    assert whoami_status(network, second["access_token"]) == 401
    assert whoami_status(network, first["access_token"]) == 401
    with pytest.raises(OAuthError) as descendant:
        refresh(network, second["refresh_token"])
    assert descendant.value.error == "invalid_grant"
    assert whoami_status(network, bystander["access_token"]) == 200
    assert refresh(network, bystander["refresh_token"])["access_token"]


def test_concurrent_refreshes_with_one_token_are_seen_as_reuse(network):
    token = connect(network)
    network.token_delay = 0.2

    def attempt(_):
        try:
            return refresh(network, token["refresh_token"])
        except OAuthError as error:
            return error.error

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, range(2)))
    winners = [o for o in outcomes if isinstance(o, dict)]
    assert len(winners) == 1 and "invalid_grant" in outcomes
    assert network.stats["refresh_reuse_detected"] == 1 and whoami_status(network, winners[0]["access_token"]) == 401


def test_non_rotating_refresh_token_stays_valid_with_its_lifetime():
    with FakeNetwork(rotating_refresh=False, refresh_ttl=86400 * 365, access_ttl=3600) as network:
        token = connect(network)
        assert token["refresh_token_expires_in"] == 86400 * 365
        form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        again = requests.post(network.token_url, data=form, auth=("govern-test", "s3cret"), timeout=5).json()
        assert "refresh_token" not in again and again["expires_in"] == 3600  # Google style: the old one stays
        once_more = refresh(network, token["refresh_token"])
        assert once_more["access_token"] != again["access_token"]
        assert whoami_status(network, again["access_token"]) == 200
        assert network.stats["refresh_reuse_detected"] == 0


def test_revocation_rfc7009(network):
    token = connect(network)
    session = oauth_session()
    assert session.revoke_token(network.revocation_url, token["access_token"], token_type_hint="access_token").status_code == 200
    assert whoami_status(network, token["access_token"]) == 401
    newer = refresh(network, token["refresh_token"])
    assert session.revoke_token(network.revocation_url, newer["refresh_token"], token_type_hint="refresh_token").status_code == 200
    assert whoami_status(network, newer["access_token"]) == 401
    with pytest.raises(OAuthError):
        refresh(network, newer["refresh_token"])
    assert session.revoke_token(network.revocation_url, "never-issued").status_code == 200
    assert oauth_session(secret="wrong").revoke_token(network.revocation_url, "never-issued").status_code == 401
    assert network.stats["revocations"] == 4


def test_fail_next_refresh_answers_once_with_the_chosen_error(network):
    token = connect(network)
    network.fail_next_refresh()
    with pytest.raises(OAuthError) as failed:
        refresh(network, token["refresh_token"])
    assert failed.value.error == "invalid_grant"
    network.fail_next_refresh("temporarily_unavailable")
    form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
    raw = requests.post(network.token_url, data=form, auth=("govern-test", "s3cret"), timeout=5)
    assert raw.status_code == 400 and raw.json()["error"] == "temporarily_unavailable"
    assert refresh(network, token["refresh_token"])["access_token"]
    assert network.seen_refresh_tokens == [token["refresh_token"]] * 3 and network.stats["refresh_requests"] == 3


def test_expire_access_tokens_then_refresh(network):
    token = connect(network)
    network.expire_access_tokens()
    expired = api("GET", network.whoami_url, token["access_token"])
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert whoami_status(network, refresh(network, token["refresh_token"])["access_token"]) == 200


def test_revoke_all_and_refresh_token_lifetime():
    with FakeNetwork(refresh_ttl=60) as network:
        token = connect(network)
        assert token["refresh_token_expires_in"] == 60
        assert refresh(network, token["refresh_token"])["refresh_token_expires_in"] == 60
        network.revoke_all()
        assert whoami_status(network, token["access_token"]) == 401
    with pytest.raises(RuntimeError):
        network.base_url  # stopped
