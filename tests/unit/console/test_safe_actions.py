"""Destructive console actions ask first: one POST without `confirmed=1` changes nothing and names what will happen;
the confirmed POST acts; a stale or repeated action says what happened instead of failing silently."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from govern.accounts.models import AccountStatus, SocialAccount
from govern.adapters.secret_store import account_path
from govern.auth.roles import Role
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.db import utcnow
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant, revoke_grant
from tests import factories
from tests.support.console import signed_in_with_role


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(app, session):
    return signed_in_with_role(app, session, Role.ADMIN)


@pytest.fixture
def granted(session, actor):
    """Dana Cohen is a publisher on @acme (facebook)."""
    dana = factories.person(session, actor, display_name="Dana Cohen")
    account = factories.account(session, actor, handle="acme", network="facebook")
    grant = create_grant(session, actor, dana.id, account.id, GrantRole.PUBLISHER, "runs the page")
    session.commit()
    return account, grant


def in_locale(client, locale: str):
    client.post("/locale", data={"locale": locale})
    refresh()
    return client


# -- revoke a grant ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale, words", [("en", "You are about to revoke"), ("ar", "أنت على وشك")])
def test_revoking_asks_first_and_names_who_loses_what(admin, session, granted, locale, words):
    account, grant = granted
    asked = in_locale(admin, locale).post(f"/accounts/{account.id}/grants/{grant.id}/revoke", data={"reason": "left the team"})
    page = text_of(asked)
    assert asked.status_code == 200 and words in page
    assert "Dana Cohen" in page and "\u2068@acme\u2069 (Facebook)" in page and 'name="confirmed" value="1"' in page
    assert 'value="left the team"' in page, "the reason typed on the card is carried to the confirmation"
    session.expire_all()
    assert session.get(Grant, grant.id).revoked_at is None, "asking changes nothing"


def test_the_confirmed_revoke_acts(admin, session, granted):
    account, grant = granted
    done = admin.post(f"/accounts/{account.id}/grants/{grant.id}/revoke", data={"reason": "left the team", "confirmed": "1"},
                      follow_redirects=True)
    assert done.status_code == 200 and "Access of \u2068Dana Cohen\u2069 revoked." in text_of(done)
    session.expire_all()
    assert session.get(Grant, grant.id).revoke_reason == "left the team"


def test_a_confirmed_revoke_without_a_reason_shows_the_problem_next_to_the_reason(admin, session, granted):
    account, grant = granted
    refused = admin.post(f"/accounts/{account.id}/grants/{grant.id}/revoke", data={"reason": " ", "confirmed": "1"})
    page = text_of(refused)
    assert refused.status_code == 422 and 'id="confirm-reason-error"' in page and "autofocus" in page
    session.expire_all()
    assert session.get(Grant, grant.id).revoked_at is None


def test_revoking_access_already_revoked_says_when_and_by_whom(admin, session, actor, granted):
    account, grant = granted
    revoke_grant(session, actor, grant.id, "moved on")
    session.commit()
    for data in ({"reason": "left"}, {"reason": "left", "confirmed": "1"}):
        stale = admin.post(f"/accounts/{account.id}/grants/{grant.id}/revoke", data=data, follow_redirects=True)
        page = text_of(stale)
        assert stale.status_code == 200, page[:400]
        assert "This access was already revoked on" in page and "by \u2068pytest\u2069." in page, "when and by whom"


# -- retire an account -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale, words", [("en", "You are about to retire"), ("ar", "أنت على وشك")])
def test_retiring_asks_first_and_says_what_happens_to_the_access(admin, session, granted, locale, words):
    account, _grant = granted
    asked = in_locale(admin, locale).post(f"/accounts/{account.id}/retire", data={"reason": "brand closed"})
    page = text_of(asked)
    assert asked.status_code == 200 and words in page and "\u2068@acme\u2069" in page and ": 1" in page.replace("\u061b", ":")
    assert 'name="confirmed" value="1"' in page and 'value="brand closed"' in page
    session.expire_all()
    assert session.get(SocialAccount, account.id).status is AccountStatus.ACTIVE, "asking changes nothing"


def test_the_confirmed_retire_acts_and_a_missing_reason_is_shown_at_its_field(admin, session, granted):
    account, grant = granted
    refused = admin.post(f"/accounts/{account.id}/retire", data={"confirmed": "1"})
    assert refused.status_code == 422 and 'id="confirm-reason-error"' in text_of(refused)
    done = admin.post(f"/accounts/{account.id}/retire", data={"reason": "brand closed", "confirmed": "1"}, follow_redirects=True)
    assert done.status_code == 200 and "The account was retired" in text_of(done)
    session.expire_all()
    assert session.get(SocialAccount, account.id).status is AccountStatus.RETIRED
    assert session.get(Grant, grant.id).revoked_at is not None


def test_retiring_a_retired_account_says_when_and_by_whom(admin, session, granted):
    account, _grant = granted
    admin.post(f"/accounts/{account.id}/retire", data={"reason": "brand closed", "confirmed": "1"})
    again = admin.post(f"/accounts/{account.id}/retire", data={"reason": "again"}, follow_redirects=True)
    assert again.status_code == 200 and "This account was already retired on" in text_of(again)
    assert "by \u2068admin tester\u2069." in text_of(again)


# -- disconnect an account ---------------------------------------------------------------------------------------

@pytest.fixture
def connected(session, granted):
    account, _grant = granted
    session.add(AccountConnection(account_id=account.id, store_kind="vault", store_path=account_path(account.id, "oauth"),
                                  store_version=1, token_type="bearer", scopes=[], issued_at=utcnow(),
                                  access_fingerprint=f"fp-safe-{account.id}", external_identity=f"id-safe-{account.id}",
                                  connected_by="test:pytest"))
    session.commit()
    return account


@pytest.mark.parametrize("locale, words", [("en", "You are about to disconnect"), ("ar", "أنت على وشك فصل")])
def test_disconnecting_asks_first_and_says_what_it_does(admin, session, connected, locale, words):
    asked = in_locale(admin, locale).post(f"/accounts/{connected.id}/connection/disconnect", data={"reason": "rotating"})
    page = text_of(asked)
    assert asked.status_code == 200 and words in page and "\u2068@acme\u2069" in page and 'name="confirmed" value="1"' in page
    session.expire_all()
    assert session.scalar(sa.select(AccountConnection.health).where(AccountConnection.account_id == connected.id)) \
        is ConnectionHealth.HEALTHY, "asking changes nothing"


def test_the_confirmed_disconnect_acts_and_a_second_one_says_when_and_by_whom(admin, session, connected):
    refused = admin.post(f"/accounts/{connected.id}/connection/disconnect", data={"reason": "", "confirmed": "1"})
    assert refused.status_code == 422 and 'id="confirm-reason-error"' in text_of(refused)
    done = admin.post(f"/accounts/{connected.id}/connection/disconnect", data={"reason": "rotating", "confirmed": "1"},
                      follow_redirects=True)
    assert done.status_code == 200 and "The tokens were revoked at the network" in text_of(done)
    again = admin.post(f"/accounts/{connected.id}/connection/disconnect", data={"reason": "rotating", "confirmed": "1"},
                       follow_redirects=True)
    assert "This account was already disconnected on" in text_of(again) and "by \u2068admin tester\u2069." in text_of(again)


def test_disconnecting_an_account_never_connected_says_so(admin, granted):
    account, _grant = granted
    stale = admin.post(f"/accounts/{account.id}/connection/disconnect", data={"reason": "rotating"}, follow_redirects=True)
    assert stale.status_code == 200 and "This account is not connected: there was nothing to disconnect." in text_of(stale)


# -- errors where the form is ---------------------------------------------------------------------------------------

def test_a_refused_grant_shows_each_problem_at_its_field_and_the_page_opens_on_the_form(admin, session, actor):
    dana = factories.person(session, actor, display_name="Dana Cohen")
    account = factories.account(session, actor, handle="acme", network="facebook")
    session.commit()
    refused = admin.post(f"/accounts/{account.id}/grants", data={"person_id": str(dana.id), "role": "nonsense", "reason": "x"})
    page = text_of(refused)
    assert refused.status_code == 422
    assert 'id="role-error"' in page and 'id="reason-error"' in page and 'aria-describedby="reason-error"' in page
    assert 'role="alert" tabindex="-1" autofocus' in page, "the browser opens the page on the problems, not at the top"
    assert 'id="person_id-error"' not in page
