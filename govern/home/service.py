"""The home page's figures: what waits for the signed-in user, and the posture at a glance.

Every figure is one bounded query (a COUNT or a GROUP BY, or rows bounded by a short period), never a read of a whole
table: the home page is the first page everyone opens, at 230,000 grants as at 20.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from govern.accounts.models import AccountStatus, SocialAccount
from govern.auth.roles import Permission
from govern.broker.models import NEEDING_RECONNECT, AccountConnection, ConnectionHealth
from govern.credentials.models import LegacyCredential
from govern.db import utcnow
from govern.directory.models import Departure, OffboardingTask, SyncRun, SyncStatus
from govern.grants.models import Grant
from govern.people.models import Person, PersonStatus
from govern.policy.workflow_models import PolicyViolation, ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from govern.reviews import service as reviews
from govern.reviews.models import CampaignStatus

# --- what waits for the user ---------------------------------------------------------------------


def in_service():
    """Retired accounts are history: they wait for nobody and count in no chart."""
    return SocialAccount.status != AccountStatus.RETIRED


@dataclass(frozen=True)
class Todo:
    """One kind of work waiting: `key` names it (the page shows its words and link), `count` how many wait."""

    key: str
    count: int


def todos(session: Session, permissions: Collection[Permission], person_id: int | None) -> list[Todo]:
    """What the user may act on and how much of it waits, in the order the home page lists it. Work the user has no
    permission to act on is left out altogether (not shown as zero)."""
    found: list[Todo] = []
    if Permission.POLICY_DECIDE in permissions:
        found.append(Todo("approvals", _count(session, select(func.count()).select_from(PublishApproval)
                                                .where(PublishApproval.status == ApprovalStatus.PENDING))))
    if Permission.REVIEWS_RESPOND in permissions and person_id is not None:
        found.append(Todo("reviews", sum(reviews.waiting_counts(session, reviews.Decider(person_id)).values())))
    if Permission.REVIEWS_MANAGE in permissions:
        found.append(Todo("escalated", sum(reviews.waiting_counts(session, reviews.Decider(None, manages=True)).values())))
    if Permission.POLICY_DECIDE in permissions:
        by_status = dict(session.execute(
            select(PolicyViolation.status, func.count())
            .where(PolicyViolation.status.in_((ViolationStatus.OPEN, ViolationStatus.ASSIGNED)))
            .group_by(PolicyViolation.status)).all())
        found.append(Todo("violations_open", by_status.get(ViolationStatus.OPEN, 0)))
        found.append(Todo("violations_assigned", by_status.get(ViolationStatus.ASSIGNED, 0)))
    if Permission.DIRECTORY_DECIDE in permissions:
        found.append(Todo("held_runs", _count(session, select(func.count()).select_from(SyncRun)
                                                .where(SyncRun.status == SyncStatus.HELD))))
    if Permission.ACCOUNTS_CONNECT in permissions:
        found.append(Todo("reconnect", _count(session, select(func.count()).select_from(AccountConnection)
                                                .join(SocialAccount, SocialAccount.id == AccountConnection.account_id)
                                                .where(AccountConnection.health.in_(NEEDING_RECONNECT),
                                                       in_service()))))
    return found


def _count(session: Session, query) -> int:
    return int(session.scalar(query) or 0)


# --- the posture at a glance ---------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """A chart's figures: (key, value) pairs in the order they are drawn; the page turns keys into words."""

    key: str
    bars: list[tuple[str, float]]
    threshold: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(value for _key, value in self.bars)


HEALTH_ORDER = ("healthy", "expiring", "needs_reconnect", "revoked", "not_connected")


def accounts_by_health(session: Session) -> Measure:
    rows = session.execute(
        select(AccountConnection.health, func.count())
        .select_from(SocialAccount).outerjoin(AccountConnection, AccountConnection.account_id == SocialAccount.id)
        .where(in_service()).group_by(AccountConnection.health)).all()
    counts = {(h.value if h is not None else "not_connected"): n for h, n in rows}
    return Measure("health", [(key, counts.get(key, 0)) for key in HEALTH_ORDER])


# The accounts report's risk formula (reports/builders/accounts.py, documented in docs/reports.md), as one SQL sum
# per account grouped into bands, so the home page reads three numbers instead of every account.
EXPIRY_HORIZON = timedelta(days=14)
HEALTH_POINTS = {ConnectionHealth.HEALTHY: 0, ConnectionHealth.EXPIRING: 1, ConnectionHealth.NEEDS_RECONNECT: 2,
                 ConnectionHealth.REVOKED: 3}
OPEN_VIOLATION_CAP = 3
BANDS = ("low", "medium", "high")


def token_forecast():
    """When a connection stops working unless someone reconnects: the refresh token's end, else the access token's."""
    return case((AccountConnection.has_refresh_token.is_(True), AccountConnection.refresh_expires_at),
                else_=AccountConnection.expires_at)


def accounts_by_risk(session: Session, now: datetime | None = None) -> Measure:
    moment = now or utcnow()
    owner, connector = aliased(Person), aliased(Person)
    open_violations = (select(PolicyViolation.account_id, func.count().label("open"))
                       .where(PolicyViolation.status.in_((ViolationStatus.OPEN, ViolationStatus.ASSIGNED)))
                       .group_by(PolicyViolation.account_id).subquery())
    rotation_due = exists().where(LegacyCredential.account_id == SocialAccount.id, LegacyCredential.rotate_now.is_(True))
    connected = AccountConnection.id.is_not(None)
    forecast = token_forecast()
    score = (
        case((or_(SocialAccount.owner_id.is_(None), owner.status != PersonStatus.ACTIVE), 3), else_=0)
        + case((SocialAccount.status == AccountStatus.UNMANAGED, 2), else_=0)
        + case((and_(~connected, SocialAccount.status == AccountStatus.ACTIVE), 2), else_=0)
        + case(*((AccountConnection.health == health, points) for health, points in HEALTH_POINTS.items()), else_=0)
        + case((and_(connected, forecast.is_not(None), forecast <= moment + EXPIRY_HORIZON,
                     AccountConnection.health.in_((ConnectionHealth.HEALTHY, ConnectionHealth.EXPIRING))), 1), else_=0)
        + case((and_(connected, connector.id.is_not(None), connector.status != PersonStatus.ACTIVE), 3),
               (and_(connected, AccountConnection.connector_is_personal.is_(True)), 1), else_=0)
        + case((open_violations.c.open > OPEN_VIOLATION_CAP, OPEN_VIOLATION_CAP), else_=func.coalesce(open_violations.c.open, 0))
        + case((rotation_due, 2), else_=0)
    )
    band = case((score == 0, "low"), (score <= 3, "medium"), else_="high").label("band")
    scored = (select(band)
              .select_from(SocialAccount)
              .outerjoin(owner, owner.id == SocialAccount.owner_id)
              .outerjoin(AccountConnection, AccountConnection.account_id == SocialAccount.id)
              .outerjoin(connector, connector.id == AccountConnection.connector_person_id)
              .outerjoin(open_violations, open_violations.c.account_id == SocialAccount.id)
              .where(in_service()).subquery())
    counts = dict(session.execute(select(scored.c.band, func.count()).group_by(scored.c.band)).all())
    return Measure("risk", [(name, counts.get(name, 0)) for name in BANDS])


EXPIRY_WEEKS = (("days_0_7", 7), ("days_8_14", 14), ("days_15_21", 21), ("days_22_30", 30))


def tokens_expiring(session: Session, now: datetime | None = None) -> Measure:
    """Connections whose token stops working in the next 30 days, by week (already expired ones are in the health
    chart as needing a reconnect)."""
    moment = now or utcnow()
    forecast = token_forecast()
    week = case(*((forecast <= moment + timedelta(days=days), key) for key, days in EXPIRY_WEEKS), else_=None).label("week")
    rows = session.execute(
        select(week, func.count())
        .select_from(AccountConnection).join(SocialAccount, SocialAccount.id == AccountConnection.account_id)
        .where(in_service(), forecast > moment, forecast <= moment + timedelta(days=30))
        .group_by(week)).all()
    counts = dict(rows)
    return Measure("expiring", [(key, counts.get(key, 0)) for key, _days in EXPIRY_WEEKS])


VIOLATION_WEEKS = 8
CATEGORIES = ("privacy", "confidentiality", "copyright", "brand")


def open_violations_by_category(session: Session, now: datetime | None = None) -> Measure:
    """Violations still open or assigned that were found in the last 8 weeks, by the categories of their findings
    (a violation with findings in two categories counts in both); by week found and category (extra["weeks"]) and by
    week found alone (extra["per_week"], each violation once), oldest week first."""
    moment = now or utcnow()
    since = moment - timedelta(weeks=VIOLATION_WEEKS)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        finding = func.json_array_elements(PolicyViolation.findings).table_valued("value").lateral("finding")
        category = finding.c.value.op("->>")(literal("category"))
    else:  # SQLite (make run's default): json_each reads the row it is joined to, and knows no LATERAL
        finding = func.json_each(PolicyViolation.findings).table_valued("value").alias("finding")
        category = func.json_extract(finding.c.value, "$.category")
    week = case(*((PolicyViolation.detected_at < since + timedelta(weeks=n + 1), n) for n in range(VIOLATION_WEEKS - 1)),
                else_=VIOLATION_WEEKS - 1).label("week")
    category = category.label("category")
    open_recently = and_(PolicyViolation.status.in_((ViolationStatus.OPEN, ViolationStatus.ASSIGNED)),
                         PolicyViolation.detected_at >= since)
    rows = session.execute(
        select(week, category, func.count(PolicyViolation.id.distinct()))
        .select_from(PolicyViolation).join(finding, literal(True))
        .where(open_recently).group_by(week, category)).all()
    found = dict(session.execute(select(week, func.count()).where(open_recently).group_by(week)).all())
    by_category: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    weeks: list[dict[str, int]] = [dict.fromkeys(CATEGORIES, 0) for _ in range(VIOLATION_WEEKS)]
    for n, name, count in rows:
        name = str(name or "other")
        by_category[name] = by_category.get(name, 0) + count
        weeks[int(n)][name] = weeks[int(n)].get(name, 0) + count
    starts = [since + timedelta(weeks=n) for n in range(VIOLATION_WEEKS)]
    return Measure("violations", list(by_category.items()),
                   extra={"weeks": list(zip(starts, weeks)), "per_week": [(start, found.get(n, 0)) for n, start in enumerate(starts)]})


LEAVER_DAYS = 90
REVOKE_BUCKETS = ("within_sla", "late", "still_has_access")


def _removals(session: Session, since: datetime, until: datetime) -> dict[tuple[str, int], list]:
    """Per leaver of the period, as the leavers report counts them (reports/builders/leavers.py): [start, last removal,
    removals still to do], from the grants they held when they left and their offboarding tasks. Leavers without a
    departure record (people.status = leaver) start at people.left_at. A few grouped queries, one row per leaver."""
    started = func.coalesce(Departure.directory_changed_at, Departure.first_seen_at)
    in_period = and_(started >= since, started < until)
    still = lambda done_at: func.sum(case((done_at.is_(None), 1), else_=0))  # noqa: E731
    grants_of_departures = (
        select(literal("d"), Departure.id, started, func.max(Grant.revoked_at), still(Grant.revoked_at))
        .join(Grant, Grant.person_id == Departure.person_id)
        .where(in_period, or_(Grant.revoked_at.is_(None), Grant.revoked_at >= started))
        .group_by(Departure.id, started))
    tasks_of_departures = (
        select(literal("d"), Departure.id, started, func.max(OffboardingTask.done_at), still(OffboardingTask.done_at))
        .join(OffboardingTask, OffboardingTask.departure_id == Departure.id)
        .where(in_period).group_by(Departure.id, started))
    unrecorded = (
        select(literal("p"), Person.id, Person.left_at, func.max(Grant.revoked_at), still(Grant.revoked_at))
        .join(Grant, Grant.person_id == Person.id)
        .where(Person.status == PersonStatus.LEAVER, Person.left_at >= since, Person.left_at < until,
               ~exists().where(Departure.person_id == Person.id),
               or_(Grant.revoked_at.is_(None), Grant.revoked_at >= Person.left_at))
        .group_by(Person.id, Person.left_at))
    leavers: dict[tuple[str, int], list] = {}
    for query in (grants_of_departures, tasks_of_departures, unrecorded):
        for kind, key, start, last_removed, to_do in session.execute(query):
            seen = leavers.setdefault((kind, key), [start, None, 0])
            seen[1] = max((t for t in (seen[1], last_removed) if t is not None), default=None)
            seen[2] += int(to_do or 0)
    return leavers


def leavers_time_to_revoke(session: Session, sla_hours: float, now: datetime | None = None) -> Measure:
    """Leavers of the last 90 days who held access when they left: whose access all went within the SLA, later, or
    not yet (the leavers report's figures for that period)."""
    moment = now or utcnow()
    counts = dict.fromkeys(REVOKE_BUCKETS, 0)
    hours_taken: list[float] = []
    for start, last_removed, to_do in _removals(session, moment - timedelta(days=LEAVER_DAYS), moment).values():
        if to_do:
            counts["still_has_access"] += 1
            continue
        hours = max(0.0, (last_removed - start).total_seconds() / 3600)
        hours_taken.append(hours)
        counts["within_sla" if hours <= sla_hours else "late"] += 1
    return Measure("leavers", list(counts.items()), threshold=sla_hours,
                   extra={"sla_hours": sla_hours, "slowest_hours": round(max(hours_taken), 1) if hours_taken else None})


OPEN_CAMPAIGNS_SHOWN = 8


def review_progress(session: Session) -> Measure:
    """The share decided of each running campaign (at most 8, the newest), from the campaigns' kept tallies."""
    campaigns = [c for c in reviews.list_campaigns(session, CampaignStatus.OPEN, limit=OPEN_CAMPAIGNS_SHOWN)]
    progress = reviews.progress_of(session, [c.id for c in campaigns])
    return Measure("reviews", [(c.name, progress[c.id].percent) for c in campaigns],
                   extra={"campaigns": [(c, progress[c.id]) for c in campaigns]})


@dataclass(frozen=True)
class Posture:
    measures: list[Measure]


def posture(session: Session, permissions: Collection[Permission], sla_hours: float, now: datetime | None = None) -> Posture:
    """The charts the user may read (each needs the permission of the page its figures come from)."""
    moment = now or utcnow()
    measures: list[Measure] = []
    if Permission.ACCOUNTS_READ in permissions:
        measures += [accounts_by_health(session), accounts_by_risk(session, moment), tokens_expiring(session, moment)]
    if Permission.POLICY_REVIEW in permissions:
        measures.append(open_violations_by_category(session, moment))
    if Permission.PEOPLE_READ in permissions:
        measures.append(leavers_time_to_revoke(session, sla_hours, moment))
    if Permission.REVIEWS_READ in permissions:
        measures.append(review_progress(session))
    return Posture(measures)
