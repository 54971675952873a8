"""Connecting an account: the authorization-code + PKCE flow, binding each token to its account."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus, Network, SocialAccount
from govern.actor import Actor
from govern.adapters.networks.base import Identity, NetworkError, OAuthNetworkClient, TokenSet
from govern.adapters.secret_store import SecretStoreError, account_path
from govern.audit.service import record
from govern.broker.context import ActionFailed, BrokerContext, guard_store
from govern.broker.models import AccountConnection, ConnectionHealth, PendingConnect
from govern.broker.service.apps import network_client
from govern.broker.service.tokens import apply_tokens, current_version, set_health, token_data
from govern.db import utcnow
from govern.errors import InvalidOperation

log = structlog.get_logger(__name__)
CONNECT_TTL = timedelta(minutes=10)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pending_path(state_hash: str) -> str:
    return f"govern/pending/{state_hash}"


def start_connect(
    session: Session, context: BrokerContext, actor: Actor, network_key: str,
    account_id: int | None = None, connector_person_id: int | None = None,
) -> str:
    """Begin the authorization-code + PKCE flow; returns the URL to send the browser to."""
    network = session.scalar(select(Network).where(Network.key == network_key))
    if network is None:
        raise InvalidOperation("unknown network %(network_key)s", network_key=f"{network_key!r}")
    if account_id is not None:
        account = session.get(SocialAccount, account_id)
        if account is None or account.status == AccountStatus.RETIRED:
            raise InvalidOperation("account %(account_id)s does not exist or is retired", account_id=account_id)
        if account.network_id != network.id:
            raise InvalidOperation("account %(account_id)s is on %(key)s, not %(network_key)s", account_id=account_id, key=account.network.key, network_key=network_key)
    client = network_client(session, context, network)
    authorization = client.authorization_request()
    state_hash = _sha256(authorization.state)
    guard_store(context.store.write, _pending_path(state_hash), {"code_verifier": authorization.code_verifier}, cas=0)
    session.add(PendingConnect(
        state_hash=state_hash, network=network, account_id=account_id, started_by=actor.id,
        connector_person_id=connector_person_id, redirect_uri=context.callback_url, expires_at=utcnow() + CONNECT_TTL,
    ))
    session.flush()
    record(session, actor, "broker:connect:start", "network", network.key, account_id=account_id)
    return authorization.url


def complete_connect(session: Session, context: BrokerContext, request_actor: Actor, state: str, code: str) -> SocialAccount:
    """The network redirected back: exchange the code, bind each token to its account, store it."""
    pending = session.scalar(select(PendingConnect).where(PendingConnect.state_hash == _sha256(state)).with_for_update(of=PendingConnect))
    if pending is None or pending.expires_at <= utcnow():
        raise InvalidOperation("this connection attempt is unknown or expired; start again")
    actor = Actor(pending.started_by, pending.started_by, request_actor.request_id, request_actor.client_addr)
    pending_path = _pending_path(pending.state_hash)
    verifier = guard_store(context.store.read, pending_path).data["code_verifier"]
    client = network_client(session, context, pending.network)
    try:
        bindings = _chosen(session, pending, _identities_and_tokens(client, client.exchange_code(code, verifier)))
    except NetworkError as exc:
        raise ActionFailed("the network refused the connection: %(reason)s", reason=str(exc)) from None
    accounts = [_store_binding(session, context, actor, pending, identity, tokens) for identity, tokens in bindings]
    session.delete(pending)
    session.flush()
    guard_store(context.store.destroy, pending_path)
    return accounts[0]


def _identities_and_tokens(client: OAuthNetworkClient, tokens: TokenSet) -> list[tuple[Identity, TokenSet]]:
    """What the authorization gives access to: the signed-in identity, or (Facebook) each Page with its own token."""
    if client.preset.page_tokens:
        return client.managed_pages(client.long_lived_user_token(tokens.access_token).access_token)
    return [(client.whoami(tokens.access_token), tokens)]


def _chosen(session: Session, pending: PendingConnect, bindings: list[tuple[Identity, TokenSet]]) -> list[tuple[Identity, TokenSet]]:
    if not bindings:
        raise InvalidOperation("the network gave access to nothing (no Page was shared); nothing was stored")
    if pending.account_id is None:
        return bindings
    account = session.get(SocialAccount, pending.account_id)
    if account.external_id:
        matching = [binding for binding in bindings if binding[0].external_id == account.external_id]
        if not matching:
            granted = ", ".join(identity.external_id for identity, _ in bindings)
            raise InvalidOperation("the network gave access to %(granted)s, but account %(handle)s is %(external_id)s; nothing was stored", granted=granted, handle=account.handle, external_id=account.external_id)
        return matching
    if len(bindings) > 1:
        granted = ", ".join(identity.external_id for identity, _ in bindings)
        raise InvalidOperation("the network gave access to several Pages (%(granted)s); set the account's external id to one of them and connect again", granted=granted)
    return bindings


def _store_binding(
    session: Session, context: BrokerContext, actor: Actor, pending: PendingConnect, identity: Identity, tokens: TokenSet
) -> SocialAccount:
    account = _bind_account(session, actor, pending, identity.external_id, identity.name)
    connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account.id))
    path = account_path(account.id, "oauth")
    version = guard_store(context.store.write, path, token_data(tokens), cas=current_version(context, path))
    reconnect = connection is not None
    if connection is None:
        connection = AccountConnection(account=account, store_path=path)
        session.add(connection)
    apply_tokens(context, connection, tokens, version)
    connection.external_identity = identity.external_id
    connection.connected_by, connection.connected_at = actor.id, utcnow()
    connection.connector_person_id = pending.connector_person_id
    connection.connector_is_personal = pending.connector_person_id is not None
    set_health(connection, ConnectionHealth.HEALTHY, None)
    session.flush()
    record(session, actor, f"broker:connection:{'reconnect' if reconnect else 'connect'}", "account", account.id,
           after=_connection_summary(connection))
    return account


def _bind_account(session: Session, actor: Actor, pending: PendingConnect, external_id: str, name: str | None) -> SocialAccount:
    from govern.accounts.service import create_account

    if pending.account_id is not None:
        account = session.get(SocialAccount, pending.account_id)
    else:
        account = session.scalar(select(SocialAccount).where(SocialAccount.network_id == pending.network_id, SocialAccount.external_id == external_id))
        if account is None:
            account = create_account(session, actor, pending.network.key, handle=name or external_id, display_name=name or external_id, external_id=external_id)
    account.external_id, account.verified_at = external_id, utcnow()
    return account


def _connection_summary(connection: AccountConnection) -> dict[str, Any]:
    return {
        "store": connection.store_kind, "store_version": connection.store_version, "scopes": connection.scopes,
        "expires_at": connection.expires_at, "refresh_expires_at": connection.refresh_expires_at,
        "external_identity": connection.external_identity, "connector_person_id": connection.connector_person_id,
        "access_fingerprint": connection.access_fingerprint[:12],
    }


def purge_expired_connects(session: Session, context: BrokerContext, moment: datetime | None = None) -> int:
    """Forget connects nobody completed in time, with their PKCE verifiers."""
    expired = list(session.scalars(select(PendingConnect).where(PendingConnect.expires_at <= (moment or utcnow()))))
    for pending in expired:
        try:
            context.store.destroy(_pending_path(pending.state_hash))
        except SecretStoreError as exc:
            log.warning("pending_verifier_not_destroyed", pending_id=pending.id, error=str(exc))
            continue
        session.delete(pending)
    session.flush()
    return len(expired)
