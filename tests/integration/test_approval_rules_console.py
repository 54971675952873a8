"""The approval rules console page (issue 16): read by everyone who reads posts, changed by governance and admins;
a rule made here is the one a new post needs; bad input is a 400 next to its field; deleting asks first; a step's
roles read in the reader's language; a rule is edited on its own page
through the same service as the API's PATCH (audited alike), in every language."""

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


def _rule(session, actor, name="Editable rule"):
    from govern.publishing.approvals import create_rule
    from govern.publishing.models import RuleScope

    rule = create_rule(session, actor, name, RuleScope.ALL, None,
                       [{"mode": "any", "roles": ["admin"]}, {"mode": "all", "externals": ["agency@firm.example"]}])
    session.commit()
    return rule


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_a_rule_is_edited_on_its_own_page_and_audited(app, session, actor, account_id, locale):
    from govern.audit.models import AuditEvent

    legal = factories.person(session, actor, display_name="Noa Legal", username="noa.legal")
    rule = _rule(session, actor)
    manager = signed_in_with_role(app, session, Role.GOVERNANCE)
    if locale != "en":
        with manager.session_transaction() as cookie:
            cookie["locale"] = locale
    listing = manager.get("/posts/rules").get_data(as_text=True)
    assert f'href="/posts/rules/{rule.id}/edit"' in listing  # each rule links to its edit page
    page = manager.get(f"/posts/rules/{rule.id}/edit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    if locale == "ar":
        assert 'lang="ar" dir="rtl"' in html or ('dir="rtl"' in html and 'lang="ar"' in html)
    # the form opens with the rule as it is
    assert 'value="Editable rule"' in html and 'value="agency@firm.example"' in html
    assert f'action="/posts/rules/{rule.id}/delete"' in html
    with app.test_request_context():
        from flask_babel import force_locale, gettext
        with force_locale(locale):
            heading = gettext("Edit approval rule")
    assert heading in html and (locale == "en" or heading == "تعديل قاعدة الموافقة")
    saved = manager.post(f"/posts/rules/{rule.id}/edit", data={
        "csrf_token": csrf_token_of(page), "name": "Brand rule, edited", "scope_type": "account",
        "scope_value": str(account_id), "step1_mode": "all", "step1_roles": ["governance", "admin"],
        "step1_people": "noa.legal@example.com", "step2_mode": "any", "step2_externals": ""})
    assert saved.status_code == 302, saved.get_data(as_text=True)[-1500:]
    session.expire_all()
    edited = session.get(ApprovalRule, rule.id)
    assert edited.name == "Brand rule, edited" and edited.scope_value == str(account_id)
    assert edited.steps == [{"mode": "all", "people": [legal.id], "roles": ["admin", "governance"], "externals": []}]
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "publishing:approval_rule:update",
                                                        AuditEvent.target_id == str(rule.id))).one()
    assert event.summary["name"] == "Brand rule, edited" and event.summary["steps"] == edited.steps
    assert "Brand rule, edited" in manager.get("/posts/rules").get_data(as_text=True)


def test_bad_input_on_the_edit_page_is_shown_and_nothing_changes(app, session, actor):
    from govern.audit.models import AuditEvent

    rule = _rule(session, actor)
    manager = signed_in_with_role(app, session, Role.ADMIN)
    token = csrf_token_of(manager.get(f"/posts/rules/{rule.id}/edit"))
    bad = manager.post(f"/posts/rules/{rule.id}/edit", data={
        "csrf_token": token, "name": "", "scope_type": "network", "scope_value": "myspace",
        "step1_people": "nobody@nowhere.example"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'id="name-error"' in text and 'id="scope_value-error"' in text and 'id="step1_people-error"' in text
    assert "nobody@nowhere.example" in text and 'role="alert"' in text
    empty = manager.post(f"/posts/rules/{rule.id}/edit", data={"csrf_token": token, "name": "x", "scope_type": "all"})
    assert empty.status_code == 400 and 'id="step1-error"' in empty.get_data(as_text=True)
    session.expire_all()
    assert session.get(ApprovalRule, rule.id).name == "Editable rule"
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "publishing:approval_rule:update")) == 0
    gone = manager.get("/posts/rules/987654/edit")
    assert gone.status_code == 302  # said on the rules page, not a 500
    assert manager.post("/posts/rules/987654/edit", data={"csrf_token": token, "name": "x"}).status_code == 302
    no_token = manager.post(f"/posts/rules/{rule.id}/edit", data={"name": "x", "scope_type": "all", "step1_roles": ["admin"]})
    assert no_token.status_code in (400, 403)
    session.expire_all()
    assert session.get(ApprovalRule, rule.id).name == "Editable rule"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.IT])
def test_a_role_that_cannot_manage_rules_cannot_edit_one(app, session, actor, role):
    rule = _rule(session, actor)
    client = signed_in_with_role(app, session, role)
    listing = client.get("/posts/rules")
    assert f"/posts/rules/{rule.id}/edit" not in listing.get_data(as_text=True)
    assert client.get(f"/posts/rules/{rule.id}/edit").status_code == 403
    refused = client.post(f"/posts/rules/{rule.id}/edit", data={
        "csrf_token": csrf_token_of(listing), "name": "taken over", "scope_type": "all", "step1_roles": ["it"]})
    assert refused.status_code == 403
    session.expire_all()
    assert session.get(ApprovalRule, rule.id).name == "Editable rule"


@pytest.mark.parametrize("locale", ["en", "ar", "he"])
def test_a_deleted_group_or_a_retired_role_is_shown_and_never_dropped_unseen(app, session, actor, locale):
    import uuid

    from flask_babel import force_locale, gettext

    from govern.scim.group_models import ScimGroup

    legal = ScimGroup(id=str(uuid.uuid4()), display_name="Legal reviewers")
    session.add(legal)
    session.flush()
    rule = _rule(session, actor)
    gone_group = str(uuid.uuid4())
    rule.steps = [{"mode": "any", "roles": ["admin", "legacy_approver"], "groups": [legal.id, gone_group]}]
    session.commit()
    manager = signed_in_with_role(app, session, Role.ADMIN)
    with manager.session_transaction() as cookie:
        cookie["locale"] = locale
    page = manager.get(f"/posts/rules/{rule.id}/edit")
    html = page.get_data(as_text=True)
    with app.test_request_context(), force_locale(locale):
        gone_label = gettext("%(value)s (no longer exists)", value=gone_group)
        retired_label = gettext("%(value)s (no longer a role)", value="legacy_approver")
    assert gone_label in html and retired_label in html
    assert f'<option value="{gone_group}" dir="auto" selected>' in html
    assert 'value="legacy_approver" checked' in html
    as_shown = {"csrf_token": csrf_token_of(page), "name": "Editable rule", "scope_type": "all", "step1_mode": "any",
                "step1_roles": ["admin", "legacy_approver"], "step1_groups": [legal.id, gone_group]}
    refused = manager.post(f"/posts/rules/{rule.id}/edit", data=as_shown)  # saved as shown: told, nothing changes
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert 'id="step1_roles-error"' in text and 'id="step1_groups-error"' in text
    session.expire_all()
    assert session.get(ApprovalRule, rule.id).steps[0]["groups"] == [legal.id, gone_group]
    untick = {**as_shown, "step1_roles": ["admin"], "step1_groups": [legal.id]}
    assert manager.post(f"/posts/rules/{rule.id}/edit", data=untick).status_code == 302
    session.expire_all()
    [step] = session.get(ApprovalRule, rule.id).steps
    assert step["roles"] == ["admin"] and step["groups"] == [legal.id]
