"""Deciding an access review's items: keep or remove a grant, and close items whose grant ended elsewhere."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, not_, select, update
from sqlalchemy.orm import Session

from govern import signals
from govern.actor import Actor
from govern.audit.service import EventSpec, record, record_many
from govern.db import utcnow
from govern.errors import InvalidOperation, NotFound
from govern.grants.models import Grant
from govern.reviews.models import CampaignStatus, ItemDecision, ReviewCampaign, ReviewItem
from govern.reviews.service.common import (
    MAX_COMMENT, AlreadyDecided, AlreadyRemoved, CampaignNotOpen, Decider, NotYourReview, OwnAccess, Verdict, _is_pending,
    item_facts,
)
from govern.reviews.service import tally
from govern.reviews.service.progress import progress_of


def _settle(item: ReviewItem, decision: ItemDecision, decided_by: str, decided_at: datetime, comment: str | None) -> None:
    item.decision, item.decided_by, item.decided_at, item.comment = decision, decided_by, decided_at, comment


def _removed_elsewhere(revoked_at: datetime | None, revoked_by: str | None, revoke_reason: str | None,
                       expires_at: datetime | None) -> dict[str, Any]:
    """How an item whose grant ended outside the review is closed: as removed, by whoever (or whatever) removed it."""
    if revoked_at is not None:
        return {"decision": ItemDecision.REVOKED, "decided_by": revoked_by or "unknown", "decided_at": revoked_at,
                "comment": f"removed outside the review: {revoke_reason or ''}".strip()[:MAX_COMMENT]}
    return {"decision": ItemDecision.REVOKED, "decided_by": "system:grant-expiry", "decided_at": expires_at or utcnow(),
            "comment": "access ended at its expiry"}


def _close_removed_elsewhere(session: Session, actor: Actor, item: ReviewItem) -> None:
    grant = item.grant
    closing = _removed_elsewhere(grant.revoked_at, grant.revoked_by, grant.revoke_reason, grant.expires_at)
    before = item.decision
    _settle(item, closing["decision"], closing["decided_by"], closing["decided_at"], closing["comment"])
    session.flush()
    tally.item_moved(session, item, before)
    record(session, actor, "reviews:item:removed_elsewhere", "review_item", item.id, **item_facts(item))


def reconcile(session: Session, actor: Actor, campaign: ReviewCampaign, now: datetime | None = None) -> int:
    """Close the waiting items whose grant was revoked, or ran out, outside the review: read as rows, updated by
    primary key in one batch, one audit event each written in one batch (an offboarding may close thousands)."""
    query = (select(ReviewItem.id, ReviewItem.campaign_id, ReviewItem.grant_id, ReviewItem.person_id,
                    ReviewItem.account_id, ReviewItem.grant_role, ReviewItem.reviewer_person_id, ReviewItem.decision,
                    Grant.revoked_at,
                    Grant.revoked_by, Grant.revoke_reason, Grant.expires_at)
             .join(Grant, Grant.id == ReviewItem.grant_id)
             .where(ReviewItem.campaign_id == campaign.id, _is_pending(), not_(Grant.is_effective_at(now or utcnow())))
             .order_by(ReviewItem.id))
    rows = session.execute(query).all()
    if not rows:
        return 0
    closings = {row.id: _removed_elsewhere(row.revoked_at, row.revoked_by, row.revoke_reason, row.expires_at) for row in rows}
    session.execute(update(ReviewItem), [{"id": item_id, **closing} for item_id, closing in closings.items()])
    tally.moved(session, campaign.id, Counter((row.reviewer_person_id, row.decision, row.reviewer_person_id,
                                               closings[row.id]["decision"]) for row in rows))
    for item in [obj for obj in session.identity_map.values() if isinstance(obj, ReviewItem) and obj.id in closings]:
        session.expire(item)  # loaded before the batch: read again
    record_many(session, actor, [EventSpec("reviews:item:removed_elsewhere", "review_item", row.id, details={
        "campaign_id": row.campaign_id, "grant_id": row.grant_id, "person_id": row.person_id, "account_id": row.account_id,
        "grant_role": row.grant_role, "reviewer_person_id": row.reviewer_person_id,
        "decision": closings[row.id]["decision"].value, "comment": closings[row.id]["comment"]}) for row in rows])
    return len(rows)


def _close_if_complete(session: Session, actor: Actor, campaign: ReviewCampaign, now: datetime) -> None:
    if campaign.status is CampaignStatus.CLOSED:
        return
    still_in_force = (select(ReviewItem.id).join(Grant, Grant.id == ReviewItem.grant_id)
                      .where(ReviewItem.campaign_id == campaign.id, _is_pending(), Grant.is_effective_at(now)).limit(1))
    if session.scalar(still_in_force) is not None:
        return  # someone still has to decide: no need to look through the whole campaign after every decision
    reconcile(session, actor, campaign, now)
    waiting = session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign.id, _is_pending()))
    if waiting:
        return
    campaign.status, campaign.closed_at = CampaignStatus.CLOSED, now
    session.flush()
    record(session, actor, "reviews:campaign:close", "review_campaign", campaign.id, reason="every item is decided",
           progress=progress_of(session, [campaign.id])[campaign.id].as_dict())


def _pending_item(session: Session, decider: Decider, item_id: int) -> ReviewItem:
    item = session.scalar(select(ReviewItem).where(ReviewItem.id == item_id).with_for_update(of=ReviewItem))
    if item is None:
        raise NotFound("review item %(item_id)s does not exist", item_id=item_id)
    if not decider.manages and (decider.person_id is None or decider.person_id != item.reviewer_person_id):
        raise NotYourReview("review item %(item_id)s is not yours to decide: only its reviewer or governance decides it", item_id=item_id)
    if item.campaign.status is CampaignStatus.CLOSED:
        raise CampaignNotOpen("the access review '%(name)s' is closed: nothing in it can be decided any more", name=item.campaign.name)
    if item.is_final:
        when = item.decided_at.strftime("%Y-%m-%d %H:%M UTC") if item.decided_at else "earlier"
        raise AlreadyDecided("this access was already decided (%(value)s) by %(decided_by)s on %(when)s", value=item.decision.value, decided_by=item.decided_by, when=when)
    return item


def item_to_decide(session: Session, decider: Decider, item_id: int) -> ReviewItem:
    """The item, provided this decider may still decide it (what a confirmation page shows before the decision);
    the same refusals as decide_item: not found, not yours, campaign closed, already decided."""
    return _pending_item(session, decider, item_id)


def decide_item(session: Session, actor: Actor, decider: Decider, item_id: int, verdict: Verdict,
                comment: str | None = None) -> ReviewItem:
    """Keep (certify) or remove (revoke, by the grants' receiver of review_removed_grant) one grant; both audited with
    the item change."""
    item = _pending_item(session, decider, item_id)
    now = utcnow()
    if not item.grant.is_effective_at(now):
        _close_removed_elsewhere(session, actor, item)
        _close_if_complete(session, actor, item.campaign, now)
        raise AlreadyRemoved("this access was already removed outside the review (by %(decided_by)s); nothing more to decide", decided_by=item.decided_by)
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    campaign, before = item.campaign, item.decision
    if verdict == "certify":
        if decider.person_id is not None and decider.person_id == item.person_id:
            raise OwnAccess("you cannot certify your own access: your manager or governance reviews it")
        _settle(item, ItemDecision.CERTIFIED, actor.id, now, comment)
        session.flush()
        tally.item_moved(session, item, before)
        record(session, actor, "reviews:item:certify", "review_item", item.id, **item_facts(item))
    elif verdict == "revoke":
        if comment is None:
            raise InvalidOperation("say briefly why this access is removed")
        signals.review_removed_grant.send(session, actor=actor, grant_id=item.grant_id,
                                          reason=f"access review {campaign.id} ({campaign.name}): {comment}")
        _settle(item, ItemDecision.REVOKED, actor.id, now, comment)
        session.flush()
        tally.item_moved(session, item, before)
        record(session, actor, "reviews:item:revoke", "review_item", item.id, **item_facts(item))
    else:
        raise InvalidOperation("decide 'certify' or 'revoke', not %(verdict)s", verdict=f"{verdict!r}")
    _close_if_complete(session, actor, campaign, now)
    return item
