"""The approval rules console page (issue 16): read by everyone who reads posts, changed by governance and admins;
a rule made here is the one a new post needs; bad input is a 400 next to its field; deleting asks first; a step's
roles read in the reader's language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govern import app_services
from govern.auth.roles import Role
from govern.publishing.models import ApprovalRule, Post, PostState
from tests import factories
from tests.support.console import csrf_token_of, signed_in_with_role


@pytest.fixture
def account_id(session, actor):
    account = factories.account(session, actor, handle="brand_rules")
    session.commit()
    return account.id


def test_a_rule_made_in_the_console_is_needed_by_a_new_post(app, session, actor, account_id):
    from govern.publishing import posts

    legal = factories.person(session, actor, display_name="Noa Legal", username="noa.legal")
    session.commit()
    manager = signed_in_with_role(app, session, Role.GOVERNANCE)
    page = manager.get("/posts/rules")
    assert page.status_code == 200 and "New approval rule" in page.get_data(as_text=True)
    made = manager.post("/posts/rules", data={
        "csrf_token": csrf_token_of(page), "name": "Brand account two steps", "scope_type": "account",
        "scope_value": str(account_id), "step1_mode": "any", "step1_roles": ["governance"],
        "step2_mode": "all", "step2_people": "noa.legal@example.com", "step2_externals": "Agency@Firm.example"})
    assert made.status_code == 302, made.get_data(as_text=True)[-1500:]
    rule = session.scalar(sa.select(ApprovalRule).where(ApprovalRule.name == "Brand account two steps"))
    assert rule.steps == [{"mode": "any", "people": [], "roles": ["governance"], "externals": []},
                          {"mode": "all", "people": [legal.id], "roles": [], "externals": ["agency@firm.example"]}]
    listing = manager.get("/posts/rules").get_data(as_text=True)
    assert "Noa Legal" in listing and "anyone with the Governance role" in listing and "agency@firm.example" in listing
    assert "/posts/rules" in manager.get("/posts").get_data(as_text=True)  # linked from the queue

    post = posts.create_post(session, actor, None, [account_id], "Needs the new rule")
    posts.submit_post(session, app_services.publisher(app), actor, post.id)
    session.commit()
    session.refresh(post)
    assert post.state is PostState.AWAITING_APPROVAL
    shown = manager.get(f"/posts/{post.id}").get_data(as_text=True)
    assert "Brand account two steps" in shown and "Noa Legal" in shown


def test_bad_input_is_a_400_next_to_the_field(app, session, account_id):
    manager = signed_in_with_role(app, session, Role.ADMIN)
    token = csrf_token_of(manager.get("/posts/rules"))
    bad = manager.post("/posts/rules", data={"csrf_token": token, "name": "", "scope_type": "network", "scope_value": "",
                                             "step1_people": "nobody@nowhere.example", "step2_externals": "not-an-address"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'id="name-error"' in text and 'id="scope_value-error"' in text and 'id="step1_people-error"' in text
    assert 'id="step2_externals-error"' in text and "nobody@nowhere.example" in text
    empty = manager.post("/posts/rules", data={"csrf_token": token, "name": "No steps", "scope_type": "all"})
    assert empty.status_code == 400 and 'id="step1-error"' in empty.get_data(as_text=True)
    unknown = manager.post("/posts/rules", data={"csrf_token": token, "name": "Nowhere", "scope_type": "account",
                                                 "scope_value": "abc", "step1_roles": ["admin"]})
    assert unknown.status_code == 400 and 'id="scope_value-error"' in unknown.get_data(as_text=True)
    for scope_type, value in (("account", "999999"), ("network", "myspace"), ("business_unit", "Nobody's unit")):
        missing = manager.post("/posts/rules", data={"csrf_token": token, "name": "Nowhere", "scope_type": scope_type,
                                                     "scope_value": value, "step1_roles": ["admin"]})
        assert missing.status_code == 400 and 'id="scope_value-error"' in missing.get_data(as_text=True), scope_type
    assert session.scalar(sa.select(sa.func.count()).select_from(ApprovalRule)) == 0


def test_deleting_a_rule_asks_first(app, session, actor):
    from govern.publishing.approvals import create_rule
    from govern.publishing.models import RuleScope

    rule = create_rule(session, actor, "Old rule", RuleScope.ALL, None, [{"mode": "any", "roles": ["admin"]}])
    session.commit()
    manager = signed_in_with_role(app, session, Role.GOVERNANCE)
    token = csrf_token_of(manager.get("/posts/rules"))
    asked = manager.post(f"/posts/rules/{rule.id}/delete", data={"csrf_token": token})
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
    assert session.get(ApprovalRule, rule.id) is not None
    done = manager.post(f"/posts/rules/{rule.id}/delete", data={"csrf_token": token, "confirmed": "1"})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(ApprovalRule, rule.id) is None
    again = manager.post(f"/posts/rules/{rule.id}/delete", data={"csrf_token": token, "confirmed": "1"})
    assert again.status_code == 302  # already gone: said, not a 500


@pytest.mark.parametrize("role, reads, changes", [(Role.AUDITOR, True, False), (Role.IT, True, False),
                                                  (Role.GOVERNANCE, True, True), (Role.ADMIN, True, True)])
def test_who_reads_and_who_changes_the_rules(app, session, role, reads, changes):
    client = signed_in_with_role(app, session, role)
    page = client.get("/posts/rules")
    assert (page.status_code == 200) is reads
    assert ("New approval rule" in page.get_data(as_text=True)) is changes
    made = client.post("/posts/rules", data={"csrf_token": csrf_token_of(page), "name": "r", "scope_type": "all",
                                             "step1_roles": ["admin"]})
    assert made.status_code == (302 if changes else 403)


@pytest.mark.parametrize("locale, role_word", [("ar", "الحوكمة"), ("he", "ממשל")])
def test_a_post_page_names_the_role_in_the_readers_language(app, session, actor, account_id, locale, role_word):
    from flask_babel import force_locale, gettext

    from govern.publishing import posts
    from govern.publishing.approvals import create_rule
    from govern.publishing.models import RuleScope

    create_rule(session, actor, "governance first", RuleScope.ALL, None, [{"mode": "any", "roles": ["governance"]}])
    post = posts.create_post(session, actor, None, [account_id], "Role words")
    posts.submit_post(session, app_services.publisher(app), actor, post.id)
    session.commit()
    with app.test_request_context(), force_locale(locale):
        expected = gettext("Governance")
    assert role_word in expected
    reader = signed_in_with_role(app, session, Role.AUDITOR)
    with reader.session_transaction() as cookie:
        cookie["locale"] = locale
    page = reader.get(f"/posts/{post.id}").get_data(as_text=True)
    assert expected in page
    rules = reader.get("/posts/rules").get_data(as_text=True)
    assert expected in rules
