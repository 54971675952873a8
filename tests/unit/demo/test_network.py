"""The demo network: served only in demo mode on a loopback base URL, and an OAuth 2.0 server that refuses what it should."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from alembic import command as alembic_command

from govern import create_app
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.actor import Actor
from govern.cli import alembic_config
from govern.config import ConfigurationError, load_settings
from govern.demo import network as demo_network
from govern.extensions import db
from tests.support.console import signed_in_client

BASE_URL = "http://127.0.0.1:8765"
CALLBACK = f"{BASE_URL}/oauth/callback"


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo-network') / 'govern.sqlite'}"
    alembic_command.upgrade(alembic_config(url), "head")
    return url


def build(database: str, tmp_path, **settings):
    return create_app({"database_url": database, "secret_key": "d" * 40, "instance_path": str(tmp_path / "instance"),
                       "secure_cookies": False, **settings})


@pytest.fixture
def demo_app(database, tmp_path):
    app = build(database, tmp_path, demo_network=True, base_url=BASE_URL)
    yield app
    with app.app_context():
        db.engine.dispose()


def demo_rules(app) -> list[str]:
    return [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith(demo_network.PREFIX)]


@pytest.mark.parametrize("settings", [
    {"base_url": "https://govern.example.com"},
    {"base_url": "http://govern.internal:8000"},
    {"base_url": "http://127.0.0.1:8000", "force_https": True},
])
def test_production_settings_refuse_the_demo_network(settings):
    with pytest.raises(ConfigurationError, match="GOVERN_DEMO_NETWORK"):
        load_settings({"demo_network": True, **settings}, environ={})
    with pytest.raises(ConfigurationError, match="GOVERN_DEMO_NETWORK"):
        load_settings(settings, environ={"GOVERN_DEMO_NETWORK": "true"})


def test_without_demo_mode_nothing_is_served(database, tmp_path):
    production_like = build(database, tmp_path, base_url="https://govern.example.com", force_https=False)
    try:
        assert demo_rules(production_like) == []
        assert not demo_network.is_registered(production_like)
        assert production_like.test_client().get("/demo-network/api/me").status_code == 404
    finally:
        with production_like.app_context():
            db.engine.dispose()


def test_demo_mode_serves_it(demo_app):
    assert {"/demo-network/oauth/authorize", "/demo-network/oauth/token", "/demo-network/api/posts"} <= set(demo_rules(demo_app))


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def authorize_query(**overrides) -> dict[str, str]:
    return {"client_id": demo_network.CLIENT_ID, "redirect_uri": CALLBACK, "response_type": "code", "scope": "read publish",
            "state": "st-1", "code_challenge": _challenge("v" * 50), "code_challenge_method": "S256", **overrides}


def consent(client, decision: str = "allow", identity: str = "demo-1002", **overrides):
    page = client.get("/demo-network/oauth/authorize?" + urlencode(authorize_query(**overrides)))
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/demo-network/oauth/authorize",
                       data={**authorize_query(**overrides), "csrf_token": token, "identity": identity, "decision": decision})


def secret(app) -> str:
    return demo_network.demo_client_secret(app.config["SECRET_KEY"]).reveal()


def exchange(client, app, code: str, verifier: str = "v" * 50, client_secret: str | None = None):
    return client.post("/demo-network/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier,
        "client_id": demo_network.CLIENT_ID, "client_secret": client_secret if client_secret is not None else secret(app)})


def code_from(response) -> dict[str, str]:
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def test_the_consent_page_names_the_accounts_and_allow_sends_a_code_back(demo_app):
    client = demo_app.test_client()
    page = client.get("/demo-network/oauth/authorize?" + urlencode(authorize_query())).get_data(as_text=True)
    assert all(identity.handle in page for identity in demo_network.IDENTITIES)
    answer = code_from(consent(client))
    assert answer["state"] == "st-1" and answer["code"]
    tokens = exchange(client, demo_app, answer["code"])
    assert tokens.status_code == 200 and tokens.headers["Cache-Control"] == "no-store"
    document = tokens.get_json()
    me = client.get("/demo-network/api/me", headers={"Authorization": f"Bearer {document['access_token']}"})
    assert me.get_json()["sub"] == "demo-1002" and me.get_json()["username"] == "acme_demo_ar"


def test_deny_sends_access_denied_back(demo_app):
    answer = code_from(consent(demo_app.test_client(), decision="deny"))
    assert answer == {"error": "access_denied", "state": "st-1"}


@pytest.mark.parametrize("change", [
    {"client_id": "someone-else"}, {"redirect_uri": "http://127.0.0.1:9/elsewhere"},
    {"code_challenge_method": "plain"}, {"code_challenge": ""}, {"response_type": "token"},
])
def test_a_bad_authorization_request_is_refused_without_a_redirect(demo_app, change):
    response = demo_app.test_client().get("/demo-network/oauth/authorize?" + urlencode(authorize_query(**change)))
    assert response.status_code == 400 and "Location" not in response.headers
    assert 'role="alert"' in response.get_data(as_text=True)


def test_the_token_endpoint_checks_client_pkce_and_single_use(demo_app):
    client = demo_app.test_client()
    code = code_from(consent(client))["code"]
    assert exchange(client, demo_app, code, client_secret="wrong").status_code == 401
    assert exchange(client, demo_app, code, verifier="w" * 50).get_json()["error"] == "invalid_grant"
    first = exchange(client, demo_app, code)
    assert first.status_code == 200
    replay = exchange(client, demo_app, code)
    assert replay.get_json()["error"] == "invalid_grant"
    # a replayed code ends what it issued (RFC 6749 4.1.2)
    issued = first.get_json()["access_token"]
    assert client.get("/demo-network/api/me", headers={"Authorization": f"Bearer {issued}"}).status_code == 401


def test_refresh_rotates_and_reuse_ends_the_family(demo_app):
    client = demo_app.test_client()
    tokens = exchange(client, demo_app, code_from(consent(client))["code"]).get_json()
    refresh = {"grant_type": "refresh_token", "client_id": demo_network.CLIENT_ID, "client_secret": secret(demo_app)}
    rotated = client.post("/demo-network/oauth/token", data={**refresh, "refresh_token": tokens["refresh_token"]}).get_json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    again = client.post("/demo-network/oauth/token", data={**refresh, "refresh_token": tokens["refresh_token"]})
    assert again.get_json()["error"] == "invalid_grant"
    latest = client.post("/demo-network/oauth/token", data={**refresh, "refresh_token": rotated["refresh_token"]})
    assert latest.get_json()["error"] == "invalid_grant"


def test_the_api_needs_a_valid_token_and_keeps_posts_per_account(demo_app):
    client = demo_app.test_client()
    assert client.get("/demo-network/api/posts").status_code == 401
    assert client.get("/demo-network/api/posts", headers={"Authorization": "Bearer forged"}).status_code == 401
    access = exchange(client, demo_app, code_from(consent(client, identity="demo-1003"))["code"]).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    created = client.post("/demo-network/api/posts", json={"text": "שלום עולם"}, headers=bearer)
    assert created.status_code == 201
    posts = client.get("/demo-network/api/posts", headers=bearer).get_json()["data"]
    assert posts[0]["text"] == "שלום עולם" and {p["author_id"] for p in posts} == {"demo-1003"}
    with demo_app.app_context():
        foreign = next(p for p in demo_app.extensions[demo_network.EXTENSION].posts if p["author_id"] == "demo-1001")
    assert client.delete(f"/demo-network/api/posts/{foreign['id']}", headers=bearer).status_code == 404
    assert client.post("/demo-network/api/posts", json={"text": ""}, headers=bearer).status_code == 400


def test_its_page_with_the_client_secret_is_for_admins_only(demo_app):
    with demo_app.app_context():
        admin = ensure_console_user(db.session, Actor.system("tests"), "demo-admin@example.com", "Admin", Role.ADMIN)
        auditor = ensure_console_user(db.session, Actor.system("tests"), "demo-auditor@example.com", "Auditor", Role.AUDITOR)
        db.session.commit()
        admin_id, auditor_id = admin.id, auditor.id
    assert demo_app.test_client().get("/demo-network/").status_code == 302  # to the sign-in page
    assert signed_in_client(demo_app, auditor_id).get("/demo-network/").status_code == 403
    admin = signed_in_client(demo_app, admin_id)
    page = admin.get("/demo-network/")
    assert page.status_code == 200 and secret(demo_app) in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    empty = admin.post("/demo-network/posts", data={"csrf_token": token, "author_id": "demo-1001", "text": " "})
    assert empty.status_code == 400 and "Choose an account and write the post" in empty.get_data(as_text=True)
    posted = admin.post("/demo-network/posts", data={"csrf_token": token, "author_id": "demo-1001", "text": "Posted around govern"})
    assert posted.status_code == 303
    with demo_app.app_context():
        post = demo_network.network().recent_posts("demo-1001")[0]
    assert post["text"] == "Posted around govern"
    commented = admin.post("/demo-network/comments", data={"csrf_token": token, "post_id": post["id"], "text": "Nice"})
    assert commented.status_code == 303
    assert "Posted around govern" in admin.get("/demo-network/").get_data(as_text=True)
    assert admin.post("/demo-network/comments", data={"csrf_token": token, "post_id": "post-0", "text": "x"}).status_code == 400


def test_arabic_consent_page_is_translated(demo_app):
    client = demo_app.test_client()
    page = client.get("/demo-network/oauth/authorize?" + urlencode(authorize_query()), headers={"Accept-Language": "ar"})
    text = page.get_data(as_text=True)
    assert 'dir="rtl"' in text and "Allow" not in text and "Sign in to the demo network as" not in text


def test_every_demo_network_route_declares_who_may_use_it(demo_app):
    from govern.web.authz import declared_permission

    for rule in demo_app.url_map.iter_rules():
        if rule.rule.startswith(demo_network.PREFIX):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert declared_permission(demo_app, rule.endpoint, method) is not None, (rule.rule, method)


def test_its_state_never_shows_its_keys(demo_app):
    state = demo_app.extensions[demo_network.EXTENSION]
    shown = repr(state)
    assert secret(demo_app) not in shown and state.token_key.hex() not in shown and repr(state.token_key) not in shown


@pytest.mark.parametrize("locale, word", [("ar", "الشبكة التجريبية"), ("he", "רשת ההדגמה")])
def test_its_own_page_reads_in_arabic_and_hebrew(demo_app, locale, word):
    with demo_app.app_context():
        user = ensure_console_user(db.session, Actor.system("tests"), f"demo-{locale}@example.com", "Admin", Role.ADMIN)
        db.session.commit()
        user_id = user.id
    page = signed_in_client(demo_app, user_id).get("/demo-network/", headers={"Accept-Language": locale})
    text = page.get_data(as_text=True)
    assert word in text
    for english in ("Register govern's app", "Post directly on the network", "Client secret", "Posts on the network",
                    "Comment as a follower", "This is a stand-in social network"):
        assert english not in text, english
