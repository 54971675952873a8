"""Inbound volume per account and hour, the spike rule, crisis keywords, raising alerts to the owner, acknowledging."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog
from sqlalchemy import Select, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload

from govern import signals
from govern.accounts.models import SocialAccount
from govern.actor import Actor
from govern.alerts.lexicon import Lexicon, LexiconError, load
from govern.alerts.models import Alert, AlertCooldown, AlertKind, AlertStatus, InboundItemSeen, InboundVolume
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import Conflict, NotFound
from govern.notifications.service import notify
from govern.pagination import Page, paginate

log = structlog.get_logger(__name__)

SYSTEM = Actor.system("alerts")
WINDOW_HOURS = 12  # the trailing hours the current hour is compared with
KEYWORD_MAX_AGE = timedelta(hours=24)  # an older comment read for the first time (a new connection) raises no alert
SEEN_KEPT = timedelta(days=7)  # items older than this are neither counted nor checked, so pruning cannot recount them
VOLUME_KEPT = timedelta(days=14)
EXCERPT_CHARS = 200


@dataclass(frozen=True)
class AlertRules:
    spike_multiple: float = 3.0
    spike_min_volume: int = 20
    spike_cooldown: timedelta = timedelta(hours=2)
    keyword_cooldown: timedelta = timedelta(hours=2)
    lexicon: Lexicon | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> AlertRules:
        """The configured thresholds and lexicon; a lexicon that does not load stops keyword alerts only (logged)."""
        try:
            lexicon = load(settings.alerts_keywords_file)
        except LexiconError as exc:
            log.error("crisis_keywords_not_loaded", error=str(exc))
            lexicon = None
        return cls(settings.alerts_spike_multiple, settings.alerts_spike_min_volume,
                   timedelta(minutes=settings.alerts_spike_cooldown_minutes),
                   timedelta(minutes=settings.alerts_keyword_cooldown_minutes), lexicon)


@dataclass(frozen=True)
class InboundItem:
    kind: str  # "comment" or "message"
    external_id: str
    text: str = ""
    created_at: datetime | None = None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> InboundItem:
        return cls(str(document.get("kind") or "comment")[:32], str(document["id"])[:255],
                   str(document.get("text") or ""), _moment(document.get("created_at")))

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.external_id}"


@dataclass
class InboundOutcome:
    new_items: int = 0
    counted: int = 0
    alerts: list[Alert] = field(default_factory=list)


@dataclass(frozen=True)
class AlertFilter:
    account_id: int | None = None
    kind: AlertKind | None = None
    status: AlertStatus | None = None


def _moment(value: Any) -> datetime | None:
    """A network's timestamp (ISO 8601, with Z or an offset; naive is UTC); anything else is unknown."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


# --- counting ---------------------------------------------------------------------------------------
def record_inbound(session: Session, rules: AlertRules, account_id: int, items: list[InboundItem],
                   now: datetime | None = None) -> InboundOutcome:
    """Count the items not counted before into their hour, check the spike rule, check new items for crisis keywords.

    Called (through the inbound_items_read signal) by every scan of the account, in the scan's transaction."""
    now = now or utcnow()
    outcome = InboundOutcome()
    fresh = _first_seen(session, account_id, [item for item in items if _recent(item, now, SEEN_KEPT)], now)
    outcome.new_items = len(fresh)
    window_start = hour_of(now) - timedelta(hours=WINDOW_HOURS)
    per_hour = Counter(hour_of(min(item.created_at or now, now)) for item in fresh)
    per_hour = Counter({hour: count for hour, count in per_hour.items() if hour >= window_start})
    outcome.counted = sum(per_hour.values())
    _add_volume(session, account_id, per_hour)
    spike = check_spike(session, rules, account_id, now)
    if spike is not None:
        outcome.alerts.append(spike)
    if rules.lexicon is not None:
        for item in fresh:
            if _recent(item, now, KEYWORD_MAX_AGE):
                outcome.alerts.extend(_check_keywords(session, rules, account_id, item, now))
    return outcome


def _recent(item: InboundItem, now: datetime, age: timedelta) -> bool:
    return item.created_at is None or item.created_at >= now - age


def _first_seen(session: Session, account_id: int, items: list[InboundItem], now: datetime) -> list[InboundItem]:
    """The items this account never showed before (an upsert that keeps the first sighting)."""
    by_key = {item.key[:300]: item for item in items}
    if not by_key:
        return []
    insert = _insert(session)
    statement = insert(InboundItemSeen).values(
        [{"account_id": account_id, "item_key": key, "seen_at": now} for key in by_key]
    ).on_conflict_do_nothing(index_elements=["account_id", "item_key"]).returning(InboundItemSeen.item_key)
    inserted = set(session.scalars(statement))
    return [item for key, item in by_key.items() if key in inserted]


def _add_volume(session: Session, account_id: int, per_hour: Counter) -> None:
    if not per_hour:
        return
    insert = _insert(session)
    statement = insert(InboundVolume).values(
        [{"account_id": account_id, "hour": hour, "items": count} for hour, count in sorted(per_hour.items())])
    session.execute(statement.on_conflict_do_update(
        index_elements=["account_id", "hour"], set_={"items": InboundVolume.items + statement.excluded["items"]}))


def hourly_volume(session: Session, account_id: int, now: datetime | None = None) -> tuple[int, float]:
    """The current hour's inbound items and the average per hour over the 12 hours before (empty hours count 0)."""
    current_hour = hour_of(now or utcnow())
    rows = session.execute(select(InboundVolume.hour, InboundVolume.items).where(
        InboundVolume.account_id == account_id, InboundVolume.hour >= current_hour - timedelta(hours=WINDOW_HOURS),
        InboundVolume.hour <= current_hour)).all()
    current = sum(items for hour, items in rows if hour == current_hour)
    trailing = sum(items for hour, items in rows if hour < current_hour)
    return current, trailing / WINDOW_HOURS


# --- the rules ----------------------------------------------------------------------------------------
def check_spike(session: Session, rules: AlertRules, account_id: int, now: datetime | None = None) -> Alert | None:
    """A spike: this hour holds at least the minimum volume and more than `multiple` times the trailing average."""
    now = now or utcnow()
    current, average = hourly_volume(session, account_id, now)
    if current < rules.spike_min_volume or current <= rules.spike_multiple * average:
        return None
    if not _claim_cooldown(session, account_id, "spike", now, rules.spike_cooldown):
        return None
    account = session.get(SocialAccount, account_id)
    details = {"hour": hour_of(now).isoformat(), "items_this_hour": current, "hourly_average": round(average, 2),
               "multiple": rules.spike_multiple, "min_volume": rules.spike_min_volume}
    message = (f"Inbound comments and messages on @{account.handle} spiked: {current} this hour, "
               f"{average:.1f} an hour on average over the 12 hours before.")
    return _raise(session, account, AlertKind.SPIKE, None, details, message, now)


def _check_keywords(session: Session, rules: AlertRules, account_id: int, item: InboundItem, now: datetime) -> list[Alert]:
    raised = []
    for hit in rules.lexicon.matches(item.text) if rules.lexicon else []:
        if not _claim_cooldown(session, account_id, f"keyword:{hit.keyword}", now, rules.keyword_cooldown):
            continue
        account = session.get(SocialAccount, account_id)
        details = {"item_kind": item.kind, "external_id": item.external_id, "matched": hit.matched[:200],
                   "excerpt": item.text[:EXCERPT_CHARS]}
        message = f"A crisis keyword ({hit.keyword}) appeared in a {item.kind} on @{account.handle}."
        raised.append(_raise(session, account, AlertKind.KEYWORD, hit.keyword, details, message, now))
    return raised


def _claim_cooldown(session: Session, account_id: int, rule: str, now: datetime, cooldown: timedelta) -> bool:
    """True when the rule was quiet for the account and is now cooling down until now + cooldown.

    One statement: a second scan of the same account waits on the row and then finds it cooling (no second alert)."""
    insert = _insert(session)
    statement = insert(AlertCooldown).values(account_id=account_id, rule=rule, quiet_until=now + cooldown)
    statement = statement.on_conflict_do_update(
        index_elements=["account_id", "rule"], set_={"quiet_until": statement.excluded.quiet_until},
        where=AlertCooldown.__table__.c.quiet_until <= now,
    ).returning(AlertCooldown.rule)
    return session.execute(statement).first() is not None


def _raise(session: Session, account: SocialAccount, kind: AlertKind, keyword: str | None, details: dict[str, Any],
           message: str, now: datetime) -> Alert:
    alert = Alert(account_id=account.id, kind=kind, status=AlertStatus.OPEN, keyword=keyword, details=details, raised_at=now)
    session.add(alert)
    session.flush()
    audited = {key: value for key, value in details.items() if key not in ("excerpt", "matched")}  # no public text in the trail
    record(session, SYSTEM, "alerts:alert:raise", "alert", alert.id, account_id=account.id, kind=kind.value,
           keyword=keyword, **audited)
    if account.owner_id is not None:
        notify(session, account.owner_id, f"{kind.value}_alert", "alert", alert.id, message,
               account_id=account.id, keyword=keyword)
    signals.crisis_alert_raised.send(session, alert_id=alert.id, account_id=account.id, kind=kind.value)
    log.info("alert_raised", alert_id=alert.id, account_id=account.id, kind=kind.value, keyword=keyword)
    return alert


# --- reading and acknowledging ------------------------------------------------------------------------
def alerts_query(filters: AlertFilter) -> Select[tuple[Alert]]:
    query = select(Alert)
    if filters.account_id is not None:
        query = query.where(Alert.account_id == filters.account_id)
    if filters.kind is not None:
        query = query.where(Alert.kind == filters.kind)
    if filters.status is not None:
        query = query.where(Alert.status == filters.status)
    return query


def list_alerts(session: Session, filters: AlertFilter, limit: int = 50, cursor: str | None = None) -> Page[Alert]:
    """Newest first."""
    return paginate(session, alerts_query(filters), "raised_at", Alert.raised_at, Alert.id, limit, cursor, descending=True)


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("alert %(alert_id)s does not exist", alert_id=alert_id)
    return alert


def acknowledge(session: Session, actor: Actor, alert_id: int, note: str | None = None) -> Alert:
    """Someone has seen the alert and is on it. Only the alert's row is locked (FOR UPDATE OF alerts): its account,
    network and owner are loaded after, so PostgreSQL is never asked to lock the nullable side of an outer join."""
    alert = session.scalars(
        select(Alert).where(Alert.id == alert_id).options(lazyload("*")).with_for_update(of=Alert)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if alert is None:
        raise NotFound("alert %(alert_id)s does not exist", alert_id=alert_id)
    if alert.status is AlertStatus.ACKNOWLEDGED:
        raise Conflict("alert %(alert_id)s was already acknowledged", alert_id=alert_id)
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = actor.id
    alert.acknowledged_at = utcnow()
    alert.acknowledge_note = (note or "").strip()[:2000] or None
    session.flush()
    record(session, actor, "alerts:alert:acknowledge", "alert", alert.id, account_id=alert.account_id,
           kind=alert.kind.value, note=alert.acknowledge_note)
    return alert


def prune(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Drop sightings and hourly counts no rule reads any more, and cooldowns long over."""
    now = now or utcnow()
    seen = session.execute(delete(InboundItemSeen).where(InboundItemSeen.seen_at < now - SEEN_KEPT)).rowcount
    volume = session.execute(delete(InboundVolume).where(InboundVolume.hour < hour_of(now) - VOLUME_KEPT)).rowcount
    cooled = session.execute(delete(AlertCooldown).where(AlertCooldown.quiet_until < now - timedelta(days=1))).rowcount
    return {"seen_items": seen or 0, "hourly_counts": volume or 0, "cooldowns": cooled or 0}


def accounts_with_alerts(session: Session) -> list[SocialAccount]:
    """The accounts the alert list can be filtered by: those that ever raised one."""
    raised = select(Alert.account_id).distinct()
    return list(session.scalars(select(SocialAccount).where(SocialAccount.id.in_(raised)).order_by(SocialAccount.handle)).unique())
