"""The runbook editor in the console (issue 16): write a runbook (contacts, checklist, a holding statement per
language), edit it (a step keeps its key, a changed statement is a new one to approve), bad input is a 400 next to
its field, and only governance and admins write runbooks."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govern.auth.roles import Role
from govern.runbooks.models import Runbook
from tests import factories
from tests.support.console import signed_in_with_role
from tests.unit.runbooks.test_console import token_for


@pytest.fixture
def setup(session, actor):
    account = factories.account(session, actor, handle="acme_editor")
    contact = factories.person(session, actor, display_name="سارة كوهين", username="sara.editor")
    session.commit()
    return account, contact


def _form(token, account_id, **overrides):
    return {"csrf_token": token, "name": "Editor crisis", "description": "Written in the console.",
            "scope_type": "account", "scope_value": str(account_id), "severities": "low, high",
            "stage1_name": "First call", "stage1_roles": ["governance"], "stage1_people": "sara.editor@example.com",
            "stage1_emails": "pr@example.com", "stage2_name": "Escalate", "stage2_roles": ["admin"],
            "steps": "Call legal\nBrief the CEO\n", "statement_en": "We are looking into it.",
            "statement_ar": "نحن نتابع الأمر.", "statement_he": "", "pause_on_activate": "1", **overrides}


def test_create_and_edit_a_runbook_in_the_console(app, session, setup):
    account, contact = setup
    writer = signed_in_with_role(app, session, Role.GOVERNANCE)
    assert "/runbooks/new" in writer.get("/runbooks").get_data(as_text=True)
    page = writer.get("/runbooks/new")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="statement_ar" name="statement_ar" lang="ar" dir="rtl"' in text
    assert 'lang="en" dir="ltr"' in text and 'lang="he" dir="rtl"' in text
    made = writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id))
    assert made.status_code == 302, made.get_data(as_text=True)[-2000:]
    runbook = session.scalar(sa.select(Runbook).where(Runbook.name == "Editor crisis"))
    assert runbook.scope_value == str(account.id) and runbook.severities == ["low", "high"]
    assert runbook.stages == [{"name": "First call", "contacts": [{"type": "role", "value": "governance"},
                                                                  {"type": "person", "value": str(contact.id)},
                                                                  {"type": "email", "value": "pr@example.com"}]},
                              {"name": "Escalate", "contacts": [{"type": "role", "value": "admin"}]}]
    assert [step["title"] for step in runbook.steps] == ["Call legal", "Brief the CEO"]
    assert sorted((s.language, s.text) for s in runbook.statements) == [("ar", "نحن نتابع الأمر."), ("en", "We are looking into it.")]
    assert runbook.pause_on_activate and not runbook.auto_activate
    legal_key = runbook.steps[0]["key"]

    edit_url = f"/runbooks/{runbook.id}/edit"
    assert edit_url in writer.get(f"/runbooks/{runbook.id}").get_data(as_text=True)
    form = writer.get(edit_url)
    assert form.status_code == 200 and "Brief the CEO" in form.get_data(as_text=True)
    edited = writer.post(edit_url, data=_form(token_for(writer, edit_url), account.id, steps="Tell the board\nCall legal",
                                              statement_ar="نحن نتابع الأمر عن كثب.", auto_activate="1",
                                              auto_severity="high", pause_on_activate=""))
    assert edited.status_code == 302, edited.get_data(as_text=True)[-2000:]
    session.expire_all()
    runbook = session.get(Runbook, runbook.id)
    assert [step["title"] for step in runbook.steps] == ["Tell the board", "Call legal"]
    assert runbook.steps[1]["key"] == legal_key and runbook.steps[0]["key"] != legal_key
    assert len([s for s in runbook.statements if s.language == "ar"]) == 2  # a changed text is a new statement
    assert len([s for s in runbook.statements if s.language == "en"]) == 1  # the same text is not added again
    assert runbook.auto_activate and runbook.auto_severity == "high" and not runbook.pause_on_activate


def test_bad_input_is_a_400_next_to_the_field(app, session, setup):
    account, _contact = setup
    writer = signed_in_with_role(app, session, Role.ADMIN)
    bad = writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id, name="",
                                                  scope_value="999999", severities="", stage1_people="ghost@nowhere.example",
                                                  stage2_emails="not-an-address", auto_severity="extreme"))
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    for field in ("name", "scope_value", "severities", "stage1_people", "stage2_emails", "auto_severity"):
        assert f'id="{field}-error"' in text, field
    assert "ghost@nowhere.example" in text and "there is no account 999999" in text
    assert session.scalar(sa.select(sa.func.count()).select_from(Runbook)) == 0
    no_contacts = writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id, stage1_roles=[],
                                                          stage1_people="", stage1_emails=""))
    assert no_contacts.status_code == 400 and 'id="stage1-error"' in no_contacts.get_data(as_text=True)
    assert writer.get("/runbooks/999999/edit").status_code == 404


def test_a_duplicate_name_is_refused_readably(app, session, setup):
    account, _contact = setup
    writer = signed_in_with_role(app, session, Role.GOVERNANCE)
    assert writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id)).status_code == 302
    again = writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id))
    assert again.status_code == 409 and "already exists" in again.get_data(as_text=True)


@pytest.mark.parametrize("role, allowed", [(Role.GOVERNANCE, True), (Role.ADMIN, True), (Role.IT, False),
                                           (Role.AUDITOR, False)])
def test_only_governance_and_admins_write_runbooks(app, session, setup, role, allowed):
    account, _contact = setup
    client = signed_in_with_role(app, session, role)
    assert client.get("/runbooks/new").status_code == (200 if allowed else 403)
    assert ("/runbooks/new" in client.get("/runbooks").get_data(as_text=True)) is allowed
    token = token_for(client, "/runbooks")
    assert client.post("/runbooks/new", data=_form(token, account.id)).status_code == (302 if allowed else 403)


@pytest.mark.parametrize("locale, heading", [("ar", "خطة جديدة"), ("he", "תוכנית חדשה")])
def test_the_editor_speaks_the_readers_language(app, session, setup, locale, heading):
    writer = signed_in_with_role(app, session, Role.GOVERNANCE)
    with writer.session_transaction() as cookie:
        cookie["locale"] = locale
    page = writer.get("/runbooks/new")
    assert page.status_code == 200 and heading in page.get_data(as_text=True)


def test_the_runbook_page_names_its_contacts_in_the_readers_language(app, session, setup):
    from flask_babel import force_locale, gettext

    account, _contact = setup
    writer = signed_in_with_role(app, session, Role.GOVERNANCE)
    with writer.session_transaction() as cookie:
        cookie["locale"] = "ar"
    made = writer.post("/runbooks/new", data=_form(token_for(writer, "/runbooks/new"), account.id))
    assert made.status_code == 302, made.get_data(as_text=True)[-1500:]
    page = writer.get(made.headers["Location"]).get_data(as_text=True)
    with app.test_request_context(), force_locale("ar"):
        governance = gettext("Governance")
    assert "سارة كوهين" in page and governance in page and "pr@example.com" in page
