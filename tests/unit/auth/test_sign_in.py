"""One-time sign-in links and bearer tokens."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from govern.auth.models import LoginLink
from govern.auth.roles import Role
from govern.auth.service import authenticate_token, create_api_client, ensure_console_user, issue_login_link
from govern.db import utcnow


def _user(session, actor, email="ops@example.com"):
    user = ensure_console_user(session, actor, email, "עמית", Role.GOVERNANCE)
    session.commit()
    return user


def test_link_signs_in_once(client, session, actor):
    _user(session, actor)
    code = issue_login_link(session, actor, "OPS@example.com", 900).reveal()
    session.commit()
    first = client.get(f"/login/{code}?next=/accounts")
    assert first.status_code == 302 and first.headers["Location"] == "/accounts"
    assert client.get("/accounts").status_code == 200
    assert client.get(f"/login/{code}", headers={"Accept-Language": "en"}).status_code == 400


def test_expired_link_and_offsite_next_are_refused(client, session, actor):
    _user(session, actor)
    code = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.execute(sa.update(LoginLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.get(f"/login/{code}").status_code == 400
    fresh = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.commit()
    response = client.get(f"/login/{fresh}?next=//evil.example/steal")
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_disabled_user_loses_console_access(client, session, actor):
    user = _user(session, actor)
    code = issue_login_link(session, actor, "ops@example.com", 900).reveal()
    session.commit()
    client.get(f"/login/{code}")
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
