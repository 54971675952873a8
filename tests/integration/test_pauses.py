"""Pause All through the broker, against OpenBao and the loopback network: what a pause refuses (423, naming it),
what it lets through (moderation), hand-offs, approvals, and a pause in force on another host the moment it commits."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.auth.service import create_api_client
from govern.extensions import db
from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.publishing.models import ApprovalStatus, PublishApproval
from tests import factories
from tests.support.broker import connect, register
from tests.support.fake_network import FakeNetwork


def act(client, account_id, headers, action, **params):
    return client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": action, "params": params}, headers=headers)


def pause(client, headers, scope_type, value=None, reason="brand crisis"):
    made = client.post("/api/v1/pauses", json={"scope": {"type": scope_type, "value": value}, "reason": reason},
                       headers=headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


@pytest.fixture
def connected(client, admin, network, publisher_headers):
    register(client, admin, network)
    account_id = connect(client, admin)
    return account_id, publisher_headers(account_id, GrantRole.ADMIN)  # a grant allowing publish and moderate


def assert_paused(response, pause_id):
    assert response.status_code == 423, response.get_json()
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert problem["type"].endswith("/publishing-paused") and problem["code"] == "publishing-paused"
    assert problem["pause"]["id"] == pause_id and problem["pause"]["reason"] == "brand crisis"
    assert problem["pause"]["scope"]["type"] in {"all", "network", "account", "business_unit"}
    assert f"pause {pause_id}" in problem["detail"]


def test_a_pause_refuses_publish_reply_and_delete_but_not_moderation(client, admin, network, connected, session):
    account_id, headers = connected
    post = act(client, account_id, headers, "publish", text="before the crisis").get_json()["result"]
    comment = network.add_comment(post["id"], "an angry comment")
    paused = pause(client, admin, "all")
    assert_paused(act(client, account_id, headers, "publish", text="during"), paused["id"])
    assert_paused(act(client, account_id, headers, "reply", comment_id=comment["id"], text="sorry"), paused["id"])
    assert_paused(act(client, account_id, headers, "delete_post", post_id=post["id"]), paused["id"])
    hidden = act(client, account_id, headers, "hide_comment", comment_id=comment["id"])
    assert hidden.status_code == 200, hidden.get_json()
    assert act(client, account_id, headers, "list_recent_posts").status_code == 200
    assert [p["text"] for p in network.posts] == ["before the crisis"]
    refusals = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pauses:action:refuse",
                                                           AuditEvent.target_id == str(account_id))).all()
    assert sorted(e.summary["network_action"] for e in refusals) == ["delete_post", "publish", "reply"]
    resumed = client.post(f"/api/v1/pauses/{paused['id']}/resume", json={}, headers=headers)
    assert resumed.status_code == 200
    assert act(client, account_id, headers, "publish", text="after").status_code == 200
    assert [p["text"] for p in network.posts] == ["before the crisis", "after"]


def test_handoffs_for_accounts_in_scope_are_refused(client, admin, connected, session):
    account_id, _ = connected
    body = {"purpose": "agency scheduling tool", "ttl_seconds": 60}
    paused = pause(client, admin, "account", account_id)
    assert_paused(client.post(f"/api/v1/accounts/{account_id}/handoffs", json=body, headers=admin), paused["id"])
    client.post(f"/api/v1/pauses/{paused['id']}/resume", json={}, headers=_governance(session))
    assert client.post(f"/api/v1/accounts/{account_id}/handoffs", json=body, headers=admin).status_code == 201


def test_approving_a_held_post_during_a_pause_publishes_nothing_and_keeps_it_waiting(client, admin, network, connected,
                                                                                   session, actor):
    account_id, _ = connected
    author = factories.person(session, actor)
    create_grant(session, actor, author.id, account_id, GrantRole.PUBLISHER, "author")
    approval = PublishApproval(account_id=account_id, person_id=author.id, requested_by="api_client:author",
                               network_action="publish", params={"text": "held post"}, findings=[], pack_version="t")
    session.add(approval)
    session.commit()
    governance = _governance(session)
    paused = pause(client, admin, "network", "x")
    refused = client.post(f"/api/v1/policy/approvals/{approval.id}/approve", json={}, headers=governance)
    assert_paused(refused, paused["id"])
    session.refresh(approval)
    assert approval.status is ApprovalStatus.PENDING and network.posts == []
    client.post(f"/api/v1/pauses/{paused['id']}/resume", json={}, headers=governance)
    approved = client.post(f"/api/v1/policy/approvals/{approval.id}/approve", json={}, headers=governance)
    assert approved.status_code == 200 and [p["text"] for p in network.posts] == ["held post"]


def test_a_pause_covers_only_its_network_business_unit_or_account(client, admin, network, publisher_headers, session):
    from govern.accounts.models import SocialAccount

    register(client, admin, network, key="x")
    register(client, admin, network, key="mastodon")
    on_x, on_mastodon = connect(client, admin, key="x"), connect(client, admin, key="mastodon")
    session.execute(sa.update(SocialAccount).where(SocialAccount.id == on_mastodon).values(business_unit="Retail"))
    session.commit()
    headers = {on_x: publisher_headers(on_x), on_mastodon: publisher_headers(on_mastodon)}
    governance = _governance(session)

    def refused_accounts() -> set[int]:
        return {account for account in (on_x, on_mastodon)
                if act(client, account, headers[account], "publish", text="hello").status_code == 423}

    for scope_type, value, expected in (("network", "x", {on_x}), ("business_unit", "Retail", {on_mastodon}),
                                        ("account", on_x, {on_x}), ("all", None, {on_x, on_mastodon})):
        paused = pause(client, admin, scope_type, value)
        assert refused_accounts() == expected, scope_type
        assert client.post(f"/api/v1/pauses/{paused['id']}/resume", json={}, headers=governance).status_code == 200
    assert refused_accounts() == set()


def _governance(session):
    _, token = create_api_client(session, Actor.system("tests"), "governance-resumer", Role.GOVERNANCE)
    session.commit()
    return {"Authorization": f"Bearer {token.reveal()}"}


# --- another host, the moment the pause commits --------------------------------------------------
@pytest.fixture
def two_hosts(make_committed_app, openbao, tmp_path):
    first = make_committed_app(instance_path=tmp_path / "a", **openbao.govern_settings())
    second = make_committed_app(instance_path=tmp_path / "b", **openbao.govern_settings())
    return first, second


def test_content_sent_the_moment_a_pause_commits_is_refused_on_another_host(two_hosts):
    first, second = two_hosts
    network = FakeNetwork().start()
    try:
        with first.app_context():
            actor = Actor.system("tests")
            _, admin_token = create_api_client(db.session, actor, "admin", Role.ADMIN)
            db.session.commit()
            admin = {"Authorization": f"Bearer {admin_token.reveal()}"}
            client = first.test_client()
            register(client, admin, network)
            account_id = connect(client, admin)
            person = factories.person(db.session, actor)
            create_grant(db.session, actor, person.id, account_id, GrantRole.PUBLISHER, "social team")
            _, token = create_api_client(db.session, actor, "publisher", Role.IT, person.id)
            db.session.commit()
        publisher = {"Authorization": f"Bearer {token.reveal()}"}
        other_host = second.test_client()
        for round_number in range(5):
            assert act(other_host, account_id, publisher, "publish", text=f"ok {round_number}").status_code == 200
            paused = pause(first.test_client(), admin, "all")  # committed when this returns
            refused = act(other_host, account_id, publisher, "publish", text=f"too late {round_number}")
            assert_paused(refused, paused["id"])
            with first.app_context():
                _, resumer = create_api_client(db.session, actor, f"resumer-{round_number}", Role.GOVERNANCE)
                db.session.commit()
            resumed = first.test_client().post(f"/api/v1/pauses/{paused['id']}/resume", json={},
                                               headers={"Authorization": f"Bearer {resumer.reveal()}"})
            assert resumed.status_code == 200
        assert [p["text"] for p in network.posts] == [f"ok {n}" for n in range(5)]
    finally:
        network.stop()
