"""Writing audit events inside the caller's transaction, and querying them (reading the trail back: govern.audit.trail)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, false, func, insert, select, text, tuple_, update
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.chain import (
    ENCODING_VERSION,
    ChainedFields,
    canonical_json,
    canonical_parts,
    event_hash,
    normalise_summary,
)
from govern.audit.models import AuditChainHead, AuditEvent
from govern.audit.subjects import SUBJECTS, about
from govern.db import utcnow

ACTION_FORMAT = re.compile(r"^[a-z_]+:[a-z_]+:[a-z_]+$")


class AuditUnavailable(RuntimeError):
    """The audit event could not be written, so the change it describes must not happen."""


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    **details: Any,
) -> RecordedEvent | None:
    """Append one event to the chain in the current transaction; flushes so failures surface here. Inside a
    `deferred` block the event is kept and appended when the block ends (None is returned)."""
    if not ACTION_FORMAT.match(action):
        raise ValueError(f"audit action {action!r} is not 'domain:subject:verb'")
    summary = normalise_summary({"before": before, "after": after, **details})
    unlinked = dict(
        occurred_at=utcnow(), actor=actor.id, action=action, target_type=target_type, target_id=str(target_id),
        summary=summary, request_id=actor.request_id, client_addr=actor.client_addr, encoding_version=ENCODING_VERSION,
    )
    if (pending := session.info.get(_DEFERRED)) is not None:
        pending.append(unlinked)
        return None
    if session.get_bind().dialect.name == "postgresql":
        return _append_linked_by_database(session, unlinked)
    head = session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1).with_for_update()
    ).one_or_none()
    if head is None:
        raise AuditUnavailable("the audit chain head is missing; run 'govern db upgrade'")
    fields = ChainedFields(seq=head.last_seq + 1, prev_hash=head.last_hash, **unlinked)
    recorded = RecordedEvent(fields.seq, event_hash(fields))
    session.execute(_INSERT_EVENT, {**fields.__dict__, "hash": recorded.hash})
    session.execute(_MOVE_HEAD.values(last_seq=bindparam("seq"), last_hash=bindparam("hash")), {"seq": recorded.seq, "hash": recorded.hash})
    return recorded


def _append_linked_by_database(session: Session, unlinked: dict[str, Any]) -> RecordedEvent:
    """One round trip: lock the chain head, link and hash the event from the canonical parts, insert, move the head.

    Sent on the session's own DBAPI connection (same transaction): through SQLAlchemy's statement layer the same
    append costs about twice as long, and it sits on every audited write (benches/audit.py).
    """
    import psycopg

    summary_text = canonical_json(unlinked["summary"])
    parts = canonical_parts(ChainedFields(seq=0, prev_hash="", **unlinked), summary_text)
    params = {**unlinked, "summary": summary_text, "before_prev_hash": parts.before_prev_hash,
              "before_seq": parts.before_seq, "after_seq": parts.after_seq}
    try:
        with session.connection().connection.driver_connection.cursor() as cursor:
            appended = cursor.execute(_APPEND_LINKED_DRIVER_SQL, params).fetchone()
    except psycopg.Error as exc:
        raise AuditUnavailable(f"the audit event could not be written ({type(exc).__name__})") from exc
    if appended is None:
        raise AuditUnavailable("the audit chain head is missing; run 'govern db upgrade'")
    return RecordedEvent(*appended)


@dataclass(frozen=True)
class RecordedEvent:
    seq: int
    hash: str


@dataclass(frozen=True)
class EventSpec:
    """One event of a batch for record_many; the same fields record() takes."""

    action: str
    target_type: str
    target_id: object
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    details: dict[str, Any] | None = None


BATCH_ROWS = 1000


def record_many(session: Session, actor: Actor, specs: list[EventSpec]) -> int:
    """Append many events under one chain-head lock: hashed in order, inserted in batches, the head moved once.

    For bulk changes (a directory import); each event is exactly what record() would have written.
    """
    moment, rows = utcnow(), []
    for spec in specs:
        if not ACTION_FORMAT.match(spec.action):
            raise ValueError(f"audit action {spec.action!r} is not 'domain:subject:verb'")
        rows.append(dict(
            occurred_at=moment, actor=actor.id, action=spec.action, target_type=spec.target_type,
            target_id=str(spec.target_id),
            summary=normalise_summary({"before": spec.before, "after": spec.after, **(spec.details or {})}),
            request_id=actor.request_id, client_addr=actor.client_addr, encoding_version=ENCODING_VERSION,
        ))
    return _append_all(session, rows)


_DEFERRED = "govern.audit.deferred"


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Inside, record() keeps each event; they are appended together, in order, when the block ends (still in the
    caller's transaction, which commits after). For a batch that makes network calls between its changes: the chain
    head, which every audited change in every process waits for, is locked only for the final append, not across the
    calls. Nothing is appended when the block raises: the caller rolls back its changes with it."""
    if _DEFERRED in session.info:
        yield
        return
    pending: list[dict[str, Any]] = []
    session.info[_DEFERRED] = pending
    try:
        yield
    finally:
        session.info.pop(_DEFERRED, None)
    _append_all(session, pending)


def deferring(session: Session) -> bool:
    return _DEFERRED in session.info


def _append_all(session: Session, unlinked_rows: list[dict[str, Any]]) -> int:
    """Link, hash and insert events (record()'s fields without seq and hashes) under one chain-head lock."""
    if not unlinked_rows:
        return 0
    head = session.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_hash).where(AuditChainHead.id == 1).with_for_update()
    ).one_or_none()
    if head is None:
        raise AuditUnavailable("the audit chain head is missing; run 'govern db upgrade'")
    seq, prev_hash, rows = head.last_seq, head.last_hash, []
    for unlinked in unlinked_rows:
        seq += 1
        fields = ChainedFields(seq=seq, prev_hash=prev_hash, **unlinked)
        prev_hash = event_hash(fields)
        rows.append({**fields.__dict__, "hash": prev_hash})
    for start in range(0, len(rows), BATCH_ROWS):
        session.execute(_INSERT_EVENT, rows[start:start + BATCH_ROWS])
    moved = session.execute(
        _MOVE_HEAD.where(AuditChainHead.last_seq == head.last_seq).values(last_seq=seq, last_hash=prev_hash)
    )
    if moved.rowcount != 1:
        raise AuditUnavailable("the audit chain head moved underneath this transaction")
    return len(rows)


_INSERT_EVENT = insert(AuditEvent).values({column.name: bindparam(column.name) for column in AuditEvent.__table__.columns})
_MOVE_HEAD = update(AuditChainHead).where(AuditChainHead.id == 1)


_APPEND_LINKED_DRIVER_SQL = """
    WITH head AS (
        SELECT last_seq + 1 AS seq, last_hash AS prev_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE
    ), appended AS (
        INSERT INTO audit_events (seq, occurred_at, actor, action, target_type, target_id, summary, request_id,
                                  client_addr, encoding_version, prev_hash, hash)
        SELECT head.seq, %(occurred_at)s, %(actor)s, %(action)s, %(target_type)s, %(target_id)s, %(summary)s::json,
               %(request_id)s, %(client_addr)s, %(encoding_version)s, head.prev_hash,
               encode(sha256(convert_to(%(before_prev_hash)s::text || head.prev_hash || %(before_seq)s::text
                                        || head.seq::text || %(after_seq)s::text, 'UTF8')), 'hex')
        FROM head
        RETURNING seq, hash
    )
    UPDATE audit_chain_head SET last_seq = appended.seq, last_hash = appended.hash
    FROM appended WHERE audit_chain_head.id = 1
    RETURNING appended.seq, appended.hash
"""


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    related: bool = False  # an account or a person: also the events about its grants, reviews, violations (subjects.py)
    actions: tuple[str, ...] | None = None  # exactly these actions (a prefix expanded with recorded_actions)


def events_query(filters: EventFilter, before_seq: int | None = None, after_seq: int | None = None) -> Select[tuple[AuditEvent]]:
    """Newest first; `action` matches a prefix such as 'grants:' or 'grants:grant:'.

    With a period, newest first means by (occurred_at, seq), which the index on those columns serves: ordered by
    seq alone, the planner walks the primary key back from the newest event and throws away every event after the
    period. The cursor is the seq of the last event shown either way. Without a period, by seq: one target's
    history is then served by the index on (target_type, target_id, seq).

    With a key that has an index on (key, seq) — everything about an account or a person (`related`, the expression
    index of its subject), an actor, a list of actions, an exact target — always by seq along that index; a period
    becomes the seq range it spans (two probes of the (occurred_at, seq) index), so a busy account's or actor's
    events outside the period are never read (decision 0053).

    With `after_seq` (the first event of a page), the events newer than it, oldest first along the same index: the
    page before, read backwards (events_page puts it back in order).
    """
    query = select(AuditEvent)
    if filters.actor:
        query = query.where(AuditEvent.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.actions is not None:
        query = query.where(AuditEvent.action.in_(filters.actions) if filters.actions else false())
    about_subject = filters.related and filters.target_type in SUBJECTS and bool(filters.target_id)
    if about_subject:
        query = query.where(about(filters.target_type) == filters.target_id)
    else:
        if filters.target_type:
            query = query.where(AuditEvent.target_type == filters.target_type)
        if filters.target_id:
            query = query.where(AuditEvent.target_id == filters.target_id)
    if filters.since:
        query = query.where(AuditEvent.occurred_at >= filters.since)
    if filters.until:
        query = query.where(AuditEvent.occurred_at < filters.until)
    # an indexed key (subject, actor, actions, exact target): its index on (key, seq) serves newest first, a period too
    keyed = about_subject or filters.actor or filters.actions is not None or (filters.target_type and filters.target_id)
    if keyed:
        return _keyset(_within_period_by_seq(query, filters), False, before_seq, after_seq)
    return _keyset(query, filters.since is not None or filters.until is not None, before_seq, after_seq)


def _keyset(query: Select, by_time: bool, before_seq: int | None, after_seq: int | None) -> Select:
    """Newest first from `before_seq` (exclusive), or oldest first from `after_seq`: by seq, or by (occurred_at, seq)."""

    def key_of(seq: int) -> Any:
        if not by_time:
            return seq
        return tuple_(select(AuditEvent.occurred_at).where(AuditEvent.seq == seq).scalar_subquery(), seq)

    key = tuple_(AuditEvent.occurred_at, AuditEvent.seq) if by_time else AuditEvent.seq
    order = (AuditEvent.occurred_at, AuditEvent.seq) if by_time else (AuditEvent.seq,)
    if before_seq is not None:
        query = query.where(key < key_of(before_seq))
    if after_seq is not None:
        return query.where(key > key_of(after_seq)).order_by(*order)
    return query.order_by(*(column.desc() for column in order))


def _within_period_by_seq(query: Select, filters: EventFilter) -> Select:
    """Bounded by the seq of the first event in time at or after `since` and of the last one before `until` (an event
    whose wait for the chain head crossed a boundary falls on the side its seq puts it, as in an evidence bundle; the
    time filters keep every row shown inside the period)."""
    if filters.since is not None:
        first = (select(AuditEvent.seq).where(AuditEvent.occurred_at >= filters.since)
                 .order_by(AuditEvent.occurred_at, AuditEvent.seq).limit(1).scalar_subquery())
        query = query.where(AuditEvent.seq >= first)
    if filters.until is not None:
        last = (select(AuditEvent.seq).where(AuditEvent.occurred_at < filters.until)
                .order_by(AuditEvent.occurred_at.desc(), AuditEvent.seq.desc()).limit(1).scalar_subquery())
        query = query.where(AuditEvent.seq <= last)
    return query


@dataclass(frozen=True)
class EventPage:
    """A page of events, newest first: `next_before_seq` reads the older page, `prev_after_seq` the newer one."""

    items: list[AuditEvent]
    next_before_seq: int | None
    prev_after_seq: int | None


def events_page(session: Session, filters: EventFilter, limit: int, before_seq: int | None = None,
                after_seq: int | None = None) -> EventPage:
    """One page of the filtered trail, either way from a page's last event (`before_seq`) or its first (`after_seq`);
    one extra row says whether the list goes on in the direction read."""
    found = list(session.scalars(events_query(filters, before_seq, after_seq).limit(limit + 1)))
    more, rows = len(found) > limit, found[:limit]
    if after_seq is not None:
        rows.reverse()
        return EventPage(rows, rows[-1].seq if rows else None, rows[0].seq if rows and more else None)
    return EventPage(rows, rows[-1].seq if more else None, rows[0].seq if rows and before_seq is not None else None)


COUNT_CAP = 10_000


def count_events(session: Session, filters: EventFilter, cap: int = COUNT_CAP) -> int:
    """How many events the filters select, counting no further than `cap` + 1 (shown as "10,000+"): the same query
    as the page's, stopped after cap + 1 rows of its index, so a trail of millions is never counted whole."""
    capped = events_query(filters).with_only_columns(AuditEvent.seq).limit(cap + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)


_RECORDED_ACTIONS = text("""
    WITH RECURSIVE found(action) AS (
        SELECT MIN(action) FROM audit_events
        UNION ALL
        SELECT (SELECT MIN(later.action) FROM audit_events AS later WHERE later.action > found.action)
        FROM found WHERE found.action IS NOT NULL
    )
    SELECT action FROM found WHERE action IS NOT NULL
""")


def recorded_actions(session: Session) -> list[str]:
    """Every action the trail holds, in order: one probe of the (action, seq) index per distinct action (a hundred or
    so), never a walk of the events. A prefix filter becomes the list of actions it names, which the index serves
    newest first whatever the database's collation (LIKE 'grants:%' uses a b-tree only under the C collation)."""
    return list(session.scalars(_RECORDED_ACTIONS))


def history_of(session: Session, target_type: str, target_id: object, limit: int) -> tuple[list[AuditEvent], bool]:
    """The latest `limit` events about one target, and whether there are older ones (for a link to the whole log).

    For an account or a person, every event about it: its own, and those of its grants, review items, violations,
    approvals and checkouts that name it (subjects.py)."""
    filters = EventFilter(target_type=target_type, target_id=str(target_id), related=target_type in SUBJECTS)
    events = list(session.scalars(events_query(filters).limit(limit + 1)))
    return events[:limit], len(events) > limit


def last_event(session: Session, action: str, target_type: str, target_id: object) -> AuditEvent | None:
    """The latest event of one kind about one target (who retired this account, who closed this campaign), or None."""
    return session.scalar(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.target_type == target_type,
                                                   AuditEvent.target_id == str(target_id))
                          .order_by(AuditEvent.seq.desc()).limit(1))
