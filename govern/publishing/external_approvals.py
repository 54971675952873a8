"""Approvers outside govern (legal, an agency): a single-use, expiring link that shows one post and takes one decision.

The token is random; the link carries it and the database keeps only its HMAC-SHA256 under the app's secret, so a copy
of the database cannot be turned back into a working link.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import InvalidOperation, NotFound
from govern.publishing import approvals
from govern.publishing.models import ExternalApprovalLink, Post, PostState
from govern.publishing.service import Publisher
from govern.secret_value import SecretValue

DEFAULT_LINK_TTL = timedelta(hours=72)
MAX_LINK_TTL = timedelta(days=30)


class LinkUnusable(NotFound):
    """Unknown, used or expired: the page says the same for each, so a guess learns nothing."""


def token_digest(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_link(session: Session, actor: Actor, secret: str, post_id: int, name: str, email: str, *,
                ttl: timedelta = DEFAULT_LINK_TTL, now: datetime | None = None) -> tuple[ExternalApprovalLink, SecretValue]:
    """A link for an outside approver named (by e-mail) in a step of the post; the token is returned once."""
    now = now or utcnow()
    name, email = (name or "").strip(), (email or "").strip().lower()
    if not name or "@" not in email:
        raise InvalidOperation("an outside approver needs a name and an e-mail address")
    if not timedelta(minutes=5) <= ttl <= MAX_LINK_TTL:
        raise InvalidOperation("a link lasts between 5 minutes and %(days)s days", days=MAX_LINK_TTL.days)
    post = approvals.locked_post(session, post_id)
    if post.state is not PostState.AWAITING_APPROVAL:
        raise InvalidOperation("post %(post_id)s is not waiting for approval", post_id=post.id)
    if not any(f"external:{email}" in step.slots for step in approvals.progress(post, now)):
        raise InvalidOperation("no approval step of post %(post_id)s names %(email)s", post_id=post.id, email=email)
    token = secrets.token_urlsafe(32)
    ends = now + ttl
    if post.scheduled_at is not None:
        ends = min(ends, post.scheduled_at)
    link = ExternalApprovalLink(post_id=post.id, post_version=post.version, token_hash=token_digest(secret, token),
                                approver_name=name, approver_email=email, created_by=actor.id, created_at=now, expires_at=ends)
    session.add(link)
    session.flush()
    record(session, actor, "publishing:external_link:create", "post", post.id, link_id=link.id, approver_name=name,
           approver_email=email, expires_at=ends.isoformat())
    return link, SecretValue(token)


def open_link(session: Session, secret: str, token: str, *, now: datetime | None = None, lock: bool = False) -> tuple[ExternalApprovalLink, Post]:
    """The link and its post, if the token is one govern issued, not used, not expired, for the post as it is now."""
    now = now or utcnow()
    query = select(ExternalApprovalLink).where(ExternalApprovalLink.token_hash == token_digest(secret, token or ""))
    link = session.scalar(query.with_for_update() if lock else query)
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise LinkUnusable("this approval link is not valid: it was used already, it expired, or it never existed")
    post = session.get(Post, link.post_id)
    if post is None or post.version != link.post_version or post.state is not PostState.AWAITING_APPROVAL:
        raise LinkUnusable("this approval link is not valid: it was used already, it expired, or it never existed")
    return link, post


def decide(session: Session, publisher: Publisher, secret: str, token: str, approve: bool, reason: str | None, *,
           client_addr: str | None = None, ttl: timedelta = approvals.DEFAULT_APPROVAL_TTL) -> Post:
    """The outside approver's one decision; the link is spent whatever it was."""
    now = utcnow()
    link, post = open_link(session, secret, token, now=now, lock=True)
    actor = Actor(f"external:{link.approver_email}", link.approver_name, None, client_addr)
    approver = approvals.Approver(actor, email=link.approver_email)
    if not approve and not (reason or "").strip():
        raise InvalidOperation("say why the post is rejected; the person who wrote it reads this")
    link.used_at = now
    session.flush()
    record(session, actor, "publishing:external_link:use", "post", post.id, link_id=link.id,
           approver_name=link.approver_name, approver_email=link.approver_email, verdict="approved" if approve else "rejected")
    if approve:
        return approvals.approve(session, publisher, approver, post.id, None, ttl=ttl, now=now)
    return approvals.reject(session, approver, post.id, reason or "", now=now)
