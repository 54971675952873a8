"""Console sessions live on the server: a copied cookie dies with sign-out, a departure, a role change or an
administrator's "sign out everywhere"; sessions end when idle and at their absolute lifetime; no session id in clear."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from govern.audit.models import AuditEvent
from govern.actor import Actor
from govern.auth.models import ConsoleSession, ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user, issue_login_link
from govern.db import utcnow
from govern.directory.models import Departure
from govern.directory.service import depart
from govern.extensions import db
from govern.people.models import Person, PersonStatus
from tests import factories
from tests.support.console import csrf_token_of, redeem_link

SETUP = Actor.system("session-tests")
COOKIE = "govern_session"


@pytest.fixture
def session(app):
    """Overrides the shared fixture: a session outside any app context, so each request gets its own `g` (and CSRF
    token) as in production."""
    with app.app_context():
        maker = db.sessionmaker
    with maker() as own:
        yield own


def _signed_in_user(app, session, email="sam@example.com", role=Role.GOVERNANCE, person_id=None):
    user = ensure_console_user(session, SETUP, email, "Sam", role, person_id)
    code = issue_login_link(session, SETUP, email, 900).reveal()
    session.commit()
    browser = app.test_client()
    assert redeem_link(browser, code).status_code == 302
    return user, browser


def _copy_of(app, browser):
    """Another client holding a copy of the browser's session cookie (a stolen or leftover cookie)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, browser.get_cookie(COOKIE).value)
    return thief


def _signed_in(client) -> bool:
    response = client.get("/accounts")
    assert response.status_code in (200, 302)
    return response.status_code == 200 or "/login" not in response.headers.get("Location", "")


def _sign_out(browser):
    token = csrf_token_of(browser.get("/accounts"))
    return browser.post("/logout", data={"csrf_token": token})


def _cookie_session_id(app, browser) -> str:
    return app.session_interface.get_signing_serializer(app).loads(browser.get_cookie(COOKIE).value)["sid"]


def test_a_copied_cookie_stops_working_at_sign_out(app, session):
    user, browser = _signed_in_user(app, session)
    thief = _copy_of(app, browser)
    assert _signed_in(thief)

    signed_out = _sign_out(browser)
    assert signed_out.status_code == 302 and signed_out.headers["Location"] == "/login"
    refused = thief.get("/accounts")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert not _signed_in(browser)
    ended = session.scalar(sa.select(ConsoleSession).where(ConsoleSession.user_id == user.id))
    assert ended.ended_at is not None and ended.end_reason == "sign_out"
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth:session:sign_out")).target_id == str(user.id)


def test_signing_out_still_needs_the_forms_csrf_token(app, session):
    _, browser = _signed_in_user(app, session)
    assert browser.post("/logout").status_code == 400
    assert _signed_in(browser)


def test_a_copied_cookie_stops_working_when_the_person_leaves_and_stays_dead_if_they_return(app, session):
    person = factories.person(session, SETUP)
    session.commit()
    user, browser = _signed_in_user(app, session, person_id=person.id)
    thief = _copy_of(app, browser)
    assert _signed_in(thief)

    with app.app_context():  # the departure's other receivers reach the broker through the app
        departure = depart(session, SETUP, person, "openldap", ["employment_terminated"], None)
        session.commit()
    assert departure.steps["console_sessions_ended"] == 1
    assert not _signed_in(thief) and not _signed_in(browser)

    # they come back, and an administrator switches their console user on again: the old cookie stays dead
    session.get(Person, person.id).status = PersonStatus.ACTIVE
    session.get(ConsoleUser, user.id).disabled_at = None
    session.commit()
    assert not _signed_in(thief)
    assert session.scalar(sa.select(Departure.steps).where(Departure.id == departure.id))["console_sessions_ended"] == 1


def test_a_role_change_ends_the_session(app, session):
    user, browser = _signed_in_user(app, session, role=Role.ADMIN)
    assert _signed_in(browser)
    session.get(ConsoleUser, user.id).role = Role.AUDITOR
    session.commit()
    assert not _signed_in(browser)


def test_an_idle_session_ends(app, session):
    user, browser = _signed_in_user(app, session)
    session.execute(sa.update(ConsoleSession).where(ConsoleSession.user_id == user.id)
                    .values(last_seen_at=utcnow() - timedelta(minutes=31)))
    session.commit()
    assert not _signed_in(browser)


def test_a_used_session_is_renewed_but_ends_at_its_absolute_lifetime(app, session):
    user, browser = _signed_in_user(app, session)
    idle_for = utcnow() - timedelta(minutes=25)
    session.execute(sa.update(ConsoleSession).where(ConsoleSession.user_id == user.id).values(last_seen_at=idle_for))
    session.commit()
    assert _signed_in(browser)
    renewed = session.scalar(sa.select(ConsoleSession).where(ConsoleSession.user_id == user.id))
    assert renewed.last_seen_at > idle_for + timedelta(minutes=20)
    assert renewed.expires_at - renewed.started_at == timedelta(hours=8)

    session.execute(sa.update(ConsoleSession).where(ConsoleSession.user_id == user.id)
                    .values(started_at=utcnow() - timedelta(hours=8), expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert not _signed_in(browser)  # busy until the last second, and still over


def test_the_session_table_holds_only_a_hash_of_the_session_id(app, session):
    user, browser = _signed_in_user(app, session)
    session_id = _cookie_session_id(app, browser)
    assert len(session_id) >= 40
    row = session.scalar(sa.select(ConsoleSession).where(ConsoleSession.user_id == user.id))
    assert row.id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    stored = " ".join(str(value) for value in session.execute(sa.select(ConsoleSession.__table__)).one())
    assert session_id not in stored


def test_signing_in_again_starts_a_new_session_id(app, session):
    _, browser = _signed_in_user(app, session)
    first = _cookie_session_id(app, browser)
    code = issue_login_link(session, SETUP, "sam@example.com", 900).reveal()
    session.commit()
    assert redeem_link(browser, code).status_code == 302
    assert _cookie_session_id(app, browser) != first


def test_an_admin_signs_a_user_out_everywhere(app, session, make_token):
    user, laptop = _signed_in_user(app, session)
    code = issue_login_link(session, SETUP, "sam@example.com", 900).reveal()
    session.commit()
    phone = app.test_client()
    assert redeem_link(phone, code).status_code == 302 and _signed_in(laptop) and _signed_in(phone)

    body = {"email": "SAM@example.com", "reason": "laptop stolen at the airport"}
    api = app.test_client()
    assert api.post("/api/v1/console-users/sign-out-everywhere", json=body,
                    headers={"Authorization": f"Bearer {make_token(Role.GOVERNANCE)}"}).status_code == 403
    done = api.post("/api/v1/console-users/sign-out-everywhere", json=body,
                    headers={"Authorization": f"Bearer {make_token(Role.ADMIN)}"})
    assert done.status_code == 200 and done.get_json() == {"email": "sam@example.com", "sessions_ended": 2}
    assert not _signed_in(laptop) and not _signed_in(phone)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth:session:end_all"))
    assert event.target_id == str(user.id) and event.actor.startswith("api_client:")
    assert event.summary["why"] == "laptop stolen at the airport" and event.summary["sessions_ended"] == 2

    unknown = api.post("/api/v1/console-users/sign-out-everywhere", json={**body, "email": "nobody@example.com"},
                       headers={"Authorization": f"Bearer {make_token(Role.ADMIN)}"})
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    for bad in ({}, {"email": "sam@example.com"}, {"email": "sam@example.com", "reason": ""}, {"email": 7, "reason": "xyz"}):
        answer = api.post("/api/v1/console-users/sign-out-everywhere", json=bad,
                          headers={"Authorization": f"Bearer {make_token(Role.ADMIN)}"})
        assert answer.status_code == 422, bad


def test_the_sign_out_button_is_on_every_signed_in_page(app, session):
    _, browser = _signed_in_user(app, session)
    page = browser.get("/accounts").get_data(as_text=True)
    assert re.search(r'<form class="signout" method="post" action="/logout">', page)
