"""The policy at the broker: blocked posts, posts waiting for approval, and scans of what is published."""

from __future__ import annotations

import sqlalchemy as sa
from stdnum import luhn

from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.policy.workflow_models import PolicyViolation
from govern.publishing.models import PublishApproval
from govern.publishing.tasks import scan_published
from tests.support.broker import connect, register
from tests.support.console import signed_in_client

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def saudi_id() -> str:
    return "103456789" + luhn.calc_check_digit("103456789")


def connected(client, admin, network):
    register(client, admin, network)
    return connect(client, admin)


def test_a_saudi_id_in_arabic_digits_is_blocked_at_the_broker_with_the_digits_pointed_at(
    client, admin, network, publisher_headers, session,
):
    account_id = connected(client, admin, network)
    digits = saudi_id().translate(ARABIC_DIGITS)
    text = f"عميلنا رقم الهوية {digits} يرجى التواصل معه"
    response = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "publish", "params": {"text": text}},
                           headers=publisher_headers(account_id))
    assert response.status_code == 422 and response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["decision"] == "block" and problem["pack_version"]
    [finding] = [f for f in problem["findings"] if f["entity"] == "NATIONAL_ID"]
    assert finding["kind"] == "sa_national_id" and text[finding["start"]:finding["end"]] == digits
    assert digits not in finding["preview"] and finding["explanation"]
    assert network.posts == []
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "broker:action:publish"))
    assert event.summary["outcome"] == "blocked" and event.summary["findings"][0]["rule"] == finding["rule"]
    assert digits not in str(event.summary) and saudi_id() not in str(event.summary)


def test_a_post_needing_approval_waits_and_goes_out_when_governance_approves(
    client, admin, network, publisher_headers, session, auth_headers,
):
    account_id = connected(client, admin, network)
    text = "Questions? Write to dana.levi@gmail.com"
    pending = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "publish", "params": {"text": text}},
                          headers=publisher_headers(account_id))
    assert pending.status_code == 202, pending.get_json()
    body = pending.get_json()
    assert body["outcome"] == "pending_approval" and body["result"]["decision"] == "require_approval"
    assert network.posts == []
    approval_id = body["result"]["approval_id"]
    governance = auth_headers(Role.GOVERNANCE)
    listed = client.get("/api/v1/policy/approvals", headers=governance).get_json()
    assert [a["id"] for a in listed] == [approval_id] and listed[0]["text"] == text
    approved = client.post(f"/api/v1/policy/approvals/{approval_id}/approve", json={"note": "customer asked for it"}, headers=governance)
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    assert [post["text"] for post in network.posts] == [text]
    again = client.post(f"/api/v1/policy/approvals/{approval_id}/approve", json={}, headers=governance)
    assert again.status_code == 422 and "already decided" in again.get_json()["detail"]
    assert session.get(PublishApproval, approval_id).decided_by.startswith("api_client:")
    published = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "broker:action:publish"))
    assert published.summary["outcome"] == "ok" and published.summary["approval_id"] == approval_id
    assert "dana.levi@gmail.com" not in str(published.summary) and published.summary["params"]["text"].startswith("Questions? Write to ")


def test_a_rejected_post_never_reaches_the_network(client, admin, network, publisher_headers, auth_headers):
    account_id = connected(client, admin, network)
    pending = client.post(f"/api/v1/accounts/{account_id}/actions",
                          json={"action": "publish", "params": {"text": "Ring me on +972 52 555 1234"}}, headers=publisher_headers(account_id))
    approval_id = pending.get_json()["result"]["approval_id"]
    governance = auth_headers(Role.GOVERNANCE)
    silent = client.post(f"/api/v1/policy/approvals/{approval_id}/reject", json={}, headers=governance)
    assert silent.status_code == 422 and "say why" in silent.get_json()["detail"]
    rejected = client.post(f"/api/v1/policy/approvals/{approval_id}/reject", json={"note": "personal number"}, headers=governance)
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert network.posts == []


def test_a_scan_hides_a_blocked_comment_queues_it_and_it_can_be_resolved(
    app, client, admin, network, publisher_headers, session, auth_headers,
):
    account_id = connected(client, admin, network)
    published = client.post(f"/api/v1/accounts/{account_id}/actions", json={"action": "publish", "params": {"text": "Our new app is out"}},
                            headers=publisher_headers(account_id))
    post_id = published.get_json()["result"]["id"]
    leaked = network.add_comment(post_id, "my card is 4111 1111 1111 1111 why was I charged twice")
    network.add_comment(post_id, "congratulations!")
    governance = auth_headers(Role.GOVERNANCE)
    assert client.post("/api/v1/policy/scans", headers=governance).status_code == 202
    with app.app_context():  # the scan job itself, as the worker or the in-process scheduler runs it
        first, rescan = scan_published.apply().get(), scan_published.apply().get()
    assert first["violations"] <= 1 and rescan["violations"] == 0 and rescan["items"] == 2  # a rescan queues nothing twice (the hidden comment is not read again)
    violations = client.get("/api/v1/policy/violations", headers=governance).get_json()
    assert [(v["content_kind"], v["external_id"], v["response_taken"]) for v in violations] == [("comment", leaked["id"], "hidden")]
    assert "4111 1111 1111 1111" not in violations[0]["masked_text"]
    assert next(c for c in network.comments if c["id"] == leaked["id"])["hidden"] is True
    violation_id = violations[0]["id"]
    no_note = client.patch(f"/api/v1/policy/violations/{violation_id}", json={"status": "resolved"}, headers=governance)
    assert no_note.status_code == 422
    resolved = client.patch(f"/api/v1/policy/violations/{violation_id}", json={"status": "resolved", "note": "customer contacted"},
                            headers=governance)
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"
    assert session.scalar(sa.select(sa.func.count()).select_from(PolicyViolation)) == 1


def test_evaluate_answers_with_findings_and_refuses_bad_input(client, auth_headers):
    auditor = auth_headers(Role.AUDITOR)
    answer = client.post("/api/v1/policy/evaluate", json={"text": "card 4111 1111 1111 1111"}, headers=auditor)
    assert answer.status_code == 200 and answer.get_json()["decision"] == "block"
    broken = client.post("/api/v1/policy/evaluate", data=b'{"text": "\xff\xfe"}', headers={**auditor, "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.content_type == "application/problem+json"
    bad_image = client.post("/api/v1/policy/evaluate", json={"text": "x", "media": ["not base64!"]}, headers=auditor)
    assert bad_image.status_code == 422 and "attachment 1" in bad_image.get_json()["detail"]


def test_a_bad_pack_is_refused_on_reload_and_the_packs_in_force_stay(app, client, auth_headers, tmp_path, monkeypatch):
    import shutil

    from govern.config import DEFAULT_POLICY_PACKS
    from govern.policy.service import PolicyRuntime

    packs_dir = tmp_path / "packs"
    shutil.copytree(DEFAULT_POLICY_PACKS, packs_dir)
    runtime = PolicyRuntime(packs_dir)
    monkeypatch.setitem(app.extensions, "govern.policy", runtime)
    admin_headers = auth_headers(Role.ADMIN)
    in_force = client.get("/api/v1/policy/packs", headers=admin_headers).get_json()["version"]
    (packs_dir / "privacy.yaml").write_text((packs_dir / "privacy.yaml").read_text().replace("action: block", "action: deny", 1))
    refused = client.post("/api/v1/policy/packs", headers=admin_headers)
    assert refused.status_code == 422 and "privacy.yaml:" in refused.get_json()["detail"]
    assert client.get("/api/v1/policy/packs", headers=admin_headers).get_json()["version"] == in_force
    broken_from_start = PolicyRuntime(packs_dir)
    monkeypatch.setitem(app.extensions, "govern.policy", broken_from_start)
    unavailable = client.post("/api/v1/policy/evaluate", json={"text": "hello"}, headers=admin_headers)
    assert unavailable.status_code == 503 and "no policy is in force" in unavailable.get_json()["detail"]


def test_the_console_says_a_post_went_for_approval_and_publishes_nothing(
    app, client, admin, network, session, actor, monkeypatch,
):
    import html

    from govern.actor import Actor
    from govern.auth.service import ensure_console_user
    from govern.grants.models import GrantRole
    from govern.grants.service import create_grant
    from tests import factories

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    account_id = connected(client, admin, network)
    person = factories.person(session, actor, display_name="נועה כהן")
    create_grant(session, actor, person.id, account_id, GrantRole.PUBLISHER, "social team")
    user = ensure_console_user(session, Actor.system("tests"), "noa@console.test", "Noa", Role.IT, person.id)
    session.commit()
    console = signed_in_client(app, user.id)
    answer = console.post(f"/accounts/{account_id}/publish", data={"text": "Call me on +972 52 555 1234"}, follow_redirects=True)
    assert answer.status_code == 200
    assert "governance approver first" in html.unescape(answer.get_data(as_text=True))
    assert network.posts == []
    assert session.scalar(sa.select(sa.func.count()).select_from(PublishApproval)) == 1
