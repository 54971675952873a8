"""The progress kept per campaign and reviewer (review_progress) equals a GROUP BY over the items after every kind of
change: opening, deciding, an item closed because its grant was removed outside the review (one, and in a batch),
escalation, revocation at the deadline, a held campaign confirmed, closing early."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from govern.actor import Actor
from govern.grants.service import revoke_grant
from govern.reviews import service
from govern.reviews.models import DeadlineAction, ItemDecision, ReviewCampaign, ReviewItem, ReviewProgress, ScopeKind
from tests.unit.reviews.conftest import SETTINGS, item_for, later

REVIEWS = Actor.system("reviews-test")
COLUMNS = ("undecided", "certified", "revoked", "revoked_at_deadline", "escalated")


def from_items(session, campaign_id: int) -> dict[int | None, dict[str, int]]:
    """What a GROUP BY over the campaign's items says: per reviewer (None: governance), the items of each decision."""
    counted: dict[int | None, dict[str, int]] = {}
    rows = session.execute(select(ReviewItem.reviewer_person_id, ReviewItem.decision, func.count())
                           .where(ReviewItem.campaign_id == campaign_id)
                           .group_by(ReviewItem.reviewer_person_id, ReviewItem.decision))
    for reviewer, decision, count in rows:
        counted.setdefault(reviewer, dict.fromkeys(COLUMNS, 0))[decision.value if decision else "undecided"] = count
    return counted


def kept(session, campaign_id: int) -> dict[int | None, dict[str, int]]:
    rows = session.scalars(select(ReviewProgress).where(ReviewProgress.campaign_id == campaign_id))
    return {row.reviewer_key or None: {name: getattr(row, name) for name in COLUMNS} for row in rows}


def assert_counts_match(session, campaign: ReviewCampaign) -> None:
    session.flush()
    session.expire_all()
    assert kept(session, campaign.id) == from_items(session, campaign.id)
    progress = service.progress_of(session, [campaign.id])[campaign.id]
    assert progress.total == session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign.id))


def past_deadline(session, campaign: ReviewCampaign) -> None:
    session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign.id).values(deadline=later(minutes=-1)))
    session.commit()
    session.expire_all()


def test_opening_and_deciding(session, actor, world, open_campaign):
    campaign = open_campaign()
    assert_counts_match(session, campaign)
    assert None in kept(session, campaign.id), "the account nobody owns: governance reviews its grant"
    owner = service.Decider(world.people["owner"])
    service.decide_item(session, actor, owner, item_for(session, campaign, world.grants["dana_news"]).id, "certify")
    assert_counts_match(session, campaign)
    service.decide_item(session, actor, owner, item_for(session, campaign, world.grants["noa_news"]).id, "revoke", "gone")
    assert_counts_match(session, campaign)
    boss = service.Decider(None, manages=True)
    service.decide_item(session, actor, boss, item_for(session, campaign, world.grants["noa_orphan"]).id, "certify")
    assert_counts_match(session, campaign)


def test_an_item_removed_outside_the_review_one_and_in_a_batch(session, actor, world, open_campaign):
    campaign = open_campaign()
    revoke_grant(session, actor, world.grants["dana_news"], "left the project")
    session.commit()
    with pytest.raises(service.AlreadyRemoved):  # closes this one item
        service.decide_item(session, actor, service.Decider(world.people["owner"]), item_for(
            session, campaign, world.grants["dana_news"]).id, "certify")
    assert_counts_match(session, campaign)
    revoke_grant(session, actor, world.grants["noa_news"], "moved on")
    revoke_grant(session, actor, world.grants["dana_brand"], "account handed over")
    assert service.reconcile(session, actor, campaign) == 2
    assert_counts_match(session, campaign)
    service.close_campaign(session, actor, campaign.id, "done early")
    assert_counts_match(session, campaign)


def test_escalation_at_the_deadline_then_governance_decides(session, actor, world, open_campaign):
    campaign = open_campaign(on_deadline=DeadlineAction.ESCALATE)
    service.decide_item(session, actor, service.Decider(world.people["owner"]),
                        item_for(session, campaign, world.grants["dana_news"]).id, "certify")
    session.commit()
    past_deadline(session, campaign)
    service.process_deadline(session, REVIEWS, SETTINGS, campaign.id)
    assert_counts_match(session, campaign)
    assert kept(session, campaign.id)[None]["escalated"] >= 3
    escalated = session.scalars(select(ReviewItem.id).where(ReviewItem.campaign_id == campaign.id,
                                                            ReviewItem.decision == ItemDecision.ESCALATED)).all()
    governance = service.Decider(None, manages=True)
    service.decide_item(session, actor, governance, escalated[0], "revoke", "nobody vouched for it")
    assert_counts_match(session, campaign)
    for item_id in escalated[1:]:
        service.decide_item(session, actor, governance, item_id, "certify")
    assert_counts_match(session, campaign)


def test_revocation_at_the_deadline_held_and_confirmed(session, actor, world, open_campaign):
    config = service.ReviewSettings(mass_revocation_threshold=2)
    small = open_campaign(ScopeKind.BUSINESS_UNIT, "Brand", name="small")
    large = open_campaign(ScopeKind.BUSINESS_UNIT, "News", config=config, name="large")
    past_deadline(session, small)
    service.process_deadline(session, REVIEWS, SETTINGS, small.id)  # revoked at the deadline
    assert_counts_match(session, small)
    past_deadline(session, large)
    assert service.process_due_deadlines(session, REVIEWS, config) == {"held": 1}
    assert_counts_match(session, large)
    service.decide_item(session, actor, service.Decider(world.people["owner"]),
                        item_for(session, large, world.grants["dana_news"]).id, "certify")
    service.approve_held(session, actor, large.id)
    assert_counts_match(session, large)


def test_the_campaign_page_and_the_list_show_the_kept_counts(session, actor, world, open_campaign):
    campaign = open_campaign()
    service.decide_item(session, actor, service.Decider(world.people["owner"]),
                        item_for(session, campaign, world.grants["dana_news"]).id, "certify")
    overview = service.campaign_overview(session, campaign.id)
    by_reviewer = from_items(session, campaign.id)
    assert overview.reviewers_total == len(by_reviewer) == service.reviewer_count(session, campaign.id)
    assert overview.progress.total == sum(sum(counts.values()) for counts in by_reviewer.values())
    assert overview.progress.certified == 1
    assert overview.reviewers[-1].person is None, "governance is listed last"
    for row in overview.reviewers:
        counts = by_reviewer[row.person.id if row.person else None]
        assert (row.total, row.pending) == (sum(counts.values()), counts["undecided"] + counts["escalated"])
