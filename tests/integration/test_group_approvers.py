"""Directory groups as approvers (issue 16): a step names SCIM groups; a member at decision time fills the group's slot,
a non-member and the author cannot; an all-of step counts a group once, like a role; the members are told when the post
reaches their step; a group SCIM deletes leaves the post waiting, shown as deleted (real PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from govern import app_services
from govern.auth.roles import Role
from govern.notifications.models import Notification
from govern.publishing.models import ApprovalDecision, ApprovalRule
from govern.scim.group_models import ScimGroup, ScimGroupMember
from tests import factories
from tests.integration.test_posts import compose, people, rule, three_accounts  # noqa: F401  (fixtures)
from tests.integration.test_scim import scim  # noqa: F401  (the SCIM client fixture)
from tests.support.console import csrf_token_of, signed_in_with_role

FSI, PDI = "\u2068", "\u2069"


def plain(text: str) -> str:
    return text.replace(FSI, "").replace(PDI, "")


@pytest.fixture
def group(session):
    """Store a SCIM group with some people as its members, as a SCIM push would; returns its id."""

    def make(name: str, *members) -> str:
        row = ScimGroup(id=str(uuid.uuid4()), display_name=name)
        session.add(row)
        session.flush()
        for person in members:
            session.add(ScimGroupMember(group_id=row.id, value=f"user-{person.id}", person_id=person.id))
        session.commit()
        return row.id

    return make


def approve(client, post, headers):
    return client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=headers)


def awaiting_notes(session, person_id) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.person_id == person_id, Notification.kind == "post_awaiting_approval"))


def test_a_member_approves_a_group_step_and_a_non_member_is_refused(client, admin, session, three_accounts, network,
                                                                     people, group):
    _author, author = people(Role.IT, three_accounts, "Author")
    member, member_h = people(Role.IT, name="Legal Member")
    _outsider, outsider_h = people(Role.GOVERNANCE, name="Not In Legal")
    legal = group("Legal", member)
    made = rule(client, admin, [{"mode": "any", "groups": [legal]}])
    assert made["steps"][0]["groups"] == [legal] and made["steps"][0]["group_names"] == {legal: "Legal"}
    assert client.get(f"/api/v1/approval-rules/{made['id']}", headers=admin).get_json()["steps"][0]["group_names"] == {legal: "Legal"}
    post = compose(client, author, three_accounts[:1])
    assert post["state"] == "awaiting_approval" and post["approval_steps"][0]["approvers"] == [f"group:{legal}"]
    refused = approve(client, post, outsider_h)
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    done = approve(client, post, member_h)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["state"] == "published" and len(network.posts) == 1
    [decision] = session.scalars(sa.select(ApprovalDecision).where(ApprovalDecision.post_id == post["id"])).all()
    assert decision.slot == f"group:{legal}"


def test_the_author_who_is_a_member_cannot_approve_their_own_post(client, admin, three_accounts, people, group):
    author_person, author = people(Role.GOVERNANCE, three_accounts, "Author In Group")
    legal = group("Legal", author_person)
    rule(client, admin, [{"mode": "any", "groups": [legal]}])
    post = compose(client, author, three_accounts[:1])
    answer = approve(client, post, author)
    assert answer.status_code == 403 and "own post" in answer.get_json()["detail"]


def test_an_all_of_step_with_a_person_and_a_group_needs_two_people(client, admin, three_accounts, network, people, group):
    _author, author = people(Role.IT, three_accounts, "Author")
    chief, chief_h = people(Role.IT, name="Chief")  # named, and a member of the group too
    other, other_h = people(Role.IT, name="Other Member")
    legal = group("Legal", chief, other)
    rule(client, admin, [{"mode": "all", "people": [chief.id], "groups": [legal]}])
    post = compose(client, author, three_accounts[:1])
    first = approve(client, post, chief_h)
    assert first.status_code == 200 and first.get_json()["state"] == "awaiting_approval"
    assert [d["slot"] for d in first.get_json()["approval_steps"][0]["approved_by"]] == [f"person:{chief.id}"]
    assert approve(client, post, chief_h).status_code == 403  # one person does not fill both slots
    done = approve(client, post, other_h).get_json()
    assert done["state"] == "published" and len(network.posts) == 1
    assert sorted(d["slot"] for d in done["approval_steps"][0]["approved_by"]) == [f"group:{legal}", f"person:{chief.id}"]


def test_members_are_told_when_the_post_reaches_their_step(client, admin, session, three_accounts, people, group):
    author_person, author = people(Role.IT, three_accounts, "Author")
    first, first_h = people(Role.IT, name="First Step")
    member_a, _ = people(Role.IT, name="Member A")
    member_b, _ = people(Role.IT, name="Member B")
    outsider, _ = people(Role.IT, name="Outsider")
    legal = group("Legal", member_a, member_b, author_person)
    rule(client, admin, [{"mode": "any", "people": [first.id]}, {"mode": "any", "groups": [legal]}])
    post = compose(client, author, three_accounts[:1])
    assert awaiting_notes(session, first.id) == 1
    assert awaiting_notes(session, member_a.id) == 0  # their step is not reached yet
    assert approve(client, post, first_h).status_code == 200
    session.expire_all()
    assert awaiting_notes(session, member_a.id) == 1 and awaiting_notes(session, member_b.id) == 1
    assert awaiting_notes(session, author_person.id) == 0 and awaiting_notes(session, outsider.id) == 0
    assert awaiting_notes(session, first.id) == 1  # told once, for their own step


def test_a_deleted_group_leaves_the_post_waiting_and_the_pages_say_so(app, client, admin, session, scim, three_accounts,
                                                                        people, group):
    _author, author = people(Role.IT, three_accounts, "Author")
    member, member_h = people(Role.IT, name="Legal Member")
    legal = group("Legal Team", member)
    made = rule(client, admin, [{"mode": "any", "groups": [legal]}])
    post = compose(client, author, three_accounts[:1])
    assert scim("DELETE", f"/Groups/{legal}").status_code == 204
    assert session.get(ScimGroup, legal) is None
    refused = approve(client, post, member_h)
    assert refused.status_code == 403
    again = client.get(f"/api/v1/posts/{post['id']}", headers=admin).get_json()
    assert again["state"] == "awaiting_approval" and not again["approval_steps"][0]["done"]
    reader = signed_in_with_role(app, session, Role.AUDITOR)
    page = reader.get(f"/posts/{post['id']}")
    assert page.status_code == 200 and "Group: Legal Team (deleted)" in plain(page.get_data(as_text=True))
    rules_page = reader.get("/posts/rules")
    assert rules_page.status_code == 200 and "Group: Legal Team (deleted)" in plain(rules_page.get_data(as_text=True))
    # the rule cannot be saved again with the deleted group; an administrator replaces it
    stale = client.patch(f"/api/v1/approval-rules/{made['id']}", json={"steps": [{"groups": [legal]}]}, headers=admin)
    assert stale.status_code == 422 and stale.content_type == "application/problem+json"
    fixed = client.patch(f"/api/v1/approval-rules/{made['id']}", json={"steps": [{"roles": ["governance"]}]}, headers=admin)
    assert fixed.status_code == 200 and fixed.get_json()["steps"][0]["roles"] == ["governance"]


def test_an_emptied_group_shows_no_members(app, client, admin, session, three_accounts, people, group):
    _author, author = people(Role.IT, three_accounts, "Author")
    empty = group("Nobody Yet")
    rule(client, admin, [{"mode": "any", "groups": [empty]}])
    post = compose(client, author, three_accounts[:1])
    page = signed_in_with_role(app, session, Role.AUDITOR).get(f"/posts/{post['id']}")
    assert page.status_code == 200 and "Group: Nobody Yet (no members)" in plain(page.get_data(as_text=True))


def test_an_unknown_group_is_a_422_problem(client, admin, session):
    missing = str(uuid.uuid4())
    answer = client.post("/api/v1/approval-rules", json={"name": "ghost", "scope_type": "all",
                                                         "steps": [{"mode": "any", "groups": [missing]}]}, headers=admin)
    assert answer.status_code == 422 and answer.content_type == "application/problem+json"
    assert missing in answer.get_json()["detail"]
    too_long = client.post("/api/v1/approval-rules", json={"name": "ghost", "scope_type": "all",
                                                           "steps": [{"groups": ["x" * 80]}]}, headers=admin)
    assert too_long.status_code == 422 and too_long.content_type == "application/problem+json"
    assert session.scalar(sa.select(sa.func.count()).select_from(ApprovalRule)) == 0


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_the_rules_editor_picks_groups(app, session, actor, group, locale):
    from flask_babel import force_locale, gettext

    from govern.publishing import posts

    member = factories.person(session, actor, display_name="Noa Legal", username=f"noa.{locale}")
    legal = group("Legal", member)
    account = factories.account(session, actor, handle=f"brand_groups_{locale}")
    session.commit()
    manager = signed_in_with_role(app, session, Role.GOVERNANCE)
    with manager.session_transaction() as cookie:
        cookie["locale"] = locale
    with app.test_request_context(), force_locale(locale):
        field_label = gettext("Directory groups (any member of a group can approve for it)")
        shown_as = plain(gettext("Group: %(name)s", name="Legal"))
    page = manager.get("/posts/rules")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and field_label in text and f'value="{legal}"' in text
    made = manager.post("/posts/rules", data={"csrf_token": csrf_token_of(page), "name": "Legal first", "scope_type": "all",
                                              "step1_mode": "all", "step1_groups": [legal], "step1_roles": ["admin"]})
    assert made.status_code == 302, made.get_data(as_text=True)[-1500:]
    saved = session.scalar(sa.select(ApprovalRule).where(ApprovalRule.name == "Legal first"))
    assert saved.steps == [{"mode": "all", "people": [], "roles": ["admin"], "externals": [], "groups": [legal],
                            "group_names": {legal: "Legal"}}]
    assert shown_as in plain(manager.get("/posts/rules").get_data(as_text=True))
    post = posts.create_post(session, actor, None, [account.id], "Needs the group")
    posts.submit_post(session, app_services.publisher(app), actor, post.id)
    session.commit()
    assert shown_as in plain(manager.get(f"/posts/{post.id}").get_data(as_text=True))
    gone = manager.post("/posts/rules", data={"csrf_token": csrf_token_of(page), "name": "Ghost", "scope_type": "all",
                                              "step1_groups": [str(uuid.uuid4())]})
    assert gone.status_code == 400 and 'id="step1_groups-error"' in gone.get_data(as_text=True)


def test_role_holders_and_named_people_are_told_too_but_not_a_disabled_user(client, admin, session, actor, three_accounts,
                                                                           people, group):
    from govern.actor import Actor
    from govern.auth.models import ConsoleUser
    from govern.auth.service import ensure_console_user
    from govern.db import utcnow

    _author, author = people(Role.IT, three_accounts, "Author")
    named, _ = people(Role.IT, name="Named")
    holder = factories.person(session, actor, display_name="Auditor Holder")
    gone = factories.person(session, actor, display_name="Disabled Auditor")
    for person, disabled in ((holder, None), (gone, utcnow())):
        user = ensure_console_user(session, Actor.system("tests"), f"p{person.id}@console.test", person.display_name,
                                   Role.AUDITOR)
        session.execute(sa.update(ConsoleUser).where(ConsoleUser.id == user.id).values(person_id=person.id,
                                                                                       disabled_at=disabled))
    session.commit()
    rule(client, admin, [{"mode": "any", "people": [named.id], "roles": ["auditor"]}])
    compose(client, author, three_accounts[:1])
    assert awaiting_notes(session, named.id) == 1 and awaiting_notes(session, holder.id) == 1
    assert awaiting_notes(session, gone.id) == 0


def test_the_openapi_document_describes_a_steps_groups(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    step = next(schema for name, schema in schemas.items() if name.startswith("ApprovalStep") and "externals" in schema["properties"])
    assert step["properties"]["groups"]["type"] == "array" and step["properties"]["group_names"]["readOnly"] is True
