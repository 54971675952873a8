"""Several items at once and items changing hands: keep all shown, remove the selected, reassign one to another reviewer."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import signals
from govern.actor import Actor
from govern.audit.service import EventSpec, record, record_many
from govern.db import utcnow
from govern.errors import DomainError, InvalidOperation, NotFound
from govern.notifications.service import notify
from govern.people.models import Person, PersonStatus
from govern.reviews.models import CampaignStatus, ItemDecision, ReviewCampaign, ReviewItem
from govern.reviews.service import tally
from govern.reviews.service.common import (
    MAX_COMMENT, AlreadyDecided, AlreadyRemoved, CampaignNotOpen, Decider, NotYourReview, OwnAccess, Verdict, item_facts,
)
from govern.reviews.service.decisions import _close_if_complete, _close_removed_elsewhere, _settle

MAX_BULK = 500  # one request decides at most this many items (a page shows at most 200)


class NotReassignable(InvalidOperation):
    """Why an item cannot go to that person: `code` says which (reassign_escalated, _left, _own or _same)."""

    title = "Cannot reassign"


@dataclass(frozen=True)
class Stale:
    """An item the bulk action did not change, and why (the refusal decide_item would have given for it alone)."""

    item_id: int
    item: ReviewItem | None
    error: DomainError


@dataclass
class BulkOutcome:
    decided: list[ReviewItem] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)


def _refusal(decider: Decider, item_id: int, item: ReviewItem | None) -> DomainError | None:
    """Why this decider may not decide the item now (the checks of decisions._pending_item, as a value)."""
    if item is None:
        return NotFound("review item %(item_id)s does not exist", item_id=item_id)
    if not decider.manages and (decider.person_id is None or decider.person_id != item.reviewer_person_id):
        return NotYourReview("review item %(item_id)s is not yours to decide", item_id=item_id)
    if item.campaign.status is CampaignStatus.CLOSED:
        return CampaignNotOpen("the access review '%(campaign)s' is closed", campaign=item.campaign.name)
    if item.is_final:
        return AlreadyDecided("review item %(item_id)s was already decided (%(decision)s) by %(decided_by)s", item_id=item_id,
                              decision=item.decision.value, decided_by=item.decided_by)
    return None


def items_to_decide(session: Session, decider: Decider, item_ids: Iterable[int]) -> BulkOutcome:
    """The items this decider may still decide, and those they may not (what a confirmation page names before a bulk
    decision; nothing is locked or changed)."""
    ids = sorted({int(item_id) for item_id in item_ids})[:MAX_BULK + 1]
    found = {item.id: item for item in session.scalars(select(ReviewItem).where(ReviewItem.id.in_(ids))).unique()} if ids else {}
    outcome = BulkOutcome()
    for item_id in ids:
        problem = _refusal(decider, item_id, found.get(item_id))
        if problem is None:
            outcome.decided.append(found[item_id])
        else:
            outcome.stale.append(Stale(item_id, found.get(item_id), problem))
    return outcome


def decide_items(session: Session, actor: Actor, decider: Decider, item_ids: Iterable[int], verdict: Verdict,
                 comment: str | None = None) -> BulkOutcome:
    """Keep or remove several items in one transaction, each audited as decide_item audits one. An item that cannot
    be decided any more (decided elsewhere, its access removed outside the review, not the decider's, its campaign
    closed) is left as it is and reported in the outcome: the others are still decided."""
    ids = sorted({int(item_id) for item_id in item_ids})
    if not ids:
        raise InvalidOperation("choose at least one item")
    if len(ids) > MAX_BULK:
        raise InvalidOperation("decide at most %(count)s items at once", count=MAX_BULK)
    if verdict not in ("certify", "revoke"):
        raise InvalidOperation("decide 'certify' or 'revoke', not %(verdict)s", verdict=repr(verdict))
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    if verdict == "revoke" and comment is None:
        raise InvalidOperation("say briefly why this access is removed")
    # locked in id order: two bulk actions over the same items wait for each other instead of deadlocking
    query = select(ReviewItem).where(ReviewItem.id.in_(ids)).order_by(ReviewItem.id).with_for_update(of=ReviewItem)
    found = {item.id: item for item in session.scalars(query).unique()}
    now, outcome = utcnow(), BulkOutcome()
    for item_id in ids:
        item = found.get(item_id)
        problem = _refusal(decider, item_id, item)
        if problem is None and not item.grant.is_effective_at(now):
            _close_removed_elsewhere(session, actor, item)
            problem = AlreadyRemoved("review item %(item_id)s: the access was already removed outside the review",
                                     item_id=item_id)
        if problem is None and verdict == "certify" and decider.person_id is not None and decider.person_id == item.person_id:
            problem = OwnAccess("you cannot certify your own access: your manager or governance reviews it")
        if problem is not None:
            outcome.stale.append(Stale(item_id, item, problem))
        else:
            outcome.decided.append(item)
    moves: dict[int, Counter[tally.Move]] = defaultdict(Counter)
    decision = ItemDecision.CERTIFIED if verdict == "certify" else ItemDecision.REVOKED
    for item in outcome.decided:
        if decision is ItemDecision.REVOKED:
            signals.review_removed_grant.send(session, actor=actor, grant_id=item.grant_id,
                                              reason=f"access review {item.campaign_id} ({item.campaign.name}): {comment}")
        moves[item.campaign_id][item.reviewer_person_id, item.decision, item.reviewer_person_id, decision] += 1
        _settle(item, decision, actor.id, now, comment)
    session.flush()
    for campaign_id in sorted(moves):
        tally.moved(session, campaign_id, moves[campaign_id])
    action = "reviews:item:certify" if decision is ItemDecision.CERTIFIED else "reviews:item:revoke"
    record_many(session, actor, [EventSpec(action, "review_item", item.id, details={**item_facts(item), "bulk": len(ids)})
                                 for item in outcome.decided])
    for campaign in sorted({item.campaign for item in outcome.decided}, key=lambda c: c.id):
        _close_if_complete(session, actor, campaign, now)
    return outcome


def reassign_item(session: Session, actor: Actor, decider: Decider, item_id: int, to_person_id: int,
                  reason: str | None = None) -> ReviewItem:
    """Hand a waiting item to another reviewer (its reviewer delegating, or governance): audited with who had it,
    and the new reviewer is told. Never to the person whose access it is, nor to someone who has left."""
    item = session.scalar(select(ReviewItem).where(ReviewItem.id == item_id).with_for_update(of=ReviewItem))
    problem = _refusal(decider, item_id, item)
    if problem is not None:
        raise problem
    if item.decision is ItemDecision.ESCALATED:
        raise NotReassignable("this access was passed to governance at the deadline: governance decides it",
                              code="reassign_escalated")
    target = session.get(Person, to_person_id)
    if target is None:
        raise NotFound("person %(person_id)s does not exist", person_id=to_person_id)
    if target.status is not PersonStatus.ACTIVE:
        raise NotReassignable("%(person)s has left: choose a current employee", code="reassign_left",
                              person=target.display_name)
    if target.id == item.person_id:
        raise NotReassignable("nobody reviews their own access: choose someone else", code="reassign_own")
    if target.id == item.reviewer_person_id:
        raise NotReassignable("%(person)s already reviews this access", code="reassign_same", person=target.display_name)
    before, now = item.reviewer_person_id, utcnow()
    reason = (reason or "").strip()[:MAX_COMMENT] or None
    item.reviewer_person_id, item.last_reminded_at = target.id, now
    session.flush()
    session.expire(item, ["reviewer"])  # a view-only relationship: read again for the new reviewer
    tally.ensure_row(session, item.campaign_id, target.id)
    tally.moved(session, item.campaign_id, {(before, None, target.id, None): 1})
    record(session, actor, "reviews:item:reassign", "review_item", item.id, **item_facts(item),
           from_reviewer_person_id=before, to_reviewer_person_id=target.id, reason=reason)
    campaign: ReviewCampaign = item.campaign
    notify(session, target.id, "access_review_reassigned", "review_campaign", campaign.id,
           f"Access review '{campaign.name}': you were asked to review {item.person.display_name}'s access to "
           f"{item.account.handle}.", item_id=item.id, deadline=campaign.deadline.isoformat())
    return item
