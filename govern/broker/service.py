"""Broker operations: register network apps, connect accounts, refresh tokens, act on accounts. Flushes only."""

from __future__ import annotations

import enum
import hashlib
import time
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from govern import signals
from govern.accounts.models import AccountStatus, Network, SocialAccount
from govern.adapters.networks.base import (
    Identity,
    InvalidGrant,
    NetworkError,
    OAuthNetworkClient,
    TokenSet,
    check_extra_authorize_params,
)
from govern.adapters.networks.presets import PRESETS
from govern.adapters.secret_store import SecretNotFound, SecretStoreError, StoredSecret, account_path
from govern.actor import Actor
from govern.audit.service import record
from govern.broker.context import (
    ActionFailed,
    AppSecretMissing,
    BrokerContext,
    NeedsReconnect,
    fingerprint,
    guard_store,
)
from govern.broker.actions import ACTION_CAPABILITIES, REQUIRED_PARAMS, SYSTEM_ACTIONS, TokenRejected, run_action
from govern.broker.models import AccountConnection, ConnectionHealth, NetworkApp, PendingConnect
from govern.db import utcnow
from govern.errors import DomainError, InvalidOperation, NotFound
from govern.grants.capabilities import AccessDenied, no_grant, permitting_grant, roles_allowing
from govern.grants.models import Grant
from govern.people.models import Person, PersonStatus
from govern.secret_value import SecretValue

log = structlog.get_logger(__name__)
CONNECT_TTL = timedelta(minutes=10)
REFRESH_AT_FRACTION = 0.75
EXPIRING_WITHIN = timedelta(days=7)
EXPIRY_MARGIN = timedelta(seconds=30)
NETWORK_APP_TTL = 30.0
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pending_path(state_hash: str) -> str:
    return f"govern/pending/{state_hash}"


def _app_secret_path(network_key: str) -> str:
    return f"govern/networks/{network_key}/client"


# --- network apps -----------------------------------------------------------------------------
def register_network_app(
    session: Session, context: BrokerContext, actor: Actor, network_key: str, client_id: str,
    client_secret: SecretValue, endpoints: dict[str, str | None], scopes: list[str] | None,
    extra_authorize_params: dict[str, str] | None = None,
) -> NetworkApp:
    network = session.scalar(select(Network).where(Network.key == network_key))
    if network is None:
        raise NotFound(f"unknown network {network_key!r}")
    try:
        extra = check_extra_authorize_params(extra_authorize_params) or None
    except ValueError as exc:
        raise InvalidOperation(f"extra_authorize_params: {exc}") from None
    app = session.scalar(select(NetworkApp).where(NetworkApp.network_id == network.id))
    path = _app_secret_path(network.key)
    current = 0
    try:
        current = guard_store(context.store.read, path).version
    except SecretNotFound:
        pass
    version = guard_store(context.store.write, path, {"client_secret": client_secret}, cas=current)
    if app is None:
        app = NetworkApp(network=network, secret_path=path)
        session.add(app)
    app.client_id, app.secret_version, app.scopes, app.updated_by = client_id, version, scopes, actor.id
    app.extra_authorize_params = extra
    for name in ("authorize_url", "token_url", "revocation_url", "whoami_url", "api_url"):
        setattr(app, name, endpoints.get(name) or None)
    session.flush()
    context.clients.pop(("network", network.id), None)
    record(session, actor, "broker:network_app:register", "network", network.key,
           after={"client_id": client_id, "scopes": scopes, "extra_authorize_params": extra, **{k: v for k, v in endpoints.items() if v}})
    return app


def network_client(session: Session, context: BrokerContext, network: Network) -> OAuthNetworkClient:
    """The network's OAuth client, cached per registration so its secret is read from the store once.

    A registration is looked up again after NETWORK_APP_TTL, so a re-registered app (a rotated
    client secret, new endpoints) is used by every process within that time.
    """
    now = time.monotonic()
    recent = context.clients.get(("network", network.id))
    if recent is not None and now - recent[0] < NETWORK_APP_TTL:
        return recent[1]
    client = _client_for_registration(session, context, network)
    context.clients[("network", network.id)] = (now, client)
    return client


def _client_for_registration(session: Session, context: BrokerContext, network: Network) -> OAuthNetworkClient:
    app = session.scalar(select(NetworkApp).where(NetworkApp.network_id == network.id))
    if app is None:
        raise InvalidOperation(f"{network.display_name} has no registered app yet; an admin registers one first")
    cache_key = (app.id, app.secret_version, app.updated_at)
    if (cached := context.clients.get(cache_key)) is not None:
        return cached
    preset = PRESETS[network.kind.value].with_endpoints(
        authorize_url=app.authorize_url, token_url=app.token_url, revocation_url=app.revocation_url,
        whoami_url=app.whoami_url, api_url=app.api_url,
    )
    if app.scopes:
        preset = replace(preset, scopes=tuple(app.scopes))
    if app.extra_authorize_params:
        preset = replace(preset, extra_authorize_params={**preset.extra_authorize_params, **app.extra_authorize_params})
    if not (preset.endpoints.authorize_url and preset.endpoints.token_url and preset.endpoints.whoami_url):
        raise InvalidOperation(f"{network.display_name} needs its authorization, token and whoami endpoints configured")
    try:
        secret = guard_store(context.store.read, app.secret_path).data["client_secret"]
    except (SecretNotFound, KeyError):
        raise AppSecretMissing(
            f"{network.display_name}'s app client secret is missing from the secret store: register the app's secret again "
            f"(PUT /api/v1/networks/{network.key}/app)"
        ) from None
    client = OAuthNetworkClient(preset, app.client_id, secret, context.callback_url)
    context.clients[cache_key] = client
    return client


# --- connect ----------------------------------------------------------------------------------
def start_connect(
    session: Session, context: BrokerContext, actor: Actor, network_key: str,
    account_id: int | None = None, connector_person_id: int | None = None,
) -> str:
    """Begin the authorization-code + PKCE flow; returns the URL to send the browser to."""
    network = session.scalar(select(Network).where(Network.key == network_key))
    if network is None:
        raise InvalidOperation(f"unknown network {network_key!r}")
    if account_id is not None:
        account = session.get(SocialAccount, account_id)
        if account is None or account.status == AccountStatus.RETIRED:
            raise InvalidOperation(f"account {account_id} does not exist or is retired")
        if account.network_id != network.id:
            raise InvalidOperation(f"account {account_id} is on {account.network.key}, not {network_key}")
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


def _token_data(tokens: TokenSet) -> dict[str, SecretValue]:
    data = {"access_token": tokens.access_token}
    if tokens.refresh_token is not None:
        data["refresh_token"] = tokens.refresh_token
    return data


def _refresh_due(tokens: TokenSet, issued: datetime) -> datetime | None:
    if tokens.expires_at is None or tokens.refresh_token is None:
        return None
    return issued + (tokens.expires_at - issued) * REFRESH_AT_FRACTION


def _apply_tokens(context: BrokerContext, connection: AccountConnection, tokens: TokenSet, version: int) -> None:
    now = utcnow()
    connection.store_kind, connection.store_version = context.store.kind, version
    connection.token_type, connection.scopes = tokens.token_type, list(tokens.scopes)
    connection.issued_at, connection.expires_at = now, tokens.expires_at
    connection.refresh_expires_at = tokens.refresh_expires_at
    connection.refresh_due_at = _refresh_due(tokens, now)
    connection.has_refresh_token = tokens.refresh_token is not None
    connection.access_fingerprint = fingerprint(context, tokens.access_token)
    connection.refresh_fingerprint = fingerprint(context, tokens.refresh_token) if tokens.refresh_token else None


def _set_health(connection: AccountConnection, health: ConnectionHealth, detail: str | None) -> None:
    if connection.health != health:
        connection.health_changed_at = utcnow()
    connection.health, connection.health_detail = health, detail


def _current_version(context: BrokerContext, path: str) -> int:
    try:
        return guard_store(context.store.read, path).version
    except SecretNotFound:
        return 0


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
        raise ActionFailed(str(exc)) from None
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
            raise InvalidOperation(f"the network gave access to {granted}, but account {account.handle} is {account.external_id}; nothing was stored")
        return matching
    if len(bindings) > 1:
        granted = ", ".join(identity.external_id for identity, _ in bindings)
        raise InvalidOperation(f"the network gave access to several Pages ({granted}); set the account's external id to one of them and connect again")
    return bindings


def _store_binding(
    session: Session, context: BrokerContext, actor: Actor, pending: PendingConnect, identity: Identity, tokens: TokenSet
) -> SocialAccount:
    account = _bind_account(session, actor, pending, identity.external_id, identity.name)
    connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account.id))
    path = account_path(account.id, "oauth")
    version = guard_store(context.store.write, path, _token_data(tokens), cas=_current_version(context, path))
    reconnect = connection is not None
    if connection is None:
        connection = AccountConnection(account=account, store_path=path)
        session.add(connection)
    _apply_tokens(context, connection, tokens, version)
    connection.external_identity = identity.external_id
    connection.connected_by, connection.connected_at = actor.id, utcnow()
    connection.connector_person_id = pending.connector_person_id
    connection.connector_is_personal = pending.connector_person_id is not None
    _set_health(connection, ConnectionHealth.HEALTHY, None)
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


# --- refresh ----------------------------------------------------------------------------------
def _lock_connection(session: Session, account_id: int) -> AccountConnection:
    """Take the connection's row lock (PostgreSQL) or the database write lock (SQLite), then re-read it."""
    locked = session.execute(
        update(AccountConnection).where(AccountConnection.account_id == account_id)
        .values(store_version=AccountConnection.store_version).execution_options(synchronize_session=False)
    )
    if locked.rowcount == 0:
        raise NotFound(f"account {account_id} is not connected")
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
            _mark_needs_reconnect(session, actor, connection, "the access token has expired and the network gave no refresh token")
            return RefreshOutcome(connection, RefreshResult.NEEDS_RECONNECT, connection.health_detail)
        until = f"until it expires ({connection.expires_at.isoformat()})" if connection.expires_at else "as it is (it does not expire)"
        return RefreshOutcome(connection, RefreshResult.NO_REFRESH_TOKEN,
                              f"nothing was refreshed: the network gave this connection no refresh token; its access token is used {until}")
    client = network_client(session, context, connection.account.network)
    try:
        tokens = client.refresh(refresh_token)
    except InvalidGrant:
        _mark_needs_reconnect(session, actor, connection, "the network refused the refresh token (invalid_grant)")
        return RefreshOutcome(connection, RefreshResult.NEEDS_RECONNECT, connection.health_detail)
    except NetworkError as exc:
        connection.health_detail = f"last refresh failed: {exc}"
        log.warning("refresh_failed", account_id=account_id, error=str(exc))
        return RefreshOutcome(connection, RefreshResult.FAILED, connection.health_detail)
    version = guard_store(context.store.write, connection.store_path, _token_data(tokens), cas=stored.version)
    _apply_tokens(context, connection, tokens, version)
    if connection.health == ConnectionHealth.HEALTHY:
        connection.health_detail = None  # an earlier failed attempt no longer matters
    connection.last_refreshed_at = utcnow()
    session.flush()
    record(session, actor, "broker:connection:refresh", "account", account_id,
           after={"store_version": version, "expires_at": connection.expires_at, "access_fingerprint": connection.access_fingerprint[:12]})
    return RefreshOutcome(connection, RefreshResult.REFRESHED)


def _mark_needs_reconnect(session: Session, actor: Actor, connection: AccountConnection, why: str) -> None:
    _set_health(connection, ConnectionHealth.NEEDS_RECONNECT, why)
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


# --- brokered use -----------------------------------------------------------------------------
@dataclass
class PreparedAction:
    """An action whose access is settled: the account's connection, the grant allowing it, its tokens being read ahead.

    The caller (publishing) may still stop it (record_stopped, cancel) or let it go out (complete_action).
    """

    account_id: int
    action: str
    person_id: int | None
    params: dict[str, Any]
    connection: AccountConnection
    grant_id: int | None
    system_purpose: str | None
    tokens_ahead: Future[StoredSecret] | None

    def cancel(self) -> None:
        if self.tokens_ahead is not None:
            self.tokens_ahead.cancel()


def prepare_action(
    session: Session, context: BrokerContext, actor: Actor, person_id: int | None,
    account_id: int, action: str, params: dict[str, Any], *, system_purpose: str | None = None,
) -> PreparedAction:
    """Check the action, its parameters and who may take it, and start reading the account's tokens.

    A system job (a policy scan) acts with no person, only for the actions SYSTEM_ACTIONS allows, and says why.
    """
    if action not in ACTION_CAPABILITIES:
        raise InvalidOperation(f"unknown action {action!r}; one of {', '.join(sorted(ACTION_CAPABILITIES))}")
    missing = [name for name in REQUIRED_PARAMS.get(action, ()) if not str(params.get(name, "")).strip()]
    if missing:
        raise InvalidOperation(f"{action} needs {', '.join(missing)}")
    if system_purpose is not None and (person_id is not None or action not in SYSTEM_ACTIONS or not actor.id.startswith("system:")):
        raise AccessDenied(f"a system job may only {', '.join(sorted(SYSTEM_ACTIONS))}")
    tokens_ahead = context.read_ahead(account_path(account_id, "oauth"))
    try:
        connection, grant_id = _connection_with_permitting_grant(session, person_id, account_id, action)
        if grant_id is None and system_purpose is None:
            _explain_refusal(session, person_id, account_id, action)
    except BaseException:
        tokens_ahead.cancel()
        raise
    return PreparedAction(account_id, action, person_id, params, connection, grant_id, system_purpose, tokens_ahead)


def record_stopped(session: Session, actor: Actor, prepared: PreparedAction, outcome: str, **details: Any) -> None:
    """An action stopped before it reached the network (the policy blocks it), on the record as one of the broker's."""
    prepared.cancel()
    record(session, actor, f"broker:action:{prepared.action}", "account", prepared.account_id, outcome=outcome,
           person_id=prepared.person_id, **details)


def complete_action(
    session: Session, context: BrokerContext, actor: Actor, prepared: PreparedAction, *,
    audited_params: dict[str, Any] | None = None, audit_notes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Use the token at the network and audit the use. `audited_params` replace the parameters on the record (masked
    text); `audit_notes` are added to it (an approval, the policy's decision)."""
    connection, action, account_id = prepared.connection, prepared.action, prepared.account_id
    if connection.health in (ConnectionHealth.NEEDS_RECONNECT, ConnectionHealth.REVOKED):
        prepared.cancel()
        raise NeedsReconnect(f"{connection.account.handle} must be reconnected ({connection.health_detail or connection.health.value})")
    params = prepared.params
    audit_details = {"network_action": action, "person_id": prepared.person_id, "grant_id": prepared.grant_id,
                     "params": _safe_params(audited_params if audited_params is not None else params)}
    if prepared.system_purpose is not None:
        audit_details["purpose"] = prepared.system_purpose
    audit_details.update(audit_notes or {})
    try:
        result = _run_with_fresh_token(session, context, actor, connection, action, params, prepared.tokens_ahead)
    except NeedsReconnect:
        raise
    except NetworkError as exc:
        record(session, actor, f"broker:action:{action}", "account", account_id, outcome="failed", error=str(exc), **audit_details)
        raise ActionFailed(str(exc)) from None
    now = utcnow()
    if connection.last_used_at is None or now - connection.last_used_at > LAST_USED_RESOLUTION:
        connection.last_used_at = now  # coarse: the audit trail has every use; this is for the inventory
    record(session, actor, f"broker:action:{action}", "account", account_id, outcome="ok", **audit_details)
    return result


def perform_action(
    session: Session, context: BrokerContext, actor: Actor, person_id: int | None,
    account_id: int, action: str, params: dict[str, Any], *, system_purpose: str | None = None,
) -> dict[str, Any]:
    """The one path every use of an account's token goes through: grant check, token, network, audit.

    Posts and replies go through publishing (govern.publishing.service.act), which checks them against the policy
    between the two halves.
    """
    prepared = prepare_action(session, context, actor, person_id, account_id, action, params, system_purpose=system_purpose)
    return complete_action(session, context, actor, prepared)


def _connection_with_permitting_grant(
    session: Session, person_id: int | None, account_id: int, action: str
) -> tuple[AccountConnection, int | None]:
    """One query: the account's connection, and an effective grant allowing the action by an active person."""
    row = session.execute(
        _CONNECTION_WITH_PERMITTING_GRANT,
        {"person_id": person_id, "account_id": account_id, "roles": list(roles_allowing(ACTION_CAPABILITIES[action])),
         "now": utcnow()},
    ).unique().one_or_none()
    if row is None:
        raise NotFound(f"account {account_id} is not connected")
    return row[0], row[1] if person_id is not None else None


def _connection_with_permitting_grant_statement():
    """Built once with bound parameters, so each brokered call reuses the compiled statement; the rule is grants'."""
    grant_id = permitting_grant(bindparam("person_id"), bindparam("account_id"), bindparam("roles", expanding=True),
                                bindparam("now", type_=Grant.starts_at.type)).scalar_subquery()
    just_the_account_and_network = joinedload(AccountConnection.account)
    return select(AccountConnection, grant_id).where(AccountConnection.account_id == bindparam("account_id")).options(
        just_the_account_and_network.joinedload(SocialAccount.network),
        just_the_account_and_network.lazyload(SocialAccount.owner),
    )


_CONNECTION_WITH_PERMITTING_GRANT = _connection_with_permitting_grant_statement()


def _explain_refusal(session: Session, person_id: int | None, account_id: int, action: str) -> None:
    account = session.get(SocialAccount, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    if account.status != AccountStatus.ACTIVE:
        raise InvalidOperation(f"account {account.handle} is {account.status.value}")
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None or person.status != PersonStatus.ACTIVE:
        raise AccessDenied("brokered actions are taken by a person; this caller is not linked to an active person")
    raise AccessDenied(no_grant(person, account, action))


def _safe_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the audit trail keeps them: plain values, long ones cut at 500 characters."""
    return {k: (v if len(str(v)) <= 500 else str(v)[:500] + "…") for k, v in params.items() if isinstance(v, (str, int, bool))}


def _run_with_fresh_token(
    session, context, actor, connection, action, params, tokens_ahead: Future[StoredSecret] | None
) -> dict[str, Any]:
    """Use the tokens read ahead unless a refresh (before the call or after a rejection) replaced them."""
    if connection.expires_at is not None and connection.expires_at <= utcnow() + EXPIRY_MARGIN:
        connection = refresh_connection(session, context, actor, connection.account_id, force=True)
        tokens_ahead = None
    if connection.store_path != account_path(connection.account_id, "oauth"):
        tokens_ahead = None
    for attempt in (1, 2):
        if connection.health == ConnectionHealth.NEEDS_RECONNECT:
            raise NeedsReconnect(f"{connection.account.handle} must be reconnected ({connection.health_detail})")
        if tokens_ahead is not None:
            token, tokens_ahead = guard_store(tokens_ahead.result).data["access_token"], None
        else:
            token = guard_store(context.store.read, connection.store_path).data["access_token"]
        client = network_client(session, context, connection.account.network)
        try:
            return run_action(client, token, action, params)
        except TokenRejected:
            if attempt == 2:
                _mark_needs_reconnect(session, actor, connection, "the network rejects the token even after a refresh")
                raise NeedsReconnect(f"{connection.account.handle} must be reconnected") from None
            connection = refresh_connection(session, context, actor, connection.account_id, force=True)
    raise AssertionError("unreachable")


# --- retire -----------------------------------------------------------------------------------
def disconnect(session: Session, context: BrokerContext, actor: Actor, account_id: int, reason: str) -> None:
    """Revoke at the network where it can, destroy every stored version, and mark the connection revoked."""
    connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account_id))
    if connection is None:
        return
    revoked_at_network = _revoke_at_network(session, context, connection)
    guard_store(context.store.destroy, connection.store_path)
    _set_health(connection, ConnectionHealth.REVOKED, reason)
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
        raise NotFound(f"account {account_id} does not exist")
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
        _set_health(connection, ConnectionHealth.EXPIRING, why)
        record(session, actor, "broker:connection:connector_left", "account", connection.account_id, departure_id=departure_id)
        signals.connection_needs_reconnect.send(session, account_id=connection.account_id, owner_id=connection.account.owner_id, reason=why)
    session.flush()
    return len(connections)
