"""Composing posts: create one for several accounts (a target each), edit it (its approvals reset), submit it through
the policy's gate to its approval steps, cancel it, list and read posts."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus, SocialAccount
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.policy.engine.findings import Decision
from govern.publishing import approvals
from govern.publishing.models import FINAL_STATES, Post, PostState, PostTarget
from govern.publishing.service import PolicyBlocked, Publisher, gate

MAX_TARGETS = 50
EDITABLE = frozenset({PostState.DRAFT, PostState.AWAITING_APPROVAL, PostState.SCHEDULED, PostState.BLOCKED, PostState.HELD})


def get_post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound("post %(post_id)s does not exist", post_id=post_id)
    return post


def list_posts(session: Session, state: PostState | None = None, account_id: int | None = None, limit: int = 200) -> list[Post]:
    query = select(Post).order_by(Post.id.desc())
    if state is not None:
        query = query.where(Post.state == state)
    if account_id is not None:
        query = query.where(Post.id.in_(select(PostTarget.post_id).where(PostTarget.account_id == account_id)))
    return list(session.scalars(query.limit(limit)))


def scheduled_between(session: Session, start: datetime, end: datetime, state: PostState | None = None,
                      account_id: int | None = None, limit: int = 2000) -> list[Post]:
    """Posts scheduled in [start, end), soonest first: the calendar's."""
    query = (select(Post).where(Post.scheduled_at.is_not(None), Post.scheduled_at >= start, Post.scheduled_at < end)
             .order_by(Post.scheduled_at, Post.id))
    if state is not None:
        query = query.where(Post.state == state)
    if account_id is not None:
        query = query.where(Post.id.in_(select(PostTarget.post_id).where(PostTarget.account_id == account_id)))
    return list(session.scalars(query.limit(limit)))


def _accounts(session: Session, account_ids: list[int]) -> list[SocialAccount]:
    wanted = list(dict.fromkeys(int(a) for a in account_ids))
    if not wanted:
        raise InvalidOperation("choose at least one account to post to")
    if len(wanted) > MAX_TARGETS:
        raise InvalidOperation("a post goes to at most %(count)s accounts", count=MAX_TARGETS)
    found = {a.id: a for a in session.scalars(select(SocialAccount).where(SocialAccount.id.in_(wanted)))}
    missing = [str(a) for a in wanted if a not in found]
    if missing:
        raise NotFound("no account %(value)s", value=", ".join(missing))
    inactive = [found[a].handle for a in wanted if found[a].status is not AccountStatus.ACTIVE]
    if inactive:
        raise InvalidOperation("these accounts are not active: %(value)s", value=", ".join(inactive))
    return [found[a] for a in wanted]


def _check_time(scheduled_at: datetime | None, now: datetime) -> None:
    if scheduled_at is not None and scheduled_at <= now:
        raise InvalidOperation("the scheduled time must be in the future")


def _target(account: SocialAccount) -> PostTarget:
    return PostTarget(account_id=account.id, account=account, state=PostState.DRAFT,
                      idempotency_key=secrets.token_hex(16), attempts=0)


def create_post(session: Session, actor: Actor, author_person_id: int | None, account_ids: list[int], text: str, *,
                media: list[str] | None = None, variants: dict[str, Any] | None = None,
                scheduled_at: datetime | None = None) -> Post:
    text = (text or "").strip()
    if not text:
        raise InvalidOperation("write the post's text first")
    _check_time(scheduled_at, utcnow())
    accounts = _accounts(session, account_ids)
    post = Post(author_person_id=author_person_id, created_by=actor.id, created_by_name=actor.name, text=text,
                media=list(media or []), variants=dict(variants or {}), scheduled_at=scheduled_at, state=PostState.DRAFT,
                version=1, rules=[], findings=[])
    post.targets = [_target(account) for account in accounts]
    session.add(post)
    session.flush()
    record(session, actor, "publishing:post:create", "post", post.id, account_ids=[a.id for a in accounts],
           scheduled_at=scheduled_at.isoformat() if scheduled_at else None, networks_with_variants=sorted(post.variants))
    return post


def update_post(session: Session, publisher: Publisher, actor: Actor, post_id: int, changes: dict[str, Any], *,
                ttl: timedelta = approvals.DEFAULT_APPROVAL_TTL) -> Post:
    """Change a post not yet out; every approval given so far is set aside, and a submitted post is submitted again."""
    post = approvals.locked_post(session, post_id)
    if post.state not in EDITABLE:
        raise Conflict("post %(post_id)s can no longer be changed (%(state)s)", post_id=post.id, state=post.state.value)
    if "text" in changes:
        if not (changes["text"] or "").strip():
            raise InvalidOperation("write the post's text first")
        post.text = changes["text"].strip()
    for name in ("media", "variants"):
        if name in changes:
            setattr(post, name, changes[name] or ([] if name == "media" else {}))
    if "scheduled_at" in changes:
        _check_time(changes["scheduled_at"], utcnow())
        post.scheduled_at = changes["scheduled_at"]
    if "account_ids" in changes:
        accounts = _accounts(session, changes["account_ids"])
        keep = {t.account_id: t for t in post.targets}
        post.targets = [keep.get(a.id) or _target(a) for a in accounts]
    was_submitted = post.state is not PostState.DRAFT
    post.version += 1
    reset = approvals.void_decisions(session, post)
    previous = post.state
    post.state = PostState.DRAFT
    for target in post.targets:
        target.state = PostState.DRAFT
    session.flush()
    record(session, actor, "publishing:post:update", "post", post.id, version=post.version, changed=sorted(changes),
           approvals_reset=reset, state_from=previous.value, state_to=PostState.DRAFT.value)
    if was_submitted:
        submit_post(session, publisher, actor, post.id, ttl=ttl)
    return post


def _gate_targets(session: Session, publisher: Publisher, post: Post) -> tuple[dict[int, Decision | None], list[tuple[PostTarget, PolicyBlocked]]]:
    decisions: dict[int, Decision | None] = {}
    blocked = []
    for target in post.targets:
        text, _media = post.content_for(target.account.network.key)
        if publisher.policy is None:
            decisions[target.account_id] = None
            continue
        try:
            decisions[target.account_id] = gate(session, publisher.policy, target.account_id, "publish", {"text": text})
        except PolicyBlocked as refused:
            blocked.append((target, refused))
    return decisions, blocked


def submit_post(session: Session, publisher: Publisher, actor: Actor, post_id: int, *,
                ttl: timedelta = approvals.DEFAULT_APPROVAL_TTL) -> Post:
    """The policy checks every target's text; a block stops the whole post (blocked, with the explanation). Then the
    post waits for its approval steps, or, when none apply, is scheduled or published now."""
    post = approvals.locked_post(session, post_id)
    if post.state not in (PostState.DRAFT, PostState.BLOCKED):
        raise Conflict("post %(post_id)s was already submitted (%(state)s)", post_id=post.id, state=post.state.value)
    now = utcnow()
    _check_time(post.scheduled_at, now)
    decisions, blocked = _gate_targets(session, publisher, post)
    post.submitted_at, post.rejection_reason = now, None
    post.findings = [f.document() for d in decisions.values() if d is not None for f in d.findings]
    if blocked:
        first = blocked[0][1]
        post.block_reason = first.detail
        post.findings = [f.document() for _t, refused in blocked for f in refused.decision.findings]
        for target in post.targets:
            target.state = PostState.BLOCKED
        previous, post.state = post.state, PostState.BLOCKED
        session.flush()
        record(session, actor, "publishing:post:block", "post", post.id, state_from=previous.value,
               state_to=PostState.BLOCKED.value, account_ids=[t.account_id for t, _r in blocked], **first.decision.document())
        raise first
    post.block_reason = None
    post.rules = approvals.applicable_rules(session, post, decisions)
    if post.rules:
        approvals._set_state(session, actor, post, PostState.AWAITING_APPROVAL, "publishing:post:submit",
                             rules=[r["rule_id"] for r in post.rules], version=post.version)
        approvals.announce_current_steps(session, post, now)
        return post
    record(session, actor, "publishing:post:submit", "post", post.id, rules=[], version=post.version,
           state_from=post.state.value, state_to=PostState.SCHEDULED.value)
    approvals.release(session, publisher, actor, post, now)
    return post


def cancel_post(session: Session, actor: Actor, post_id: int, reason: str | None = None) -> Post:
    post = approvals.locked_post(session, post_id)
    if post.state in FINAL_STATES or post.state is PostState.PUBLISHING:
        raise Conflict("post %(post_id)s can no longer be cancelled (%(state)s)", post_id=post.id, state=post.state.value)
    approvals.void_decisions(session, post)
    approvals._set_state(session, actor, post, PostState.CANCELLED, "publishing:post:cancel", reason=reason)
    return post
