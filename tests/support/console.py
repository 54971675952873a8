"""Console test clients signed in as a console user, without going through a sign-in page."""

from __future__ import annotations

import re
from contextlib import nullcontext
from urllib.parse import urlencode

from flask import has_app_context
from govern import app_services


def sign_in_as(app, client, user_id: int, method: str = "login_link"):
    """Sign `client` in as the console user `user_id`, as a sign-in would: a server-side session, its id in the cookie.
    (Setting a user id in the cookie signs nobody in: the console only trusts the session record.)"""
    from govern.auth.models import ConsoleUser
    from govern.auth.service import Principal
    from govern.auth.sessions import SessionPolicy, start_session
    from govern.extensions import db

    # The test's own app context when there is one: its session may hold a savepoint that a nested one would commit into.
    with nullcontext() if has_app_context() else app.app_context():
        user = db.session.get(ConsoleUser, user_id)
        principal = Principal("console_user", user.id, user.display_name, user.role, user.person_id)
        session_id = start_session(db.session, principal, method, "127.0.0.1",
                                   SessionPolicy.from_settings(app_services.settings(app)))
        db.session.commit()
    with client.session_transaction() as cookie:
        cookie["sid"] = session_id.reveal()
    return client


def signed_in_client(app, user_id: int):
    return sign_in_as(app, app.test_client(), user_id)


def signed_in_with_role(app, session, role):
    """A test client signed in as a new console user of `role`; .actor_id is how the audit trail names them."""
    import uuid

    from govern.actor import Actor
    from govern.auth.service import ensure_console_user

    user = ensure_console_user(session, Actor.system("tests"), f"{role.value}-{uuid.uuid4().hex[:8]}@console.test",
                               f"{role.value} tester", role)
    session.commit()
    client = signed_in_client(app, user.id)
    client.actor_id = f"console_user:{user.id}"
    return client


def csrf_token_of(page) -> str:
    """The CSRF token in a console page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def redeem_link(client, code: str, next_url: str | None = None, headers: dict[str, str] | None = None, **kwargs):
    """Open a one-time sign-in link and press its "Sign in" button, as a person would (opening alone spends nothing)."""
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    page = client.get(f"/login/{code}{query}", headers=headers, **kwargs)
    form = {"csrf_token": csrf_token_of(page)} if page.status_code == 200 else {}
    return client.post(f"/login/{code}{query}", data=form, headers=headers, **kwargs)
