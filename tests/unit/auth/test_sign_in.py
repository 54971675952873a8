"""One-time sign-in links and bearer tokens."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from govern.audit.models import AuditEvent
from govern.auth.models import LoginLink
from govern.auth.roles import Role
from govern.auth.service import authenticate_token, create_api_client, ensure_console_user, issue_login_link
from govern.db import utcnow
from tests.support.console import redeem_link


def _user(session, actor, email="ops@example.com"):
    user = ensure_console_user(session, actor, email, "עמית", Role.GOVERNANCE)
    session.commit()
    return user


def test_link_signs_in_once(client, session, actor):
    _user(session, actor)
    code = issue_login_link(session, actor, "OPS@example.com", 900).reveal()
    session.commit()
    first = redeem_link(client, code, next_url="/accounts")
    assert first.status_code == 302 and first.headers["Location"] == "/accounts"
    assert client.get("/accounts").status_code == 200
    assert redeem_link(client, code, headers={"Accept-Language": "en"}).status_code == 400


def test_opening_a_link_only_shows_a_sign_in_button(client, session, actor):
    """Mail and chat link scanners open links: a GET spends nothing, only the button's POST does."""
    _user(session, actor)
    code = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.commit()
    for _ in range(3):
        page = client.get(f"/login/{code}?next=/people", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert len(re.findall(r'<form class="signin-link" method="post">', body)) == 1 and 'name="csrf_token"' in body
        assert code not in body  # the form posts back to the page's own address; the language switcher goes to /login
    assert client.get("/accounts").status_code == 302  # not signed in by looking
    assert session.scalar(sa.select(LoginLink.used_at)) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "auth:session:sign_in")) == 0
    response = redeem_link(client, code, next_url="/people")
    assert response.status_code == 302 and response.headers["Location"] == "/people"


def test_the_link_page_is_translated(app, client, actor):
    from govern.extensions import db

    with app.app_context():  # then each request gets its own app context (and locale), as in production
        _user(db.session, actor)
        code = issue_login_link(db.session, actor, "ops@example.com", 900).reveal()
        db.session.commit()
    english = client.get(f"/login/{code}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "press the button" in english
    for locale in ("ar", "he"):
        page = client.get(f"/login/{code}", headers={"Accept-Language": locale}).get_data(as_text=True)
        assert f'lang="{locale}" dir="rtl"' in page and "press the button" not in page


def test_spending_a_link_needs_the_forms_csrf_token(client, session, actor):
    _user(session, actor)
    code = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.commit()
    forged = client.post(f"/login/{code}", data={"next": "/accounts"})
    assert forged.status_code == 400 and client.get("/accounts").status_code == 302
    assert session.scalar(sa.select(LoginLink.used_at)) is None
    assert redeem_link(client, code).status_code == 302


def test_expired_link_and_offsite_next_are_refused(client, session, actor):
    _user(session, actor)
    code = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.execute(sa.update(LoginLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert redeem_link(client, code).status_code == 400
    fresh = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.commit()
    response = redeem_link(client, fresh, next_url="//evil.example/steal")
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_disabled_user_loses_console_access(client, session, actor):
    user = _user(session, actor)
    code = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.commit()
    redeem_link(client, code)
    user.disabled_at = utcnow()
    session.commit()
    response = client.get("/accounts")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_revoked_and_unknown_tokens_are_refused(session, actor):
    client_row, token = create_api_client(session, actor, "ci", Role.IT)
    assert authenticate_token(session, token.reveal()).role == Role.IT
    assert authenticate_token(session, token.reveal() + "x") is None
    assert authenticate_token(session, "not-a-govern-token") is None
    client_row.revoked_at = utcnow()
    assert authenticate_token(session, token.reveal()) is None
    assert token.reveal() not in repr(token) and token.reveal() not in f"{token}"
