"""What a reviewer decides with, for a page of items at once: the holder's last activity on the account through govern,
who granted the access and when, the last review of the same access, and who decided when it was not the reviewer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govern.audit.models import AuditEvent
from govern.auth.models import ApiClient, ConsoleUser
from govern.broker.actions import ACTION_CAPABILITIES
from govern.reviews.models import FINAL_DECISIONS, ItemDecision, ReviewCampaign, ReviewItem

# every use of an account's token through govern, publishing included, is one of these events; named one by one (not
# LIKE 'broker:action:%') so the trail's index on action can narrow the search on an account with a long history
BROKER_ACTIONS = tuple(f"broker:action:{action}" for action in sorted(ACTION_CAPABILITIES))


@dataclass(frozen=True)
class Activity:
    action: str  # the network action: publish, reply, read_insights...
    at: datetime


@dataclass(frozen=True)
class PastReview:
    campaign_name: str
    decision: str
    at: datetime


@dataclass(frozen=True)
class ItemContext:
    last_activity: Activity | None
    granted_by: str  # a name
    last_review: PastReview | None
    decided_by_other: str | None  # the name of who decided, when it was not the item's reviewer
    decided_automatically: bool = False  # ...and that was govern itself (the deadline, an expiry), not a person


@dataclass(frozen=True)
class Actor:
    name: str
    person_id: int | None


def actors(session: Session, actor_ids: Sequence[str | None]) -> dict[str, Actor]:
    """Audit actor ids (console_user:12, api_client:ci-bot, system:...) as names and the person behind each, two
    queries for the whole page."""
    wanted = {actor_id for actor_id in actor_ids if actor_id}
    numbered: dict[str, list[int]] = {"console_user": [], "api_client": []}
    for actor_id in wanted:
        kind, _sep, ident = actor_id.partition(":")
        if kind in numbered and ident.isdigit():
            numbered[kind].append(int(ident))
    known: dict[str, Actor] = {}
    for kind, model, name in (("console_user", ConsoleUser, ConsoleUser.display_name), ("api_client", ApiClient, ApiClient.name)):
        if numbered[kind]:
            for ident, label, person_id in session.execute(select(model.id, name, model.person_id)
                                                           .where(model.id.in_(sorted(numbered[kind])))):
                known[f"{kind}:{ident}"] = Actor(label, person_id)
    for actor_id in wanted - known.keys():
        known[actor_id] = Actor(actor_id.partition(":")[2] or actor_id, None)
    return known


def last_activity(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Activity]:
    """Per (person, account): their latest action on the account through govern's broker (a post, a reply, a read of
    the insights, a post the policy stopped), from the audit trail: one query over the page's accounts (the trail's
    (target_type, target_id, seq) index), not one per item."""
    if not pairs:
        return {}
    accounts = sorted({str(account_id) for _person, account_id in pairs})
    person = AuditEvent.summary["person_id"].as_string()
    ranked = (select(AuditEvent.target_id, person.label("person"), AuditEvent.action, AuditEvent.occurred_at,
                     func.row_number().over(partition_by=(AuditEvent.target_id, person),
                                            order_by=AuditEvent.seq.desc()).label("rank"))
              .where(AuditEvent.target_type == "account", AuditEvent.target_id.in_(accounts),
                     AuditEvent.action.in_(BROKER_ACTIONS),
                     person.in_(sorted({str(person_id) for person_id, _account in pairs}))).subquery())
    rows = session.execute(select(ranked.c.target_id, ranked.c.person, ranked.c.action, ranked.c.occurred_at)
                           .where(ranked.c.rank == 1))
    found: dict[tuple[int, int], Activity] = {}
    for account_id, person_id, action, at in rows:
        key = (int(person_id), int(account_id))
        if key in pairs:
            found[key] = Activity(action.rpartition(":")[2], at)
    return found


def last_reviews(session: Session, items: Sequence[ReviewItem]) -> dict[int, PastReview]:
    """Per item: the latest final decision on the same grant in an earlier campaign (review_items' grant_id index)."""
    grants = {item.grant_id for item in items}
    if not grants:
        return {}
    ranked = (select(ReviewItem.grant_id, ReviewItem.decision, ReviewItem.decided_at, ReviewCampaign.name,
                     func.row_number().over(partition_by=ReviewItem.grant_id,
                                            order_by=(ReviewItem.decided_at.desc(), ReviewItem.id.desc())).label("rank"))
              .join(ReviewCampaign, ReviewCampaign.id == ReviewItem.campaign_id)
              .where(ReviewItem.grant_id.in_(sorted(grants)), ReviewItem.decision.in_(FINAL_DECISIONS),
                     ReviewItem.decided_at.is_not(None), ReviewItem.campaign_id.not_in({item.campaign_id for item in items}))
              .subquery())
    by_grant = {row.grant_id: PastReview(row.name, ItemDecision(row.decision).value, row.decided_at)
                for row in session.execute(select(ranked).where(ranked.c.rank == 1))}
    return {item.id: by_grant[item.grant_id] for item in items if item.grant_id in by_grant}


def decided_by_other(item: ReviewItem, decider: Actor | None) -> str | None:
    """Who decided, when it was not the reviewer themselves: governance overriding, an administrator, the deadline,
    or a revocation outside the review. None while undecided or when the reviewer decided."""
    if item.decided_by is None or item.decision is None:
        return None
    reviewer = item.reviewer_person_id if item.reviewer_person_id is not None else item.escalated_from_person_id
    if decider is not None and decider.person_id is not None and decider.person_id == reviewer:
        return None
    return decider.name if decider is not None else item.decided_by


def contexts(session: Session, items: Sequence[ReviewItem]) -> dict[int, ItemContext]:
    """The context of each item of a page, in a fixed number of queries whatever the page's size."""
    items = list(items)
    activity = last_activity(session, {(item.person_id, item.account_id) for item in items})
    reviews = last_reviews(session, items)
    names = actors(session, [item.grant.granted_by for item in items] + [item.decided_by for item in items])
    return {item.id: ItemContext(
        last_activity=activity.get((item.person_id, item.account_id)),
        granted_by=names[item.grant.granted_by].name if item.grant.granted_by else "?",
        last_review=reviews.get(item.id),
        decided_by_other=decided_by_other(item, names.get(item.decided_by) if item.decided_by else None),
        decided_automatically=(item.decided_by or "").startswith("system:"),
    ) for item in items}
