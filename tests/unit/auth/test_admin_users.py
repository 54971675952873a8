"""The console users admin page: add, change a role, link a person, switch off and on, issue a sign-in link; an
administrator never locks themselves or everyone out."""

from __future__ import annotations

import re

import pytest
from flask import g
from flask_babel import refresh
from sqlalchemy import select

from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.auth.models import ConsoleSession, ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.auth.users import UserChangeRefused, change_role, disable
from govern.people.models import PersonStatus
from tests import factories
from tests.support.console import csrf_token_of, redeem_link, signed_in_client, signed_in_with_role


@pytest.fixture
def admin(app, session):
    return signed_in_with_role(app, session, Role.ADMIN)


def _forget_csrf() -> None:
    """Requests run in the test's app context, so what flask-wtf and flask-babel cache per request outlives them: a form
    read by one browser must not carry another browser's token, nor a page keep the language of the one before."""
    g.pop("csrf_token", None)
    refresh()


def _post(client, path, **form):
    _forget_csrf()
    return client.post(path, data={"csrf_token": csrf_token_of(client.get("/admin/users")), **form})


def _user(session, actor, email="someone@example.com", role=Role.IT, **fields):
    user = ensure_console_user(session, actor, email, "Some One", role, **fields)
    session.commit()
    return user


def _events(session, action, user_id):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == str(user_id))))


def test_the_list_shows_every_user_with_role_person_and_state(session, actor, admin):
    person = factories.person(session, actor)
    _user(session, actor, "linked@example.com", person_id=person.id)
    off = _user(session, actor, "off@example.com")
    off.disabled_at = off.created_at
    session.commit()
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "linked@example.com" in page and person.display_name in page
    assert "off@example.com" in page and "Switched off" in page


def test_adding_a_user_with_a_role_and_a_person_is_audited(session, actor, admin):
    person = factories.person(session, actor)
    session.commit()
    response = _post(admin, "/admin/users", email=" New@Example.com ", display_name="נועה", role="auditor", person_id=str(person.id))
    assert response.status_code == 302
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == "new@example.com"))
    assert user.role == Role.AUDITOR and user.person_id == person.id and user.display_name == "נועה"
    [event] = _events(session, "auth:console_user:create", user.id)
    assert event.actor == admin.actor_id


@pytest.mark.parametrize("form, status, words", [
    ({"email": "nope", "display_name": "N", "role": "it"}, 422, "valid email"),
    ({"email": "", "display_name": "N", "role": "it"}, 422, "Enter the email"),
    ({"email": "a@b.example", "display_name": "", "role": "it"}, 422, "Enter the user"),
    ({"email": "a@b.example", "display_name": "N", "role": "scim"}, 422, "Choose a role"),
    ({"email": "a@b.example", "display_name": "N"}, 422, "Choose a role"),
])
def test_a_bad_new_user_is_refused_in_words(session, admin, form, status, words):
    response = _post(admin, "/admin/users", **form)
    assert response.status_code == status and words in response.get_data(as_text=True)
    assert session.scalar(select(ConsoleUser).where(ConsoleUser.email == "a@b.example")) is None


def test_an_email_already_taken_is_refused(session, actor, admin):
    _user(session, actor, "taken@example.com")
    response = _post(admin, "/admin/users", email="taken@example.com", display_name="Other", role="admin")
    assert response.status_code == 409 and "already taken" in response.get_data(as_text=True)
    assert session.scalar(select(ConsoleUser).where(ConsoleUser.email == "taken@example.com")).role == Role.IT


def test_a_role_change_is_audited_and_ends_the_users_sessions(app, session, actor, admin):
    user = _user(session, actor)
    their_browser = signed_in_client(app, user.id)
    assert their_browser.get("/accounts").status_code == 200
    response = _post(admin, f"/admin/users/{user.id}/role", role="governance")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(ConsoleUser, user.id).role == Role.GOVERNANCE
    [event] = _events(session, "auth:console_user:update", user.id)
    assert event.summary["before"] == {"role": "it"} and event.summary["after"] == {"role": "governance"}
    assert session.scalar(select(ConsoleSession).where(ConsoleSession.user_id == user.id)).end_reason == "role_change"
    assert their_browser.get("/accounts").status_code == 302


def test_an_admin_cannot_demote_or_switch_off_themselves(session, admin):
    me = int(admin.actor_id.split(":")[1])
    for path, form in ((f"/admin/users/{me}/role", {"role": "it"}), (f"/admin/users/{me}/disable", {"confirmed": "1", "reason": "oops"})):
        response = _post(admin, path, **form)
        assert response.status_code == 422 and "your own administrator access" in response.get_data(as_text=True)
    session.expire_all()
    user = session.get(ConsoleUser, me)
    assert user.role == Role.ADMIN and user.disabled_at is None
    assert not _events(session, "auth:console_user:update", me) and not _events(session, "auth:console_user:disable", me)
    page = admin.get(f"/admin/users/{me}").get_data(as_text=True)
    assert "You cannot change your own role" in page and "You cannot switch yourself off" in page


def test_the_last_active_admin_is_never_demoted_or_switched_off(session, actor):
    cli = Actor.system("cli")
    only = _user(session, actor, "only-admin@example.com", Role.ADMIN)
    off = _user(session, actor, "off-admin@example.com", Role.ADMIN)
    off.disabled_at = off.created_at
    session.commit()
    for attempt in (lambda: change_role(session, cli, only.id, Role.IT), lambda: disable(session, cli, only.id, "leaving")):
        with pytest.raises(UserChangeRefused) as refused:
            attempt()
        assert refused.value.code == "last_admin"
    second = _user(session, actor, "second-admin@example.com", Role.ADMIN)
    change_role(session, cli, only.id, Role.IT)  # with another active admin it is allowed
    with pytest.raises(UserChangeRefused):
        disable(session, cli, second.id, "leaving")


def test_an_admin_linked_to_a_leaver_does_not_count_as_the_other_admin(session, actor):
    cli = Actor.system("cli")
    person = factories.person(session, actor)
    only = _user(session, actor, "only@example.com", Role.ADMIN)
    _user(session, actor, "left@example.com", Role.ADMIN, person_id=person.id)
    person.status = PersonStatus.LEAVER
    session.commit()
    with pytest.raises(UserChangeRefused):
        change_role(session, cli, only.id, Role.AUDITOR)


def test_linking_and_unlinking_a_person(session, actor, admin):
    user, person = _user(session, actor), factories.person(session, actor)
    session.commit()
    page = admin.get(f"/admin/users/{user.id}?person_q={person.display_name[:6]}").get_data(as_text=True)
    assert f'<option value="{person.id}"' in page  # the search offers them
    assert _post(admin, f"/admin/users/{user.id}/person", person_id=str(person.id)).status_code == 302
    session.expire_all()
    assert session.get(ConsoleUser, user.id).person_id == person.id
    assert _post(admin, f"/admin/users/{user.id}/unlink").status_code == 302
    session.expire_all()
    assert session.get(ConsoleUser, user.id).person_id is None
    changes = [event.summary for event in _events(session, "auth:console_user:update", user.id)]
    assert {"before": {"person_id": None}, "after": {"person_id": person.id}} in changes
    assert {"before": {"person_id": person.id}, "after": {"person_id": None}} in changes


def test_a_leaver_is_never_linked(session, actor, admin):
    user, person = _user(session, actor), factories.person(session, actor)
    person.status = PersonStatus.LEAVER
    session.commit()
    response = _post(admin, f"/admin/users/{user.id}/person", person_id=str(person.id))
    assert response.status_code == 422 and "has left the company" in response.get_data(as_text=True)
    assert _post(admin, f"/admin/users/{user.id}/person", person_id="").status_code == 422


def test_switching_off_asks_for_a_reason_then_ends_the_sessions(app, session, actor, admin):
    user = _user(session, actor)
    their_browser = signed_in_client(app, user.id)
    asked = _post(admin, f"/admin/users/{user.id}/disable")
    assert asked.status_code == 200 and "will no longer be able to sign in" in asked.get_data(as_text=True)
    assert _post(admin, f"/admin/users/{user.id}/disable", confirmed="1", reason="").status_code == 422
    session.expire_all()
    assert session.get(ConsoleUser, user.id).disabled_at is None, "asking switches nobody off"

    assert _post(admin, f"/admin/users/{user.id}/disable", confirmed="1", reason="left the team").status_code == 302
    session.expire_all()
    assert session.get(ConsoleUser, user.id).disabled_at is not None
    [event] = _events(session, "auth:console_user:disable", user.id)
    assert event.summary["reason"] == "left the team" and event.actor == admin.actor_id
    assert their_browser.get("/accounts").status_code == 302

    again = _post(admin, f"/admin/users/{user.id}/disable", confirmed="1", reason="twice")
    assert again.status_code == 302 and "already switched off" in admin.get(again.headers["Location"]).get_data(as_text=True)
    assert _post(admin, f"/admin/users/{user.id}/enable").status_code == 302
    session.expire_all()
    assert session.get(ConsoleUser, user.id).disabled_at is None
    assert _events(session, "auth:console_user:enable", user.id)
    history = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "left the team" in history and "Console user disabled" in history  # the user's page shows what happened


def test_a_sign_in_link_is_shown_once_and_signs_the_user_in(app, session, actor, admin):
    user = _user(session, actor)
    answer = _post(admin, f"/admin/users/{user.id}/sign-in-link")
    assert answer.status_code == 200
    link = re.search(r'id="shown-once">([^<]+)<', answer.get_data(as_text=True)).group(1)
    code = link.rsplit("/login/", 1)[1]
    assert answer.get_data(as_text=True).count(code) == 1
    assert code not in admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    [event] = _events(session, "auth:login_link:issue", user.id)
    assert code not in repr(event.summary) and event.actor == admin.actor_id
    _forget_csrf()
    assert redeem_link(app.test_client(), code).status_code == 302


def test_an_unknown_user_is_a_404_page(admin):
    assert admin.get("/admin/users/999999").status_code == 404
    assert _post(admin, "/admin/users/999999/role", role="it").status_code == 404


def test_no_sign_in_link_for_a_switched_off_user(session, actor, admin):
    user = _user(session, actor)
    user.disabled_at = user.created_at
    session.commit()
    response = _post(admin, f"/admin/users/{user.id}/sign-in-link")
    assert response.status_code == 422 and "switch them on first" in response.get_data(as_text=True)
    assert not _events(session, "auth:login_link:issue", user.id)


def test_a_refusal_is_in_the_readers_language(session, admin):
    me = admin.actor_id.split(":")[1]
    _forget_csrf()
    token = csrf_token_of(admin.get("/admin/users"))
    admin.post("/locale", data={"csrf_token": token, "locale": "he", "next": "/admin/users"})
    _forget_csrf()
    response = _post(admin, f"/admin/users/{me}/role", role="it")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "אי אפשר לבטל את הרשאות המנהל שלך בעצמך" in page
    assert "administrator access" not in page


def test_the_list_is_searched_by_email_or_name_and_role_and_capped(session, actor, admin, monkeypatch):
    from govern.auth import users

    _user(session, actor, "rana@example.com", Role.AUDITOR)
    ensure_console_user(session, actor, "other@example.com", "Rana Haddad", Role.IT)
    _user(session, actor, "100%_sure@example.com", Role.IT)
    session.commit()
    found = admin.get("/admin/users?q=RANA").get_data(as_text=True)
    assert "rana@example.com" in found and "other@example.com" in found and "100%_sure@example.com" not in found
    only_auditors = admin.get("/admin/users?q=rana&role=auditor").get_data(as_text=True)
    assert "rana@example.com" in only_auditors and "other@example.com" not in only_auditors
    assert "100%_sure@example.com" in admin.get("/admin/users?q=%25_").get_data(as_text=True)
    assert "No console user matches" in admin.get("/admin/users?q=nobody-at-all").get_data(as_text=True)
    monkeypatch.setattr(users, "LIST_LIMIT", 1)
    capped = admin.get("/admin/users?q=example.com").get_data(as_text=True)
    assert "Showing 1 of" in capped and "Search to narrow the list." in capped


def test_a_users_page_titles_them_and_names_who_acted_in_its_history(session, actor, admin):
    user = _user(session, actor, "history@example.com")
    _post(admin, f"/admin/users/{user.id}/role", role="governance", reason="moved team")
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    [title] = re.findall(r"<title>(.*?)</title>", page, re.S)
    assert title.strip() == "Some One · govern"
    history = page[page.index('id="history-title"'):]
    acting_admin = session.get(ConsoleUser, int(admin.actor_id.split(":")[1]))
    assert f">{acting_admin.display_name}</a>" in history and "<code>console_user:" not in history  # named, not an id
