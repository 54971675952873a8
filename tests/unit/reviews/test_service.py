"""Access review campaigns in the service: snapshot, reviewers, decisions, reminders and the deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from govern.audit.models import AuditEvent
from govern.actor import Actor
from govern.grants.models import Grant
from govern.grants.service import revoke_grant
from govern.notifications.models import Notification
from govern.people.models import Person, PersonStatus
from govern.reviews import service
from govern.reviews.models import CampaignStatus, DeadlineAction, ItemDecision, ReviewCampaign, ReviewItem, ScopeKind
from tests.unit.reviews.conftest import SETTINGS, item_for, later

REVIEWS = Actor.system("reviews-test")


def events(session, action: str, target_id=None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == str(target_id))
    return list(session.scalars(query.order_by(AuditEvent.seq)))


def as_reviewer(person_id: int) -> service.Decider:
    return service.Decider(person_id)


def past_deadline(session, campaign: ReviewCampaign) -> None:
    session.execute(update(ReviewCampaign).where(ReviewCampaign.id == campaign.id).values(deadline=later(minutes=-1)))
    session.commit()
    session.expire_all()


# --- opening: the snapshot and who reviews -----------------------------------------------------
def test_a_campaign_over_everything_snapshots_the_grants_in_force(session, world, open_campaign):
    campaign = open_campaign()
    items = {item.grant_id: item for item in service.campaign_items(session, campaign.id)}
    in_force = {world.grants[k] for k in ("dana_news", "noa_news", "owner_news", "dana_brand", "noa_orphan")}
    assert in_force <= set(items)
    assert world.grants["revoked"] not in items and world.grants["expired"] not in items
    dana_news = items[world.grants["dana_news"]]
    assert (dana_news.person_id, dana_news.account_id, dana_news.grant_role) == (world.people["dana"], world.accounts["news"], "publisher")
    assert dana_news.decision is None and campaign.status is CampaignStatus.OPEN and campaign.on_deadline is DeadlineAction.REVOKE
    [opened] = events(session, "reviews:campaign:open", campaign.id)
    assert opened.summary["items"] == len(items)


@pytest.mark.parametrize(("scope_kind", "scope_value", "expected"), [
    (ScopeKind.BUSINESS_UNIT, "News", {"dana_news", "noa_news", "owner_news", "noa_orphan"}),
    (ScopeKind.BUSINESS_UNIT, "Brand", {"dana_brand"}),
    (ScopeKind.NETWORK, "instagram", {"dana_brand"}),
    (ScopeKind.NETWORK, "x", {"dana_news", "noa_news", "owner_news", "noa_orphan"}),
])
def test_the_scope_filters_the_snapshot(session, world, open_campaign, scope_kind, scope_value, expected):
    campaign = open_campaign(scope_kind, scope_value)
    assert {item.grant_id for item in service.campaign_items(session, campaign.id)} == {world.grants[k] for k in expected}
    assert campaign.scope_value == scope_value


def test_a_grant_made_after_opening_is_not_in_the_campaign(session, actor, world, open_campaign):
    from govern.grants.models import GrantRole
    from govern.grants.service import create_grant

    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "Brand")
    create_grant(session, actor, world.people["noa"], world.accounts["brand"], GrantRole.PUBLISHER, "later")
    assert len(service.campaign_items(session, campaign.id)) == 1


@pytest.mark.parametrize(("scope_kind", "scope_value", "message"), [
    (ScopeKind.NETWORK, "myspace", "no network"),
    (ScopeKind.BUSINESS_UNIT, "", "say which business unit"),
    (ScopeKind.BUSINESS_UNIT, "Nobody Here", "nothing to review"),
])
def test_a_scope_without_anything_to_review_is_refused(session, world, open_campaign, scope_kind, scope_value, message):
    with pytest.raises(service.InvalidOperation, match=message):
        open_campaign(scope_kind, scope_value)
    assert session.scalar(select(func.count()).select_from(ReviewCampaign)) == 0


def test_a_deadline_in_the_past_is_refused(open_campaign):
    with pytest.raises(service.InvalidOperation, match="future"):
        open_campaign(deadline=later(hours=-1))


def test_reviewers_are_owners_or_up_the_manager_chain_and_never_the_holder(session, world, open_campaign):
    campaign = open_campaign()
    reviewer = {key: item_for(session, campaign, world.grants[key]).reviewer_person_id
                for key in ("dana_news", "noa_news", "owner_news", "dana_brand", "noa_orphan")}
    assert reviewer["dana_news"] == reviewer["noa_news"] == world.people["owner"]
    assert reviewer["owner_news"] == world.people["manager"], "the owner's own access goes to their manager"
    assert reviewer["dana_brand"] == world.people["manager"], "the owner left: their manager reviews"
    assert reviewer["noa_orphan"] is None, "nobody owns the account: governance decides"


def test_a_departed_owner_with_a_departed_manager_goes_further_up(session, world, open_campaign):
    session.get(Person, world.people["manager"]).status = PersonStatus.LEAVER
    session.commit()
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "Brand")
    assert item_for(session, campaign, world.grants["dana_brand"]).reviewer_person_id == world.people["ceo"]


def test_each_reviewer_is_told_once_when_the_campaign_opens(session, world, open_campaign):
    campaign = open_campaign()
    told = session.execute(select(Notification.person_id, func.count()).where(
        Notification.kind == "access_review_requested", Notification.subject_id == str(campaign.id)).group_by(Notification.person_id)).all()
    assert dict(told) == {world.people["owner"]: 1, world.people["manager"]: 1}


# --- deciding -----------------------------------------------------------------------------------
def test_certifying_is_audited_in_the_same_transaction(session, actor, world, open_campaign):
    campaign = open_campaign()
    item = item_for(session, campaign, world.grants["dana_news"])
    service.decide_item(session, actor, as_reviewer(world.people["owner"]), item.id, "certify", "still on the newsroom rota")
    assert item.decision is ItemDecision.CERTIFIED and item.decided_by == actor.id and item.decided_at is not None
    [certified] = events(session, "reviews:item:certify", item.id)
    assert certified.summary["grant_id"] == world.grants["dana_news"] and certified.summary["comment"] == "still on the newsroom rota"
    session.rollback()  # the decision and its audit event go together
    assert session.get(ReviewItem, item.id).decision is None
    assert events(session, "reviews:item:certify", item.id) == []
    assert session.get(Grant, world.grants["dana_news"]).revoked_at is None


def test_revoking_goes_through_the_grants_service_and_is_audited(session, actor, world, open_campaign):
    campaign = open_campaign()
    item = item_for(session, campaign, world.grants["noa_news"])
    service.decide_item(session, actor, as_reviewer(world.people["owner"]), item.id, "revoke", "moved to another team")
    grant = session.get(Grant, world.grants["noa_news"])
    assert grant.revoked_at is not None and grant.revoked_by == actor.id and "moved to another team" in grant.revoke_reason
    assert item.decision is ItemDecision.REVOKED and item.comment == "moved to another team"
    assert len(events(session, "grants:grant:revoke", grant.id)) == 1
    assert len(events(session, "reviews:item:revoke", item.id)) == 1
    session.rollback()
    assert session.get(Grant, world.grants["noa_news"]).revoked_at is None
    assert events(session, "grants:grant:revoke", world.grants["noa_news"]) == []


def test_revoking_needs_a_reason(session, actor, world, open_campaign):
    campaign = open_campaign()
    item = item_for(session, campaign, world.grants["noa_news"])
    with pytest.raises(service.InvalidOperation, match="why"):
        service.decide_item(session, actor, as_reviewer(world.people["owner"]), item.id, "revoke", "   ")
    assert session.get(Grant, world.grants["noa_news"]).revoked_at is None


def test_deciding_twice_is_a_clear_refusal(session, actor, world, open_campaign):
    campaign = open_campaign()
    item = item_for(session, campaign, world.grants["dana_news"])
    owner = as_reviewer(world.people["owner"])
    service.decide_item(session, actor, owner, item.id, "certify")
    for verdict, comment in (("certify", None), ("revoke", "changed my mind")):
        with pytest.raises(service.AlreadyDecided) as refused:
            service.decide_item(session, actor, owner, item.id, verdict, comment)
        assert refused.value.status == 409 and "certified" in refused.value.detail
    assert session.get(Grant, world.grants["dana_news"]).revoked_at is None


def test_only_the_assigned_reviewer_or_governance_decides(session, actor, world, open_campaign):
    campaign = open_campaign()
    item = item_for(session, campaign, world.grants["dana_news"])
    for stranger in (as_reviewer(world.people["manager"]), as_reviewer(world.people["noa"]), service.Decider(None)):
        with pytest.raises(service.NotYourReview):
            service.decide_item(session, actor, stranger, item.id, "certify")
    orphan = item_for(session, campaign, world.grants["noa_orphan"])
    with pytest.raises(service.NotYourReview):
        service.decide_item(session, actor, as_reviewer(world.people["owner"]), orphan.id, "certify")
    service.decide_item(session, actor, service.Decider(None, manages=True), orphan.id, "certify")
    assert orphan.decision is ItemDecision.CERTIFIED


def test_nobody_certifies_their_own_access(session, actor, world, open_campaign):
    campaign = open_campaign()
    own = item_for(session, campaign, world.grants["dana_news"])
    # even someone who may decide anything (governance) cannot keep their own access
    with pytest.raises(service.OwnAccess):
        service.decide_item(session, actor, service.Decider(world.people["dana"], manages=True), own.id, "certify")
    assert own.decision is None
    assert [i.reviewer_person_id for i in service.items_for(session, as_reviewer(world.people["owner"]))
            if i.person_id == world.people["owner"]] == [], "the owner is not asked about their own grant"


def test_a_grant_revoked_elsewhere_closes_its_item_and_deciding_it_is_refused(session, actor, world, open_campaign):
    campaign = open_campaign()
    item = item_for(session, campaign, world.grants["dana_news"])
    revoke_grant(session, Actor("console_user:99", "it"), world.grants["dana_news"], "left the project")
    session.commit()
    assert service.item_state(item) == "already_removed"
    with pytest.raises(service.AlreadyRemoved) as refused:
        service.decide_item(session, actor, as_reviewer(world.people["owner"]), item.id, "certify")
    assert refused.value.status == 409 and refused.value.keeps_audit
    assert item.decision is ItemDecision.REVOKED and item.decided_by == "console_user:99"
    assert "left the project" in item.comment
    assert len(events(session, "reviews:item:removed_elsewhere", item.id)) == 1
    with pytest.raises(service.AlreadyDecided):
        service.decide_item(session, actor, as_reviewer(world.people["owner"]), item.id, "revoke", "again")


def test_the_campaign_closes_when_every_item_is_decided(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    boss = service.Decider(None, manages=True)
    items = service.campaign_items(session, campaign.id)
    for item in items[:-1]:
        service.decide_item(session, actor, boss, item.id, "certify")
    assert campaign.status is CampaignStatus.OPEN
    service.decide_item(session, actor, boss, items[-1].id, "revoke", "not needed")
    assert campaign.status is CampaignStatus.CLOSED and campaign.closed_at is not None
    progress = service.progress_of(session, [campaign.id])[campaign.id]
    assert (progress.total, progress.certified, progress.revoked, progress.pending, progress.percent) == (4, 3, 1, 0, 100)
    with pytest.raises(service.CampaignNotOpen):
        service.decide_item(session, actor, boss, items[0].id, "revoke", "late")


# --- the deadline -------------------------------------------------------------------------------
def test_the_deadline_revokes_what_nobody_reviewed(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    kept = item_for(session, campaign, world.grants["dana_news"])
    service.decide_item(session, actor, as_reviewer(world.people["owner"]), kept.id, "certify")
    session.commit()
    with pytest.raises(service.InvalidOperation, match="not passed"):
        service.process_deadline(session, REVIEWS, SETTINGS, campaign.id)
    past_deadline(session, campaign)
    assert service.process_due_deadlines(session, REVIEWS, SETTINGS) == {"closed": 1}
    items = {i.grant_id: i for i in service.campaign_items(session, campaign.id)}
    assert items[world.grants["dana_news"]].decision is ItemDecision.CERTIFIED
    assert session.get(Grant, world.grants["dana_news"]).revoked_at is None
    for key in ("noa_news", "owner_news", "noa_orphan"):
        assert items[world.grants[key]].decision is ItemDecision.REVOKED_AT_DEADLINE
        assert session.get(Grant, world.grants[key]).revoked_at is not None
    assert session.get(ReviewCampaign, campaign.id).status is CampaignStatus.CLOSED
    assert len(events(session, "grants:grant:revoke")) >= 3
    assert service.process_due_deadlines(session, REVIEWS, SETTINGS) == {}, "nothing left to process"


def test_a_grant_revoked_elsewhere_is_not_revoked_again_at_the_deadline(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "Brand")
    revoke_grant(session, actor, world.grants["dana_brand"], "account handed over")
    past_deadline(session, campaign)
    service.process_deadline(session, REVIEWS, SETTINGS, campaign.id)
    item = item_for(session, campaign, world.grants["dana_brand"])
    assert item.decision is ItemDecision.REVOKED and item.decided_by == actor.id
    assert len(events(session, "grants:grant:revoke", world.grants["dana_brand"])) == 1


def test_the_deadline_escalates_to_governance_when_the_campaign_says_so(session, actor, world, open_campaign, governance_person):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", on_deadline=DeadlineAction.ESCALATE)
    past_deadline(session, campaign)
    service.process_deadline(session, REVIEWS, SETTINGS, campaign.id)
    items = service.campaign_items(session, campaign.id)
    assert {i.decision for i in items} == {ItemDecision.ESCALATED} and {i.reviewer_person_id for i in items} == {None}
    assert all(session.get(Grant, i.grant_id).revoked_at is None for i in items), "escalating revokes nothing"
    assert campaign.status is CampaignStatus.OPEN
    told = session.scalars(select(Notification).where(Notification.person_id == governance_person.id,
                                                      Notification.kind == "access_review_escalated")).all()
    assert len(told) == 1 and told[0].details["items"] == 4
    # the owner can no longer decide; governance can, and the last decision closes the campaign
    with pytest.raises(service.NotYourReview):
        service.decide_item(session, actor, as_reviewer(world.people["owner"]), items[0].id, "certify")
    governance = service.Decider(governance_person.id, manages=True)
    assert {i.id for i in service.items_for(session, governance)} >= {i.id for i in items}
    for item in items:
        service.decide_item(session, actor, governance, item.id, "certify")
    assert campaign.status is CampaignStatus.CLOSED


@pytest.mark.parametrize(("size", "limit"), [(4, 4), (10, 5), (40, 10), (200, 25), (10_000, 25)])
def test_how_many_a_deadline_may_revoke_without_a_human(size, limit):
    assert min(SETTINGS.revocations_without_confirmation(size), size) == min(limit, size)


def test_a_mass_revocation_waits_for_governance(session, actor, world, open_campaign, governance_person):
    config = service.ReviewSettings(mass_revocation_threshold=2)
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", config=config)
    past_deadline(session, campaign)
    assert service.process_due_deadlines(session, REVIEWS, config) == {"held": 1}
    assert campaign.status is CampaignStatus.HELD
    assert all(i.decision is None for i in service.campaign_items(session, campaign.id))
    assert session.scalar(select(func.count()).select_from(Grant).where(Grant.revoked_at.is_not(None),
                                                                       Grant.account_id == world.accounts["news"])) == 1
    [held] = events(session, "reviews:campaign:hold", campaign.id)
    assert held.summary["would_revoke"] == 4 and held.summary["limit"] == 2
    assert session.scalar(select(func.count()).select_from(Notification).where(
        Notification.person_id == governance_person.id, Notification.kind == "access_review_held")) == 1
    assert service.process_due_deadlines(session, REVIEWS, config) == {}, "a held campaign is not processed again"
    # a reviewer may still decide while it waits; the confirmation revokes only what is still unreviewed
    kept = item_for(session, campaign, world.grants["dana_news"])
    service.decide_item(session, actor, as_reviewer(world.people["owner"]), kept.id, "certify")
    service.approve_held(session, actor, campaign.id)
    assert campaign.status is CampaignStatus.CLOSED
    decisions = {i.grant_id: i.decision for i in service.campaign_items(session, campaign.id)}
    assert decisions[world.grants["dana_news"]] is ItemDecision.CERTIFIED
    assert decisions[world.grants["noa_news"]] is ItemDecision.REVOKED_AT_DEADLINE
    assert len(events(session, "reviews:campaign:approve", campaign.id)) == 1


def test_a_held_campaign_can_be_given_more_time_instead(session, actor, world, open_campaign):
    config = service.ReviewSettings(mass_revocation_threshold=1)
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News", config=config)
    past_deadline(session, campaign)
    service.process_deadline(session, REVIEWS, config, campaign.id)
    with pytest.raises(service.InvalidOperation):
        service.extend_deadline(session, actor, campaign.id, later(hours=-2))
    service.extend_deadline(session, actor, campaign.id, later(days=7))
    assert campaign.status is CampaignStatus.OPEN and all(i.decision is None for i in service.campaign_items(session, campaign.id))
    with pytest.raises(service.CampaignNotOpen):
        service.approve_held(session, actor, campaign.id)


def test_closing_early_removes_nothing(session, actor, world, open_campaign):
    campaign = open_campaign(ScopeKind.BUSINESS_UNIT, "News")
    service.close_campaign(session, actor, campaign.id, "audit moved to next quarter")
    assert campaign.status is CampaignStatus.CLOSED
    assert all(session.get(Grant, i.grant_id).revoked_at is None for i in service.campaign_items(session, campaign.id))
    [closed] = events(session, "reviews:campaign:close", campaign.id)
    assert closed.summary["reason"] == "audit moved to next quarter" and closed.summary["progress"]["pending"] == 4
    with pytest.raises(service.CampaignNotOpen):
        service.close_campaign(session, actor, campaign.id)


# --- reminders ----------------------------------------------------------------------------------
def reminders_to(session, person_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.person_id == person_id, Notification.kind == "access_review_reminder"))


def test_reminders_go_at_most_once_per_interval_and_only_to_reviewers_with_work(session, actor, world, open_campaign):
    campaign = open_campaign(reminder_every_hours=24)
    owner, manager = world.people["owner"], world.people["manager"]
    assert service.send_reminders(session, REVIEWS) == 0, "everyone was just told when the campaign opened"
    for item in service.items_for(session, as_reviewer(manager)):
        service.decide_item(session, actor, as_reviewer(manager), item.id, "certify")
    tomorrow = later(hours=25)
    assert service.send_reminders(session, REVIEWS, tomorrow) == 1
    assert (reminders_to(session, owner), reminders_to(session, manager)) == (1, 0)
    assert service.send_reminders(session, REVIEWS, tomorrow + timedelta(hours=23)) == 0, "not again within 24 hours"
    assert service.send_reminders(session, REVIEWS, tomorrow + timedelta(hours=24)) == 1
    assert reminders_to(session, owner) == 2
    assert len(events(session, "reviews:campaign:remind", campaign.id)) >= 2 + 2  # two at opening, two reminders
    assert service.send_reminders(session, REVIEWS, later(days=15)) == 0, "past the deadline nobody is reminded"
