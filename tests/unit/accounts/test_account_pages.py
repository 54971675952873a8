"""Adding and editing an account in the console: the API's schemas and services, every change audited, problems said
next to their field (which takes the focus), in the reader's language, and an edit made meanwhile never overwritten."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from govern.accounts.models import AccountStatus, SocialAccount
from govern.accounts.service import retire_account
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.db import utcnow
from govern.people.models import PersonStatus
from tests import factories
from tests.support.console import signed_in_with_role


@pytest.fixture(autouse=True)
def _no_csrf(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)


@pytest.fixture
def admin(app, session):
    return signed_in_with_role(app, session, Role.ADMIN)


@pytest.fixture
def it(app, session):
    return signed_in_with_role(app, session, Role.IT)


@pytest.fixture
def sara(session, actor):
    person = factories.person(session, actor, display_name="سارة الحسيني", username="sara.h")
    session.commit()
    return person


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def in_locale(client, locale: str):
    client.post("/locale", data={"locale": locale})
    refresh()
    return client


def _new(client, **fields):
    form = {"network": "x", "handle": "@acme_news", "display_name": "أخبار أكمي", "business_unit": "Newsroom",
            "status": "active", "tags": "news، أخبار, news", "notes": "", "owner_id": "", "action": "save", **fields}
    return client.post("/accounts/new", data=form)


def _account(session, handle: str) -> SocialAccount | None:
    session.expire_all()
    return session.scalar(sa.select(SocialAccount).where(SocialAccount.handle == handle))


def _events(session, action: str, account_id: int) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_id == str(account_id))))


def test_the_form_is_for_those_who_may_write_the_inventory(admin, it, app, session):
    assert admin.get("/accounts/new").status_code == 200
    page = it.get("/accounts/new")
    assert page.status_code == 200 and 'name="network"' in page.get_data(as_text=True)
    auditor = signed_in_with_role(app, session, Role.AUDITOR)
    assert auditor.get("/accounts/new").status_code == 403
    assert _new(auditor).status_code == 403
    assert "/accounts/new" in admin.get("/accounts").get_data(as_text=True)
    assert "/accounts/new" not in auditor.get("/accounts").get_data(as_text=True)


def test_adding_an_account_creates_it_and_audits_who_did(it, session, sara):
    response = _new(it, owner_id=str(sara.id))
    account = _account(session, "acme_news")  # the @ typed before the handle is not part of it
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/accounts/{account.id}")
    assert (account.network.key, account.display_name, account.business_unit) == ("x", "أخبار أكمي", "Newsroom")
    assert account.tags == ["news", "أخبار"] and account.owner_id == sara.id and account.status is AccountStatus.ACTIVE
    [event] = _events(session, "accounts:account:create", account.id)
    assert event.actor == it.actor_id and event.summary["after"]["owner_id"] == sara.id
    assert "@acme_news" in text_of(it.get(response.headers["Location"]))  # the flash names it


def test_problems_are_next_to_their_field_and_the_first_takes_the_focus(admin, session):
    response = _new(admin, network="myspace", handle="", tags="x" * 65)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and _account(session, "") is None
    for field in ("network", "handle", "tags"):
        assert f'id="{field}-error"' in page
        assert re.search(rf'id="{field}"[^>]*aria-describedby="{field}-error[^"]*" aria-invalid="true"', page, re.S), field
    assert page.count(" autofocus") == 1 and re.search(r'<select id="network"[^>]*autofocus', page)
    assert re.search(r'id="tags"[^>]*aria-describedby="tags-error tags-hint"', page)  # the problem and the hint, both read
    assert not re.search(r'aria-describedby="[^"]*"[^<>]*aria-describedby=', page)
    assert '<a href="#handle">' in page  # the summary links to each field
    assert 'value="أخبار أكمي"' in page  # what was typed is kept


def test_a_handle_taken_on_the_network_is_said_on_the_handle_field_in_arabic(admin, session, actor):
    existing = factories.account(session, actor, handle="taken", network="x")
    session.commit()
    response = _new(in_locale(admin, "ar"), handle="@taken")
    page = text_of(response)
    assert response.status_code == 409 and 'id="handle-error"' in page
    assert "المعرّف" in page and "already" not in page
    assert f'href="/accounts/{existing.id}"' in page  # a repeated post leads to the account it already added


def test_arabic_problems_are_arabic(admin):
    page = text_of(_new(in_locale(admin, "ar"), display_name="", status="retired"))
    assert "الاسم المعروض" in page and "Display name:" not in page and "Status:" not in page


def test_find_keeps_what_was_typed_and_offers_the_matching_owners(admin, session, sara):
    response = admin.post("/accounts/new", data={"network": "x", "handle": "half_typed", "owner_q": "ساره", "action": "find"})
    page = text_of(response)
    assert response.status_code == 200 and _account(session, "half_typed") is None
    assert f'<option value="{sara.id}">' in page and 'value="half_typed"' in page


def test_a_leaver_cannot_be_made_the_owner(admin, session, actor):
    leaver = factories.person(session, actor, display_name="Gone Person")
    leaver.status = PersonStatus.LEAVER
    session.commit()
    response = _new(admin, owner_id=str(leaver.id))
    assert response.status_code == 400 and 'id="owner_id-error"' in response.get_data(as_text=True)


def _edit_form(client, account_id: int) -> dict[str, str]:
    page = client.get(f"/accounts/{account_id}/edit").get_data(as_text=True)
    seen = re.search(r'name="seen" value="([^"]*)"', page).group(1)
    return {"seen": html.unescape(seen), "handle": "acme", "display_name": "Acme", "business_unit": "", "owner_id": "",
            "status": "active", "tags": "", "notes": "", "action": "save"}


def test_editing_changes_the_owner_and_audits_before_and_after(it, session, actor, sara):
    account = factories.account(session, actor, handle="acme", display_name="Acme")
    session.commit()
    form = _edit_form(it, account.id) | {"owner_id": str(sara.id), "business_unit": "الأخبار", "tags": "news"}
    response = it.post(f"/accounts/{account.id}/edit", data=form)
    assert response.status_code == 302
    session.expire_all()
    assert (account.owner_id, account.business_unit, account.tags) == (sara.id, "الأخبار", ["news"])
    [event] = _events(session, "accounts:account:update", account.id)
    assert event.actor == it.actor_id
    assert event.summary["before"]["owner_id"] is None and event.summary["after"]["owner_id"] == sara.id
    assert "The account's details were saved." in text_of(it.get(f"/accounts/{account.id}"))


def test_saving_unchanged_details_changes_and_records_nothing(admin, session, actor):
    account = factories.account(session, actor, handle="acme", display_name="Acme")
    session.commit()
    response = admin.post(f"/accounts/{account.id}/edit", data=_edit_form(admin, account.id))
    assert response.status_code == 302 and _events(session, "accounts:account:update", account.id) == []
    assert "Nothing was changed." in text_of(admin.get(f"/accounts/{account.id}"))


def test_an_edit_made_meanwhile_is_not_overwritten(admin, app, session, actor):
    account = factories.account(session, actor, handle="acme", display_name="Acme")
    session.commit()
    stale = _edit_form(admin, account.id)
    other = signed_in_with_role(app, session, Role.IT)
    assert other.post(f"/accounts/{account.id}/edit", data=_edit_form(other, account.id) | {"display_name": "Theirs"}).status_code == 302
    response = admin.post(f"/accounts/{account.id}/edit", data=stale | {"display_name": "Mine"})
    page = text_of(response)
    assert response.status_code == 409 and "after you opened this form" in page and "it tester" in page
    assert 'value="Mine"' in page  # what was typed is kept; saving again now is a deliberate choice
    session.expire_all()
    assert account.display_name == "Theirs"
    fresh = re.search(r'name="seen" value="([^"]*)"', response.get_data(as_text=True)).group(1)
    assert admin.post(f"/accounts/{account.id}/edit", data=stale | {"seen": html.unescape(fresh), "display_name": "Mine"}).status_code == 302


def test_a_connect_meanwhile_does_not_stop_an_edit(admin, session, actor):
    account = factories.account(session, actor, handle="acme", display_name="Acme")
    session.commit()
    form = _edit_form(admin, account.id)
    account.external_id, account.verified_at = "1234", utcnow()  # what a connect changes on the account
    session.commit()
    assert admin.post(f"/accounts/{account.id}/edit", data=form | {"display_name": "Mine"}).status_code == 302
    session.expire_all()
    assert account.display_name == "Mine"


def test_the_owner_can_be_removed(admin, session, actor, sara):
    account = factories.account(session, actor, handle="acme", display_name="Acme", owner_id=sara.id)
    session.commit()
    form = _edit_form(admin, account.id)
    assert admin.post(f"/accounts/{account.id}/edit", data=form).status_code == 302
    session.expire_all()
    assert account.owner_id is None


def test_a_retired_account_is_not_edited(admin, session, actor):
    account = factories.account(session, actor, handle="acme", display_name="Acme")
    retire_account(session, actor, account.id, "closed")
    session.commit()
    for response in (admin.get(f"/accounts/{account.id}/edit"), admin.post(f"/accounts/{account.id}/edit", data={"display_name": "x"})):
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/accounts/{account.id}")
    assert "A retired account cannot be changed." in text_of(admin.get(f"/accounts/{account.id}"))
    assert f"/accounts/{account.id}/edit" not in admin.get(f"/accounts/{account.id}").get_data(as_text=True)


def test_renaming_onto_a_taken_handle_is_refused_on_the_field(admin, session, actor):
    factories.account(session, actor, handle="taken", network="x")
    account = factories.account(session, actor, handle="acme", display_name="Acme", network="x")
    session.commit()
    response = admin.post(f"/accounts/{account.id}/edit", data=_edit_form(admin, account.id) | {"handle": "taken"})
    assert response.status_code == 409 and 'id="handle-error"' in response.get_data(as_text=True)
    session.expire_all()
    assert account.handle == "acme"


def test_the_form_pages_of_a_missing_account_are_not_found(admin):
    assert admin.get("/accounts/999999/edit").status_code == 404
    assert admin.post("/accounts/999999/edit", data={}).status_code == 404


@pytest.mark.parametrize("fields", [
    {"owner_id": "abc"},
    {"owner_id": "99999999999999999999"},
    {"owner_id": "-1"},
    {"status": "bogus"},
    {"network": ""},
    {"handle": "a\x00b"},
    {"display_name": "x" * 300},
    {"tags": ",".join(f"t{n}" for n in range(60))},
    {"notes": "n" * 10_001},
])
def test_bad_input_is_a_readable_4xx_never_a_500(admin, session, actor, fields):
    added = _new(admin, **fields)
    assert 400 <= added.status_code < 500, added.status_code
    account = factories.account(session, actor, handle="acme", display_name="Acme")
    session.commit()
    edited = admin.post(f"/accounts/{account.id}/edit", data=_edit_form(admin, account.id) | fields)
    assert edited.status_code in (302, 400, 409, 422) and edited.status_code != 500


def test_the_card_offers_edit_to_those_who_may_write(app, session, actor, it):
    account = factories.account(session, actor, handle="acme", display_name="Acme")
    session.commit()
    assert f"/accounts/{account.id}/edit" in it.get(f"/accounts/{account.id}").get_data(as_text=True)
    auditor = signed_in_with_role(app, session, Role.AUDITOR)
    assert f"/accounts/{account.id}/edit" not in auditor.get(f"/accounts/{account.id}").get_data(as_text=True)
