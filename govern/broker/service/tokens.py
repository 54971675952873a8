"""A connection's tokens: writing them, refreshing them under the account's lock, their health."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import SocialAccount
from govern.actor import Actor
from govern.adapters.networks.base import InvalidGrant, NetworkError, TokenSet
from govern.adapters.secret_store import SecretNotFound
from govern.audit.service import record
from govern.broker.context import BrokerContext, fingerprint, guard_store
from govern.broker.models import NEEDING_RECONNECT, AccountConnection, ConnectionHealth
from govern.broker.service.apps import network_client
from govern.db import utcnow
from govern.errors import NotFound
from govern.secret_value import SecretValue

log = structlog.get_logger(__name__)
REFRESH_AT_FRACTION = 0.75
EXPIRING_WITHIN = timedelta(days=7)
EXPIRY_MARGIN = timedelta(seconds=30)


def token_data(tokens: TokenSet) -> dict[str, SecretValue]:
    data = {"access_token": tokens.access_token}
    if tokens.refresh_token is not None:
        data["refresh_token"] = tokens.refresh_token
    return data


def _refresh_due(tokens: TokenSet, issued: datetime) -> datetime | None:
    if tokens.expires_at is None or tokens.refresh_token is None:
        return None
    return issued + (tokens.expires_at - issued) * REFRESH_AT_FRACTION


def apply_tokens(context: BrokerContext, connection: AccountConnection, tokens: TokenSet, version: int) -> None:
    now = utcnow()
    connection.store_kind, connection.store_version = context.store.kind, version
    connection.token_type, connection.scopes = tokens.token_type, list(tokens.scopes)
    connection.issued_at, connection.expires_at = now, tokens.expires_at
    connection.refresh_expires_at = tokens.refresh_expires_at
    connection.refresh_due_at = _refresh_due(tokens, now)
    connection.has_refresh_token = tokens.refresh_token is not None
    connection.access_fingerprint = fingerprint(context, tokens.access_token)
    connection.refresh_fingerprint = fingerprint(context, tokens.refresh_token) if tokens.refresh_token else None


def set_health(connection: AccountConnection, health: ConnectionHealth, detail: str | None) -> None:
    if connection.health != health:
        connection.health_changed_at = utcnow()
    connection.health, connection.health_detail = health, detail


def current_version(context: BrokerContext, path: str) -> int:
    try:
        return guard_store(context.store.read, path).version
    except SecretNotFound:
        return 0


def _lock_connection(session: Session, account_id: int) -> AccountConnection:
    """Take the connection's row lock (PostgreSQL) or the database write lock (SQLite), then re-read it."""
    locked = session.execute(
        update(AccountConnection).where(AccountConnection.account_id == account_id)
        .values(store_version=AccountConnection.store_version).execution_options(synchronize_session=False)
    )
    if locked.rowcount == 0:
        raise NotFound("account %(account_id)s is not connected", account_id=account_id)
    return session.scalars(
        select(AccountConnection).where(AccountConnection.account_id == account_id).execution_options(populate_existing=True)
    ).one()


class RefreshResult(str, enum.Enum):
    REFRESHED = "refreshed"
    NO_REFRESH_TOKEN = "no_refresh_token"  # nothing to refresh (a Facebook Page token, decision 0013): not a failure
    NOT_DUE = "not_due"
    FAILED = "failed"  # the network did not answer; the connection stays as it was
    NEEDS_RECONNECT = "needs_reconnect"


@dataclass(frozen=True)
class RefreshOutcome:
    connection: AccountConnection
    result: RefreshResult
    note: str | None = None

    @property
    def refreshed(self) -> bool:
        return self.result == RefreshResult.REFRESHED


def refresh_connection(session: Session, context: BrokerContext, actor: Actor, account_id: int, force: bool = False) -> AccountConnection:
    """Refresh under the per-account lock; the new tokens are written (CAS) before anyone uses them."""
    return refresh_tokens(session, context, actor, account_id, force).connection


def refresh_tokens(session: Session, context: BrokerContext, actor: Actor, account_id: int, force: bool = False) -> RefreshOutcome:
    """refresh_connection, saying what happened: "Refresh now" on a connection without a refresh token is a no-op that
    leaves it as healthy as it was; only an access token that has run out with nothing to refresh it needs a reconnect."""
    connection = _lock_connection(session, account_id)
    if connection.health in (ConnectionHealth.NEEDS_RECONNECT, ConnectionHealth.REVOKED):
        return RefreshOutcome(connection, RefreshResult.NEEDS_RECONNECT, f"the connection is {connection.health.value}; reconnect it")
    if not force and connection.refresh_due_at is not None and connection.refresh_due_at > utcnow():
        return RefreshOutcome(connection, RefreshResult.NOT_DUE)  # another worker refreshed while we waited for the lock
    stored = guard_store(context.store.read, connection.store_path)
    refresh_token = stored.data.get("refresh_token")
    if refresh_token is None:
        if connection.expires_at is not None and connection.expires_at <= utcnow() + EXPIRY_MARGIN:
            mark_needs_reconnect(session, actor, connection, "the access token has expired and the network gave no refresh token")
            return RefreshOutcome(connection, RefreshResult.NEEDS_RECONNECT, connection.health_detail)
        until = f"until it expires ({connection.expires_at.isoformat()})" if connection.expires_at else "as it is (it does not expire)"
        return RefreshOutcome(connection, RefreshResult.NO_REFRESH_TOKEN,
                              f"nothing was refreshed: the network gave this connection no refresh token; its access token is used {until}")
    client = network_client(session, context, connection.account.network)
    try:
        tokens = client.refresh(refresh_token)
    except InvalidGrant:
        mark_needs_reconnect(session, actor, connection, "the network refused the refresh token (invalid_grant)")
        return RefreshOutcome(connection, RefreshResult.NEEDS_RECONNECT, connection.health_detail)
    except NetworkError as exc:
        connection.health_detail = f"last refresh failed: {exc}"
        log.warning("refresh_failed", account_id=account_id, error=str(exc))
        return RefreshOutcome(connection, RefreshResult.FAILED, connection.health_detail)
    version = guard_store(context.store.write, connection.store_path, token_data(tokens), cas=stored.version)
    apply_tokens(context, connection, tokens, version)
    if connection.health == ConnectionHealth.HEALTHY:
        connection.health_detail = None  # an earlier failed attempt no longer matters
    connection.last_refreshed_at = utcnow()
    session.flush()
    record(session, actor, "broker:connection:refresh", "account", account_id,
           after={"store_version": version, "expires_at": connection.expires_at, "access_fingerprint": connection.access_fingerprint[:12]})
    return RefreshOutcome(connection, RefreshResult.REFRESHED)


def mark_needs_reconnect(session: Session, actor: Actor, connection: AccountConnection, why: str) -> None:
    set_health(connection, ConnectionHealth.NEEDS_RECONNECT, why)
    connection.refresh_due_at = None
    session.flush()
    record(session, actor, "broker:connection:needs_reconnect", "account", connection.account_id, reason=why,
           owner_id=connection.account.owner_id)
    signals.connection_needs_reconnect.send(session, account_id=connection.account_id, owner_id=connection.account.owner_id, reason=why)


def connections_due(session: Session, moment: datetime | None = None) -> list[int]:
    moment = moment or utcnow()
    return list(session.scalars(select(AccountConnection.account_id).where(
        AccountConnection.refresh_due_at <= moment,
        AccountConnection.health.in_([ConnectionHealth.HEALTHY, ConnectionHealth.EXPIRING]),
    )))


def health_of(connection: AccountConnection, moment: datetime | None = None) -> tuple[ConnectionHealth, datetime | None]:
    """The health to show, with the date the connection is forecast to stop working."""
    moment = moment or utcnow()
    if connection.health in (ConnectionHealth.NEEDS_RECONNECT, ConnectionHealth.REVOKED):
        return connection.health, None
    if connection.health == ConnectionHealth.EXPIRING and connection.health_detail:
        return ConnectionHealth.EXPIRING, connection.expires_at  # flagged (e.g. its connector left)
    forecast = connection.refresh_expires_at if connection.has_refresh_token else connection.expires_at
    if forecast is not None and forecast - moment <= EXPIRING_WITHIN:
        return ConnectionHealth.EXPIRING, forecast
    return ConnectionHealth.HEALTHY, forecast


ACCOUNT_HEALTH_FILTERS = ("connected", "needs_reconnect", "not_connected")


def account_health_condition(state: str) -> ColumnElement[bool]:
    """Which inventory accounts are in `state` (one of ACCOUNT_HEALTH_FILTERS), as a condition on the account's id:
    connected (healthy or expiring), needing a reconnect (as the home page counts them: the network stopped the
    tokens, or they were disconnected), or never connected."""
    connections = select(AccountConnection.account_id)
    if state == "connected":
        return SocialAccount.id.in_(connections.where(AccountConnection.health.in_(
            (ConnectionHealth.HEALTHY, ConnectionHealth.EXPIRING))))
    if state == "needs_reconnect":
        return SocialAccount.id.in_(connections.where(AccountConnection.health.in_(NEEDING_RECONNECT)))
    if state == "not_connected":
        return SocialAccount.id.not_in(connections)
    raise ValueError(f"unknown health filter {state!r}")
