"""Retiring a connection: revoking at the network, destroying stored tokens, compromise, a connector who left."""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import AccountStatus, SocialAccount
from govern.actor import Actor
from govern.adapters.networks.base import NetworkError
from govern.adapters.secret_store import SecretStoreError
from govern.audit.service import record
from govern.broker.context import BrokerContext, guard_store
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.broker.service.apps import network_client
from govern.broker.service.tokens import set_health
from govern.errors import DomainError, NotFound

log = structlog.get_logger(__name__)


def disconnect(session: Session, context: BrokerContext, actor: Actor, account_id: int, reason: str) -> None:
    """Revoke at the network where it can, destroy every stored version, and mark the connection revoked."""
    connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account_id))
    if connection is None:
        return
    revoked_at_network = _revoke_at_network(session, context, connection)
    guard_store(context.store.destroy, connection.store_path)
    set_health(connection, ConnectionHealth.REVOKED, reason)
    connection.refresh_due_at = None
    session.flush()
    record(session, actor, "broker:connection:revoke", "account", account_id, reason=reason, revoked_at_network=revoked_at_network)


def _revoke_at_network(session: Session, context: BrokerContext, connection: AccountConnection) -> dict[str, bool]:
    """Revoke (RFC 7009) the refresh token, then the access token: a network may leave issued access tokens working
    when the refresh token is revoked. Which token was revoked, by name; a failure is logged and does not stop the other."""
    try:
        stored = context.store.read(connection.store_path)
        client = network_client(session, context, connection.account.network)
    except (SecretStoreError, DomainError) as exc:
        log.warning("network_revoke_failed", account_id=connection.account_id, error=str(exc))
        return {"access_token": False}
    revoked = {}
    for hint in ("refresh_token", "access_token"):
        if hint not in stored.data:
            continue
        try:
            revoked[hint] = client.revoke(stored.data[hint], hint)
        except NetworkError as exc:
            revoked[hint] = False
            log.warning("network_revoke_failed", account_id=connection.account_id, token_kind=hint, error=str(exc))
    return revoked


def mark_compromised(session: Session, context: BrokerContext, actor: Actor, account_id: int, reason: str) -> None:
    """Everything revocable is revoked; the account is suspended and flagged until someone reconnects it."""
    account = session.get(SocialAccount, account_id)
    if account is None:
        raise NotFound("account %(account_id)s does not exist", account_id=account_id)
    disconnect(session, context, actor, account_id, reason=f"compromised: {reason}")
    before = account.status.value
    if account.status == AccountStatus.ACTIVE:
        account.status = AccountStatus.SUSPENDED
    account.tags = sorted({*(account.tags or []), "compromised"})
    account.refresh_search_text()
    session.flush()
    record(session, actor, "broker:account:compromise", "account", account_id,
           before={"status": before}, after={"status": account.status.value, "tags": account.tags}, reason=reason)
    signals.account_compromised.send(session, actor=actor, account_id=account_id, reason=reason)


def flag_connector_left(session: Session, actor: Actor, person_id: int, departure_id: int) -> int:
    """Connections hanging on the leaver's personal login still work, but not for long: flag them and tell the owner."""
    connections = list(session.scalars(select(AccountConnection).where(
        AccountConnection.connector_person_id == person_id,
        AccountConnection.health.in_([ConnectionHealth.HEALTHY, ConnectionHealth.EXPIRING]),
    )))
    for connection in connections:
        why = "the person whose own login this token hangs on has left; reconnect with a company-owned login before it breaks"
        set_health(connection, ConnectionHealth.EXPIRING, why)
        record(session, actor, "broker:connection:connector_left", "account", connection.account_id, departure_id=departure_id)
        signals.connection_needs_reconnect.send(session, account_id=connection.account_id, owner_id=connection.account.owner_id, reason=why)
    session.flush()
    return len(connections)
