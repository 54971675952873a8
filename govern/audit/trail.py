"""Reading the audit trail back: the chain head, stored events and checkpoints, published keys, and verifying them.

The read side of the audit domain: service.py writes events, checkpoints.py signs the head, this module reads.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from govern.audit.chain import GENESIS_HASH, canonical_time
from govern.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditSigningKey
from govern.audit.service import AuditUnavailable
from govern.audit.signing import CheckpointSigner, SigningKeyMissing
from govern.audit.verification import (
    EventRow,
    RawJson,
    Segment,
    SignedCheckpoint,
    TrailReport,
    TrustedKey,
    checkpoints_in_range,
    conclude,
    join_segments,
    verify_trail,
    walk_segment,
)

FETCH_ROWS = 20_000


def chain_head(session: Session, fresh: bool = False) -> AuditChainHead:
    """The sealed head of the chain (`fresh`: re-read from the database, not the session's copy)."""
    head = session.get(AuditChainHead, 1, populate_existing=fresh)
    if head is None:
        raise AuditUnavailable("the audit chain head is missing; run 'govern db upgrade'")
    return head


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc()).limit(1)).first()



def trusted_keys_from_signer(session: Session, signer: CheckpointSigner) -> list[TrustedKey]:
    """The keys the signer itself holds (Vault or the key files), with validity periods from the key table.

    The public key always comes from the signer, never from the table: a key swapped in the database is not trusted.
    Read only: verification never makes a key. A signer without its key raises SigningKeyMissing here, unless
    nothing was ever signed (a new install before its first checkpoint): then there is no signature to check.
    """
    try:
        held = signer.keys()
    except SigningKeyMissing:
        if latest_checkpoint(session) is None:
            return []
        raise
    periods = {row.key_id: (row.valid_from, row.valid_until) for row in session.scalars(select(AuditSigningKey))}
    return [TrustedKey(key.key_id, key.public_key, *periods.get(key.key_id, (None, None))) for key in held]


def published_keys(session: Session) -> list[AuditSigningKey]:
    return list(session.scalars(select(AuditSigningKey).order_by(AuditSigningKey.valid_from, AuditSigningKey.id)))


def stored_checkpoints(session: Session, from_seq: int = 1, to_seq: int | None = None) -> list[SignedCheckpoint]:
    query = select(AuditCheckpoint).where(AuditCheckpoint.seq >= from_seq).order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
    if to_seq is not None:
        query = query.where(AuditCheckpoint.seq <= to_seq)
    return [SignedCheckpoint(c.seq, c.head_hash, c.signed_at, c.key_id, base64.b64decode(c.signature))
            for c in session.scalars(query)]


_PG_EVENTS = """
    SELECT seq, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor, action, target_type,
           target_id, summary::text, request_id, client_addr, encoding_version, prev_hash, hash
    FROM audit_events WHERE seq >= %(first)s AND seq <= %(last)s ORDER BY seq
"""
_PORTABLE_EVENTS = text("""
    SELECT seq, occurred_at, actor, action, target_type, target_id, summary, request_id, client_addr, encoding_version,
           prev_hash, hash
    FROM audit_events WHERE seq >= :first AND seq <= :last ORDER BY seq
""")


def stored_events(session: Session, from_seq: int = 1, to_seq: int | None = None) -> Iterator[EventRow]:
    """Events in seq order, streamed in batches, as verification reads them (time as canonical text, summary as stored)."""
    last = to_seq if to_seq is not None else 2**62
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql(_PG_EVENTS, {"first": from_seq, "last": last},
                                          execution_options={"stream_results": True, "yield_per": FETCH_ROWS})
        for seq, moment, actor, action, ttype, tid, summary, request_id, addr, version, prev, digest in rows:
            yield EventRow(seq, moment, actor, action, ttype, tid, RawJson(summary), request_id, addr, version, prev, digest)
        return
    from govern.db import UTCDateTime

    as_time = UTCDateTime().process_result_value
    rows = connection.execute(_PORTABLE_EVENTS, {"first": from_seq, "last": last}, execution_options={"yield_per": FETCH_ROWS})
    for seq, moment, actor, action, ttype, tid, summary, request_id, addr, version, prev, digest in rows:
        parsed_time = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
        yield EventRow(seq, canonical_time(as_time(parsed_time, None)), actor, action, ttype, tid,
                       RawJson(summary) if isinstance(summary, str) else summary,
                       request_id, addr, version, prev, digest)


def seq_range_for_times(session: Session, since: datetime | None, until: datetime | None) -> tuple[int, int | None]:
    """The first and last seq of events that occurred in [since, until): the first event in time at or after
    `since`, the last one before `until`.

    Both are read along the index on (occurred_at, seq), one row each. (min/max of seq with a time filter walked
    the primary key instead, past every event outside the period.) Chain order and clock order can differ by the
    time a transaction waited for the chain head, so an event recorded across a boundary falls on the side its
    place in the chain puts it.
    """
    first = 1
    last = None
    if since is not None:
        earliest = (select(AuditEvent.seq).where(AuditEvent.occurred_at >= since)
                    .order_by(AuditEvent.occurred_at, AuditEvent.seq).limit(1))
        first = session.scalar(earliest) or chain_head(session).last_seq + 1
    if until is not None:
        latest = (select(AuditEvent.seq).where(AuditEvent.occurred_at < until)
                  .order_by(AuditEvent.occurred_at.desc(), AuditEvent.seq.desc()).limit(1))
        last = session.scalar(latest) or 0
    return first, last


PARALLEL_FROM_EVENTS = 50_000


def _walk_chunk(conninfo: str, first: int, last: int, expected_prev: str | None, wanted: frozenset[int]) -> Segment:
    """One worker's share of a parallel verification: its own connection, its own run of events."""
    import psycopg

    with psycopg.connect(conninfo) as connection, connection.cursor(name=f"verify_{first}", binary=True) as cursor:
        cursor.itersize = FETCH_ROWS
        cursor.execute(_PG_EVENTS, {"first": first, "last": last})
        return walk_segment(cursor, first, expected_prev, wanted)  # rows come in EventRow's order, summary as text


def _walk_in_parallel(session: Session, first: int, last: int, wanted: frozenset[int], workers: int) -> Segment:
    """PostgreSQL only: the range cut into runs walked by worker processes, then joined (links across runs checked)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    conninfo = session.get_bind().url.set(drivername="postgresql").render_as_string(hide_password=False)
    size = -(-(last - first + 1) // (workers * 4))
    starts = range(first, last + 1, size)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_walk_chunk, conninfo, start, min(start + size - 1, last),
                               GENESIS_HASH if start == 1 else None, wanted) for start in starts]
        return join_segments([future.result() for future in futures])


def verify_stored_trail(session: Session, keys: list[TrustedKey], from_seq: int = 1, to_seq: int | None = None,
                        workers: int | None = None) -> TrailReport:
    """The stored trail from `from_seq` to `to_seq` (or the head), its checkpoints and keys; large trails on
    PostgreSQL are walked by several processes (`workers`, default: the CPU count, at most 4)."""
    head = chain_head(session)
    last = min(to_seq, head.last_seq) if to_seq is not None else head.last_seq
    in_range = checkpoints_in_range(stored_checkpoints(session, from_seq, to_seq), from_seq, to_seq)
    wanted = frozenset(c.seq for c in in_range)
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    parallel = session.get_bind().dialect.name == "postgresql" and workers > 1 and last - from_seq >= PARALLEL_FROM_EVENTS
    if parallel:
        segment = _walk_in_parallel(session, from_seq, last, wanted, workers)
    else:
        segment = walk_segment(stored_events(session, from_seq, last), from_seq,
                               GENESIS_HASH if from_seq == 1 else None, wanted)
    if to_seq is None and segment.failure is None:
        segment = _with_events_past(session, segment, head.last_seq)
    return conclude(segment, in_range, keys, (head.last_seq, head.last_hash) if to_seq is None else None)


def _with_events_past(session: Session, segment: Segment, head_seq: int) -> Segment:
    """Events stored beyond the head are a broken chain too (the head was moved back): walk them in."""
    after = (segment.last_seq or segment.from_seq - 1)
    extra = walk_segment(stored_events(session, after + 1, None), after + 1, segment.last_hash, frozenset())
    return join_segments([segment, extra]) if extra.events_checked or extra.failure else segment


def describe_key(row: AuditSigningKey) -> dict[str, object]:
    return {"key_id": row.key_id, "algorithm": row.algorithm, "public_key": row.public_key, "source": row.source,
            "valid_from": canonical_time(row.valid_from), "valid_until": canonical_time(row.valid_until) if row.valid_until else None}


def verify_chain(session: Session) -> TrailReport:
    """The hash chain against the sealed head, without signatures (verify_stored_trail checks the whole trail)."""
    head = chain_head(session)
    return verify_trail(stored_events(session), checkpoints=(), keys=(), head=(head.last_seq, head.last_hash))
