"""The set-based SQL of access reviews: who reviews each grant, the snapshot of a scope into items, and item pages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CTE, ColumnElement, Integer, Select, String, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from govern.accounts.models import Network, SocialAccount
from govern.grants.models import Grant
from govern.people.models import Person, PersonStatus
from govern.reviews.models import CampaignStatus, ItemDecision, ReviewCampaign, ReviewItem, ScopeKind

RUNNING = (CampaignStatus.OPENING, CampaignStatus.OPEN, CampaignStatus.HELD)  # a campaign that still asks its reviewers
PENDING_DECISIONS = (ItemDecision.ESCALATED,)  # besides no decision at all: escalated items still wait for governance


def is_pending() -> ColumnElement[bool]:
    return or_(ReviewItem.decision.is_(None), ReviewItem.decision.in_(PENDING_DECISIONS))


def in_scope(query: Select, scope_kind: ScopeKind, scope_value: str | None) -> Select:
    """Narrow a query over SocialAccount to the campaign's scope."""
    if scope_kind is ScopeKind.BUSINESS_UNIT:
        return query.where(SocialAccount.business_unit == scope_value)
    if scope_kind is ScopeKind.NETWORK:
        return query.where(SocialAccount.network_id == select(Network.id).where(Network.key == scope_value).scalar_subquery())
    return query


def first_two_active(scope_kind: ScopeKind, scope_value: str | None) -> CTE:
    """Per account owner in the scope: the first and second active person up their manager chain, owner first.

    The same walk as service.first_active (it stops at a person seen before, so a cycle in the directory ends it),
    written as a recursive query that stops as soon as two active people are found. Columns: owner_id, first_id,
    second_id (either may be NULL when the chain runs out).
    """
    owners = in_scope(select(SocialAccount.owner_id).where(SocialAccount.owner_id.is_not(None)), scope_kind, scope_value)
    active = case((Person.status == PersonStatus.ACTIVE, 1), else_=0)
    mark = lambda person_id: literal(",") + cast(person_id, String) + literal(",")  # noqa: E731
    start = (select(Person.id.label("owner_id"), Person.id.label("person_id"), Person.manager_id.label("next_id"),
                    cast(mark(Person.id), String).label("path"), active.label("actives"), active.label("is_active"))
             .where(Person.id.in_(owners.distinct()))
             .cte("reviewer_chain", recursive=True))
    above = aliased(Person)
    above_active = case((above.status == PersonStatus.ACTIVE, 1), else_=0)
    chain = start.union_all(
        select(start.c.owner_id, above.id, above.manager_id, cast(start.c.path + cast(above.id, String) + literal(","), String),
               cast(start.c.actives + above_active, Integer), above_active)
        .join(above, above.id == start.c.next_id)
        .where(start.c.actives < 2, ~start.c.path.contains(mark(above.id)))
    )
    first = func.max(case((and_(chain.c.is_active == 1, chain.c.actives == 1), chain.c.person_id)))
    second = func.max(case((and_(chain.c.is_active == 1, chain.c.actives == 2), chain.c.person_id)))
    return (select(chain.c.owner_id, first.label("first_id"), second.label("second_id"))
            .group_by(chain.c.owner_id).cte("reviewers"))


def reviewer_of_grant(reviewers: CTE) -> ColumnElement[int | None]:
    """The first active person up the owner's chain who is not the holder: never their own access (service.reviewer_for)."""
    return case((reviewers.c.first_id == Grant.person_id, reviewers.c.second_id), else_=reviewers.c.first_id)


def under_review_elsewhere(campaign_id: int | None) -> ColumnElement[bool]:
    """The grant (Grant.id) waits for a decision in another running campaign: its reviewer is already asked about it
    there, and a second campaign does not ask again (decision 0059)."""
    other = aliased(ReviewItem)
    query = (exists().where(other.grant_id == Grant.id, or_(other.decision.is_(None), other.decision.in_(PENDING_DECISIONS)),
                            other.campaign_id == ReviewCampaign.id, ReviewCampaign.status.in_(RUNNING)))
    return query.where(other.campaign_id != campaign_id) if campaign_id is not None else query


def snapshot(campaign_id: int, scope_kind: ScopeKind, scope_value: str | None, moment: datetime) -> Select:
    """The rows of review_items for every grant in force in the scope at `moment` not yet in the campaign nor waiting
    for a decision in another running one: campaign_id, grant_id, person_id, account_id, grant_role,
    reviewer_person_id, last_reminded_at."""
    reviewers = first_two_active(scope_kind, scope_value)
    reviewer = reviewer_of_grant(reviewers)
    told = case((reviewer.is_not(None), literal(moment, ReviewItem.__table__.c.last_reminded_at.type)))
    already = exists().where(ReviewItem.campaign_id == campaign_id, ReviewItem.grant_id == Grant.id)
    query = (select(literal(campaign_id, Integer), Grant.id, Grant.person_id, Grant.account_id, Grant.role, reviewer, told)
             .select_from(Grant).join(SocialAccount, SocialAccount.id == Grant.account_id)
             .outerjoin(reviewers, reviewers.c.owner_id == SocialAccount.owner_id)
             .where(Grant.is_effective_at(moment), ~already, ~under_review_elsewhere(campaign_id)))
    return in_scope(query, scope_kind, scope_value)


def preview_counts(scope_kind: ScopeKind, scope_value: str | None, moment: datetime) -> Select:
    """What opening a campaign over the scope now would snapshot: items, reviewers, accounts, items for governance
    (the opening statement itself, counted instead of inserted)."""
    rows = snapshot(0, scope_kind, scope_value, moment).subquery()
    grant_id, account_id, reviewer = rows.c[1], rows.c[3], rows.c[5]
    return select(func.count(grant_id), func.count(func.distinct(reviewer)), func.count(func.distinct(account_id)),
                  func.count().filter(reviewer.is_(None)))


def overlapping(scope_kind: ScopeKind, scope_value: str | None, moment: datetime) -> Select:
    """Per running campaign: how many grants in force in the scope wait for a decision in it (campaign id, count)."""
    query = (select(ReviewItem.campaign_id, func.count())
             .join(Grant, Grant.id == ReviewItem.grant_id).join(SocialAccount, SocialAccount.id == Grant.account_id)
             .join(ReviewCampaign, ReviewCampaign.id == ReviewItem.campaign_id)
             .where(ReviewCampaign.status.in_(RUNNING), is_pending(), Grant.is_effective_at(moment))
             .group_by(ReviewItem.campaign_id).order_by(ReviewItem.campaign_id))
    return in_scope(query, scope_kind, scope_value)


SNAPSHOT_COLUMNS = ("campaign_id", "grant_id", "person_id", "account_id", "grant_role", "reviewer_person_id",
                    "last_reminded_at")


def anything_in_scope(scope_kind: ScopeKind, scope_value: str | None, moment: datetime) -> Select:
    """A grant in force in the scope that no running campaign is already asking about, if there is one."""
    query = (select(Grant.id).join(SocialAccount, SocialAccount.id == Grant.account_id)
             .where(Grant.is_effective_at(moment), ~under_review_elsewhere(None)).limit(1))
    return in_scope(query, scope_kind, scope_value)
