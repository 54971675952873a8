"""Access review campaigns: opening one over a scope, deciding its items, reminders, and what the deadline does."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, insert, not_, or_, select, text, update
from sqlalchemy.orm import Session, selectinload

from govern import signals
from govern.accounts.models import Network, SocialAccount
from govern.actor import Actor
from govern.audit.service import EventSpec, record, record_many
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.db import utcnow
from govern.errors import Conflict, DomainError, InvalidOperation, NotFound
from govern.grants.models import Grant
from govern.notifications.models import Notification
from govern.notifications.service import SYSTEM as NOTIFICATIONS, notify
from govern.pagination import Page, paginate
from govern.people.models import Person, PersonStatus
from govern.reviews.models import (
    CampaignStatus,
    DeadlineAction,
    ItemDecision,
    ReviewCampaign,
    ReviewItem,
    ScopeKind,
)
from govern.reviews import queries

# Below this many, a deadline revocation never waits for a human, whatever share of a small campaign it is.
MIN_HELD_REVOCATIONS = 5
MAX_NAME = 200
MAX_COMMENT = 500
MAX_REMINDER_HOURS = 24 * 30
PENDING = queries.PENDING_DECISIONS
Verdict = Literal["certify", "revoke"]


class NotYourReview(DomainError):
    status = 403
    title = "Not your review"


class AlreadyDecided(Conflict):
    title = "Already decided"


class AlreadyRemoved(Conflict):
    """The grant was revoked (or ended) outside the review; the item is closed as such, and that closing is kept."""

    title = "Access already removed"
    keeps_audit = True


class CampaignNotOpen(Conflict):
    title = "Campaign not open"


class OwnAccess(InvalidOperation):
    title = "Own access"


class NothingToReview(InvalidOperation):
    title = "Nothing to review"


@dataclass(frozen=True)
class ReviewSettings:
    """The review settings the service needs (from govern.config.Settings, or given directly in tests)."""

    on_deadline: DeadlineAction = DeadlineAction.REVOKE
    reminder_every_hours: int = 72
    mass_revocation_threshold: int = 25
    mass_revocation_percent: int = 25

    @classmethod
    def from_settings(cls, settings: Any) -> ReviewSettings:
        return cls(DeadlineAction(settings.review_on_deadline), settings.review_reminder_every_hours,
                   settings.review_mass_revocation_threshold, settings.review_mass_revocation_percent)

    def revocations_without_confirmation(self, campaign_size: int) -> int:
        """The most grants a deadline may revoke on its own: the threshold, or the percentage of the campaign if that
        is smaller, but never fewer than MIN_HELD_REVOCATIONS (unless the threshold itself is lower)."""
        share = math.floor(campaign_size * self.mass_revocation_percent / 100)
        return min(self.mass_revocation_threshold, max(MIN_HELD_REVOCATIONS, share))


@dataclass(frozen=True)
class Decider:
    """Who is deciding: their person (None for a console user or client linked to nobody) and whether they may
    decide any item (reviews:manage) rather than only those assigned to their person."""

    person_id: int | None
    manages: bool = False


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


_is_pending = queries.is_pending


def campaign_snapshot(campaign: ReviewCampaign) -> dict[str, Any]:
    return {"name": campaign.name, "scope_kind": campaign.scope_kind.value, "scope_value": campaign.scope_value,
            "status": campaign.status.value, "on_deadline": campaign.on_deadline.value, "deadline": campaign.deadline,
            "reminder_every_hours": campaign.reminder_every_hours}


def item_facts(item: ReviewItem) -> dict[str, Any]:
    return {"campaign_id": item.campaign_id, "grant_id": item.grant_id, "person_id": item.person_id,
            "account_id": item.account_id, "grant_role": item.grant_role, "reviewer_person_id": item.reviewer_person_id,
            "decision": item.decision.value if item.decision else None, "comment": item.comment}


# --- who reviews ------------------------------------------------------------------------------
def first_active(person: Person | None, *, skip_id: int | None = None) -> Person | None:
    """The person, or the first active one up their manager chain (skipping `skip_id`); None at the top."""
    seen: set[int] = set()
    while person is not None and person.id not in seen:
        seen.add(person.id)
        if person.status == PersonStatus.ACTIVE and person.id != skip_id:
            return person
        person = person.manager
    return None


def reviewer_for(account: SocialAccount, holder_id: int) -> int | None:
    """The account's owner, or their nearest active manager if they left; never the holder of the grant themselves
    (their own access goes to their manager). None: nobody is left, governance decides."""
    reviewer = first_active(account.owner)
    if reviewer is not None and reviewer.id == holder_id:
        reviewer = first_active(reviewer.manager, skip_id=holder_id)
    return reviewer.id if reviewer else None


def governance_people(session: Session) -> list[int]:
    """People behind the enabled governance console users: who is told about escalations and held campaigns."""
    query = select(ConsoleUser.person_id).where(
        ConsoleUser.role == Role.GOVERNANCE, ConsoleUser.disabled_at.is_(None), ConsoleUser.person_id.is_not(None),
    ).distinct()
    return sorted(session.scalars(query))


def _tell_governance(session: Session, campaign: ReviewCampaign, kind: str, message: str, **details: Any) -> None:
    for person_id in governance_people(session):
        notify(session, person_id, kind, "review_campaign", campaign.id, message, campaign=campaign.name, **details)


# --- opening ----------------------------------------------------------------------------------
def grants_in_scope(session: Session, scope_kind: ScopeKind, scope_value: str | None, moment: datetime) -> list[Grant]:
    """Every grant in force in the scope as objects: for small scopes and tests only (opening never loads them)."""
    query = (select(Grant).join(SocialAccount, SocialAccount.id == Grant.account_id)
             .where(Grant.is_effective_at(moment)).order_by(Grant.account_id, Grant.id))
    return list(session.scalars(queries.in_scope(query, scope_kind, scope_value)).unique())


def _checked_scope(session: Session, scope_kind: ScopeKind, scope_value: str | None) -> str | None:
    scope_value = (scope_value or "").strip() or None
    if scope_kind is ScopeKind.ALL:
        return None
    if scope_value is None:
        raise InvalidOperation(f"say which {scope_kind.value.replace('_', ' ')} the campaign covers")
    if scope_kind is ScopeKind.NETWORK and session.scalar(select(Network.id).where(Network.key == scope_value)) is None:
        raise InvalidOperation(f"there is no network {scope_value!r}")
    return scope_value


def request_campaign(
    session: Session, actor: Actor, config: ReviewSettings, *, name: str, scope_kind: ScopeKind, deadline: datetime,
    scope_value: str | None = None, on_deadline: DeadlineAction | None = None, reminder_every_hours: int | None = None,
) -> ReviewCampaign:
    """A campaign in the "opening" state, checked and audited: fill_campaign (a job) snapshots its items."""
    now = utcnow()
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidOperation(f"give the campaign a name of at most {MAX_NAME} characters")
    if deadline.tzinfo is None or deadline <= now:
        raise InvalidOperation("the deadline must be in the future")
    every = reminder_every_hours if reminder_every_hours is not None else config.reminder_every_hours
    if not 1 <= every <= MAX_REMINDER_HOURS:
        raise InvalidOperation(f"reminders go out every 1 to {MAX_REMINDER_HOURS} hours")
    scope_value = _checked_scope(session, scope_kind, scope_value)
    if session.scalar(queries.anything_in_scope(scope_kind, scope_value, now)) is None:
        raise NothingToReview("nobody has access to an account in this scope: there is nothing to review")
    campaign = ReviewCampaign(name=name, scope_kind=scope_kind, scope_value=scope_value, status=CampaignStatus.OPENING,
                              on_deadline=on_deadline or config.on_deadline, opened_by=actor.id, opened_at=now,
                              deadline=deadline, reminder_every_hours=every)
    session.add(campaign)
    session.flush()
    record(session, actor, "reviews:campaign:request", "review_campaign", campaign.id, after=campaign_snapshot(campaign))
    return campaign


def set_opening_job(session: Session, campaign: ReviewCampaign, job_id: str) -> None:
    """Remember which outbox job snapshots the campaign (written in the same transaction as the job itself)."""
    campaign.opening_job_id = job_id
    session.flush()


@dataclass(frozen=True)
class Opened:
    campaign_id: int
    items: int
    reviewers: int
    for_governance: int
    already_open: bool = False  # the job ran before (a redelivery): nothing was added

    def as_dict(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "items": self.items, "reviewers": self.reviewers,
                "for_governance": self.for_governance, "already_open": self.already_open}


def fill_campaign(session: Session, actor: Actor, campaign_id: int, now: datetime | None = None) -> Opened:
    """Snapshot every grant in force in the campaign's scope into items, reviewers resolved in the same statement
    (one INSERT ... SELECT), audit it with one event, and tell each reviewer once. Runs once: a campaign no longer
    opening is left as it is."""
    now = now or utcnow()
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.status is not CampaignStatus.OPENING:
        total = session.scalar(select(func.count()).where(ReviewItem.campaign_id == campaign.id)) or 0
        return Opened(campaign.id, total, 0, 0, already_open=True)
    snapshot = queries.snapshot(campaign.id, campaign.scope_kind, campaign.scope_value, now)
    on_postgresql = session.get_bind().dialect.name == "postgresql"
    if on_postgresql:
        # The snapshot reads the whole scope: hash joins are its plan at any size. Statistics left stale by a bulk
        # load made the planner expect 3 grants and nest loops: 22 s instead of 0.3 s at 70,000 grants.
        session.execute(text("SET LOCAL enable_nestloop = off"))
    session.execute(insert(ReviewItem).from_select(queries.SNAPSHOT_COLUMNS, snapshot))
    if on_postgresql:
        session.execute(text("RESET enable_nestloop"))
        # A bulk load of up to hundreds of thousands of rows: the pages read next should not be planned on the
        # statistics of an empty table while autovacuum catches up (it blocks neither reads nor writes).
        session.execute(text("ANALYZE review_items"))
    per_reviewer = session.execute(select(ReviewItem.reviewer_person_id, func.count()).where(
        ReviewItem.campaign_id == campaign.id).group_by(ReviewItem.reviewer_person_id)).all()
    counts = {reviewer: count for reviewer, count in per_reviewer if reviewer is not None}
    items = sum(count for _reviewer, count in per_reviewer)
    for_governance = items - sum(counts.values())
    campaign.status, campaign.snapshot_at = CampaignStatus.OPEN, now
    session.flush()
    record(session, actor, "reviews:campaign:open", "review_campaign", campaign.id, after=campaign_snapshot(campaign),
           items=items, reviewers=len(counts), for_governance=for_governance, snapshot_at=now)
    if not items:  # every grant in scope ended between the request and the job
        campaign.status, campaign.closed_at = CampaignStatus.CLOSED, now
        session.flush()
        record(session, actor, "reviews:campaign:close", "review_campaign", campaign.id,
               reason="nothing was in force in the scope any more when the campaign opened", progress=Progress().as_dict())
        return Opened(campaign.id, 0, 0, 0)
    _tell_reviewers(session, actor, campaign, counts, kind="access_review_requested")
    if for_governance:
        _tell_governance(session, campaign, "access_review_unassigned",
                         f"{for_governance} grant(s) in the access review '{campaign.name}' have no owner to review them: "
                         "governance decides them.", items=for_governance)
    return Opened(campaign.id, items, len(counts), for_governance)


def open_campaign(session: Session, actor: Actor, config: ReviewSettings, **fields: Any) -> ReviewCampaign:
    """Request and fill a campaign in one transaction: for callers without a job queue (the demo seed, tests)."""
    campaign = request_campaign(session, actor, config, **fields)
    fill_campaign(session, actor, campaign.id)
    return campaign


# --- reading ----------------------------------------------------------------------------------
def business_units(session: Session) -> list[str]:
    """The business units of the inventory, for choosing a campaign's scope."""
    query = select(SocialAccount.business_unit).where(SocialAccount.business_unit.is_not(None)).distinct()
    return sorted(session.scalars(query), key=str.casefold)


def get_campaign(session: Session, campaign_id: int, *, for_update: bool = False) -> ReviewCampaign:
    query = select(ReviewCampaign).where(ReviewCampaign.id == campaign_id)
    campaign = session.scalar(query.with_for_update() if for_update else query)
    if campaign is None:
        raise NotFound(f"review campaign {campaign_id} does not exist")
    return campaign


def list_campaigns(session: Session, status: CampaignStatus | None = None, limit: int = 200) -> list[ReviewCampaign]:
    query = select(ReviewCampaign).order_by(ReviewCampaign.opened_at.desc(), ReviewCampaign.id.desc())
    if status is not None:
        query = query.where(ReviewCampaign.status == status)
    return list(session.scalars(query.limit(limit)))


def progress_of(session: Session, campaign_ids: Iterable[int]) -> dict[int, Progress]:
    ids = list(campaign_ids)
    counts: dict[int, dict[str, int]] = {campaign_id: defaultdict(int) for campaign_id in ids}
    if ids:
        rows = session.execute(select(ReviewItem.campaign_id, ReviewItem.decision, func.count())
                               .where(ReviewItem.campaign_id.in_(ids)).group_by(ReviewItem.campaign_id, ReviewItem.decision))
        for campaign_id, decision, count in rows:
            counts[campaign_id][decision.value if decision else "undecided"] += count
    return {campaign_id: Progress(total=sum(c.values()), **c) for campaign_id, c in counts.items()}


REVIEWER_ROWS = 100  # a campaign page and its API document show this many reviewers, the busiest first


@dataclass(frozen=True)
class CampaignOverview:
    progress: Progress
    reviewers: list[ReviewerProgress]  # the `limit` with most waiting, governance last
    reviewers_total: int


def campaign_overview(session: Session, campaign_id: int, limit: int = REVIEWER_ROWS) -> CampaignOverview:
    """The campaign's progress, per reviewer and in all, from one GROUP BY over its items: per reviewer the counts of
    each decision; window sums over those groups give the campaign's figures and the number of reviewers, so the
    items are read once however many reviewers are shown."""
    def count_of(condition):
        return func.sum(case((condition, 1), else_=0))

    decided = {decision.value: count_of(ReviewItem.decision == decision).label(decision.value) for decision in ItemDecision}
    counts = (select(ReviewItem.reviewer_person_id.label("reviewer_id"), func.count().label("total"),
                     count_of(_is_pending()).label("pending"), *decided.values())
              .where(ReviewItem.campaign_id == campaign_id).group_by(ReviewItem.reviewer_person_id).subquery())
    in_all = [func.sum(counts.c[name]).over().label(f"all_{name}") for name in ("total", *decided)]
    query = (select(counts.c.reviewer_id, counts.c.total, counts.c.pending, Person, func.count().over().label("groups"),
                    *in_all)
             .outerjoin(Person, Person.id == counts.c.reviewer_id)
             .order_by(counts.c.reviewer_id.is_(None), counts.c.pending.desc(), Person.display_name, counts.c.reviewer_id)
             .limit(limit))
    rows = session.execute(query).all()
    if not rows:
        return CampaignOverview(Progress(), [], 0)
    first = rows[0]._mapping
    figures = {name: int(first[f"all_{name}"] or 0) for name in decided}
    total = int(first["all_total"] or 0)
    progress = Progress(total=total, undecided=total - sum(figures.values()), **figures)
    reviewers = [ReviewerProgress(row.Person, row.total, int(row.pending or 0)) for row in rows]
    return CampaignOverview(progress, reviewers, int(first["groups"]))


def reviewer_progress(session: Session, campaign_id: int, limit: int = REVIEWER_ROWS) -> list[ReviewerProgress]:
    """Per reviewer (None: governance): items and pending, most pending first."""
    return campaign_overview(session, campaign_id, limit).reviewers


def reviewer_count(session: Session, campaign_id: int) -> int:
    """How many reviewers (governance counted as one) a campaign has."""
    reviewers = select(ReviewItem.reviewer_person_id).where(ReviewItem.campaign_id == campaign_id).distinct().subquery()
    return session.scalar(select(func.count()).select_from(reviewers)) or 0


def _ordered(items: Iterable[ReviewItem]) -> list[ReviewItem]:
    return sorted(items, key=lambda i: (i.campaign.deadline, i.campaign_id, i.account.handle.casefold(), i.account_id,
                                        i.person.display_name.casefold(), i.id))


def campaign_items(session: Session, campaign_id: int) -> list[ReviewItem]:
    """Every item of a campaign as objects: for small campaigns and tests; pages use campaign_items_page."""
    return _ordered(session.scalars(select(ReviewItem).where(ReviewItem.campaign_id == campaign_id)).unique())


def campaign_items_page(session: Session, campaign_id: int, *, limit: int, cursor: str | None = None) -> Page[ReviewItem]:
    """One page of a campaign's items, account by account (keyset on account and item id)."""
    query = select(ReviewItem).where(ReviewItem.campaign_id == campaign_id)
    return paginate(session, query, "account", ReviewItem.account_id, ReviewItem.id, limit, cursor)


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
    # The grant (with its account, network and owner) in a second query by id: joined into the page query, the
    # planner nested a loop over every account for each of the page's rows (150 ms for 51 rows at 5,000 accounts).
    query = _items_for_query(decider, pending_only).options(selectinload(ReviewItem.grant))
    return paginate(session, query, "waiting", ReviewItem.settled, ReviewItem.id, limit, cursor)


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


# --- deciding ---------------------------------------------------------------------------------
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
    _settle(item, closing["decision"], closing["decided_by"], closing["decided_at"], closing["comment"])
    session.flush()
    record(session, actor, "reviews:item:removed_elsewhere", "review_item", item.id, **item_facts(item))


def reconcile(session: Session, actor: Actor, campaign: ReviewCampaign, now: datetime | None = None) -> int:
    """Close the waiting items whose grant was revoked, or ran out, outside the review: read as rows, updated by
    primary key in one batch, one audit event each written in one batch (an offboarding may close thousands)."""
    query = (select(ReviewItem.id, ReviewItem.campaign_id, ReviewItem.grant_id, ReviewItem.person_id,
                    ReviewItem.account_id, ReviewItem.grant_role, ReviewItem.reviewer_person_id, Grant.revoked_at,
                    Grant.revoked_by, Grant.revoke_reason, Grant.expires_at)
             .join(Grant, Grant.id == ReviewItem.grant_id)
             .where(ReviewItem.campaign_id == campaign.id, _is_pending(), not_(Grant.is_effective_at(now or utcnow())))
             .order_by(ReviewItem.id))
    rows = session.execute(query).all()
    if not rows:
        return 0
    closings = {row.id: _removed_elsewhere(row.revoked_at, row.revoked_by, row.revoke_reason, row.expires_at) for row in rows}
    session.execute(update(ReviewItem), [{"id": item_id, **closing} for item_id, closing in closings.items()])
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
        raise NotFound(f"review item {item_id} does not exist")
    if not decider.manages and (decider.person_id is None or decider.person_id != item.reviewer_person_id):
        raise NotYourReview(f"review item {item_id} is not yours to decide: only its reviewer or governance decides it")
    if item.campaign.status is CampaignStatus.CLOSED:
        raise CampaignNotOpen(f"the access review '{item.campaign.name}' is closed: nothing in it can be decided any more")
    if item.is_final:
        when = item.decided_at.strftime("%Y-%m-%d %H:%M UTC") if item.decided_at else "earlier"
        raise AlreadyDecided(f"this access was already decided ({item.decision.value}) by {item.decided_by} on {when}")
    return item


def decide_item(session: Session, actor: Actor, decider: Decider, item_id: int, verdict: Verdict,
                comment: str | None = None) -> ReviewItem:
    """Keep (certify) or remove (revoke, by the grants' receiver of review_removed_grant) one grant; both audited with
    the item change."""
    item = _pending_item(session, decider, item_id)
    now = utcnow()
    if not item.grant.is_effective_at(now):
        _close_removed_elsewhere(session, actor, item)
        _close_if_complete(session, actor, item.campaign, now)
        raise AlreadyRemoved(f"this access was already removed outside the review (by {item.decided_by}); "
                             "nothing more to decide")
    comment = (comment or "").strip()[:MAX_COMMENT] or None
    campaign = item.campaign
    if verdict == "certify":
        if decider.person_id is not None and decider.person_id == item.person_id:
            raise OwnAccess("you cannot certify your own access: your manager or governance reviews it")
        _settle(item, ItemDecision.CERTIFIED, actor.id, now, comment)
        session.flush()
        record(session, actor, "reviews:item:certify", "review_item", item.id, **item_facts(item))
    elif verdict == "revoke":
        if comment is None:
            raise InvalidOperation("say briefly why this access is removed")
        signals.review_removed_grant.send(session, actor=actor, grant_id=item.grant_id,
                                          reason=f"access review {campaign.id} ({campaign.name}): {comment}")
        _settle(item, ItemDecision.REVOKED, actor.id, now, comment)
        session.flush()
        record(session, actor, "reviews:item:revoke", "review_item", item.id, **item_facts(item))
    else:
        raise InvalidOperation(f"decide 'certify' or 'revoke', not {verdict!r}")
    _close_if_complete(session, actor, campaign, now)
    return item


# --- reminders --------------------------------------------------------------------------------
def _reminder_text(campaign: ReviewCampaign, count: int) -> str:
    deadline = campaign.deadline.strftime("%Y-%m-%d %H:%M UTC")
    return (f"Access review '{campaign.name}': please check who may act on your accounts ({count} to review) "
            f"by {deadline}.")


def _tell_reviewers(session: Session, actor: Actor, campaign: ReviewCampaign, counts: dict[int, int],
                    kind: str = "access_review_reminder") -> int:
    """One notification and one audit event per reviewer, written in bulk (a campaign has thousands of reviewers).
    A reviewer who has left since is told through notify(), which finds their manager."""
    if not counts:
        return 0
    active = set(session.scalars(select(Person.id).where(
        Person.id.in_(select(ReviewItem.reviewer_person_id).where(ReviewItem.campaign_id == campaign.id).distinct()),
        Person.status == PersonStatus.ACTIVE)))
    now, details = utcnow(), {"deadline": campaign.deadline.isoformat()}
    rows = [{"person_id": reviewer, "kind": kind, "subject_type": "review_campaign", "subject_id": str(campaign.id),
             "message": _reminder_text(campaign, count), "details": {"items": count, **details}, "created_at": now}
            for reviewer, count in sorted(counts.items()) if reviewer in active]
    created = session.execute(insert(Notification).returning(Notification.id, Notification.person_id), rows).all() if rows else []
    record_many(session, NOTIFICATIONS, [
        EventSpec("notifications:notification:create", "person", person_id,
                  details={"notification_id": notification_id, "kind": kind, "subject": ["review_campaign", str(campaign.id)]})
        for notification_id, person_id in created])
    for reviewer, count in sorted(counts.items()):
        if reviewer not in active:
            notify(session, reviewer, kind, "review_campaign", campaign.id, _reminder_text(campaign, count), items=count,
                   **details)
    record_many(session, actor, [
        EventSpec("reviews:campaign:remind", "review_campaign", campaign.id,
                  details={"reviewer_person_id": reviewer, "items": count, "kind": kind})
        for reviewer, count in sorted(counts.items())])
    return len(counts)


def send_reminders(session: Session, actor: Actor, now: datetime | None = None) -> int:
    """Remind each reviewer with waiting items, at most once per campaign's reminder_every_hours; how many were sent.
    Who is due is one GROUP BY per campaign, and marking their items reminded one UPDATE."""
    now = now or utcnow()
    sent = 0
    running = session.scalars(select(ReviewCampaign).where(ReviewCampaign.status == CampaignStatus.OPEN,
                                                           ReviewCampaign.deadline > now).order_by(ReviewCampaign.id))
    for campaign in list(running):
        reconcile(session, actor, campaign, now)
        last = func.max(ReviewItem.last_reminded_at)
        due = (select(ReviewItem.reviewer_person_id, func.count())
               .where(ReviewItem.campaign_id == campaign.id, ReviewItem.decision.is_(None),
                      ReviewItem.reviewer_person_id.is_not(None))
               .group_by(ReviewItem.reviewer_person_id)
               .having(or_(last.is_(None), last <= now - timedelta(hours=campaign.reminder_every_hours))))
        counts = dict(session.execute(due).all())
        if not counts:
            continue
        session.execute(update(ReviewItem).where(
            ReviewItem.campaign_id == campaign.id, ReviewItem.decision.is_(None),
            ReviewItem.reviewer_person_id.in_(due.with_only_columns(ReviewItem.reviewer_person_id)),
        ).values(last_reminded_at=now).execution_options(synchronize_session=False))
        sent += _tell_reviewers(session, actor, campaign, counts)
    return sent


# --- the deadline -----------------------------------------------------------------------------
def _undecided(session: Session, campaign: ReviewCampaign) -> list[ReviewItem]:
    query = select(ReviewItem).where(ReviewItem.campaign_id == campaign.id, ReviewItem.decision.is_(None)).order_by(ReviewItem.id)
    return list(session.scalars(query).unique())


def _revoke_unreviewed(session: Session, actor: Actor, campaign: ReviewCampaign, items: Sequence[ReviewItem], now: datetime) -> None:
    for item in items:
        signals.review_removed_grant.send(session, actor=actor, grant_id=item.grant_id,
                                          reason=f"access review {campaign.id} ({campaign.name}): not reviewed by the deadline")
        _settle(item, ItemDecision.REVOKED_AT_DEADLINE, actor.id, now, None)
        session.flush()
        record(session, actor, "reviews:item:revoke", "review_item", item.id, **item_facts(item))


def _escalate(session: Session, actor: Actor, campaign: ReviewCampaign, now: datetime) -> int:
    """Every undecided item goes to governance in one UPDATE; each keeps its former reviewer, and one event counts
    them per former reviewer."""
    undecided = (ReviewItem.campaign_id == campaign.id, ReviewItem.decision.is_(None))
    by_reviewer = session.execute(select(ReviewItem.reviewer_person_id, func.count()).where(*undecided)
                                  .group_by(ReviewItem.reviewer_person_id)).all()
    escalated = sum(count for _reviewer, count in by_reviewer)
    if not escalated:
        return 0
    session.execute(update(ReviewItem).where(*undecided).values(
        escalated_from_person_id=ReviewItem.reviewer_person_id, reviewer_person_id=None, decision=ItemDecision.ESCALATED,
        decided_by=actor.id, decided_at=now, comment=None).execution_options(synchronize_session=False))
    session.expire_all()  # the items loaded before the UPDATE show it
    record(session, actor, "reviews:campaign:escalate", "review_campaign", campaign.id, items=escalated,
           previous_reviewers={str(reviewer) if reviewer else "governance": count for reviewer, count in by_reviewer})
    _tell_governance(session, campaign, "access_review_escalated",
                     f"{escalated} grant(s) in the access review '{campaign.name}' were not reviewed by the deadline: "
                     "governance decides them now.", items=escalated)
    return escalated


def process_deadline(session: Session, actor: Actor, config: ReviewSettings, campaign_id: int,
                     now: datetime | None = None) -> ReviewCampaign:
    """Past the deadline, unreviewed items are revoked or escalated, as the campaign says. A revocation of more than
    config.revocations_without_confirmation(...) grants is not made: the campaign is held for a governance user."""
    now = now or utcnow()
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.status is not CampaignStatus.OPEN:
        raise CampaignNotOpen(f"the access review '{campaign.name}' is {campaign.status.value}, not open")
    if campaign.deadline > now:
        raise InvalidOperation("the deadline has not passed yet; close the campaign early instead if it must end now")
    reconcile(session, actor, campaign, now)
    if campaign.on_deadline is DeadlineAction.ESCALATE:
        _escalate(session, actor, campaign, now)
    else:
        size, waiting = session.execute(select(func.count(), func.count().filter(ReviewItem.decision.is_(None)))
                                        .where(ReviewItem.campaign_id == campaign.id)).one()
        limit = config.revocations_without_confirmation(size)
        if waiting > limit:  # counted, never loaded: a held campaign may have hundreds of thousands waiting
            campaign.status = CampaignStatus.HELD
            session.flush()
            record(session, actor, "reviews:campaign:hold", "review_campaign", campaign.id, would_revoke=waiting,
                   limit=limit, items=size)
            _tell_governance(session, campaign, "access_review_held",
                             f"The access review '{campaign.name}' would revoke {waiting} grants at its deadline: "
                             "confirm the revocation or extend the deadline.", would_revoke=waiting)
            return campaign
        _revoke_unreviewed(session, actor, campaign, _undecided(session, campaign), now)
    _close_if_complete(session, actor, campaign, now)
    return campaign


def process_due_deadlines(session: Session, actor: Actor, config: ReviewSettings, now: datetime | None = None) -> dict[str, int]:
    """Every open campaign past its deadline with items nobody decided: revoked, escalated or held."""
    now = now or utcnow()
    due = session.scalars(select(ReviewCampaign.id).where(
        ReviewCampaign.status == CampaignStatus.OPEN, ReviewCampaign.deadline <= now,
        ReviewCampaign.id.in_(select(ReviewItem.campaign_id).where(ReviewItem.decision.is_(None))),
    ).order_by(ReviewCampaign.id))
    outcome: dict[str, int] = defaultdict(int)
    for campaign_id in list(due):
        outcome[process_deadline(session, actor, config, campaign_id, now).status.value] += 1
    return dict(outcome)


def approve_held(session: Session, actor: Actor, campaign_id: int) -> ReviewCampaign:
    """A governance user confirms a held mass revocation: every item still unreviewed is revoked now."""
    now = utcnow()
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.status is not CampaignStatus.HELD:
        raise CampaignNotOpen(f"the access review '{campaign.name}' is {campaign.status.value}, not held for approval")
    reconcile(session, actor, campaign, now)
    unreviewed = _undecided(session, campaign)
    record(session, actor, "reviews:campaign:approve", "review_campaign", campaign.id, revoking=len(unreviewed))
    _revoke_unreviewed(session, actor, campaign, unreviewed, now)
    _close_if_complete(session, actor, campaign, now)
    return campaign


def extend_deadline(session: Session, actor: Actor, campaign_id: int, deadline: datetime) -> ReviewCampaign:
    """A new deadline for an open or held campaign; a held one opens again and its reviewers can still decide."""
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.status is CampaignStatus.CLOSED:
        raise CampaignNotOpen(f"the access review '{campaign.name}' is closed")
    if deadline.tzinfo is None or deadline <= utcnow():
        raise InvalidOperation("the new deadline must be in the future")
    before = campaign_snapshot(campaign)
    campaign.deadline = deadline
    if campaign.status is CampaignStatus.HELD:
        campaign.status = CampaignStatus.OPEN
    session.flush()
    record(session, actor, "reviews:campaign:extend", "review_campaign", campaign.id, before=before,
           after=campaign_snapshot(campaign))
    return campaign


def close_campaign(session: Session, actor: Actor, campaign_id: int, reason: str | None = None) -> ReviewCampaign:
    """Close early: nothing is revoked; items nobody decided stay undecided (the record shows how many)."""
    now = utcnow()
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.status is CampaignStatus.CLOSED:
        raise CampaignNotOpen(f"the access review '{campaign.name}' is already closed")
    reconcile(session, actor, campaign, now)
    campaign.status, campaign.closed_at = CampaignStatus.CLOSED, now
    session.flush()
    record(session, actor, "reviews:campaign:close", "review_campaign", campaign.id,
           reason=(reason or "").strip()[:MAX_COMMENT] or "closed early",
           progress=progress_of(session, [campaign.id])[campaign.id].as_dict())
    return campaign
