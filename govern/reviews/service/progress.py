"""Reading access reviews: campaigns, their items a page at a time, and how far each campaign and reviewer got."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from govern.accounts.models import SocialAccount
from govern.db import utcnow
from govern.errors import NotFound
from govern.pagination import Page, paginate
from govern.people.models import Person
from govern.reviews.models import (
    GOVERNANCE_KEY, PROGRESS_COLUMNS, CampaignStatus, ItemDecision, ReviewCampaign, ReviewItem, ReviewProgress,
)
from govern.reviews.service.common import Decider, _is_pending


@dataclass(frozen=True)
class Progress:
    total: int = 0
    certified: int = 0
    revoked: int = 0
    revoked_at_deadline: int = 0
    escalated: int = 0
    undecided: int = 0

    @property
    def pending(self) -> int:
        return self.undecided + self.escalated

    @property
    def decided(self) -> int:
        return self.total - self.pending

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else math.floor(100 * self.decided / self.total)

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "decided": self.decided, "pending": self.pending, "certified": self.certified,
                "revoked": self.revoked, "revoked_at_deadline": self.revoked_at_deadline, "escalated": self.escalated,
                "percent": self.percent}


@dataclass(frozen=True)
class ReviewerProgress:
    person: Person | None  # None: governance decides these
    total: int
    pending: int



def business_units(session: Session) -> list[str]:
    """The business units of the inventory, for choosing a campaign's scope."""
    query = select(SocialAccount.business_unit).where(SocialAccount.business_unit.is_not(None)).distinct()
    return sorted(session.scalars(query), key=str.casefold)


def get_campaign(session: Session, campaign_id: int, *, for_update: bool = False) -> ReviewCampaign:
    query = select(ReviewCampaign).where(ReviewCampaign.id == campaign_id)
    campaign = session.scalar(query.with_for_update() if for_update else query)
    if campaign is None:
        raise NotFound("review campaign %(campaign_id)s does not exist", campaign_id=campaign_id)
    return campaign


def list_campaigns(session: Session, status: CampaignStatus | None = None, limit: int = 200) -> list[ReviewCampaign]:
    query = select(ReviewCampaign).order_by(ReviewCampaign.opened_at.desc(), ReviewCampaign.id.desc())
    if status is not None:
        query = query.where(ReviewCampaign.status == status)
    return list(session.scalars(query.limit(limit)))


@dataclass(frozen=True)
class CampaignFilter:
    """The campaigns list's filters."""

    status: CampaignStatus | None = None


def _campaigns_query(filters: CampaignFilter):
    query = select(ReviewCampaign)
    return query.where(ReviewCampaign.status == filters.status) if filters.status is not None else query


def campaigns_page(session: Session, filters: CampaignFilter = CampaignFilter(), *, limit: int,
                   cursor: str | None = None) -> Page[ReviewCampaign]:
    """One page of the campaigns, newest opened first (keyset on opened_at and id), either way from a cursor."""
    return paginate(session, _campaigns_query(filters), "opened_at", ReviewCampaign.opened_at, ReviewCampaign.id, limit,
                    cursor, descending=True)


def count_campaigns(session: Session, filters: CampaignFilter = CampaignFilter()) -> int:
    return int(session.scalar(_campaigns_query(filters).with_only_columns(func.count(), maintain_column_froms=True)) or 0)


def progress_of(session: Session, campaign_ids: Iterable[int]) -> dict[int, Progress]:
    """Each campaign's progress, from its rows in review_progress (one per reviewer, kept as items change)."""
    ids = list(campaign_ids)
    counts: dict[int, dict[str, int]] = {campaign_id: defaultdict(int) for campaign_id in ids}
    if ids:
        rows = session.execute(select(ReviewProgress.campaign_id, *(func.sum(getattr(ReviewProgress, name)).label(name)
                                                                  for name in PROGRESS_COLUMNS))
                               .where(ReviewProgress.campaign_id.in_(ids)).group_by(ReviewProgress.campaign_id))
        for row in rows:
            counts[row.campaign_id].update({name: int(row._mapping[name] or 0) for name in PROGRESS_COLUMNS})
    return {campaign_id: Progress(total=sum(c.values()), **c) for campaign_id, c in counts.items()}


REVIEWER_ROWS = 100  # a campaign page and its API document show this many reviewers, the busiest first


@dataclass(frozen=True)
class CampaignOverview:
    progress: Progress
    reviewers: list[ReviewerProgress]  # the `limit` with most waiting, governance last
    reviewers_total: int


def campaign_overview(session: Session, campaign_id: int, limit: int = REVIEWER_ROWS) -> CampaignOverview:
    """The campaign's progress, per reviewer and in all, from its review_progress rows (one per reviewer, kept as
    items change): window sums over those rows give the campaign's figures and the number of reviewers, so its
    items are not read at all, however many there are. The reviewers shown are chosen with their names only (the
    sort needs every reviewer's), then read as people: 100, not the campaign's thousands with their managers."""
    counts = {name: getattr(ReviewProgress, name) for name in PROGRESS_COLUMNS}
    in_all = [func.sum(column).over().label(f"all_{name}") for name, column in counts.items()]
    ranked = (select(ReviewProgress.reviewer_key, sum(counts.values()).label("total"),
                     (counts["undecided"] + counts["escalated"]).label("pending"),
                     (ReviewProgress.reviewer_key == GOVERNANCE_KEY).label("governance"), Person.display_name,
                     func.count().over().label("groups"), *in_all)
              .outerjoin(Person, Person.id == ReviewProgress.reviewer_key)  # there is no person 0: governance
              .where(ReviewProgress.campaign_id == campaign_id))
    order = lambda columns: (columns.governance, columns.pending.desc(), columns.display_name, columns.reviewer_key)  # noqa: E731
    shown = ranked.order_by(*order(ranked.selected_columns)).limit(limit).subquery()
    query = (select(shown, Person).outerjoin(Person, Person.id == shown.c.reviewer_key).order_by(*order(shown.c)))
    rows = session.execute(query).all()
    if not rows:
        return CampaignOverview(Progress(), [], 0)
    first = rows[0]._mapping
    figures = {name: int(first[f"all_{name}"] or 0) for name in PROGRESS_COLUMNS}
    progress = Progress(total=sum(figures.values()), **figures)
    reviewers = [ReviewerProgress(row.Person, int(row.total), int(row.pending)) for row in rows]
    return CampaignOverview(progress, reviewers, int(first["groups"]))


def reviewer_progress(session: Session, campaign_id: int, limit: int = REVIEWER_ROWS) -> list[ReviewerProgress]:
    """Per reviewer (None: governance): items and pending, most pending first."""
    return campaign_overview(session, campaign_id, limit).reviewers


def reviewer_count(session: Session, campaign_id: int) -> int:
    """How many reviewers (governance counted as one) a campaign has."""
    return session.scalar(select(func.count()).where(ReviewProgress.campaign_id == campaign_id)) or 0


def _ordered(items: Iterable[ReviewItem]) -> list[ReviewItem]:
    return sorted(items, key=lambda i: (i.campaign.deadline, i.campaign_id, i.account.handle.casefold(), i.account_id,
                                        i.person.display_name.casefold(), i.id))


def campaign_items(session: Session, campaign_id: int) -> list[ReviewItem]:
    """Every item of a campaign as objects: for small campaigns and tests; pages use campaign_items_page."""
    return _ordered(session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign_id)).unique())


def _loaded_in_order(session: Session, rows) -> list[ReviewItem]:
    """The items of a page's (id, ...) rows, with what they show, in the rows' order: one query by id."""
    ids = [row.id for row in rows]
    items = session.scalars(select(ReviewItem).where(ReviewItem.id.in_(ids)).options(selectinload(ReviewItem.grant))).unique()
    by_id = {item.id: item for item in items}
    return [by_id[item_id] for item_id in ids if item_id in by_id]


# A campaign page's item filter by state: which decisions each shows, and the review_progress columns that count them.
STATE_FILTERS: dict[str, tuple[tuple[ItemDecision | None, ...], tuple[str, ...]]] = {
    "waiting": ((None, ItemDecision.ESCALATED), ("undecided", "escalated")),
    "kept": ((ItemDecision.CERTIFIED,), ("certified",)),
    "removed": ((ItemDecision.REVOKED, ItemDecision.REVOKED_AT_DEADLINE), ("revoked", "revoked_at_deadline")),
}
GOVERNANCE = "governance"  # the reviewer filter's value for the items governance decides


@dataclass(frozen=True)
class ItemFilter:
    reviewer: int | str | None = None  # a person's id, GOVERNANCE, or None: everyone
    state: str | None = None  # a key of STATE_FILTERS, or None: every state

    @property
    def active(self) -> bool:
        return self.reviewer is not None or self.state is not None


def _filtered(query, item_filter: ItemFilter):
    if item_filter.reviewer == GOVERNANCE:
        query = query.where(ReviewItem.reviewer_person_id.is_(None))
    elif item_filter.reviewer is not None:
        query = query.where(ReviewItem.reviewer_person_id == item_filter.reviewer)
    if item_filter.state is not None:
        decisions = STATE_FILTERS[item_filter.state][0]
        chosen = [decision for decision in decisions if decision is not None]
        query = query.where(or_(ReviewItem.decision.in_(chosen), ReviewItem.decision.is_(None)) if None in decisions
                            else ReviewItem.decision.in_(chosen))
    return query


def filtered_total(session: Session, campaign_id: int, item_filter: ItemFilter = ItemFilter()) -> int:
    """How many of the campaign's items the filter shows, from its review_progress rows (items are not counted)."""
    columns = STATE_FILTERS[item_filter.state][1] if item_filter.state else PROGRESS_COLUMNS
    query = select(func.coalesce(func.sum(sum(getattr(ReviewProgress, name) for name in columns)), 0)).where(
        ReviewProgress.campaign_id == campaign_id)
    if item_filter.reviewer is not None:
        key = GOVERNANCE_KEY if item_filter.reviewer == GOVERNANCE else int(item_filter.reviewer)
        query = query.where(ReviewProgress.reviewer_key == key)
    return int(session.scalar(query) or 0)


def campaign_items_page(session: Session, campaign_id: int, *, limit: int, cursor: str | None = None,
                        item_filter: ItemFilter = ItemFilter()) -> Page[ReviewItem]:
    """One page of a campaign's items, account by account (keyset on account and item id), optionally of one
    reviewer or one state: chosen from the indexes alone, then read by id with what they show."""
    keys = _filtered(select(ReviewItem.id, ReviewItem.account_id).where(ReviewItem.campaign_id == campaign_id), item_filter)
    return paginate(session, keys, "account", ReviewItem.account_id, ReviewItem.id, limit, cursor,
                    load=lambda rows: _loaded_in_order(session, rows))


def _mine(decider: Decider) -> list:
    mine = []
    if decider.person_id is not None:
        mine.append(ReviewItem.reviewer_person_id == decider.person_id)
    if decider.manages:
        mine.append(ReviewItem.reviewer_person_id.is_(None))
    return mine


def _items_for_query(decider: Decider, pending_only: bool):
    query = (select(ReviewItem).join(ReviewCampaign, ReviewCampaign.id == ReviewItem.campaign_id)
             .where(ReviewCampaign.status.not_in([CampaignStatus.CLOSED, CampaignStatus.OPENING]), or_(*_mine(decider))))
    return query.where(_is_pending()) if pending_only else query


def items_for(session: Session, decider: Decider, *, pending_only: bool = True) -> list[ReviewItem]:
    """The items this person reviews in the campaigns still running; with reviews:manage, also governance's own."""
    if not _mine(decider):
        return []
    return _ordered(session.scalars(_items_for_query(decider, pending_only)).unique())


def items_for_page(session: Session, decider: Decider, *, limit: int, cursor: str | None = None,
                   pending_only: bool = False) -> Page[ReviewItem]:
    """One page of the items this person reviews in running campaigns: those still waiting first, then the decided."""
    if not _mine(decider):
        return Page([], None)
    # The page is chosen on (waiting, id) alone, then its items are read by id with what they show: sorting a
    # reviewer's thousands of items with every joined table took 42 ms of the page's SQL at 230,000 items, the
    # narrow sort 2 ms. The grant (with its account, network and owner) comes in a second query by id: joined into
    # the page query, the planner nested a loop over every account for each row (150 ms for 51 rows, 5,000 accounts).
    keys = _items_for_query(decider, pending_only).with_only_columns(ReviewItem.id, ReviewItem.settled)
    return paginate(session, keys, "waiting", ReviewItem.settled, ReviewItem.id, limit, cursor,
                    load=lambda rows: _loaded_in_order(session, rows))


def waiting_counts(session: Session, decider: Decider) -> dict[int, int]:
    """Per running campaign: how many of this person's items still wait for a decision (one GROUP BY)."""
    if not _mine(decider):
        return {}
    query = _items_for_query(decider, pending_only=True).with_only_columns(ReviewItem.campaign_id, func.count())
    return dict(session.execute(query.group_by(ReviewItem.campaign_id)).all())


def item_state(item: ReviewItem, moment: datetime | None = None) -> str:
    """What the item shows: its decision, "pending", or "already_removed" when the grant ended outside the review."""
    if item.is_final:
        return item.decision.value
    if not item.grant.is_effective_at(moment or utcnow()):
        return "already_removed"
    return item.decision.value if item.decision else "pending"
