"""Brokered use of an account's token: access settled, the token used at the network, every use audited."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from govern.accounts.models import AccountStatus, SocialAccount
from govern.actor import Actor
from govern.adapters.networks.base import NetworkError
from govern.adapters.secret_store import StoredSecret, account_path
from govern.audit.service import record
from govern.broker.actions import (
    ACTION_CAPABILITIES, MAX_MEDIA, REQUIRED_PARAMS, SYSTEM_ACTIONS, TokenRejected, media_of, run_action,
)
from govern.broker.context import ActionFailed, BrokerContext, NeedsReconnect, guard_store
from govern.broker.models import AccountConnection, ConnectionHealth
from govern.broker.service.apps import network_client
from govern.broker.service.tokens import EXPIRY_MARGIN, mark_needs_reconnect, refresh_connection
from govern.db import forget, in_transaction_memo, remembered, utcnow
from govern.errors import InvalidOperation, NotFound
from govern.grants.capabilities import AccessDenied, permitting_grant, roles_allowing
from govern.grants.models import Grant
from govern.pauses import service as pauses
from govern.people.models import Person, PersonStatus

LAST_USED_RESOLUTION = timedelta(minutes=1)


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
    tokens_shared: bool = False  # read once for a batch of actions on the account (transaction_memo): never cancelled

    def cancel(self) -> None:
        if self.tokens_ahead is not None and not self.tokens_shared:
            self.tokens_ahead.cancel()


def prepare_action(
    session: Session, context: BrokerContext, actor: Actor, person_id: int | None,
    account_id: int, action: str, params: dict[str, Any], *, system_purpose: str | None = None,
) -> PreparedAction:
    """Check the action, its parameters and who may take it, and start reading the account's tokens.

    A system job (a policy scan) acts with no person, only for the actions SYSTEM_ACTIONS allows, and says why.
    While a pause covers the account, publish, reply and delete_post are refused (423, govern.pauses).
    """
    if action not in ACTION_CAPABILITIES:
        raise InvalidOperation("unknown action %(action)s; one of %(value)s", action=f"{action!r}", value=', '.join(sorted(ACTION_CAPABILITIES)))
    missing = [name for name in REQUIRED_PARAMS.get(action, ()) if not str(params.get(name, "")).strip()]
    if missing:
        raise InvalidOperation("%(action)s needs %(value)s", action=action, value=', '.join(missing))
    if action == "publish":
        try:
            media_of(params)
        except ValueError:
            raise InvalidOperation("media must be a list of at most %(count)s links of at most 2,000 characters each",
                                   count=MAX_MEDIA) from None
    if system_purpose is not None and (person_id is not None or action not in SYSTEM_ACTIONS or not actor.id.startswith("system:")):
        raise AccessDenied("a system job may only %(value)s", value=', '.join(sorted(SYSTEM_ACTIONS)))
    tokens_path, tokens_shared = account_path(account_id, "oauth"), in_transaction_memo(session)
    tokens_ahead = remembered(session, ("broker:tokens", tokens_path), lambda: context.read_ahead(tokens_path))
    try:
        connection, grant_id = _connection_with_permitting_grant(session, person_id, account_id, action)
        if grant_id is None and system_purpose is None:
            _explain_refusal(session, person_id, account_id, action)
        if action in pauses.PAUSED_ACTIONS:  # read from the database on every call: in force in every process at once
            pauses.refuse_if_paused(session, actor, connection.account, action, person_id,
                                    content=str(params["text"]) if action == "publish" else None)
    except BaseException:
        if not tokens_shared:
            tokens_ahead.cancel()
        raise
    return PreparedAction(account_id, action, person_id, params, connection, grant_id, system_purpose, tokens_ahead,
                          tokens_shared)


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
        raise NeedsReconnect("%(handle)s must be reconnected (%(value)s)", handle=connection.account.handle, value=connection.health_detail or connection.health.value)
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
        raise ActionFailed("the network refused the action: %(reason)s", reason=str(exc)) from None
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
    """One query: the account's connection, and an effective grant allowing the action by an active person. Read once
    per transaction_memo block (a batch of publishes in one transaction)."""
    row = remembered(session, ("broker:grant", person_id, account_id, action), lambda: session.execute(
        _CONNECTION_WITH_PERMITTING_GRANT,
        {"person_id": person_id, "account_id": account_id, "roles": list(roles_allowing(ACTION_CAPABILITIES[action])),
         "now": utcnow()},
    ).unique().one_or_none())
    if row is None:
        raise NotFound("account %(account_id)s is not connected", account_id=account_id)
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
        raise NotFound("account %(account_id)s does not exist", account_id=account_id)
    if account.status != AccountStatus.ACTIVE:
        raise InvalidOperation("account %(handle)s is %(value)s", handle=account.handle, value=account.status.value)
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None or person.status != PersonStatus.ACTIVE:
        raise AccessDenied("brokered actions are taken by a person; this caller is not linked to an active person")
    raise AccessDenied("%(person)s has no grant on %(account)s that allows %(doing)s", person=person.display_name,
                       account=account.handle, doing=action)


def _safe_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the audit trail keeps them: plain values, long ones cut at 500 characters."""
    return {k: (v if len(str(v)) <= 500 else str(v)[:500] + "…") for k, v in params.items() if isinstance(v, (str, int, bool))}


def _run_with_fresh_token(
    session, context, actor, connection, action, params, tokens_ahead: Future[StoredSecret] | None
) -> dict[str, Any]:
    """Use the tokens read ahead unless a refresh (before the call or after a rejection) replaced them."""
    if connection.expires_at is not None and connection.expires_at <= utcnow() + EXPIRY_MARGIN:
        connection = _refreshed(session, context, actor, connection)
        tokens_ahead = None
    if connection.store_path != account_path(connection.account_id, "oauth"):
        tokens_ahead = None
    for attempt in (1, 2):
        if connection.health == ConnectionHealth.NEEDS_RECONNECT:
            raise NeedsReconnect("%(handle)s must be reconnected (%(health_detail)s)", handle=connection.account.handle, health_detail=connection.health_detail)
        if tokens_ahead is not None:
            token, tokens_ahead = guard_store(tokens_ahead.result).data["access_token"], None
        else:
            token = guard_store(context.store.read, connection.store_path).data["access_token"]
        client = network_client(session, context, connection.account.network)
        try:
            return run_action(client, token, action, params)
        except TokenRejected:
            if attempt == 2:
                mark_needs_reconnect(session, actor, connection, "the network rejects the token even after a refresh")
                raise NeedsReconnect("%(handle)s must be reconnected", handle=connection.account.handle) from None
            connection = _refreshed(session, context, actor, connection)
    raise AssertionError("unreachable")


def _refreshed(session: Session, context: BrokerContext, actor: Actor, connection: AccountConnection) -> AccountConnection:
    """Refresh the tokens; a batch's shared read of the old ones is dropped, so its next action reads the new ones."""
    forget(session, ("broker:tokens", account_path(connection.account_id, "oauth")))
    return refresh_connection(session, context, actor, connection.account_id, force=True)
