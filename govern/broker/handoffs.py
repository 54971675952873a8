"""Wrapped hand-offs: a single-use, short-lived Vault wrapping token for an integration that must call a network itself."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import metrics, signals
from govern.adapters.secret_store import SecretStoreError, WrappingUnsupported
from govern.actor import Actor
from govern.audit.service import record
from govern.auth.throttle import EVERYONE, HANDOFF_UNWRAP, Throttle
from govern.broker.models import ConnectionHealth, WrappedHandoff
from govern.broker.context import BrokerContext, fingerprint, get_connection
from govern.db import utcnow
from govern.errors import DomainError, InvalidOperation, RateLimited
from govern.pauses import service as pauses
from govern.secret_value import SecretValue

log = structlog.get_logger(__name__)
MAX_TTL_SECONDS = 300




class HandoffRefused(DomainError):
    status = 410
    title = "Hand-off already used or expired"
    keeps_audit = True  # the alert event of a real hand-off presented again must survive the refused request


def issue_handoff(
    session: Session, context: BrokerContext, actor: Actor, person_id: int | None, account_id: int, purpose: str, ttl_seconds: int
) -> tuple[WrappedHandoff, SecretValue]:
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidOperation("a hand-off lives at most %(MAX_TTL_SECONDS)s seconds", MAX_TTL_SECONDS=MAX_TTL_SECONDS)
    if len(purpose.strip()) < 10:
        raise InvalidOperation("say what the hand-off is for (at least 10 characters)")
    connection = get_connection(session, account_id)
    if connection.health in (ConnectionHealth.NEEDS_RECONNECT, ConnectionHealth.REVOKED):
        raise InvalidOperation("account %(account_id)s must be reconnected first", account_id=account_id)
    pauses.refuse_if_paused(session, actor, connection.account, "handoff", person_id)  # a token could post directly
    try:
        token = context.store.read(connection.store_path).data["access_token"]
        wrapped = context.store.wrap({"access_token": token}, ttl_seconds)
    except WrappingUnsupported as exc:
        raise InvalidOperation("the secret store cannot hand off tokens: %(reason)s", reason=str(exc)) from None
    except SecretStoreError as exc:
        raise InvalidOperation("the secret store could not wrap the token: %(exc)s", exc=exc) from None
    handoff = WrappedHandoff(
        account_id=account_id, issued_by=actor.id, issued_by_person_id=person_id, purpose=purpose.strip(),
        accessor=wrapped.accessor, token_fingerprint=fingerprint(context, wrapped.token),
        expires_at=utcnow() + timedelta(seconds=wrapped.ttl_seconds),
    )
    session.add(handoff)
    session.flush()
    record(session, actor, "broker:handoff:issue", "account", account_id,
           handoff_id=handoff.id, accessor=wrapped.accessor, ttl_seconds=wrapped.ttl_seconds, purpose=handoff.purpose)
    return handoff, wrapped.token


def unwrap_handoff(session: Session, context: BrokerContext, actor: Actor, wrapping_token: SecretValue,
                   throttle: Throttle) -> dict[str, SecretValue]:
    """Unwrap for an integration. Refused (410): a token govern never issued (counted, logged at info: anybody can send
    one), or a real hand-off already used, expired or revoked (audited and alerted: someone holds a spent token).
    Refusals count against the per-address and global limits; over them, 429 before anything is looked up."""
    verdict = throttle.check(HANDOFF_UNWRAP, actor.client_addr)
    if verdict.limited:
        metrics.count("handoff_unwrap_rate_limited", limited_by=verdict.rule.scope)
        if verdict.rule.scope == EVERYONE:
            raise RateLimited("too many refused unwraps from everywhere; try again in %(seconds)s seconds",
                              verdict.retry_after, seconds=verdict.retry_after)
        raise RateLimited("too many refused unwraps from this address; try again in %(seconds)s seconds",
                          verdict.retry_after, seconds=verdict.retry_after)
    handoff = session.scalar(select(WrappedHandoff).where(WrappedHandoff.token_fingerprint == fingerprint(context, wrapping_token)))
    if handoff is None:  # not one of govern's: the secret store is never asked to unwrap it
        throttle.count(HANDOFF_UNWRAP, actor.client_addr)
        metrics.count("handoff_unwrap_unknown")
        raise HandoffRefused("this hand-off was already unwrapped, has expired or was revoked, or govern never issued it")
    try:
        data = context.store.unwrap(wrapping_token)
    except SecretStoreError:
        throttle.count(HANDOFF_UNWRAP, actor.client_addr)
        _alert(session, actor, handoff)
        raise HandoffRefused("this hand-off was already unwrapped, has expired or was revoked, or govern never issued it") from None
    handoff.unwrapped_at = utcnow()
    record(session, actor, "broker:handoff:unwrap", "account", handoff.account_id, handoff_id=handoff.id)
    return data


def _alert(session: Session, actor: Actor, handoff: WrappedHandoff) -> None:
    """A real hand-off presented again: whoever holds its token should not have it any more."""
    handoff.unwrap_refused_at = utcnow()
    log.error("handoff_unwrap_refused", handoff_id=handoff.id, account_id=handoff.account_id, alert=True)
    record(session, actor, "broker:handoff:unwrap_refused", "account", handoff.account_id,
           handoff_id=handoff.id, known_handoff=True)
    signals.handoff_unwrap_refused.send(session, handoff_id=handoff.id, account_id=handoff.account_id)


def revoke_handoffs(session: Session, context: BrokerContext, actor: Actor, *, account_id: int | None = None,
                    person_id: int | None = None, reason: str) -> int:
    """Invalidate outstanding hand-offs of an account or issued by a person (offboarding, compromise)."""
    query = select(WrappedHandoff).where(
        WrappedHandoff.unwrapped_at.is_(None), WrappedHandoff.revoked_at.is_(None), WrappedHandoff.expires_at > utcnow()
    )
    if account_id is not None:
        query = query.where(WrappedHandoff.account_id == account_id)
    if person_id is not None:
        query = query.where(WrappedHandoff.issued_by_person_id == person_id)
    revoked = 0
    for handoff in session.scalars(query):
        try:
            context.store.revoke_wrapping(handoff.accessor)
        except SecretStoreError as exc:
            log.warning("handoff_revoke_failed", handoff_id=handoff.id, error=str(exc))
        handoff.revoked_at = utcnow()
        record(session, actor, "broker:handoff:revoke", "account", handoff.account_id, handoff_id=handoff.id, reason=reason)
        revoked += 1
    return revoked
