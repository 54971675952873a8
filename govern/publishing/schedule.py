"""The schedule: claim due post targets under a lease, publish each exactly once, retry failures with backoff, recover
targets a dead worker left in `publishing`, and release held targets when a pause ends. Flushes only.

The caller (the beat job, govern.publishing.tasks.publish_due) commits after `claim_due` (the lease is on record
before any network call) and after each `publish_claimed_together` (the outcomes of up to TOGETHER targets, decision
0081) or `publish_claimed` (one). Exactly once per post x account:

* `claim_due` locks rows with FOR UPDATE SKIP LOCKED, so two claimers never take the same target;
* `publish_claimed_together` and `publish_claimed` lock the rows again until the outcome commits (across the network
  calls) and check they still hold the lease, so a recoverer (which also skips locked rows) can never take a target
  whose publish is under way;
* a target whose worker died (its row lock went with the connection) is taken over by the next claim: on PostgreSQL at
  once, since a live worker holds an advisory lock named after it on a connection of its own (`alive`) and a dead
  one's went with its process; elsewhere (and for a claimer that took no such lock) when its lease expires. Taking
  over early is safe: a target whose publish is under way is row-locked, and a claim that lost its lease publishes
  nothing. The next claimer first looks for the target's idempotency key in the network's recent posts, and records it as
  published when it is there, instead of publishing it a second time. A retry after a network failure does the same,
  since a timeout can hide a post that went out;
* a batch that fails before its commit leaves every target it held `publishing` under its lease, and some may be on
  the network: the same worker (or the next claimer, if it died) looks each one up there before publishing it.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, joinedload, lazyload

from govern.actor import Actor
from govern.audit.service import EventSpec, deferred, record, record_many
from govern.broker import service as broker
from govern.db import transaction_memo, utcnow
from govern.publishing.models import Post, PostState, PostTarget
from govern.publishing.post_publish import (
    PAUSE_CHECKS, PublishedTarget, TargetOutcome, _failed, _move, _settle, publish_locked_target,
)
from govern.publishing.service import Publisher

# How long a claim is trusted. Only a dead worker's targets wait for it: a live worker holds the row lock of the target it
# is publishing (a recoverer skips locked rows), and a claimed target it has not started yet that a recoverer took over
# meanwhile no longer carries its lease, so it skips it. Short, then: it is the recovery delay after a crash.
LEASE = timedelta(seconds=15)
BATCH = 100  # targets one claim takes
TOGETHER = 50  # claimed targets published in one transaction
TOGETHER_SECONDS = 0.5  # and for at most this long (a new pause waits for it to commit)
MAX_ATTEMPTS = 5  # network failures before a target ends `failed`
BACKOFF_BASE = timedelta(seconds=30)  # 30 s, 1 min, 2 min, 4 min between attempts
BACKOFF_CAP = timedelta(hours=1)
RECOVERY_PURPOSE = "schedule: look for a post before publishing it again"


@dataclass(frozen=True)
class Claimed:
    target_id: int
    lease: str  # the claimer's token; only the holder of the current lease may publish
    check_network_first: bool  # a dead worker's, or a retry: the network may already have it


@dataclass(frozen=True)
class _Before:
    id: int
    state: PostState
    attempts: int
    post_id: int
    account_id: int
    claimed_by: str | None


def worker_name() -> str:
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def liveness_key(worker: str | None) -> int | None:
    """The advisory lock key a live `worker_name()` holds: its random suffix. None for a name of another shape."""
    suffix = (worker or "").rsplit(":", 1)[-1]
    if len(suffix) != 12:
        return None
    try:
        return int(suffix, 16)
    except ValueError:
        return None


def hold_liveness(connection: Connection, worker: str) -> bool:
    """Take the worker's liveness lock on `connection` (a session lock, kept until unlocked or the connection ends)."""
    key = liveness_key(worker)
    if key is None or connection.dialect.name != "postgresql":
        return False
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
    connection.commit()
    return True


@contextmanager
def alive(engine: Engine, worker: str) -> Iterator[None]:
    """While inside, `worker` is known to be alive: its claims are not taken over before their lease ends. On a
    connection of its own, outside every transaction of the work, so a crash or a lost connection ends it."""
    if engine.dialect.name != "postgresql" or liveness_key(worker) is None:
        yield
        return
    with engine.connect() as connection:
        hold_liveness(connection, worker)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": liveness_key(worker)})
            connection.commit()


def _dead_claimers(session: Session, now: datetime) -> list[str]:
    """Workers whose claims are still leased but who no longer hold their liveness lock (PostgreSQL only)."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    claimers = session.scalars(select(PostTarget.claimed_by).distinct().where(
        PostTarget.state == PostState.PUBLISHING, PostTarget.lease_expires_at > now)).all()
    keyed = {worker: key for worker in claimers if (key := liveness_key(worker)) is not None}
    if not keyed:
        return []
    held = set(session.scalars(text("SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks "
                                    "WHERE locktype = 'advisory' AND objsubid = 1 AND granted")))
    return [worker for worker, key in keyed.items() if key not in held]


def backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def claim_due(session: Session, actor: Actor, worker: str, now: datetime | None = None, limit: int = BATCH) -> list[Claimed]:
    """Take up to `limit` due targets (scheduled and due, or left `publishing` past their lease) and mark them
    `publishing` under a lease held by `worker`. Commit before publishing them."""
    now = now or utcnow()
    due = and_(PostTarget.state == PostState.SCHEDULED,
               Post.state.in_([PostState.SCHEDULED, PostState.PUBLISHING, PostState.HELD]),
               Post.scheduled_at.is_not(None), Post.scheduled_at <= now,
               or_(PostTarget.next_attempt_at.is_(None), PostTarget.next_attempt_at <= now))
    abandoned = and_(PostTarget.state == PostState.PUBLISHING, PostTarget.lease_expires_at.is_not(None),
                     PostTarget.lease_expires_at <= now)
    if dead := _dead_claimers(session, now):
        abandoned = or_(abandoned, and_(PostTarget.state == PostState.PUBLISHING, PostTarget.claimed_by.in_(dead)))
    rows = session.scalars(
        select(PostTarget).options(lazyload(PostTarget.account), lazyload(PostTarget.post))
        .join(Post, Post.id == PostTarget.post_id).where(or_(due, abandoned))
        .order_by(Post.scheduled_at, PostTarget.id).limit(limit)
        .with_for_update(of=PostTarget, skip_locked=True)).all()
    if not rows:
        return []
    claimed, events = [], []
    for target in rows:
        row = _Before(target.id, target.state, target.attempts, target.post_id, target.account_id, target.claimed_by)
        recovering = row.state is PostState.PUBLISHING
        target.state, target.claimed_by = PostState.PUBLISHING, worker
        target.attempt_started_at, target.lease_expires_at = now, now + LEASE
        claimed.append(Claimed(row.id, worker, recovering or row.attempts > 0))
        details: dict[str, Any] = {"post_target_id": row.id, "account_id": row.account_id, "state_from": row.state.value,
                                   "state_to": PostState.PUBLISHING.value, "worker": worker,
                                   "lease_expires_at": target.lease_expires_at.isoformat()}
        if recovering:
            details["abandoned_by"] = row.claimed_by
        events.append(EventSpec("publishing:post_target:claim", "post", row.post_id, details=details))
    session.flush()
    record_many(session, actor, events)
    return claimed


def _holding(session: Session, claimed: Claimed) -> PostTarget | None:
    """The target, locked until the transaction ends, if this claim still holds its lease."""
    target = session.scalar(select(PostTarget).options(joinedload(PostTarget.post)).where(PostTarget.id == claimed.target_id)
                            .with_for_update(of=PostTarget))
    if target is None or target.state is not PostState.PUBLISHING or target.claimed_by != claimed.lease:
        return None
    return target


def find_on_network(session: Session, publisher: Publisher, actor: Actor, claimed: Claimed) -> dict[str, Any] | None:
    """The network's recent post carrying the target's idempotency key, if it went out before. Its own transaction
    (the caller commits it): the look-up is audited, and no audit lock may be held across the publish that may follow.
    A look-up that fails leaves the target to the next claim after its lease (publishing blind could post twice)."""
    target = _holding(session, claimed)
    if target is None:
        return None
    answer = broker.perform_action(session, publisher.broker, actor, None, target.account_id, "list_recent_posts", {},
                                   system_purpose=RECOVERY_PURPOSE)
    for item in answer.get("data", []) if isinstance(answer, dict) else []:
        if isinstance(item, dict) and item.get("idempotency_key") == target.idempotency_key:
            return item
    return None


def record_found(session: Session, actor: Actor, claimed: Claimed, found: dict[str, Any]) -> PublishedTarget | None:
    """The post was on the network already: record the target published, without publishing it again."""
    target = _holding(session, claimed)
    if target is None:
        return None
    target.result, target.external_id = found, str(found.get("id")) if found.get("id") is not None else None
    target.published_at, target.error, target.next_attempt_at = utcnow(), None, None
    _move(session, actor, target, PostState.PUBLISHED, "publishing:post_target:recover", external_id=target.external_id,
          found_on_network=True)
    _settle(session, actor, target.post)
    return PublishedTarget(target.id, TargetOutcome.ALREADY_DONE, found)


def publish_claimed(session: Session, publisher: Publisher, actor: Actor, claimed: Claimed,
                    now: datetime | None = None) -> PublishedTarget | None:
    """Publish one claimed target (the pause, approvals and policy are checked again), holding its row lock across the
    network call. None when the claim lost its lease (another worker took it over)."""
    target = _holding(session, claimed)
    if target is None:
        return None
    return _publish_held(session, publisher, actor, target, now or utcnow())


def publish_claimed_together(session: Session, publisher: Publisher, actor: Actor, claims: list[Claimed],
                             seconds: float = TOGETHER_SECONDS) -> tuple[dict[int, PublishedTarget | None], list[Claimed]]:
    """Publish up to TOGETHER claimed targets in one transaction, as publish_claimed would each, for at most `seconds`:
    the outcome per target id (None: the claim lost its lease), and the claims left for the next transaction.

    The targets are locked in one statement and stay locked across their network calls. The pause lock, the active
    pauses and each grant are read once (govern.db.transaction_memo): a pause that starts meanwhile waits for the
    commit, which `seconds` keeps short. The row changes and their audit events are written together at the end, so
    the audit chain's head, which every audited change waits for, is not held across network calls. Not for claims
    that must look at the network first. The caller commits; if this raises or the commit fails, some of the targets
    may have gone out: the caller looks for each on the network before trying it again.
    """
    started, outcomes = time.monotonic(), {}
    claims, left = claims[:TOGETHER], claims[TOGETHER:]
    leases = {claimed.target_id: claimed.lease for claimed in claims}
    with transaction_memo(session), deferred(session):
        with session.no_autoflush:
            locked = session.scalars(select(PostTarget).options(joinedload(PostTarget.post).selectinload(Post.targets))
                                     .where(PostTarget.id.in_(leases)).order_by(PostTarget.id)
                                     .with_for_update(of=PostTarget)).unique().all()
            held = {target.id: target for target in locked
                    if target.state is PostState.PUBLISHING and target.claimed_by == leases[target.id]}
            for position, claimed in enumerate(claims):
                if time.monotonic() - started > seconds:
                    left = claims[position:] + left
                    break
                target = held.get(claimed.target_id)
                outcomes[claimed.target_id] = (None if target is None else
                                               _publish_held(session, publisher, actor, target, utcnow()))
        session.flush()
    return outcomes, left


def _publish_held(session: Session, publisher: Publisher, actor: Actor, target: PostTarget,
                  now: datetime) -> PublishedTarget:
    outcome = publish_locked_target(session, publisher, actor, target, now, on_network_failure=_retry_later)
    if target.state is PostState.PUBLISHING and outcome.outcome is TargetOutcome.NOT_DUE:  # rescheduled meanwhile
        _move(session, actor, target, PostState.SCHEDULED, "publishing:post_target:unclaim")
    if outcome.outcome is TargetOutcome.PUBLISHED:
        target.next_attempt_at = None
    return outcome


def _retry_later(session: Session, actor: Actor, target: PostTarget, reason: str) -> PublishedTarget:
    """A network failure: back to `scheduled` after a backoff, or `failed` (the author is told) after MAX_ATTEMPTS."""
    if target.attempts >= MAX_ATTEMPTS:
        return _failed(session, actor, target, reason)
    target.error = reason[:2000]
    target.next_attempt_at = utcnow() + backoff(target.attempts)
    _move(session, actor, target, PostState.SCHEDULED, "publishing:post_target:retry", error=target.error,
          attempts=target.attempts, next_attempt_at=target.next_attempt_at.isoformat())
    return PublishedTarget(target.id, TargetOutcome.RETRYING)


def lookup_failed(session: Session, actor: Actor, claimed: Claimed, reason: str) -> PublishedTarget | None:
    """The look-up before a retry (or the publish) failed unexpectedly: counted as a failed attempt, so a network that
    stays down ends the target `failed` after MAX_ATTEMPTS like any other failure."""
    target = _holding(session, claimed)
    if target is None:
        return None
    target.attempts += 1
    return _retry_later(session, actor, target, reason)


def release_held(session: Session, actor: Actor, pause_id: int | None = None) -> int:
    """Targets held by a pause that no longer covers their account go back to `scheduled` (and out at the next beat)."""
    held = session.scalars(select(PostTarget).where(PostTarget.state == PostState.HELD)
                           .order_by(PostTarget.id).with_for_update(of=PostTarget, skip_locked=True)).all()
    released = 0
    for target in held:
        if any(check(session, target) for check in PAUSE_CHECKS):
            continue
        _move(session, actor, target, PostState.SCHEDULED, "publishing:post_target:release", pause_id=pause_id)
        post = target.post
        if post.state is PostState.HELD:
            previous, post.state = post.state, PostState.SCHEDULED
            session.flush()
            record(session, actor, "publishing:post:state", "post", post.id, state_from=previous.value,
                   state_to=post.state.value)
        released += 1
    return released


__all__ = ["BATCH", "LEASE", "MAX_ATTEMPTS", "Claimed", "alive", "backoff", "claim_due", "find_on_network", "hold_liveness",
           "lookup_failed", "publish_claimed", "publish_claimed_together", "record_found", "release_held", "worker_name"]
