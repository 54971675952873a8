"""The admin pages for API and SCIM tokens: shown once on creation and never again, revoked after a confirmation."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
from flask import g
from flask_babel import refresh
from sqlalchemy import select

from govern.audit.models import AuditEvent
from govern.auth.models import ApiClient
from govern.auth.roles import Role
from govern.auth.service import authenticate_token, create_api_client
from govern.db import utcnow
from govern.errors import InvalidOperation
from tests import factories
from tests.support.canary import haystacks
from tests.support.console import csrf_token_of, signed_in_with_role

SHOWN_ONCE = re.compile(r'id="shown-once">([^<]+)<')


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
    page = client.get(path if "/revoke" not in path else "/admin/tokens")
    return client.post(path, data={"csrf_token": csrf_token_of(page), **form})


def _created(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    found = SHOWN_ONCE.search(response.get_data(as_text=True))
    assert found, "the creation page shows no token"
    return found.group(1)


def test_api_and_scim_token_values_appear_once_in_the_creation_answer_and_nowhere_else(app, session, admin, caplog):
    caplog.set_level(logging.DEBUG)
    api_answer = _post(admin, "/admin/tokens", name="canary-api", role="it", lifetime="90")
    scim_answer = _post(admin, "/admin/scim", name="canary-scim", lifetime="never")
    api_token, scim_token = _created(api_answer), _created(scim_answer)
    assert api_token.startswith("gov_") and scim_token.startswith("gov_") and api_token != scim_token

    later = [admin.get(path) for path in ("/admin/tokens", "/admin/scim", "/audit", "/", "/admin/users")]
    assert all(response.status_code == 200 for response in later)
    found = haystacks(session, later)
    for token, answer in ((api_token, api_answer), (scim_token, scim_answer)):
        assert answer.get_data(as_text=True).count(token) == 1, "shown exactly once on the creation page"
        assert token not in repr(dict(answer.headers)), "never in a header (a cookie, a Location)"
        assert token not in found.database, "a token reached the database"
        assert token not in found.audit, "a token reached the audit trail"
        assert token not in found.bodies, "a token was shown again"
        assert token not in caplog.text, "a token reached the logs"
        client = session.scalar(select(ApiClient).where(ApiClient.token_hash == hashlib.sha256(token.encode()).hexdigest()))
        assert client is not None and client.token_prefix == token[:10]  # the hash and a short prefix are all that is kept
    assert "/admin/tokens" in caplog.text  # the logs were captured
    roles = {client.name: client.role for client in session.scalars(select(ApiClient))}
    assert roles["canary-api"] == Role.IT and roles["canary-scim"] == Role.SCIM
    assert authenticate_token(session, api_token).name == "canary-api"
    assert admin.get("/scim/v2/Users", headers={"Authorization": f"Bearer {scim_token}"}).status_code == 200


def test_creating_a_token_is_audited_with_its_name_and_role_and_who(session, admin):
    _created(_post(admin, "/admin/tokens", name="ci-reports", role="auditor", lifetime="30"))
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth:api_client:create")
                            .order_by(AuditEvent.seq.desc())).first()
    assert event.actor == admin.actor_id
    assert event.summary["after"]["name"] == "ci-reports" and event.summary["after"]["role"] == "auditor"
    client = session.scalar(select(ApiClient).where(ApiClient.name == "ci-reports"))
    assert timedelta(days=29, hours=23) < client.expires_at - utcnow() <= timedelta(days=30)
    assert event.summary["after"]["expires_at"] == client.expires_at.isoformat()


def test_a_token_past_its_end_authenticates_nobody_and_is_listed_as_expired(session, actor, admin):
    client, token = create_api_client(session, actor, "short-lived", Role.IT, expires_at=utcnow() + timedelta(minutes=5))
    session.commit()
    assert authenticate_token(session, token.reveal()) is not None
    client.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert authenticate_token(session, token.reveal()) is None
    assert admin.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token.reveal()}"}).status_code == 401
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "Expired" in page and f"/admin/tokens/{client.id}/revoke" not in page
    with pytest.raises(InvalidOperation, match="future"):
        create_api_client(session, actor, "born-expired", Role.IT, expires_at=utcnow())


def test_the_list_shows_who_created_a_token_and_its_state(session, actor, admin):
    create_api_client(session, actor, "listed-bot", Role.GOVERNANCE)
    session.commit()
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "listed-bot" in page and "pytest" in page and "Revoke…" in page
    assert "listed-bot" not in admin.get("/admin/scim").get_data(as_text=True)


@pytest.mark.parametrize("form, field", [
    ({"name": "", "role": "it", "lifetime": "90"}, "Enter a name"),
    ({"name": "x" * 129, "role": "it", "lifetime": "90"}, "Enter a name"),
    ({"name": "bot", "role": "reviewer", "lifetime": "90"}, "Choose a role"),
    ({"name": "bot", "role": "scim", "lifetime": "90"}, "Choose a role"),
    ({"name": "bot", "lifetime": "90"}, "Choose a role"),
    ({"name": "bot", "role": "it", "lifetime": "7"}, "Choose how long"),
    ({"name": "bot", "role": "it"}, "Choose how long"),
])
def test_a_bad_token_form_is_refused_next_to_its_field(session, admin, form, field):
    response = _post(admin, "/admin/tokens", **form)
    assert response.status_code == 422 and field in response.get_data(as_text=True)
    assert session.scalar(select(ApiClient).where(ApiClient.name == "bot")) is None


def test_a_taken_name_is_a_conflict_in_words(session, actor, admin):
    create_api_client(session, actor, "taken", Role.IT)
    session.commit()
    response = _post(admin, "/admin/tokens", name="taken", role="it", lifetime="90")
    assert response.status_code == 409 and "already taken" in response.get_data(as_text=True)
    assert SHOWN_ONCE.search(response.get_data(as_text=True)) is None


def test_a_token_for_a_leaver_is_refused(session, actor, admin):
    from govern.people.models import PersonStatus

    person = factories.person(session, actor)
    person.status = PersonStatus.LEAVER
    session.commit()
    response = _post(admin, "/admin/tokens", name="leaver-bot", role="it", lifetime="90", person_id=str(person.id))
    assert response.status_code == 422 and "has left" in response.get_data(as_text=True)


def test_revoking_asks_first_then_the_token_stops_working(session, actor, admin):
    client, token = create_api_client(session, actor, "to-revoke", Role.IT)
    session.commit()
    asked = _post(admin, f"/admin/tokens/{client.id}/revoke")
    assert asked.status_code == 200 and "stops working at once" in asked.get_data(as_text=True)
    assert authenticate_token(session, token.reveal()) is not None, "asking revokes nothing"

    done = _post(admin, f"/admin/tokens/{client.id}/revoke", confirmed="1", reason="rotated")
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/tokens")
    session.expire_all()
    assert authenticate_token(session, token.reveal()) is None
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth:api_client:revoke")
                            .order_by(AuditEvent.seq.desc())).first()
    assert event.actor == admin.actor_id and event.summary["reason"] == "rotated"
    assert "is revoked" in admin.get("/admin/tokens").get_data(as_text=True)

    again = _post(admin, f"/admin/tokens/{client.id}/revoke", confirmed="1")
    assert again.status_code == 302
    assert "already revoked" in admin.get(again.headers["Location"]).get_data(as_text=True)


def test_revoking_a_scim_token_goes_back_to_the_scim_page(session, actor, admin):
    client, _ = create_api_client(session, actor, "okta", Role.SCIM)
    session.commit()
    done = _post(admin, f"/admin/tokens/{client.id}/revoke", confirmed="1")
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/scim")


def test_an_unknown_token_is_a_404_page(admin):
    assert _post(admin, "/admin/tokens/999999/revoke").status_code == 404


@pytest.mark.parametrize("role", [Role.GOVERNANCE, Role.IT, Role.AUDITOR, Role.REVIEWER])
def test_only_admins_see_the_admin_pages_and_their_link(app, session, role):
    client = signed_in_with_role(app, session, role)
    for path in ("/admin/users", "/admin/tokens", "/admin/scim"):
        assert client.get(path).status_code == 403
    assert "/admin/users" not in client.get("/").get_data(as_text=True)


def test_an_admin_has_the_admin_link(admin):
    assert 'href="/admin/users"' in admin.get("/").get_data(as_text=True)
