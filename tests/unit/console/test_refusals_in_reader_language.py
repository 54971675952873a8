"""A service refusal reads in the console's language, and the API gives it a stable code beside the English detail."""

from __future__ import annotations

import html

import pytest
from flask_babel import refresh

from govern.auth.roles import Role
from govern.errors import InvalidOperation, NotFound
from govern.grants.models import GrantRole
from govern.grants.service import create_grant, revoke_grant
from tests import factories
from tests.support.console import signed_in_with_role


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def revoked(session, actor):
    dana = factories.person(session, actor, display_name="Dana Cohen")
    account = factories.account(session, actor, handle="acme", network="facebook")
    grant = create_grant(session, actor, dana.id, account.id, GrantRole.PUBLISHER, "runs the page")
    revoke_grant(session, actor, grant.id, "moved on")
    session.commit()
    return account, grant


def test_a_refusal_keeps_its_template_values_and_english_detail():
    refusal = NotFound("grant %(grant_id)s was already revoked", grant_id=7)
    assert refusal.detail == str(refusal) == "grant 7 was already revoked"
    assert refusal.code == "not_found" and InvalidOperation("x", code="account_retired").code == "account_retired"
    assert refusal.worded(lambda template: template.replace("grant ", "منحة ")) == "منحة 7 was already revoked"


@pytest.mark.parametrize("locale, words", [
    ("en", "grant {grant} is not on account {account}"),
    ("ar", "المنحة {grant} ليست على الحساب {account}"),
    ("he", "ההרשאה {grant} אינה שייכת לחשבון {account}"),
])
def test_the_console_words_a_refusal_in_the_readers_language(app, session, actor, revoked, locale, words):
    _account, grant = revoked
    other = factories.account(session, actor, handle="other", network="facebook")
    session.commit()
    client = signed_in_with_role(app, session, Role.ADMIN)
    client.post("/locale", data={"locale": locale})
    refresh()
    refused = client.post(f"/accounts/{other.id}/grants/{grant.id}/revoke", data={"reason": "left", "confirmed": "1"})
    page = html.unescape(refused.get_data(as_text=True))
    assert refused.status_code == 404
    assert words.format(grant=grant.id, account=other.id) in page


def test_the_api_problem_carries_the_code(client, auth_headers, revoked):
    account, grant = revoked
    answer = client.post(f"/api/v1/grants/{grant.id}/revoke", json={"reason": "again"}, headers=auth_headers(Role.ADMIN))
    problem = answer.get_json()
    assert answer.status_code == 409, problem
    assert problem["code"] == "conflict" and problem["detail"] == f"grant {grant.id} was already revoked"
