"""A post's targets going out: what is due, and one target published through the policy's gate and the broker, once.

`publish_target` is what the schedule's beat job calls for each id `due_targets` returns; the approval flow calls it
too when a post with no scheduled time gets its final approval.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import deferring, record
from govern.broker import service as broker
from govern.broker.context import ActionFailed, SecretStoreDown
from govern.db import utcnow
from govern.errors import N_, DomainError, NotFound
from govern.notifications.service import notify
from govern.pauses.service import PublishingPaused
from govern.publishing.approval_progress import fully_approved
from govern.publishing.models import FINAL_STATES, Post, PostState, PostTarget
from govern.publishing.service import PolicyBlocked, Publisher, gate

# What to do when the network refused or did not answer: the schedule retries with backoff; by default the target fails.
NetworkFailure = Callable[[Session, "Actor", PostTarget, str], "PublishedTarget"]

# Each is asked whether a pause covers a target's account (the pauses feature appends its check here); any True holds it.
PAUSE_CHECKS: list[Callable[[Session, PostTarget], bool]] = []


class TargetOutcome(str, enum.Enum):
    PUBLISHED = "published"
    ALREADY_DONE = "already_done"  # published (or ended) before: nothing went out twice
    NOT_DUE = "not_due"
    HELD = "held"
    BLOCKED = "blocked"
    FAILED = "failed"
    NEEDS_APPROVAL = "needs_approval"  # its approvals lapsed before it went out
    RETRYING = "retrying"  # the network failed; tried again after a backoff


@dataclass(frozen=True)
class PublishedTarget:
    target_id: int
    outcome: TargetOutcome
    result: dict[str, Any] | None = None


def due_targets(session: Session, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of scheduled targets whose post's time has come, oldest first."""
    now = now or utcnow()
    query = (select(PostTarget.id).join(Post, Post.id == PostTarget.post_id)
             .where(PostTarget.state == PostState.SCHEDULED, Post.state.in_([PostState.SCHEDULED, PostState.PUBLISHING]),
                    Post.scheduled_at.is_not(None), Post.scheduled_at <= now,
                    or_(PostTarget.next_attempt_at.is_(None), PostTarget.next_attempt_at <= now))
             .order_by(Post.scheduled_at, PostTarget.id).limit(limit))
    return list(session.scalars(query))


def publish_target(
    session: Session, publisher: Publisher, actor: Actor, target_id: int, now: datetime | None = None,
    on_network_failure: NetworkFailure | None = None,
) -> PublishedTarget:
    """Check the target again (a pause, its approvals, the policy in force now) and publish it through the broker.

    The target row is locked for the whole attempt and its state moves to published in the same transaction, so two
    workers given the same id publish it once; the idempotency key travels with the broker's audited parameters.
    """
    now = now or utcnow()
    target = session.scalar(select(PostTarget).where(PostTarget.id == target_id).with_for_update(of=PostTarget))
    if target is None:
        raise NotFound("post target %(target_id)s does not exist", target_id=target_id)
    return publish_locked_target(session, publisher, actor, target, now, on_network_failure)


def publish_locked_target(
    session: Session, publisher: Publisher, actor: Actor, target: PostTarget, now: datetime,
    on_network_failure: NetworkFailure | None = None,
) -> PublishedTarget:
    """`publish_target` for a target this transaction has already locked (the schedule's claim holder)."""
    post = target.post
    if target.state in FINAL_STATES or target.state is PostState.BLOCKED:
        return PublishedTarget(target.id, TargetOutcome.ALREADY_DONE, target.result)
    if target.state not in (PostState.SCHEDULED, PostState.HELD, PostState.PUBLISHING):
        return PublishedTarget(target.id, TargetOutcome.NOT_DUE)
    if post.scheduled_at is not None and post.scheduled_at > now:
        return PublishedTarget(target.id, TargetOutcome.NOT_DUE)
    if any(check(session, target) for check in PAUSE_CHECKS):
        _move(session, actor, target, PostState.HELD, "publishing:post_target:hold")
        return PublishedTarget(target.id, TargetOutcome.HELD)
    moment = post.scheduled_at or now
    if not fully_approved(post, moment):
        _move(session, actor, target, PostState.AWAITING_APPROVAL, "publishing:post_target:approval_lapsed")
        _settle(session, actor, post)
        return PublishedTarget(target.id, TargetOutcome.NEEDS_APPROVAL)
    return _go_out(session, publisher, actor, target, on_network_failure or _failed)


def _go_out(session: Session, publisher: Publisher, actor: Actor, target: PostTarget,
            on_network_failure: NetworkFailure) -> PublishedTarget:
    post = target.post
    text, media = post.content_for(target.account.network.key)
    params = {"text": text, "idempotency_key": target.idempotency_key, **({"media": media} if media else {})}
    author = Actor(post.created_by, post.created_by_name, actor.request_id, actor.client_addr) if actor.id.startswith("system:") else actor
    target.state, target.attempts = PostState.PUBLISHING, target.attempts + 1
    try:
        with session.no_autoflush:  # the attempt is written with the outcome, in one UPDATE
            prepared = broker.prepare_action(session, publisher.broker, author, post.author_person_id,
                                             target.account_id, "publish", params)
    except PublishingPaused:  # a pause committed after the check above: held, not failed
        _move(session, actor, target, PostState.HELD, "publishing:post_target:hold")
        _settle(session, actor, post)
        return PublishedTarget(target.id, TargetOutcome.HELD)
    except DomainError as refused:
        return _failed(session, actor, target, refused.detail)
    decision = None
    if publisher.policy is not None:
        try:
            with session.no_autoflush:
                decision = gate(session, publisher.policy, target.account_id, "publish", {"text": text})
        except PolicyBlocked as blocked:
            broker.record_stopped(session, author, prepared, "blocked", text=blocked.decision.masked(text),
                                  **blocked.decision.document())
            target.error = blocked.detail
            _move(session, actor, target, PostState.BLOCKED, "publishing:post_target:block", **blocked.decision.document())
            _settle(session, actor, post)
            return PublishedTarget(target.id, TargetOutcome.BLOCKED)
    notes: dict[str, Any] = {"post_id": post.id, "post_target_id": target.id, "idempotency_key": target.idempotency_key,
                             **({"media_count": len(media)} if media else {})}
    audited = {**params, "text": decision.masked(text)} if decision is not None else None
    if decision is not None:
        notes.update(decision.document())
    try:
        result = broker.complete_action(session, publisher.broker, author, prepared, audited_params=audited,
                                        audit_notes=notes)
    except (ActionFailed, SecretStoreDown) as failed:  # the network or the secret store is down: tried again later
        return on_network_failure(session, actor, target, failed.detail)
    except DomainError as failed:
        return _failed(session, actor, target, failed.detail)
    target.result, target.external_id = result, str(result.get("id")) if result.get("id") is not None else None
    target.published_at, target.error = utcnow(), None
    _move(session, actor, target, PostState.PUBLISHED, "publishing:post_target:publish", external_id=target.external_id)
    _settle(session, actor, post)
    return PublishedTarget(target.id, TargetOutcome.PUBLISHED, result)


def _failed(session: Session, actor: Actor, target: PostTarget, reason: str) -> PublishedTarget:
    target.error = reason[:2000]
    _move(session, actor, target, PostState.FAILED, "publishing:post_target:fail", error=target.error)
    _settle(session, actor, target.post)
    if target.post.author_person_id is not None:
        notify(session, target.post.author_person_id, "post_failed", "post", target.post_id,
               N_("A post you wrote could not be published to %(account)s: %(reason)s"),
               account=target.account.handle, reason=target.error[:500], post_target_id=target.id)
    return PublishedTarget(target.id, TargetOutcome.FAILED)


def _move(session: Session, actor: Actor, target: PostTarget, state: PostState, action: str, **details: Any) -> None:
    previous, target.state = target.state, state
    if state is not PostState.PUBLISHING:  # out of the schedule's hands: its lease ends
        target.lease_expires_at = target.claimed_by = None
    _flush_with_its_event(session)
    record(session, actor, action, "post", target.post_id, post_target_id=target.id, account_id=target.account_id,
           state_from=previous.value, state_to=state.value, **details)


def _settle(session: Session, actor: Actor, post: Post) -> None:
    """The post's own state from its targets': published when all are, failed or blocked when all ended otherwise."""
    states = {target.state for target in post.targets}
    if states == {PostState.PUBLISHED}:
        state = PostState.PUBLISHED
    elif states <= {PostState.BLOCKED}:
        state = PostState.BLOCKED
    elif states <= (FINAL_STATES | {PostState.BLOCKED}):
        state = PostState.FAILED
    elif PostState.AWAITING_APPROVAL in states:
        state = PostState.AWAITING_APPROVAL
    elif states & {PostState.PUBLISHED, PostState.PUBLISHING, PostState.FAILED, PostState.BLOCKED}:
        state = PostState.PUBLISHING
    elif states == {PostState.HELD}:
        state = PostState.HELD
    else:
        return
    if state is not post.state:
        previous, post.state = post.state, state
        _flush_with_its_event(session)
        record(session, actor, "publishing:post:state", "post", post.id, state_from=previous.value, state_to=state.value)


def _flush_with_its_event(session: Session) -> None:
    """A change is flushed as its audit event is written; a schedule batch, whose events are written together at its end
    (audit.service.deferred), flushes all its changes there too, in the unit of work's order (the same in every worker)."""
    if not deferring(session):
        session.flush()


def publish_now(session: Session, publisher: Publisher, actor: Actor, post: Post) -> list[PublishedTarget]:
    """Every target of a post that has no scheduled time, in turn (the final approval, or a submit needing none)."""
    return [publish_target(session, publisher, actor, target.id) for target in list(post.targets)
            if target.state is PostState.SCHEDULED]
