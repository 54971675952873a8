"""The reviews report and the access report's 'last reviewed', against govern.reviews when it is installed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from govern.grants.models import GrantRole
from govern.grants.service import create_grant
from govern.reports.service import build_report
from tests import factories
from tests.unit.reports.conftest import ARABIC_NAME, HEBREW_NAME

reviews = pytest.importorskip("govern.reviews.models", reason="access reviews (govern.reviews) are not installed")


def test_campaign_results_and_last_reviewed(session, actor, period, settings, now):
    owner, analyst = factories.person(session, actor, ARABIC_NAME), factories.person(session, actor, HEBREW_NAME)
    account = factories.account(session, actor, "acme_reviewed")
    grants = [create_grant(session, actor, analyst.id, account.id, role, "Reviewed")
              for role in (GrantRole.ANALYST, GrantRole.MODERATOR, GrantRole.PUBLISHER, GrantRole.ADMIN)]
    campaign = reviews.ReviewCampaign(
        name="Q4 review", scope_kind=reviews.ScopeKind.ALL, status=reviews.CampaignStatus.OPEN,
        on_deadline=reviews.DeadlineAction.REVOKE, opened_by=actor.id, opened_at=now - timedelta(days=5),
        deadline=now - timedelta(hours=1), reminder_every_hours=72,
    )
    older = reviews.ReviewCampaign(
        name="Q1 review", scope_kind=reviews.ScopeKind.ALL, status=reviews.CampaignStatus.CLOSED,
        on_deadline=reviews.DeadlineAction.REVOKE, opened_by=actor.id, opened_at=now - timedelta(days=200),
        deadline=now - timedelta(days=190), closed_at=now - timedelta(days=190), reminder_every_hours=72,
    )
    session.add_all([campaign, older])
    session.flush()
    decisions = [reviews.ItemDecision.CERTIFIED, reviews.ItemDecision.REVOKED, reviews.ItemDecision.ESCALATED, None]
    for grant, decision in zip(grants, decisions):
        session.add(reviews.ReviewItem(
            campaign_id=campaign.id, grant_id=grant.id, person_id=analyst.id, account_id=account.id,
            grant_role=grant.role.value, reviewer_person_id=owner.id, decision=decision,
            decided_by=actor.id if decision else None, decided_at=now - timedelta(days=1) if decision else None,
        ))
    session.add(reviews.ReviewItem(  # certified long ago in the older campaign: the newer decision wins
        campaign_id=older.id, grant_id=grants[0].id, person_id=analyst.id, account_id=account.id, grant_role="analyst",
        decision=reviews.ItemDecision.CERTIFIED, decided_by=actor.id, decided_at=now - timedelta(days=195)))
    session.flush()

    report = build_report(session, "reviews", period, settings)

    assert dict(report.summary) == {"campaigns": 1, "items": 4, "certified": 1, "revoked": 1,
                                    "revoked_at_deadline": 0, "escalated": 1, "undecided": 1, "completion": 0.5}
    (row,) = report.section("campaigns").rows
    assert row[1] == "Q4 review" and row[3] == "open" and row[8:] == (4, 1, 1, 0, 1, 1, 0.5)
    items = report.section("items").rows
    assert [item[8] for item in items] == ["certified", "revoked", "escalated", "undecided"]
    assert items[0][3] == HEBREW_NAME and items[0][7] == ARABIC_NAME
    assert report.alerts == ("1 campaigns are past their deadline and not closed.",)

    access = build_report(session, "access", period, settings)
    reviewed = {row[0]: row[-1] for row in access.section("grants").rows}
    assert reviewed[grants[0].id] == now - timedelta(days=1)
    assert reviewed[grants[1].id] is None  # revoked by the reviewer, not certified
    assert access.summary["grants_never_reviewed"] == 3
