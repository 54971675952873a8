"""Posts through approval rules to the network: fan-out, ordered steps, self-approval, edits, rejection, expiry,
outside approvers' links and the policy at submit and again at publish (real PostgreSQL, the loopback network)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.db import utcnow
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.notifications.models import Notification
from govern.publishing.models import ApprovalDecision, ExternalApprovalLink, PostState, PostTarget
from tests import factories
from tests.support.broker import connect, register
from tests.support.console import csrf_token_of


@pytest.fixture
def three_accounts(client, admin, network):
    register(client, admin, network)
    ids = []
    for n in range(3):
        network.set_user(id=f"user-{n}", name=f"acme{n}")
        ids.append(connect(client, admin))
    return ids


@pytest.fixture
def people(session, actor):
    """Make a person with a token of a role (and a publisher grant on the accounts given)."""

    def make(role: Role, accounts=(), name="Dana Levi"):
        person = factories.person(session, actor, display_name=name)
        for account_id in accounts:
            create_grant(session, actor, person.id, account_id, GrantRole.PUBLISHER, "social team")
        _, token = create_api_client(session, actor, f"p-{person.id}-{role.value}", role, person.id)
        session.commit()
        return person, {"Authorization": f"Bearer {token.reveal()}"}

    return make


def rule(client, admin, steps, scope_type="all", scope_value=None, name="standard"):
    answer = client.post("/api/v1/approval-rules", json={"name": name, "scope_type": scope_type, "scope_value": scope_value,
                                                        "steps": steps}, headers=admin)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def compose(client, headers, accounts, text="Our new branch opens Sunday", submit=True, **extra):
    answer = client.post("/api/v1/posts", json={"account_ids": accounts, "text": text, "submit": submit, **extra}, headers=headers)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_post_for_three_accounts_goes_out_once_to_each_when_no_rule_applies(client, three_accounts, network, people, session):
    _author, author = people(Role.IT, three_accounts)
    post = compose(client, author, three_accounts, variants={"x": {"text": "Sunday! New branch"}})
    assert post["state"] == "published", post
    assert sorted(t["state"] for t in post["targets"]) == ["published"] * 3
    assert len({t["idempotency_key"] for t in post["targets"]}) == 3
    assert [p["text"] for p in network.posts] == ["Sunday! New branch"] * 3
    keys = [e.summary.get("idempotency_key") for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "broker:action:publish"))]
    assert sorted(keys) == sorted(t["idempotency_key"] for t in post["targets"])


def test_two_steps_any_then_all_and_nobody_passes_a_step_alone(client, admin, three_accounts, network, people, session):
    _author, author = people(Role.IT, three_accounts, "Author")
    first, first_h = people(Role.GOVERNANCE, name="First")
    legal_a, legal_a_h = people(Role.GOVERNANCE, name="Legal A")
    legal_b, legal_b_h = people(Role.GOVERNANCE, name="Legal B")
    rule(client, admin, [{"mode": "any", "people": [first.id], "roles": ["auditor"]},
                         {"mode": "all", "people": [legal_a.id, legal_b.id]}])
    post = compose(client, author, three_accounts)
    assert post["state"] == "awaiting_approval" and network.posts == []
    early = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=legal_a_h)
    assert early.status_code == 403 and early.content_type == "application/problem+json"  # step 2 is not current yet
    step1 = client.post(f"/api/v1/posts/{post['id']}/approve", json={"note": "fine"}, headers=first_h)
    assert step1.status_code == 200, step1.get_json()
    steps = step1.get_json()["approval_steps"]
    assert [s["done"] for s in steps] == [True, False] and steps[0]["approved_by"][0]["name"]
    half = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=legal_a_h).get_json()
    assert half["state"] == "awaiting_approval" and network.posts == []
    twice = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=legal_a_h)
    assert twice.status_code == 403  # the same person cannot fill the second slot of an all-of step
    done = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=legal_b_h).get_json()
    assert done["state"] == "published" and len(network.posts) == 3


def test_nobody_approves_their_own_post(client, admin, three_accounts, people):
    _author, author = people(Role.GOVERNANCE, three_accounts)
    rule(client, admin, [{"mode": "any", "roles": ["governance"]}])
    post = compose(client, author, three_accounts[:1])
    answer = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=author)
    assert answer.status_code == 403 and answer.content_type == "application/problem+json"
    assert "own post" in answer.get_json()["detail"]


def test_a_post_edited_after_approval_needs_approval_again(client, admin, three_accounts, network, people, session):
    _author, author = people(Role.IT, three_accounts)
    one, one_h = people(Role.GOVERNANCE, name="One")
    rule(client, admin, [{"mode": "any", "people": [one.id]}, {"mode": "any", "roles": ["admin"]}])
    later = (utcnow() + timedelta(days=2)).isoformat()
    post = compose(client, author, three_accounts[:2], scheduled_at=later)
    assert client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=one_h).status_code == 200
    approved = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=admin).get_json()
    assert approved["state"] == "scheduled" and network.posts == []
    edited = client.patch(f"/api/v1/posts/{post['id']}", json={"text": "Changed after approval"}, headers=author)
    assert edited.status_code == 200, edited.get_json()
    body = edited.get_json()
    assert body["state"] == "awaiting_approval" and body["version"] == 2
    assert not any(step["done"] for step in body["approval_steps"])
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "publishing:post:update"))
    assert event.summary["approvals_reset"] == 2


def test_a_rejection_needs_a_reason_and_tells_the_author(client, admin, three_accounts, people, session):
    author_person, author = people(Role.IT, three_accounts)
    rule(client, admin, [{"mode": "any", "roles": ["admin"]}])
    post = compose(client, author, three_accounts[:1])
    bare = client.post(f"/api/v1/posts/{post['id']}/reject", json={}, headers=admin)
    assert bare.status_code == 422 and bare.content_type == "application/problem+json"
    rejected = client.post(f"/api/v1/posts/{post['id']}/reject", json={"reason": "Wrong opening day"}, headers=admin).get_json()
    assert rejected["state"] == "draft" and rejected["rejection_reason"] == "Wrong opening day"
    [note] = session.scalars(sa.select(Notification).where(Notification.person_id == author_person.id,
                                                           Notification.kind == "post_rejected")).all()
    assert note.details["reason"] == "Wrong opening day" and note.subject_id == str(post["id"])


def test_an_approval_expires(client, admin, three_accounts, network, people, session):
    _author, author = people(Role.IT, three_accounts)
    one, one_h = people(Role.GOVERNANCE, name="One")
    rule(client, admin, [{"mode": "any", "people": [one.id]}, {"mode": "any", "roles": ["admin"]}])
    post = compose(client, author, three_accounts[:1])
    client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=one_h)
    decision = session.scalar(sa.select(ApprovalDecision).where(ApprovalDecision.post_id == post["id"]))
    assert timedelta(days=6, hours=23) < decision.expires_at - decision.decided_at <= timedelta(days=7)
    decision.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    step2 = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=admin)
    assert step2.status_code == 403  # step 1 lapsed, so step 2 is not the one waiting
    assert network.posts == []
    assert client.get(f"/api/v1/posts/{post['id']}", headers=admin).get_json()["approval_steps"][0]["done"] is False


def test_an_approval_ends_at_the_scheduled_time(client, admin, three_accounts, people, session):
    _author, author = people(Role.IT, three_accounts)
    rule(client, admin, [{"mode": "any", "roles": ["admin"]}, {"mode": "any", "roles": ["governance"]}])
    when = utcnow() + timedelta(hours=3)
    post = compose(client, author, three_accounts[:1], scheduled_at=when.isoformat())
    client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=admin)
    decision = session.scalar(sa.select(ApprovalDecision).where(ApprovalDecision.post_id == post["id"]))
    assert abs((decision.expires_at - when).total_seconds()) < 1


def test_an_outside_approver_link_is_single_use_expires_and_shows_only_its_post(client, admin, three_accounts, network, people, session):
    _author, author = people(Role.IT, three_accounts)
    rule(client, admin, [{"mode": "any", "externals": ["counsel@lawfirm.example"]}])
    other = compose(client, author, three_accounts[:1], text="Another post entirely")
    post = compose(client, author, three_accounts[:1], text="Legal must see this one")
    refused = client.post(f"/api/v1/posts/{post['id']}/external-approvals", json={"name": "X", "email": "nobody@else.example"}, headers=author)
    assert refused.status_code == 422
    made = client.post(f"/api/v1/posts/{post['id']}/external-approvals",
                       json={"name": "Noa Counsel", "email": "counsel@lawfirm.example"}, headers=author)
    assert made.status_code == 201, made.get_json()
    url = made.get_json()["url"]
    token = url.rsplit("/", 1)[1]
    link = session.scalar(sa.select(ExternalApprovalLink).where(ExternalApprovalLink.post_id == post["id"]))
    assert token not in link.token_hash and len(link.token_hash) == 64
    page = client.get(f"/external-approvals/{token}")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert "Legal must see this one" in shown and "Another post entirely" not in shown
    csrf = csrf_token_of(page)
    decided = client.post(f"/external-approvals/{token}", data={"decision": "approve", "csrf_token": csrf})
    assert decided.status_code == 200, decided.get_data(as_text=True)[:500]
    assert [p["text"] for p in network.posts] == ["Legal must see this one"]
    again = client.post(f"/external-approvals/{token}", data={"decision": "approve", "csrf_token": csrf})
    assert again.status_code == 404 and client.get(f"/external-approvals/{token}").status_code == 404
    used = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "publishing:external_link:use"))
    assert used.summary["approver_email"] == "counsel@lawfirm.example" and used.summary["approver_name"] == "Noa Counsel"
    assert token not in str([e.summary for e in session.scalars(sa.select(AuditEvent))])
    made = client.post(f"/api/v1/posts/{other['id']}/external-approvals",
                       json={"name": "Noa Counsel", "email": "counsel@lawfirm.example"}, headers=author).get_json()
    expired_token = made["url"].rsplit("/", 1)[1]
    session.execute(sa.update(ExternalApprovalLink).where(ExternalApprovalLink.post_id == other["id"])
                    .values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.get(f"/external-approvals/{expired_token}").status_code == 404


def test_the_policy_blocks_at_submit_and_checks_again_at_publish(client, admin, three_accounts, network, people, session, app):
    _author, author = people(Role.IT, three_accounts)
    blocked = client.post("/api/v1/posts", json={"account_ids": three_accounts[:1], "submit": True,
                                                 "text": "Card 4111 1111 1111 1111 exp 12/29"}, headers=author)
    assert blocked.status_code == 422 and blocked.content_type == "application/problem+json"
    [post_id] = session.scalars(sa.text("select id from posts")).all()
    assert session.scalar(sa.text(f"select state from posts where id = {post_id}")) == "blocked"
    assert network.posts == []
    # Approved while clean; by publish time the text breaks a rule (a pack changed): the publish re-gates and blocks.
    rule(client, admin, [{"mode": "any", "roles": ["admin"]}])
    later = compose(client, author, three_accounts[:1], text="Clean text for now")
    from govern import app_services
    from govern.actor import Actor
    from govern.extensions import db
    from govern.publishing.models import Post
    from govern.publishing.post_publish import TargetOutcome, due_targets, publish_target

    when = utcnow() + timedelta(hours=1)
    with app.app_context():
        post = db.session.get(Post, later["id"])
        post.scheduled_at = when
        db.session.commit()
    client.post(f"/api/v1/posts/{later['id']}/approve", json={}, headers=admin)
    with app.app_context():
        assert due_targets(db.session, utcnow()) == []
        [target_id] = due_targets(db.session, when + timedelta(seconds=1))
        post = db.session.get(Post, later["id"])
        post.text = "Card 4111 1111 1111 1111 exp 12/29"  # as if the packs in force now caught it
        outcome = publish_target(db.session, app_services.publisher(app), Actor.system("schedule"), target_id, now=when + timedelta(seconds=1))
        db.session.commit()
        assert outcome.outcome is TargetOutcome.BLOCKED
        assert db.session.get(PostTarget, target_id).state is PostState.BLOCKED
    assert network.posts == []


def test_one_person_holding_two_slots_of_an_all_step_cannot_pass_it_alone(client, admin, three_accounts, network, people):
    _author, author = people(Role.IT, three_accounts)
    both, both_h = people(Role.GOVERNANCE, name="Holds both")
    rule(client, admin, [{"mode": "all", "people": [both.id], "roles": ["governance"]}])
    post = compose(client, author, three_accounts[:1])
    once = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=both_h).get_json()
    assert once["state"] == "awaiting_approval" and once["approval_steps"][0]["done"] is False
    assert client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=both_h).status_code == 403
    _other, other_h = people(Role.GOVERNANCE, name="Another governance")
    assert client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=other_h).get_json()["state"] == "published"
    assert len(network.posts) == 1


def test_the_most_specific_rule_applies_per_account(client, admin, three_accounts, people, session):
    _author, author = people(Role.IT, three_accounts)
    rule(client, admin, [{"mode": "any", "roles": ["admin"]}], name="everything")
    special = rule(client, admin, [{"mode": "any", "roles": ["governance"]}], scope_type="account",
                   scope_value=str(three_accounts[0]), name="flagship")
    post = compose(client, author, three_accounts)
    names = {step["rule_name"] for step in post["approval_steps"]}
    assert names == {"everything", "flagship"} and special["scope_type"] == "account"


def test_bad_input_is_problem_json(client, admin, three_accounts, people):
    _author, author = people(Role.IT, three_accounts)
    for body in ({}, {"account_ids": [], "text": "x"}, {"account_ids": ["a"], "text": "x"},
                 {"account_ids": three_accounts, "text": "x", "scheduled_at": "2001-01-01T00:00:00+00:00"},
                 {"account_ids": [999999], "text": "x"}):
        answer = client.post("/api/v1/posts", json=body, headers=author)
        assert answer.status_code in (404, 422) and answer.content_type == "application/problem+json", (body, answer.status_code)
    bad_rule = client.post("/api/v1/approval-rules", json={"name": "x", "scope_type": "network", "steps": [{"mode": "any", "roles": ["admin"]}]},
                           headers=admin)
    assert bad_rule.status_code == 422 and "scope value" in bad_rule.get_json()["detail"]
    empty_step = client.post("/api/v1/approval-rules", json={"name": "x", "scope_type": "all", "steps": [{"mode": "all"}]}, headers=admin)
    assert empty_step.status_code == 422
    assert client.post("/api/v1/approval-rules", json={"name": "x", "scope_type": "all", "steps": [{"mode": "most"}]},
                       headers=admin).status_code == 422
    assert client.get("/api/v1/posts/999999", headers=admin).status_code == 404


def test_cancel_and_the_queue_filters(client, admin, three_accounts, people):
    _author, author = people(Role.IT, three_accounts)
    rule(client, admin, [{"mode": "any", "roles": ["admin"]}])
    waiting = compose(client, author, three_accounts[:1])
    draft = compose(client, author, three_accounts[1:2], submit=False)
    assert draft["state"] == "draft"
    cancelled = client.post(f"/api/v1/posts/{waiting['id']}/cancel", json={"reason": "not needed"}, headers=author).get_json()
    assert cancelled["state"] == "cancelled" and {t["state"] for t in cancelled["targets"]} == {"cancelled"}
    assert client.post(f"/api/v1/posts/{waiting['id']}/cancel", json={}, headers=author).status_code == 409
    assert [p["id"] for p in client.get("/api/v1/posts?state=draft", headers=admin).get_json()] == [draft["id"]]
    assert [p["id"] for p in client.get(f"/api/v1/posts?account_id={three_accounts[0]}", headers=admin).get_json()] == [waiting["id"]]
    rules = client.get("/api/v1/approval-rules", headers=author).get_json()
    changed = client.patch(f"/api/v1/approval-rules/{rules[0]['id']}", json={"name": "renamed"}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["name"] == "renamed"
    assert client.delete(f"/api/v1/approval-rules/{rules[0]['id']}", headers=admin).status_code == 204
    assert client.post("/api/v1/approval-rules", json={"name": "x", "scope_type": "all", "steps": [{"roles": ["admin"]}]},
                       headers=author).status_code == 403


def test_the_policy_asking_for_approval_adds_a_governance_step_when_no_rule_applies(client, admin, three_accounts, network, people):
    _author, author = people(Role.IT, three_accounts)
    post = compose(client, author, three_accounts[:1], text="Questions? Write to dana.levi@gmail.com")
    assert post["state"] == "awaiting_approval" and post["approval_steps"][0]["rule_name"] == "policy"
    _gov, governance = people(Role.GOVERNANCE, name="Governance")
    done = client.post(f"/api/v1/posts/{post['id']}/approve", json={}, headers=governance).get_json()
    assert done["state"] == "published" and len(network.posts) == 1


def test_a_target_goes_out_once_and_a_pause_holds_it(client, admin, three_accounts, network, people, app, monkeypatch):
    from govern import app_services
    from govern.actor import Actor
    from govern.extensions import db
    from govern.publishing import post_publish
    from govern.publishing.post_publish import TargetOutcome, due_targets, publish_target

    _author, author = people(Role.IT, three_accounts)
    when = utcnow() + timedelta(minutes=30)
    post = compose(client, author, three_accounts[:2], scheduled_at=when.isoformat())
    assert post["state"] == "scheduled" and network.posts == []
    beat = Actor.system("schedule")
    with app.app_context():
        first, second = due_targets(db.session, when)
        monkeypatch.setattr(post_publish, "PAUSE_CHECKS", [lambda session, target: target.id == second])
        assert publish_target(db.session, app_services.publisher(app), beat, second, now=when).outcome is TargetOutcome.HELD
        assert publish_target(db.session, app_services.publisher(app), beat, first, now=when).outcome is TargetOutcome.PUBLISHED
        assert publish_target(db.session, app_services.publisher(app), beat, first, now=when).outcome is TargetOutcome.ALREADY_DONE
        db.session.commit()
        assert db.session.get(PostTarget, second).state is PostState.HELD
    assert len(network.posts) == 1
    again = client.patch(f"/api/v1/posts/{post['id']}", json={"text": "too late"}, headers=author)
    assert again.status_code == 409 and again.content_type == "application/problem+json"


def test_media_and_each_networks_variant_media_reach_the_network(client, three_accounts, network, people, session):
    _author, author = people(Role.IT, three_accounts)
    compose(client, author, three_accounts, media=["https://cdn.example.com/a.png"],
            variants={"x": {"text": "Sunday!", "media": ["https://cdn.example.com/x-crop.png", "https://cdn.example.com/b.png"]}})
    sent = sorted((p["text"], tuple(p.get("media", ()))) for p in network.posts)
    assert sent == [("Sunday!", ("https://cdn.example.com/x-crop.png", "https://cdn.example.com/b.png"))] * 3
    counts = [e.summary.get("media_count") for e in session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "broker:action:publish"))]
    assert counts == [2, 2, 2]


def test_a_post_without_media_sends_none(client, three_accounts, network, people):
    _author, author = people(Role.IT, three_accounts[:1])
    compose(client, author, three_accounts[:1], text="Just words")
    assert [("media" in p) for p in network.posts] == [False]


def test_a_direct_publish_with_malformed_media_is_a_4xx(client, three_accounts, network, people):
    _author, author = people(Role.IT, three_accounts[:1])
    for media in ("https://cdn.example.com/a.png", [1, 2], ["x" * 2001], ["https://a"] * 11):
        answer = client.post(f"/api/v1/accounts/{three_accounts[0]}/actions",
                             json={"action": "publish", "params": {"text": "Hello", "media": media}}, headers=author)
        assert answer.status_code in (400, 422) and answer.content_type == "application/problem+json", (media, answer.get_json())
    assert network.posts == []
