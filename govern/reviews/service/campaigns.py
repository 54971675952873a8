"""Access review campaigns: who reviews, opening one over a scope, reminders, and what the deadline does."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import Network, SocialAccount
from govern.actor import Actor
from govern.audit.service import EventSpec, record, record_many
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.db import utcnow
from govern.errors import InvalidOperation
from govern.grants.models import Grant
from govern.notifications.models import Notification
from govern.notifications.service import SYSTEM as NOTIFICATIONS, notify
from govern.people.models import Person, PersonStatus
from govern.reviews.models import (
    GOVERNANCE_KEY, CampaignStatus, DeadlineAction, ItemDecision, ReviewCampaign, ReviewItem, ReviewProgress, ScopeKind,
)
from govern.reviews import queries
from govern.reviews.service import tally
from govern.reviews.service.common import (
    MAX_COMMENT, MAX_NAME, MAX_REMINDER_HOURS, AllUnderReview, CampaignNotOpen, NothingToReview, ReviewSettings, campaign_snapshot,
    item_facts,
)
from govern.reviews.service.decisions import _close_if_complete, _settle, reconcile
from govern.reviews.service.progress import Progress, get_campaign, progress_of


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
        raise InvalidOperation("say which %(value)s the campaign covers", value=scope_kind.value.replace('_', ' '))
    if scope_kind is ScopeKind.NETWORK and session.scalar(select(Network.id).where(Network.key == scope_value)) is None:
        raise InvalidOperation("there is no network %(scope_value)s", scope_value=f"{scope_value!r}")
    return scope_value


def request_campaign(
    session: Session, actor: Actor, config: ReviewSettings, *, name: str, scope_kind: ScopeKind, deadline: datetime,
    scope_value: str | None = None, on_deadline: DeadlineAction | None = None, reminder_every_hours: int | None = None,
) -> ReviewCampaign:
    """A campaign in the "opening" state, checked and audited: fill_campaign (a job) snapshots its items."""
    now = utcnow()
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidOperation("give the campaign a name of at most %(MAX_NAME)s characters", MAX_NAME=MAX_NAME)
    if deadline.tzinfo is None or deadline <= now:
        raise InvalidOperation("the deadline must be in the future")
    every = reminder_every_hours if reminder_every_hours is not None else config.reminder_every_hours
    if not 1 <= every <= MAX_REMINDER_HOURS:
        raise InvalidOperation("reminders go out every 1 to %(MAX_REMINDER_HOURS)s hours", MAX_REMINDER_HOURS=MAX_REMINDER_HOURS)
    scope_value = _checked_scope(session, scope_kind, scope_value)
    if session.scalar(queries.anything_in_scope(scope_kind, scope_value, now)) is None:
        if session.scalar(queries.overlapping(scope_kind, scope_value, now).limit(1)) is not None:
            raise AllUnderReview("every access in this scope is already waiting for a decision in a running campaign: "
                                 "there is nothing new to review")
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
    tally.recount(session, campaign.id)
    per_reviewer = session.execute(select(ReviewProgress.reviewer_key, ReviewProgress.undecided)
                                   .where(ReviewProgress.campaign_id == campaign.id)).all()
    counts = {reviewer: count for reviewer, count in per_reviewer if reviewer != GOVERNANCE_KEY}
    items = sum(count for _reviewer, count in per_reviewer)
    for_governance = items - sum(counts.values())
    campaign.status, campaign.snapshot_at = CampaignStatus.OPEN, now
    session.flush()
    skipped = sum(count for _campaign, count in session.execute(
        queries.overlapping(campaign.scope_kind, campaign.scope_value, now).where(ReviewItem.campaign_id != campaign.id)))
    record(session, actor, "reviews:campaign:open", "review_campaign", campaign.id, after=campaign_snapshot(campaign),
           items=items, reviewers=len(counts), for_governance=for_governance, snapshot_at=now,
           already_under_review=skipped)
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
    moves: Counter[tally.Move] = Counter()
    for item in items:
        signals.review_removed_grant.send(session, actor=actor, grant_id=item.grant_id,
                                          reason=f"access review {campaign.id} ({campaign.name}): not reviewed by the deadline")
        moves[item.reviewer_person_id, item.decision, item.reviewer_person_id, ItemDecision.REVOKED_AT_DEADLINE] += 1
        _settle(item, ItemDecision.REVOKED_AT_DEADLINE, actor.id, now, None)
        session.flush()
        record(session, actor, "reviews:item:revoke", "review_item", item.id, **item_facts(item))
    tally.moved(session, campaign.id, moves)


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
    tally.moved(session, campaign.id, {(reviewer, None, None, ItemDecision.ESCALATED): count for reviewer, count in by_reviewer})
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
        raise CampaignNotOpen("the access review '%(name)s' is %(value)s, not open", name=campaign.name, value=campaign.status.value)
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
        raise CampaignNotOpen("the access review '%(name)s' is %(value)s, not held for approval", name=campaign.name, value=campaign.status.value)
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
        raise CampaignNotOpen("the access review '%(name)s' is closed", name=campaign.name)
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
        raise CampaignNotOpen("the access review '%(name)s' is already closed", name=campaign.name)
    reconcile(session, actor, campaign, now)
    campaign.status, campaign.closed_at = CampaignStatus.CLOSED, now
    session.flush()
    record(session, actor, "reviews:campaign:close", "review_campaign", campaign.id,
           reason=(reason or "").strip()[:MAX_COMMENT] or "closed early",
           progress=progress_of(session, [campaign.id])[campaign.id].as_dict())
    return campaign
