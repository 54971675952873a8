"""The home page's figures equal the data seeded for them, and each is read as a count, never row by row."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from govern.accounts.models import AccountStatus
from govern.auth.roles import ROLE_PERMISSIONS, Role
from govern.broker.models import ConnectionHealth
from govern.credentials.models import LegacyCredential
from govern.db import utcnow
from govern.directory.models import OffboardingTask, SyncMode, SyncRun, SyncStatus
from govern.directory.service import depart
from govern.grants.models import Grant, GrantRole
from govern.grants.service import create_grant
from govern.home import service as home
from govern.people.models import PersonSource, PersonStatus
from govern.people.service import upsert_person
from govern.policy.workflow_models import ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from govern.reports.builders import accounts as accounts_report
from govern.reports.builders import leavers as leavers_report
from govern.reports.document import Period
from tests import factories
from tests.unit.reports.test_builders import _connection, _violation


def _inventory(session, actor, now):
    """Four accounts, one of each health, and a retired one that counts nowhere."""
    owner = factories.person(session, actor, "ليلى حداد")
    leaver = factories.person(session, actor, "דנה לוי")
    calm = factories.account(session, actor, "calm", owner_id=owner.id)
    _connection(session, calm, owner, issued_at=now, has_refresh_token=True, refresh_expires_at=now + timedelta(days=60))
    soon = factories.account(session, actor, "soon", owner_id=owner.id)
    _connection(session, soon, owner, issued_at=now, expires_at=now + timedelta(days=10), health=ConnectionHealth.EXPIRING)
    broken = factories.account(session, actor, "broken", owner_id=owner.id)
    _connection(session, broken, owner, issued_at=now, expires_at=now - timedelta(days=1),
                health=ConnectionHealth.NEEDS_RECONNECT)
    risky = factories.account(session, actor, "risky", owner_id=leaver.id)
    _connection(session, risky, leaver, issued_at=now, expires_at=now + timedelta(days=25), health=ConnectionHealth.REVOKED)
    for n in range(4):
        _violation(session, risky, n, ViolationStatus.OPEN, categories=("privacy", "brand"))
    _violation(session, risky, 8, ViolationStatus.ASSIGNED, categories=("confidentiality",), when=now - timedelta(days=20))
    _violation(session, risky, 9, ViolationStatus.RESOLVED)
    _violation(session, risky, 10, ViolationStatus.OPEN, when=now - timedelta(weeks=9))  # older than 8 weeks
    session.add(LegacyCredential(account_id=risky.id, store_path="x", store_version=1, username="u", has_password=True,
                                 rotate_now=True, updated_by="t"))
    factories.account(session, actor, "orphan")  # no owner, never connected
    gone = factories.account(session, actor, "gone")
    gone.status = AccountStatus.RETIRED
    upsert_person(session, actor, PersonSource.MANUAL, leaver.external_id, status=PersonStatus.LEAVER,
                  left_at=now - timedelta(days=1))
    session.flush()
    return owner, risky


def test_posture_figures_equal_the_data(session, actor):
    now = utcnow().replace(microsecond=0)
    _inventory(session, actor, now)

    assert home.accounts_by_health(session).bars == [
        ("healthy", 1), ("expiring", 1), ("needs_reconnect", 1), ("revoked", 1), ("not_connected", 1)]
    assert home.tokens_expiring(session, now).bars == [
        ("days_0_7", 0), ("days_8_14", 1), ("days_15_21", 0), ("days_22_30", 1)]
    violations = home.open_violations_by_category(session, now)
    assert dict(violations.bars) == {"privacy": 4, "confidentiality": 1, "copyright": 0, "brand": 4}
    weeks = violations.extra["weeks"]
    assert len(weeks) == 8 and weeks[-1][1]["privacy"] == 4 and weeks[5][1]["confidentiality"] == 1
    assert [count for _start, count in violations.extra["per_week"]] == [0, 0, 0, 0, 0, 1, 0, 4]

    # The same bands as the accounts report's formula, account by account (the retired one aside).
    report = accounts_report.build(session, Period(now - timedelta(days=30), now), None)
    bands = {band: 0 for band in accounts_report.BANDS}
    for row in report.sections[0].rows:
        if row[7] != "retired":
            bands[row[-1]] += 1
    assert home.accounts_by_risk(session, now).bars == list(bands.items())
    assert bands == {"low": 1, "medium": 2, "high": 2}


def test_leavers_time_to_revoke_against_the_sla(session, actor):
    now = utcnow().replace(microsecond=0)
    account = factories.account(session, actor)

    def departed(hours: float | None, days_ago: float = 2):
        person = factories.person(session, actor, "leaver")
        grant = create_grant(session, actor, person.id, account.id, GrantRole.PUBLISHER, "Posts")
        changed_at = now - timedelta(days=days_ago)
        depart(session, actor, person, "openldap", ["disabled"], changed_at)
        grant = session.get(Grant, grant.id)
        grant.revoked_at = None if hours is None else changed_at + timedelta(hours=hours)
        session.flush()

    departed(1.5)
    departed(6)
    departed(None)
    departed(1, days_ago=120)  # outside the 90 days
    by_hand = factories.person(session, actor, "by hand")
    departure = depart(session, actor, by_hand, "openldap", ["disabled"], now - timedelta(days=3))
    session.add(OffboardingTask(departure_id=departure.id, account_id=account.id, network="x", steps="remove the role"))
    unrecorded = factories.person(session, actor, "no departure record")
    create_grant(session, actor, unrecorded.id, account.id, GrantRole.ANALYST, "Listening")
    upsert_person(session, actor, PersonSource.MANUAL, unrecorded.external_id, status=PersonStatus.LEAVER,
                  left_at=now - timedelta(hours=30))
    session.flush()

    measure = home.leavers_time_to_revoke(session, 4.0, now)
    assert measure.bars == [("within_sla", 1), ("late", 1), ("still_has_access", 3)]
    assert measure.threshold == 4.0 and measure.extra["slowest_hours"] == 6.0

    # The leavers report of the same 90 days says the same.
    report = leavers_report.build(session, Period(now - timedelta(days=90), now), SimpleNamespace(leaver_revocation_sla_hours=4))
    rows = [dict(zip(report.sections[0].columns, row)) for row in report.sections[0].rows]
    held = [row for row in rows if row["accesses"]]
    assert dict(measure.bars) == {
        "within_sla": sum(1 for r in held if r["still_has_access"] == "no" and r["time_to_revoke_hours"] <= 4),
        "late": sum(1 for r in held if r["still_has_access"] == "no" and r["time_to_revoke_hours"] > 4),
        "still_has_access": sum(1 for r in held if r["still_has_access"] == "yes")}


def test_todos_count_what_waits(session, actor):
    now = utcnow().replace(microsecond=0)
    owner, risky = _inventory(session, actor, now)
    for status in (ApprovalStatus.PENDING, ApprovalStatus.PENDING, ApprovalStatus.APPROVED):
        session.add(PublishApproval(account_id=risky.id, person_id=owner.id, requested_by="t", network_action="publish",
                                    params={}, findings=[], pack_version="v1", status=status))
    session.add(SyncRun(source="openldap", mode=SyncMode.FULL, status=SyncStatus.HELD))
    session.add(SyncRun(source="openldap", mode=SyncMode.FULL, status=SyncStatus.SUCCEEDED))
    session.flush()

    found = {t.key: t.count for t in home.todos(session, ROLE_PERMISSIONS[Role.ADMIN], None)}
    assert found == {"approvals": 2, "escalated": 0, "violations_open": 5, "violations_assigned": 1, "held_runs": 1,
                     "reconnect": 2}
    assert {t.key for t in home.todos(session, ROLE_PERMISSIONS[Role.IT], owner.id)} == {"reviews", "reconnect"}
    assert home.todos(session, ROLE_PERMISSIONS[Role.AUDITOR], owner.id) == []
