"""/networks: an admin registers or replaces govern's app on a network from the console. The client secret goes
straight to the secret store: a canary proves it never reaches the database, a log, an audit event or a page."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import astuple

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from govern import app_services
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.broker.models import NetworkApp
from tests import factories
from tests.support.canary import haystacks
from tests.support.console import signed_in_with_role

CANARY = "canary-client-secret-7f3a9c1e5b"


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def admin(app, session):
    return signed_in_with_role(app, session, Role.ADMIN)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _app(session, key: str) -> NetworkApp | None:
    session.expire_all()
    return session.scalar(sa.select(NetworkApp).join(NetworkApp.network).where(NetworkApp.network.has(key=key)))


GENERIC = {"authorize_url": "http://127.0.0.1:9/oauth/authorize", "token_url": "http://127.0.0.1:9/oauth/token",
           "whoami_url": "http://127.0.0.1:9/api/me", "api_url": "http://127.0.0.1:9/api"}


def test_only_admins_configure_networks(app, session, admin):
    page = admin.get("/networks")
    assert page.status_code == 200 and "/networks/generic_oauth2" in page.get_data(as_text=True)
    assert 'href="/networks"' in page.get_data(as_text=True)  # in the navigation
    for role in (Role.IT, Role.GOVERNANCE, Role.AUDITOR):
        other = signed_in_with_role(app, session, role)
        assert other.get("/networks").status_code == 403 and other.get("/networks/x").status_code == 403
        assert other.post("/networks/x", data={"client_id": "a", "client_secret": "b"}).status_code == 403
        assert 'href="/networks"' not in other.get("/accounts").get_data(as_text=True)
    assert admin.get("/networks/myspace").status_code == 404


def test_registering_stores_the_secret_and_audits_the_rest(app, admin, session):
    response = admin.post("/networks/x", data={"client_id": "govern-x", "client_secret": " s3cret-x ", "scopes": "tweet.read, users.read",
                                               "extra_authorize_params": "ui_locales=ar\n\nprompt = consent", "api_url": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith("/networks")
    registered = _app(session, "x")
    assert registered.client_id == "govern-x" and registered.scopes == ["tweet.read", "users.read"]
    assert registered.extra_authorize_params == {"ui_locales": "ar", "prompt": "consent"} and registered.api_url is None
    with app.app_context():
        stored = app_services.broker(app).store.read(registered.secret_path)
    assert stored.data["client_secret"].reveal() == "s3cret-x" and stored.version == registered.secret_version
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "broker:network_app:register", AuditEvent.target_id == "x"))
    assert event.actor == admin.actor_id and event.summary["after"]["client_id"] == "govern-x"
    listing = text_of(admin.get("/networks"))
    assert "govern-x" in listing and "is registered" in listing
    form = admin.get("/networks/x").get_data(as_text=True)  # replacing starts from what is registered, never the secret
    assert 'value="govern-x"' in form and "s3cret" not in form and "ui_locales=ar" in form


def test_the_generic_network_needs_its_endpoints(admin, session):
    response = admin.post("/networks/generic_oauth2", data={"client_id": "g", "client_secret": "s"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and _app(session, "generic_oauth2") is None
    for field in ("authorize_url", "token_url", "whoami_url", "api_url"):
        assert f'id="{field}-error"' in page
    assert re.search(r'<input id="authorize_url"[^>]*autofocus', page) and page.count(" autofocus") == 1
    assert 'id="revocation_url-error"' not in page
    assert admin.post("/networks/generic_oauth2", data={"client_id": "g", "client_secret": "s", **GENERIC}).status_code == 302
    assert _app(session, "generic_oauth2").authorize_url == GENERIC["authorize_url"]


@pytest.mark.parametrize("field, value", [
    ("extra_authorize_params", "state=forged"),
    ("extra_authorize_params", "no equals sign"),
    ("token_url", "ftp://example.com/token"),
    ("client_id", ""),
    ("client_secret", ""),
])
def test_bad_input_is_said_on_its_field(admin, session, field, value):
    response = admin.post("/networks/x", data={"client_id": "a", "client_secret": "b", field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and f'id="{field}-error"' in page and _app(session, "x") is None
    assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error[^"]*" aria-invalid="true"', page, re.S)


def test_problems_are_said_in_hebrew(admin):
    admin.post("/locale", data={"locale": "he"})
    refresh()
    page = text_of(admin.post("/networks/generic_oauth2", data={"client_id": "g"}))
    assert "Client secret:" not in page and "this network has no built-in address" not in page
    assert "סוד הלקוח" in page


def test_a_canary_secret_posted_in_the_console_reaches_only_the_secret_store(app, admin, session, caplog):
    caplog.set_level(logging.DEBUG)
    responses = [
        admin.post("/networks/generic_oauth2", data={"client_id": "canary-app", "client_secret": CANARY, "token_url": "not a url"}),
        admin.post("/networks/generic_oauth2", data={"client_id": "canary-app", "client_secret": CANARY, **GENERIC}),
    ]
    assert [r.status_code for r in responses] == [400, 302]
    responses += [admin.get("/networks"), admin.get("/networks/generic_oauth2")]
    registered = _app(session, "generic_oauth2")
    with app.app_context():
        assert app_services.broker(app).store.read(registered.secret_path).data["client_secret"].reveal() == CANARY
    database, audit, bodies = astuple(haystacks(session, responses))
    assert "canary-app" in database and "canary-app" in audit  # the haystacks hold what was registered...
    assert CANARY not in database, "the client secret reached the database"
    assert CANARY not in audit, "the client secret reached an audit event"
    assert CANARY not in bodies, "the client secret reached a page"
    assert CANARY not in caplog.text, "the client secret reached the logs"


def test_connect_without_an_app_leads_an_admin_to_register_it(app, admin, session, actor):
    account = factories.account(session, actor, handle="acme", network="linkedin")
    session.commit()
    it = signed_in_with_role(app, session, Role.IT)
    page = text_of(it.post(f"/accounts/{account.id}/connect", data={}))
    assert "/networks/linkedin" not in page and "Ask an administrator" in page
    page = text_of(admin.post(f"/accounts/{account.id}/connect", data={}))
    assert "/networks/linkedin" in page and "has no registered app yet" in page
    link = re.search(r'href="(/networks/linkedin[^"]*)"', page).group(1)
    form = text_of(admin.get(link))
    assert f'name="next" value="/accounts/{account.id}"' in form  # registering leads back to the account to connect it
    registered = admin.post("/networks/linkedin", data={"client_id": "li", "client_secret": "s", "next": f"/accounts/{account.id}"})
    assert registered.headers["Location"].endswith(f"/accounts/{account.id}")
    for evil in ("//evil.example/x", "/\\evil.example", "https://evil.example/accounts/1"):
        answer = admin.post("/networks/linkedin", data={"client_id": "li", "client_secret": "s", "next": evil})
        assert answer.headers["Location"].endswith("/networks"), evil


@pytest.mark.parametrize("fields", [
    {"client_id": "a\x00b", "client_secret": "s"},
    {"client_id": "a", "client_secret": "s" * 5000},
    {"client_id": "a", "client_secret": "s", "scopes": "x" * 300},
    {"client_id": "a", "client_secret": "s", "extra_authorize_params": "\n".join(f"p{n}=v" for n in range(21))},
    {"client_id": "a", "client_secret": "s", "extra_authorize_params": "a=1\na=2"},
    {"client_id": "a", "client_secret": "s", "api_url": "http://" + "h" * 1100},
])
def test_bad_input_is_a_readable_4xx_never_a_500(admin, fields):
    response = admin.post("/networks/x", data=fields)
    assert 400 <= response.status_code < 500, response.status_code


def test_a_secret_store_outage_is_said_and_nothing_is_saved(app, admin, session, monkeypatch):
    from govern.adapters.secret_store import SecretStoreError

    store = app_services.broker(app).store

    def down(*args, **kwargs):
        raise SecretStoreError(f"connection refused while writing {CANARY}")

    monkeypatch.setattr(store, "write", down)
    response = admin.post("/networks/x", data={"client_id": "a", "client_secret": CANARY})
    page = text_of(response)
    assert response.status_code == 503 and "The secret store did not answer" in page
    assert CANARY not in page and _app(session, "x") is None
