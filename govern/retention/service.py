"""Retention: the data kinds and their cutoffs, legal holds, and the purge that deletes what is past its time."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, text
from sqlalchemy.orm import Session

from govern.audit.models import AuditEvent, LegalHold
from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ConsoleSession, LoginLink
from govern.db import utcnow
from govern.directory.models import SyncRun, SyncStatus
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.notifications.models import Notification
from govern.outbox.models import FINISHED, OutboxJob
from govern.policy.workflow_models import PolicyViolation, ViolationStatus
from govern.publishing.models import ApprovalStatus, PublishApproval
from govern.retention.kinds import ALL_KINDS, AUDIT_EVENTS, DEFAULT_RETENTION_DAYS, KNOWN_KINDS

BATCH_ROWS = 1000
MAX_BATCHES_PER_KIND = 50  # at most 50,000 rows of a kind per run; the next run carries on
MIN_REASON_LENGTH = 3
MAX_REASON_LENGTH = 2000
MAX_NAME_LENGTH = 200
# Placing a hold and purging take this PostgreSQL advisory lock, so a purge never misses a hold placed while it runs.
_PURGE_LOCK_KEY = int.from_bytes(b"govret", "big")


@dataclass(frozen=True)
class DataKind:
    """One kind of data govern keeps: what it is, and which rows are "older than" a cutoff."""

    name: str
    description: str
    age_basis: str
    model: Any = None  # None: never deleted by govern (the audit trail)
    older_than: Callable[[datetime], ColumnElement[bool]] | None = field(default=None, repr=False)

    @property
    def deletable(self) -> bool:
        return self.model is not None


_RUN_STILL_OPEN = (SyncStatus.RUNNING, SyncStatus.HELD)

KINDS: dict[str, DataKind] = {kind.name: kind for kind in (
    DataKind("notifications", "Read console notifications", "created_at, once read (unread ones are kept)",
             Notification, lambda cutoff: (Notification.read_at.is_not(None)) & (Notification.created_at < cutoff)),
    DataKind("sync_runs", "Finished directory sync runs", "finished_at (running and held runs are kept)",
             SyncRun, lambda cutoff: (SyncRun.finished_at < cutoff) & SyncRun.status.not_in(_RUN_STILL_OPEN)),
    DataKind("policy_violations", "Resolved and false-positive policy violations", "closed_at (open and assigned ones are kept)",
             PolicyViolation, lambda cutoff: PolicyViolation.status.in_((ViolationStatus.RESOLVED, ViolationStatus.FALSE_POSITIVE))
             & (PolicyViolation.closed_at < cutoff)),
    DataKind("policy_approvals", "Decided publish approvals", "decided_at (pending ones are kept)",
             PublishApproval, lambda cutoff: PublishApproval.status.in_((ApprovalStatus.APPROVED, ApprovalStatus.REJECTED))
             & (PublishApproval.decided_at < cutoff)),
    DataKind("sign_in_links", "Expired or used one-time console sign-in links", "expires_at",
             LoginLink, lambda cutoff: LoginLink.expires_at < cutoff),
    DataKind("jobs", "Finished jobs in the job outbox (done or failed)", "finished_at (jobs not yet run are kept)",
             OutboxJob, lambda cutoff: OutboxJob.state.in_(FINISHED) & (OutboxJob.finished_at < cutoff)),
    DataKind("console_sessions", "Ended or expired console sessions", "expires_at (the absolute end; live ones are kept)",
             ConsoleSession, lambda cutoff: ConsoleSession.expires_at < cutoff),
    DataKind(AUDIT_EVENTS, "The hash-chained audit trail", "occurred_at; a minimum, never deleted by govern"),
)}
assert tuple(KINDS) == KNOWN_KINDS, "govern.retention.kinds and the KINDS table must name the same kinds"


def retention_days(configured: Mapping[str, int]) -> dict[str, int]:
    """Days kept per kind: the configured value (GOVERN_RETENTION_DAYS), else the default."""
    return {kind: configured.get(kind, default) for kind, default in DEFAULT_RETENTION_DAYS.items()}


def kinds_document(configured: Mapping[str, int]) -> list[dict[str, Any]]:
    days = retention_days(configured)
    return [{"kind": kind.name, "description": kind.description, "age_basis": kind.age_basis,
             "retention_days": days[kind.name], "default_days": DEFAULT_RETENTION_DAYS[kind.name],
             "deleted_by_govern": kind.deletable} for kind in KINDS.values()]


def _years(days: int) -> str:
    years = days / 365.25
    return f"{round(years)} years" if abs(years - round(years)) < 0.01 else f"{days} days"


def audit_minimum_reason(days: int) -> str:
    return f"kept (minimum retention {_years(days)}; archive through the SIEM stream and evidence bundles)"


# --- legal holds --------------------------------------------------------------------------------
def _serialise_with_purge(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PURGE_LOCK_KEY})


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise InvalidOperation("a reason of at least %(MIN_REASON_LENGTH)s characters is required", MIN_REASON_LENGTH=MIN_REASON_LENGTH)
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidOperation("the reason is longer than %(MAX_REASON_LENGTH)s characters", MAX_REASON_LENGTH=MAX_REASON_LENGTH)
    return reason


def _clean_kinds(kinds: list[str] | tuple[str, ...]) -> list[str]:
    cleaned = list(dict.fromkeys(kind.strip() for kind in kinds if kind and kind.strip()))
    if not cleaned:
        raise InvalidOperation("name at least one data kind (or %(ALL_KINDS)s for all): %(value)s", ALL_KINDS=f"{ALL_KINDS!r}", value=', '.join(KNOWN_KINDS))
    unknown = [kind for kind in cleaned if kind != ALL_KINDS and kind not in KINDS]
    if unknown:
        raise InvalidOperation("unknown data kinds %(value)s; known: %(value2)s or %(ALL_KINDS)s for all", value=', '.join(unknown), value2=', '.join(KNOWN_KINDS), ALL_KINDS=f"{ALL_KINDS!r}")
    return [ALL_KINDS] if ALL_KINDS in cleaned else cleaned


def place_hold(session: Session, actor: Actor, name: str, kinds: list[str] | tuple[str, ...], reason: str,
               now: datetime | None = None) -> LegalHold:
    """Stop retention from deleting the named kinds until the hold is released."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidOperation("a hold needs a name of 1 to %(MAX_NAME_LENGTH)s characters", MAX_NAME_LENGTH=MAX_NAME_LENGTH)
    hold = LegalHold(name=name, data_kinds=_clean_kinds(kinds), reason=_clean_reason(reason), placed_by=actor.id,
                     placed_at=now or utcnow())
    _serialise_with_purge(session)
    session.add(hold)
    session.flush()
    record(session, actor, "retention:legal_hold:place", "legal_hold", hold.id,
           after={"name": hold.name, "data_kinds": hold.data_kinds}, reason=hold.reason)
    return hold


def release_hold(session: Session, actor: Actor, hold_id: int, reason: str, now: datetime | None = None) -> LegalHold:
    """End a hold; the next purge deletes what it kept (the reason is kept in the audit event)."""
    reason = _clean_reason(reason)
    hold = session.scalar(select(LegalHold).where(LegalHold.id == hold_id).with_for_update())
    if hold is None:
        raise NotFound("legal hold %(hold_id)s does not exist", hold_id=hold_id)
    if hold.released_at is not None:
        raise Conflict("legal hold %(hold_id)s was already released on %(value)s by %(released_by)s", hold_id=hold_id, value=hold.released_at.isoformat(), released_by=hold.released_by)
    hold.released_by, hold.released_at = actor.id, now or utcnow()
    session.flush()
    record(session, actor, "retention:legal_hold:release", "legal_hold", hold.id,
           before={"name": hold.name, "data_kinds": hold.data_kinds}, reason=reason)
    return hold


def list_holds(session: Session, active_only: bool = False) -> list[LegalHold]:
    query = select(LegalHold).order_by(LegalHold.placed_at.desc(), LegalHold.id.desc())
    if active_only:
        query = query.where(LegalHold.released_at.is_(None))
    return list(session.scalars(query))


def holds_on(kind: str, holds: list[LegalHold]) -> list[LegalHold]:
    return [hold for hold in holds if hold.released_at is None and (ALL_KINDS in hold.data_kinds or kind in hold.data_kinds)]


# --- the purge ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class KindOutcome:
    """What the purge did (or, in a dry run, would do) to one kind."""

    kind: str
    retention_days: int
    cutoff: datetime
    outcome: str  # "deleted", "would_delete", "held" or "kept"
    eligible: int  # rows older than the cutoff
    count: int  # rows deleted, or that a dry run would delete; 0 when held or kept
    more: bool  # rows past the cutoff remain for the next run (this run's bound was reached)
    reason: str | None = None
    held_by: list[int] = field(default_factory=list)

    def as_document(self) -> dict[str, Any]:
        return {"kind": self.kind, "retention_days": self.retention_days, "cutoff": self.cutoff.isoformat(),
                "outcome": self.outcome, "eligible": self.eligible, "count": self.count, "more": self.more,
                "reason": self.reason, "held_by": self.held_by}


def purge(session: Session, actor: Actor, now: datetime, dry_run: bool, configured: Mapping[str, int],
          batch_rows: int = BATCH_ROWS, max_batches: int = MAX_BATCHES_PER_KIND) -> list[KindOutcome]:
    """Delete each kind's rows older than its cutoff, in batches, one audit event per kind that lost rows.

    Held kinds and the audit trail are reported, never touched. Everything happens in the caller's
    transaction: if an audit event cannot be written the caller's rollback undoes the deletions.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not dry_run:
        _serialise_with_purge(session)
    holds = list_holds(session, active_only=True)
    days = retention_days(configured)
    return [_purge_kind(session, actor, kind, now - timedelta(days=days[kind.name]), days[kind.name], holds, dry_run,
                        batch_rows, max_batches) for kind in KINDS.values()]


def _eligible(session: Session, kind: DataKind, cutoff: datetime) -> int:
    if kind.deletable:
        return session.scalar(select(func.count()).select_from(kind.model).where(kind.older_than(cutoff))) or 0
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.occurred_at < cutoff)) or 0


def _purge_kind(session: Session, actor: Actor, kind: DataKind, cutoff: datetime, days: int, holds: list[LegalHold],
                dry_run: bool, batch_rows: int, max_batches: int) -> KindOutcome:
    eligible = _eligible(session, kind, cutoff)
    outcome = dict(kind=kind.name, retention_days=days, cutoff=cutoff, eligible=eligible)
    if not kind.deletable:
        return KindOutcome(**outcome, outcome="kept", count=0, more=False, reason=audit_minimum_reason(days))
    if blocking := holds_on(kind.name, holds):
        names = ", ".join(f"#{hold.id} {hold.name!r}" for hold in blocking)
        return KindOutcome(**outcome, outcome="held", count=0, more=False, reason=f"held by legal hold {names}",
                           held_by=[hold.id for hold in blocking])
    bound = batch_rows * max_batches
    if dry_run:
        return KindOutcome(**outcome, outcome="would_delete", count=min(eligible, bound), more=eligible > bound)
    deleted = _delete_in_batches(session, kind, cutoff, batch_rows, max_batches)
    if deleted:
        record(session, actor, "retention:data:purge", "data_kind", kind.name,
               kind=kind.name, cutoff=cutoff.isoformat(), count=deleted, retention_days=days)
    return KindOutcome(**outcome, outcome="deleted", count=deleted, more=eligible > deleted)


def _delete_in_batches(session: Session, kind: DataKind, cutoff: datetime, batch_rows: int, max_batches: int) -> int:
    primary_key = kind.model.id
    deleted = 0
    for _ in range(max_batches):
        ids = list(session.scalars(select(primary_key).where(kind.older_than(cutoff)).order_by(primary_key).limit(batch_rows)))
        if not ids:
            break
        result = session.execute(delete(kind.model).where(primary_key.in_(ids)).execution_options(synchronize_session=False))
        deleted += result.rowcount
        if len(ids) < batch_rows:
            break
    session.flush()
    session.expire_all()  # objects of deleted rows must not be served from the identity map
    return deleted


def retention_overview(session: Session, configured: Mapping[str, int], now: datetime | None = None) -> dict[str, Any]:
    """The kinds, the settings, the active holds and what a purge would do now (a dry run)."""
    plan = purge(session, Actor.system("retention-overview"), now or utcnow(), True, configured)
    return {"kinds": kinds_document(configured), "retention_days": retention_days(configured),
            "holds": list_holds(session, active_only=True), "plan": [item.as_document() for item in plan]}
