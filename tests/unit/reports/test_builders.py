"""Each report's figures match exactly the data seeded for it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govern.audit.service import record
from govern.broker.models import AccountConnection, ConnectionHealth, WrappedHandoff
from govern.credentials.models import Checkout, CheckoutEnd, LegacyCredential
from govern.directory.service import depart
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant, revoke_grant
from govern.people.models import PersonSource, PersonStatus
from govern.people.service import upsert_person
from govern.policy.engine.findings import Action
from govern.policy.workflow_models import ContentKind, PolicyViolation, ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from govern.reports.document import UnknownReport
from govern.reports.service import REPORTS, build_report
from tests import factories
from tests.unit.reports.conftest import ARABIC_NAME, HEBREW_NAME


def _leave(session, actor, person, left_at):
    """A leaver the directory sync did not see (no departure record): their grants stay until someone acts."""
    upsert_person(session, actor, PersonSource.MANUAL, person.external_id, status=PersonStatus.LEAVER, left_at=left_at)


def test_unknown_report_is_refused(session, period, settings):
    with pytest.raises(UnknownReport) as refused:
        build_report(session, "payroll", period, settings)
    assert refused.value.status == 404 and "access, leavers" in refused.value.detail


def test_every_report_names_the_audit_chain_head(session, actor, period, settings):
    head = record(session, actor, "tests:report:seed", "test", 1)
    for name in REPORTS:
        report = build_report(session, name, period, settings)
        assert (report.chain_head.seq, report.chain_head.hash) == (head.seq, head.hash)
        assert report.checkpoint is None and report.basis and report.period == period


def test_access_report(session, actor, period, settings, now):
    salma = factories.person(session, actor, ARABIC_NAME)
    dana = factories.person(session, actor, HEBREW_NAME)
    gone = factories.person(session, actor, "Gone Person")
    news, support = factories.account(session, actor, "acme_news"), factories.account(session, actor, "acme_help")
    kept = create_grant(session, actor, salma.id, news.id, GrantRole.ADMIN, "Account owner")
    create_grant(session, actor, dana.id, news.id, GrantRole.PUBLISHER, "Posts for Communications",
                 expires_at=now + timedelta(days=10))
    create_grant(session, actor, dana.id, support.id, GrantRole.ANALYST, "Listening")
    revoked = create_grant(session, actor, salma.id, support.id, GrantRole.MODERATOR, "Cover")
    revoke_grant(session, actor, revoked.id, "cover over")
    create_grant(session, actor, gone.id, support.id, GrantRole.PUBLISHER, "Before leaving")
    _leave(session, actor, gone, now - timedelta(days=2))

    report = build_report(session, "access", period, settings)

    assert dict(report.summary) == {
        "effective_grants": 4, "people_with_access": 3, "accounts_with_access": 2, "grants_never_reviewed": 4,
        "people_with_access_not_in_directory": 1,
    }
    grants = report.section("grants")
    assert len(grants.rows) == 4 and revoked.id not in [row[0] for row in grants.rows]
    first = dict(zip(grants.columns, next(row for row in grants.rows if row[0] == kept.id)))
    assert first["person"] == ARABIC_NAME and first["role"] == "admin" and first["granted_by"] == actor.id
    assert first["reason"] == "Account owner" and first["expires"] is None and first["last_reviewed"] is None
    stale = report.section("not_in_directory")
    assert [(row[1], row[5]) for row in stale.rows] == [("Gone Person", "acme_help")]
    assert report.alerts and "1 people no longer in the directory still have access" in report.alerts[0]


def test_access_report_with_nobody_left_behind_raises_no_alert(session, actor, period, settings):
    person = factories.person(session, actor, HEBREW_NAME)
    create_grant(session, actor, person.id, factories.account(session, actor).id, GrantRole.ANALYST, "x")
    report = build_report(session, "access", period, settings)
    assert report.summary["people_with_access_not_in_directory"] == 0 and report.alerts == ()


def _departed(session, actor, name, account, changed_at, hours_to_revoke):
    person = factories.person(session, actor, name)
    grant = create_grant(session, actor, person.id, account.id, GrantRole.PUBLISHER, "Posts")
    departure = depart(session, actor, person, "openldap", ["disabled"], changed_at)
    grant = session.get(Grant, grant.id)
    grant.revoked_at = changed_at + timedelta(hours=hours_to_revoke)  # when the sync saw it, not "now"
    session.flush()
    return person, departure


def test_leavers_report_counts_sla_breaches_against_the_setting(session, actor, period, settings, now):
    account = factories.account(session, actor, "acme_jobs")
    _departed(session, actor, ARABIC_NAME, account, now - timedelta(days=3), 6)     # 6 h: late against 4 h
    _departed(session, actor, HEBREW_NAME, account, now - timedelta(days=2), 1.5)   # 1.5 h: in time
    departed_empty = factories.person(session, actor, "No Access")
    depart(session, actor, departed_empty, "openldap", ["disabled"], now - timedelta(days=1))
    old = factories.person(session, actor, "Left Long Ago")
    depart(session, actor, old, "openldap", ["disabled"], now - timedelta(days=60))  # outside the period
    stuck = factories.person(session, actor, "Still Has Access")
    create_grant(session, actor, stuck.id, account.id, GrantRole.ANALYST, "Listening")
    _leave(session, actor, stuck, now - timedelta(hours=30))  # no departure record, grant never revoked

    report = build_report(session, "leavers", period, settings)

    assert dict(report.summary) == {
        "leavers": 4, "leavers_who_held_access": 3, "accesses_removed": 2, "accesses_not_yet_removed": 1,
        "sla_target_hours": 4.0, "sla_breaches": 2, "median_time_to_revoke_hours": 3.75,
        "max_time_to_revoke_hours": 6.0,
    }
    rows = {row[0]: dict(zip(report.section("leavers").columns, row)) for row in report.section("leavers").rows}
    assert rows[ARABIC_NAME]["time_to_revoke_hours"] == 6.0 and rows[ARABIC_NAME]["sla_breached"] == "yes"
    assert rows[HEBREW_NAME]["time_to_revoke_hours"] == 1.5 and rows[HEBREW_NAME]["sla_breached"] == "no"
    assert rows["No Access"]["accesses"] == 0 and rows["No Access"]["sla_breached"] == "no"
    assert rows["Still Has Access"]["still_has_access"] == "yes" and rows["Still Has Access"]["sla_breached"] == "yes"
    assert rows["Still Has Access"]["source"] == "no departure record"
    assert len(report.alerts) == 2

    relaxed = build_report(session, "leavers", period, settings.model_copy(update={"leaver_revocation_sla_hours": 24}))
    assert relaxed.summary["sla_breaches"] == 1  # only the one who still has access after 30 h


def _connection(session, account, person=None, **fields):
    values = dict(account_id=account.id, store_kind="vault", store_path=f"accounts/{account.id}", store_version=1,
                  token_type="bearer", scopes=[], issued_at=fields.pop("issued_at"), access_fingerprint=f"fp{account.id}",
                  external_identity=f"id{account.id}", connected_by="test:pytest",
                  connector_person_id=person.id if person else None, **fields)
    connection = AccountConnection(**values)
    session.add(connection)
    session.flush()
    return connection


def _violation(session, account, n, status, text="post", categories=("privacy",), rule="pii.email", when=None):
    violation = PolicyViolation(
        account_id=account.id, content_kind=ContentKind.POST, external_id=f"post-{n}", decision=Action.WARN,
        findings=[{"rule": rule, "category": category, "entity": "EMAIL"} for category in categories],
        masked_text=text, pack_version="v1", status=status, **({"detected_at": when} if when else {}),
    )
    session.add(violation)
    session.flush()
    return violation


def test_accounts_report_risk_scores(session, actor, period, settings, now):
    owner = factories.person(session, actor, ARABIC_NAME)
    leaver = factories.person(session, actor, HEBREW_NAME)
    calm = factories.account(session, actor, "calm", owner_id=owner.id)
    _connection(session, calm, owner, issued_at=now, has_refresh_token=True, refresh_expires_at=now + timedelta(days=60))
    risky = factories.account(session, actor, "risky", owner_id=leaver.id)
    _connection(session, risky, leaver, issued_at=now, expires_at=now + timedelta(days=3), health=ConnectionHealth.EXPIRING)
    for n in range(4):
        _violation(session, risky, n, ViolationStatus.OPEN)
    _violation(session, risky, 9, ViolationStatus.RESOLVED)
    session.add(LegacyCredential(account_id=risky.id, store_path="x", store_version=1, username="u", has_password=True,
                                 rotate_now=True, updated_by="t"))
    factories.account(session, actor, "orphan")  # no owner, never connected
    _leave(session, actor, leaver, now - timedelta(days=1))

    report = build_report(session, "accounts", period, settings)

    rows = {row[2]: dict(zip(report.section("accounts").columns, row)) for row in report.section("accounts").rows}
    assert rows["calm"]["risk_score"] == 0 and rows["calm"]["risk_band"] == "low"
    assert rows["calm"]["token_stops_working_at"] == now + timedelta(days=60) and rows["calm"]["days_left"] is not None
    # owner left 3 + expiring 1 + token ends within 14 days 1 + connector left 3 + open violations capped 3 + rotation 2
    assert rows["risky"]["risk_score"] == 13 and rows["risky"]["risk_band"] == "high"
    assert rows["risky"]["open_violations"] == 4 and rows["risky"]["connector_risk"] == "connector left the company"
    assert rows["orphan"]["risk_score"] == 5 and rows["orphan"]["connection_health"] == "not connected"
    assert [row[2] for row in report.section("accounts").rows] == ["risky", "orphan", "calm"]
    assert report.summary["accounts"] == 3 and report.summary["high_risk_accounts"] == 2
    assert report.summary["open_violations"] == 4 and report.summary["accounts_without_active_owner"] == 2


def test_policy_report(session, actor, period, settings, now):
    person = factories.person(session, actor, ARABIC_NAME)
    news, jobs = factories.account(session, actor, "news"), factories.account(session, actor, "jobs")
    _violation(session, news, 1, ViolationStatus.FALSE_POSITIVE, "رقم الهاتف [masked]")
    _violation(session, news, 2, ViolationStatus.RESOLVED, "email [masked]", categories=("privacy", "confidentiality"),
               rule="conf.codename")
    _violation(session, jobs, 3, ViolationStatus.OPEN, "שלום [masked]")
    _violation(session, jobs, 4, ViolationStatus.RESOLVED, "old", when=now - timedelta(days=45))  # before the period
    for outcome in ("blocked", "blocked", "ok"):
        record(session, actor, "broker:action:publish", "account", news.id, outcome=outcome)
    record(session, actor, "broker:action:like", "account", news.id, outcome="ok")  # not content: not counted
    for status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.PENDING):
        session.add(PublishApproval(account_id=news.id, person_id=person.id, requested_by="t", network_action="publish",
                                    params={}, findings=[], pack_version="v1", status=status))
    session.flush()

    report = build_report(session, "policy", period, settings)

    assert dict(report.summary) == {
        "violations_detected": 3, "violations_open": 1, "violations_resolved": 1, "violations_false_positive": 1,
        "false_positive_rate": 0.5, "posts_blocked": 2, "approvals_requested": 3, "approvals_approved": 1,
        "approvals_rejected": 1, "approvals_pending": 1, "posts_published": 1,
    }
    assert report.section("by_category").rows == (("privacy", 3, 1, 1, 1), ("confidentiality", 1, 0, 1, 0))
    assert report.section("by_language").rows == (("ar", 1, 0, 0, 1), ("en", 1, 0, 1, 0), ("he", 1, 1, 0, 0))
    assert {row[0]: row[1] for row in report.section("by_account").rows} == {"x:news": 2, "x:jobs": 1}
    assert {row[0]: row[1] for row in report.section("by_rule").rows} == {"pii.email": 2, "conf.codename": 1}


def test_credentials_report(session, actor, period, settings, now):
    person = factories.person(session, actor, HEBREW_NAME)
    approver = factories.person(session, actor, ARABIC_NAME)
    one, two = factories.account(session, actor, "one"), factories.account(session, actor, "two")
    due = LegacyCredential(account_id=one.id, store_path="a", store_version=1, username="u", has_password=True,
                           rotate_now=True, rotate_reason="revealed to a leaver", updated_by="t")
    done = LegacyCredential(account_id=two.id, store_path="b", store_version=1, username="u", has_password=True,
                            last_rotated_at=now - timedelta(days=1), updated_by="t")
    session.add_all([due, done])
    session.flush()
    common = dict(credential_id=due.id, account_id=one.id, requested_by="test:a", requester_person_id=person.id,
                  reason="Locked out of the app")
    session.add_all([
        Checkout(**common, approved_by="test:b", approver_person_id=approver.id, approved_at=now, starts_at=now,
                 ends_at=now + timedelta(minutes=30), revealed_at=now, ended_at=now, ended_reason=CheckoutEnd.CHECKED_IN),
        Checkout(**common, ended_at=now, ended_reason=CheckoutEnd.DENIED),
        Checkout(**common),
        WrappedHandoff(account_id=one.id, issued_by="test:a", purpose="Nightly analytics export", accessor="acc1",
                       token_fingerprint="f1", expires_at=now + timedelta(minutes=5), unwrapped_at=now),
        WrappedHandoff(account_id=one.id, issued_by="test:a", purpose="Nightly analytics export", accessor="acc2",
                       token_fingerprint="f2", expires_at=now - timedelta(minutes=5), unwrap_refused_at=now),
    ])
    session.flush()

    report = build_report(session, "credentials", period, settings)

    assert dict(report.summary) == {
        "checkouts_requested": 3, "checkouts_approved": 1, "checkouts_denied": 1, "passwords_revealed": 1,
        "handoffs_issued": 2, "handoffs_unwrapped": 1, "handoff_unwraps_refused": 1, "rotations_due": 1,
        "rotations_done": 1,
    }
    assert sorted(row[-1] for row in report.section("checkouts").rows) == ["checked_in", "denied", "pending"]
    assert sorted(row[-1] for row in report.section("handoffs").rows) == ["unwrap refused", "unwrapped"]
