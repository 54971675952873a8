"""Console date fields (item 8): a date out of range is refused next to its field, in the reader's language."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest

from govern.actor import Actor
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from tests import factories
from tests.support.console import signed_in_client


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def admin_console(app, session):
    user = ensure_console_user(session, Actor.system("tests"), "dates@console.test", "Dates", Role.ADMIN)
    session.commit()
    client = signed_in_client(app, user.id)
    return client


@pytest.mark.parametrize("last_day", ["9999-12-31", (date.today() + timedelta(days=80 * 365)).isoformat()])
def test_a_grant_ending_out_of_range_is_refused_next_to_the_field(admin_console, session, actor, last_day):
    person, account = factories.person(session, actor), factories.account(session, actor)
    session.commit()
    response = admin_console.post(f"/accounts/{account.id}/grants", headers={"Accept-Language": "he"},
                                  data={"person_id": str(person.id), "role": "analyst", "reason": "launch", "expires_on": last_day})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert 'id="expires_on-error"' in page and 'aria-describedby="expires_on-error"' in page
    assert "עד 5 שנים קדימה" in page


def test_a_grant_ending_within_five_years_is_given(admin_console, session, actor):
    person, account = factories.person(session, actor), factories.account(session, actor)
    session.commit()
    last_day = (date.today() + timedelta(days=4 * 365)).isoformat()
    response = admin_console.post(f"/accounts/{account.id}/grants",
                                  data={"person_id": str(person.id), "role": "analyst", "reason": "launch", "expires_on": last_day})
    assert response.status_code == 302
