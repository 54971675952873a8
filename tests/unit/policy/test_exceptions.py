"""Scoped exceptions from false positives: the next evaluation honours them, in their scope only, until removed."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from govern import app_services
from govern.audit.models import AuditEvent
from govern.auth.roles import Role
from govern.policy import service
from govern.policy.engine import evaluation
from govern.policy.engine.findings import Action
from govern.policy.exceptions import ExceptionScope, ExceptionSet, canonical_value, value_digest
from govern.policy.workflow_models import ContentKind, PolicyException, ViolationStatus
from govern.publishing import service as publishing
from tests import factories
from tests.support.canary import haystacks

PROBLEM = "application/problem+json"
EMAIL_POST = "Write to dana@example.com today"
SECRET = "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"  # a valid checksum: certain, so it blocks
SECRET_POST = f"Our key {SECRET} in the repo"


# --- the pure part: digests and the engine -------------------------------------------------------
def test_one_value_written_differently_has_one_canonical_form_but_a_secret_keeps_its_case():
    assert canonical_value("PHONE_NUMBER", "+972 50-154-0846") == canonical_value("PHONE_NUMBER", "+٩٧٢٥٠١٥٤٠٨٤٦")
    assert canonical_value("EMAIL_ADDRESS", "Dana@Example.com") == canonical_value("EMAIL_ADDRESS", "dana@example.com")
    assert canonical_value("SECRET", SECRET) != canonical_value("SECRET", SECRET.lower())
    assert value_digest(b"k1", "SECRET", SECRET) != value_digest(b"k2", "SECRET", SECRET)  # keyed
    assert SECRET not in value_digest(b"k1", "SECRET", SECRET)


def test_the_engine_leaves_out_what_an_exception_excuses_and_only_that(compiled):
    key = b"test-key"
    digest = value_digest(key, "EMAIL_ADDRESS", "dana@example.com")
    on_account = ExceptionSet.of(key, [(ExceptionScope.VALUE_ON_ACCOUNT, "privacy.email", "7", digest)])
    here, there = evaluation.PolicyContext(account_id="7"), evaluation.PolicyContext(account_id="8")
    assert evaluation.evaluate(compiled, EMAIL_POST, account=here, exceptions=on_account).decision is Action.ALLOW
    assert evaluation.evaluate(compiled, EMAIL_POST, account=there, exceptions=on_account).decision is Action.REQUIRE_APPROVAL
    other = evaluation.evaluate(compiled, "Write to omar@example.com", account=here, exceptions=on_account)
    assert other.decision is Action.REQUIRE_APPROVAL
    both = evaluation.evaluate(compiled, "dana@example.com or omar@example.com", account=here, exceptions=on_account)
    assert [f.preview for f in both.findings] == ["o***@example.com"]
    rule_off = ExceptionSet.of(key, [(ExceptionScope.RULE_ON_ACCOUNT, "privacy.email", "7", None)])
    assert evaluation.evaluate(compiled, "omar@example.com", account=here, exceptions=rule_off).decision is Action.ALLOW
    assert evaluation.evaluate(compiled, SECRET_POST, account=here, exceptions=rule_off).decision is Action.BLOCK


# --- the service: scans record digests, exceptions are made, honoured and removed ----------------
@pytest.fixture
def runtime(app):
    return app_services.policy(app)


@pytest.fixture
def scanned(session, actor, runtime):
    """A violation as a scan records it, on a first account; a second account beside it."""

    def scan(text: str, external_id: str = "post-1"):
        first, second = factories.account(session, actor), factories.account(session, actor)
        decision = service.evaluate(session, runtime, text, account_id=first.id)
        assert decision.decision is not Action.ALLOW
        violation = service.record_scanned_item(session, actor, first.id, ContentKind.POST, external_id, text, decision,
                                                value_key=runtime.exception_key)
        session.commit()
        return violation, first, second

    return scan


def decision_on(session, runtime, text, account):
    return service.evaluate(session, runtime, text, account_id=account.id).decision


def test_a_value_on_account_exception_allows_it_there_only_until_removed(session, actor, runtime, scanned):
    violation, first, second = scanned(EMAIL_POST)
    made = service.add_exceptions(session, actor, runtime.version, violation.id, ExceptionScope.VALUE_ON_ACCOUNT,
                                  "our published support address")
    session.commit()
    assert violation.status is ViolationStatus.FALSE_POSITIVE and violation.resolution_note == "our published support address"
    assert [(e.scope, e.rule, e.account_id, e.preview) for e in made] == [
        (ExceptionScope.VALUE_ON_ACCOUNT, "privacy.email", first.id, "d***@example.com")]
    assert decision_on(session, runtime, EMAIL_POST, first) is Action.ALLOW
    assert decision_on(session, runtime, "Mail DANA@example.com", first) is Action.ALLOW
    assert decision_on(session, runtime, "Mail omar@example.com", first) is Action.REQUIRE_APPROVAL
    assert decision_on(session, runtime, EMAIL_POST, second) is Action.REQUIRE_APPROVAL

    service.remove_exception(session, actor, made[0].id, "the address was retired")
    session.commit()
    assert decision_on(session, runtime, EMAIL_POST, first) is Action.REQUIRE_APPROVAL
    events = {e.action: e for e in session.scalars(sa.select(AuditEvent).where(
        AuditEvent.target_type == "policy_exception", AuditEvent.target_id == str(made[0].id)))}
    assert set(events) == {"policy:exception:create", "policy:exception:remove"}
    assert events["policy:exception:create"].summary["scope"] == "value_account"
    assert events["policy:exception:remove"].summary["reason"] == "the address was retired"
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "policy:violation:false_positive",
                                                      AuditEvent.target_id == str(violation.id))) is not None
    assert service.list_exceptions(session) == [] and service.list_exceptions(session, include_removed=True)[0].removed_by


def test_value_scope_is_everywhere_and_rule_scope_lifts_the_rule_on_the_account(session, actor, runtime, scanned):
    violation, first, second = scanned(EMAIL_POST)
    service.add_exceptions(session, actor, runtime.version, violation.id, ExceptionScope.VALUE, "shared inbox")
    assert decision_on(session, runtime, EMAIL_POST, second) is Action.ALLOW
    assert service.evaluate(session, runtime, EMAIL_POST).decision is Action.ALLOW  # no account: the test bench
    other, third, _ = scanned("Mail omar@example.com", "post-2")
    service.add_exceptions(session, actor, runtime.version, other.id, ExceptionScope.RULE_ON_ACCOUNT, "a mail desk")
    assert decision_on(session, runtime, "Mail anyone@example.org", third) is Action.ALLOW
    assert decision_on(session, runtime, "Mail anyone@example.org", first) is Action.REQUIRE_APPROVAL


def test_refusals_are_readable(session, actor, runtime, scanned):
    from govern.errors import InvalidOperation, NotFound

    violation, _, _ = scanned(EMAIL_POST)
    with pytest.raises(InvalidOperation, match="say why"):
        service.add_exceptions(session, actor, runtime.version, violation.id, ExceptionScope.VALUE, "  ")
    with pytest.raises(NotFound):
        service.add_exceptions(session, actor, runtime.version, 10**9, ExceptionScope.VALUE, "why")
    violation.findings = [{k: v for k, v in f.items() if k != "value_digest"} for f in violation.findings]  # an old one
    with pytest.raises(InvalidOperation, match="no value govern can recognise again"):
        service.add_exceptions(session, actor, runtime.version, violation.id, ExceptionScope.VALUE, "why")
    assert service.add_exceptions(session, actor, runtime.version, violation.id, ExceptionScope.RULE_ON_ACCOUNT, "why")
    made = service.list_exceptions(session)[0]
    service.remove_exception(session, actor, made.id)
    with pytest.raises(InvalidOperation, match="already removed"):
        service.remove_exception(session, actor, made.id)


# --- the API ---------------------------------------------------------------------------------------
def test_api_creates_lists_and_removes_and_only_governance_may(client, auth_headers, session, runtime, scanned):
    violation, first, second = scanned(EMAIL_POST)
    body = {"violation_id": violation.id, "scope": "value_account", "reason": "support address"}
    refused = client.post("/api/v1/policy/exceptions", json=body, headers=auth_headers(Role.IT))
    assert refused.status_code == 403 and refused.content_type == PROBLEM
    governance = auth_headers(Role.GOVERNANCE)
    bad = client.post("/api/v1/policy/exceptions", json={**body, "scope": "everything"}, headers=governance)
    assert bad.status_code == 422 and bad.content_type == PROBLEM and "scope" in bad.get_json()["errors"]
    created = client.post("/api/v1/policy/exceptions", json=body, headers=governance)
    assert created.status_code == 201, created.get_json()
    [exception] = created.get_json()
    assert exception["account_id"] == first.id and exception["preview"] == "d***@example.com" and exception["active"]
    assert "value_digest" not in exception
    listed = client.get("/api/v1/policy/exceptions", headers=auth_headers(Role.AUDITOR)).get_json()
    assert [e["id"] for e in listed] == [exception["id"]]
    assert decision_on(session, runtime, EMAIL_POST, first) is Action.ALLOW
    checked = client.post("/api/v1/policy/evaluate", json={"text": EMAIL_POST, "account_id": first.id}, headers=governance)
    assert checked.get_json()["decision"] == "allow"
    assert client.delete(f"/api/v1/policy/exceptions/{exception['id']}", json={},
                         headers=auth_headers(Role.AUDITOR)).status_code == 403
    removed = client.delete(f"/api/v1/policy/exceptions/{exception['id']}", json={"reason": "retired"}, headers=governance)
    assert removed.status_code == 200 and removed.get_json()["active"] is False
    again = client.delete(f"/api/v1/policy/exceptions/{exception['id']}", json={}, headers=governance)
    assert again.status_code == 422 and again.content_type == PROBLEM
    missing = client.delete("/api/v1/policy/exceptions/999999", json={}, headers=governance)
    assert missing.status_code == 404 and missing.content_type == PROBLEM
    checked = client.post("/api/v1/policy/evaluate", json={"text": EMAIL_POST, "account_id": first.id}, headers=governance)
    assert checked.get_json()["decision"] == "require_approval"
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/policy/exceptions"])
    assert "delete" in spec["paths"]["/api/v1/policy/exceptions/{exception_id}"]


def test_an_excepted_secret_is_never_stored_logged_or_answered_in_clear(client, auth_headers, session, runtime, scanned,
                                                                         caplog):
    caplog.set_level(logging.DEBUG)
    violation, first, _ = scanned(SECRET_POST)
    governance = auth_headers(Role.GOVERNANCE)
    responses = [client.post("/api/v1/policy/exceptions", headers=governance,
                             json={"violation_id": violation.id, "scope": "value", "reason": "a revoked demo token"})]
    assert responses[0].status_code == 201, responses[0].get_json()
    assert decision_on(session, runtime, SECRET_POST, first) is Action.ALLOW
    responses += [client.get("/api/v1/policy/exceptions", headers=governance),
                  client.get("/api/v1/policy/violations", headers=governance),
                  client.get("/api/v1/audit/events", headers=auth_headers(Role.ADMIN))]
    stored = session.scalar(sa.select(PolicyException).where(PolicyException.violation_id == violation.id))
    assert stored.value_digest and len(stored.value_digest) == 64
    found = haystacks(session, responses)
    assert "a revoked demo token" in found.audit and stored.value_digest in found.database  # what was written is searched
    for variant in (SECRET, SECRET[4:], SECRET.lower()):
        assert variant not in found.database, "the secret reached the database"
        assert variant not in found.audit, "the secret reached the audit trail"
        assert variant not in found.bodies, "the secret reached an HTTP response"
        assert variant not in caplog.text, "the secret reached the logs"


def test_the_publishing_gate_honours_an_exception_and_blocks_again_once_it_is_removed(session, actor, runtime, scanned):
    violation, first, _ = scanned(SECRET_POST)
    post = {"text": SECRET_POST}
    with pytest.raises(publishing.PolicyBlocked):
        publishing.gate(session, runtime, first.id, "publish", post)
    [made] = service.add_exceptions(session, actor, runtime.version, violation.id, ExceptionScope.VALUE_ON_ACCOUNT,
                                    "a revoked token in a security awareness post")
    assert publishing.gate(session, runtime, first.id, "publish", post).decision is Action.ALLOW
    service.remove_exception(session, actor, made.id)
    with pytest.raises(publishing.PolicyBlocked):
        publishing.gate(session, runtime, first.id, "publish", post)


def test_an_exception_outlives_its_violation_when_retention_purges_the_violation(session, actor, runtime, scanned):
    from datetime import timedelta

    from govern.db import utcnow
    from govern.retention import service as retention

    violation, first, _ = scanned(EMAIL_POST)
    [made] = service.add_exceptions(session, actor, runtime.version, violation.id, ExceptionScope.VALUE_ON_ACCOUNT, "inbox")
    violation.closed_at = utcnow() - timedelta(days=800)
    session.commit()
    retention.purge(session, actor, utcnow(), False, {})
    session.commit()
    session.refresh(made)
    assert made.violation_id is None and made.active and made.preview == "d***@example.com"
    assert decision_on(session, runtime, EMAIL_POST, first) is Action.ALLOW
