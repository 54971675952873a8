"""Wrapped hand-offs: a single-use, short-lived Vault wrapping token for an integration that must call a network itself."""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import signals
from govern.adapters.secret_store import SecretStoreError, WrappingUnsupported
from govern.audit.service import Actor, record
from govern.broker.models import ConnectionHealth, WrappedHandoff
from govern.broker.service import BrokerContext, InvalidOperation, fingerprint, get_connection
from govern.db import utcnow
from govern.errors import DomainError
from govern.secret_value import SecretValue

log = structlog.get_logger(__name__)
MAX_TTL_SECONDS = 300


class HandoffRefused(DomainError):
    status = 410
    title = "Hand-off already used or expired"
    keeps_audit = True  # the alert event must survive the refused request


def issue_handoff(
    session: Session, context: BrokerContext, actor: Actor, person_id: int | None, account_id: int, purpose: str, ttl_seconds: int
) -> tuple[WrappedHandoff, SecretValue]:
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidOperation(f"a hand-off lives at most {MAX_TTL_SECONDS} seconds")
    if len(purpose.strip()) < 10:
        raise InvalidOperation("say what the hand-off is for (at least 10 characters)")
    connection = get_connection(session, account_id)
    if connection.health in (ConnectionHealth.NEEDS_RECONNECT, ConnectionHealth.REVOKED):
        raise InvalidOperation(f"account {account_id} must be reconnected first")
    try:
        token = context.store.read(connection.store_path).data["access_token"]
        wrapped = context.store.wrap({"access_token": token}, ttl_seconds)
    except WrappingUnsupported as exc:
        raise InvalidOperation(str(exc)) from None
    except SecretStoreError as exc:
        raise InvalidOperation(f"the secret store could not wrap the token: {exc}") from None
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


def unwrap_handoff(session: Session, context: BrokerContext, actor: Actor, wrapping_token: SecretValue) -> dict[str, SecretValue]:
    """Unwrap for an integration; a refused unwrap (already used, expired or revoked) raises an alert."""
    handoff = session.scalar(select(WrappedHandoff).where(WrappedHandoff.token_fingerprint == fingerprint(context, wrapping_token)))
    try:
        data = context.store.unwrap(wrapping_token)
    except SecretStoreError:
        _alert(session, actor, handoff)
        raise HandoffRefused("this hand-off was already unwrapped, has expired or was revoked; the attempt is recorded") from None
    if handoff is not None:
        handoff.unwrapped_at = utcnow()
        record(session, actor, "broker:handoff:unwrap", "account", handoff.account_id, handoff_id=handoff.id)
    return data


def _alert(session: Session, actor: Actor, handoff: WrappedHandoff | None) -> None:
    if handoff is not None:
        handoff.unwrap_refused_at = utcnow()
    account_id = handoff.account_id if handoff else "unknown"
    log.error("handoff_unwrap_refused", handoff_id=handoff.id if handoff else None, account_id=account_id, alert=True)
    record(session, actor, "broker:handoff:unwrap_refused", "account", account_id,
           handoff_id=handoff.id if handoff else None, known_handoff=handoff is not None)
    signals.handoff_unwrap_refused.send(session, handoff_id=handoff.id if handoff else None, account_id=account_id)


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
