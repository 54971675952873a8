"""Whole-trail verifications kept, and the verification the API answers: the latest whole one and the events since.

Walking the whole trail takes about 35 s of both cores at 10 million events, so it runs where it may take that long
(the daily job, `govern audit verify`), and each run is kept with its audit event. A read
(`GET /api/v1/audit/verification`) checks only the events after the latest kept run, chained to its last hash, against
the sealed head: milliseconds, and as strong for the tail as a whole walk. Events before it were proven when that run
happened; the answer says when, and by whom (decision 0045).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.audit import trail
from govern.audit.models import AuditVerification
from govern.actor import Actor
from govern.audit.service import record
from govern.audit.verification import TrailReport, TrustedKey, conclude, walk_segment
from govern.db import utcnow


@dataclass
class Answer:
    ok: bool
    events_checked: int
    checkpoints_checked: int
    last_seq: int | None
    last_hash: str | None
    first_failure: str | None
    notes: list[str] = field(default_factory=list)
    whole_trail_verified_at: str | None = None
    whole_trail_verified_by: str | None = None
    events_checked_now: int = 0


def keep(session: Session, actor: Actor, report: TrailReport) -> AuditVerification:
    """Keep a whole-trail verification (flushes, never commits) with its audit event."""
    row = AuditVerification(verified_at=utcnow(), verified_by=actor.id, ok=report.ok, events_checked=report.events_checked,
                            checkpoints_checked=report.checkpoints_checked, last_seq=report.last_seq,
                            last_hash=report.last_hash, first_failure=str(report.failure)[:2000] if report.failure else None)
    session.add(row)
    session.flush()
    record(session, actor, "audit:trail:verify", "audit_trail", row.id, ok=report.ok, events_checked=report.events_checked,
           checkpoints_checked=report.checkpoints_checked, last_seq=report.last_seq,
           first_failure=row.first_failure)
    return row


def latest(session: Session) -> AuditVerification | None:
    return session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))


def _answer(report: TrailReport, now: int, kept: AuditVerification | None = None) -> Answer:
    return Answer(report.ok, report.events_checked, report.checkpoints_checked, report.last_seq, report.last_hash,
                  str(report.failure) if report.failure else None, list(report.notes),
                  kept.verified_at.isoformat() if kept else None, kept.verified_by if kept else None, now)


def verify_for_reader(session: Session, keys: list[TrustedKey]) -> Answer:
    """The latest whole-trail verification and the events since it, checked now; the whole trail when none is kept
    (or the kept one found a break: a broken trail is walked again, so a repair shows)."""
    kept = latest(session)
    if kept is None or not kept.ok or kept.last_seq is None:
        report = trail.verify_stored_trail(session, keys, workers=1)
        return _answer(report, report.events_checked)
    start = kept.last_seq + 1
    head = trail.chain_head(session)
    in_range = [c for c in trail.stored_checkpoints(session, start, None) if c.seq >= start]
    segment = walk_segment(trail.stored_events(session, start, None), start, kept.last_hash,
                           frozenset(c.seq for c in in_range))
    if segment.events_checked == 0 and segment.failure is None:
        segment.last_seq, segment.last_hash = kept.last_seq, kept.last_hash
    tail = conclude(segment, in_range, keys, (head.last_seq, head.last_hash))
    tail.notes = [note for note in tail.notes if "taken on trust" not in note]  # the link is to a verified hash
    answer = _answer(tail, tail.events_checked, kept)
    answer.events_checked += kept.events_checked
    answer.checkpoints_checked += kept.checkpoints_checked
    answer.notes.insert(0, f"events 1-{kept.last_seq} were verified whole at {kept.verified_at.isoformat()} by "
                           f"{kept.verified_by}; the {tail.events_checked} events after them were checked now, "
                           f"chained to that verified hash")
    return answer


WALK_IN_REQUEST = 200_000  # events a person's "verify now" walks while they wait (a second or two on one core); beyond, a job does


@dataclass
class Requested:
    """What "verify the trail now" did: walked the whole trail and kept it (`kept`), checked the events since the
    latest kept run (`answer`, as the API does), or queued the whole walk as a job (`queued`)."""

    kept: AuditVerification | None = None
    answer: Answer | None = None
    queued: bool = False


def verify_on_request(session: Session, actor: Actor, keys: list[TrustedKey], queue_whole_walk) -> Requested:
    """A person asked to verify the trail (flushes, never commits).

    A trail of at most WALK_IN_REQUEST events is walked whole and kept with its `audit:trail:verify` event, as
    `govern audit verify` does. A longer one: the events since the latest sound kept run are checked now, as
    GET /api/v1/audit/verification does, when they are few enough; the whole walk is queued (`queue_whole_walk()`,
    kept and audited in the person's name when it runs) when they are not, or when no sound run is kept.
    """
    head = trail.chain_head(session)
    if head.last_seq <= WALK_IN_REQUEST:
        return Requested(kept=keep(session, actor, trail.verify_stored_trail(session, keys, workers=1)))
    kept = latest(session)
    if kept is not None and kept.ok and kept.last_seq is not None and head.last_seq - kept.last_seq <= WALK_IN_REQUEST:
        return Requested(answer=verify_for_reader(session, keys))
    queue_whole_walk()
    return Requested(queued=True)
