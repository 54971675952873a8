"""Inventory operations: list, create, update and retire social accounts. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import AccountStatus, Network, SocialAccount, tag_token
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.pagination import Page, paginate
from govern.people.models import Person, PersonStatus
from govern.text import like_pattern

SORTS = {
    "handle": SocialAccount.handle,
    "display_name": SocialAccount.display_name,
    "business_unit": SocialAccount.business_unit,
    "status": SocialAccount.status,
    "created_at": SocialAccount.created_at,
    "id": SocialAccount.id,
}
EDITABLE_FIELDS = ("handle", "external_id", "display_name", "business_unit", "owner_id", "status", "notes", "tags")


@dataclass(frozen=True)
class AccountFilter:
    q: str | None = None
    network: str | None = None
    status: AccountStatus | None = None
    business_unit: str | None = None
    owner_id: int | None = None
    tag: str | None = None
    condition: ColumnElement[bool] | None = None  # another domain's question about the account (e.g. its health)


def snapshot(account: SocialAccount) -> dict[str, Any]:
    return {
        "network": account.network.key if account.network else None,
        "handle": account.handle,
        "external_id": account.external_id,
        "display_name": account.display_name,
        "business_unit": account.business_unit,
        "owner_id": account.owner_id,
        "status": account.status.value if account.status else None,
        "notes": account.notes,
        "tags": list(account.tags or []),
    }


def list_networks(session: Session) -> list[Network]:
    return list(session.scalars(select(Network).order_by(Network.display_name)))


def list_business_units(session: Session, limit: int = 200) -> list[str]:
    """The business units accounts already use, so a form can offer them (and one unit is not spelled two ways)."""
    query = (select(SocialAccount.business_unit).where(SocialAccount.business_unit.is_not(None))
             .distinct().order_by(SocialAccount.business_unit).limit(limit))
    return list(session.scalars(query))


def list_accounts(session: Session, filters: AccountFilter, sort: str = "handle", limit: int = 50, cursor: str | None = None) -> Page[SocialAccount]:
    return paginate(session, _filtered(select(SocialAccount), filters), sort, SORTS[sort], SocialAccount.id, limit, cursor)


def count_accounts(session: Session, filters: AccountFilter) -> int:
    return int(session.scalar(_filtered(select(func.count(SocialAccount.id)), filters)) or 0)


def _filtered(query: Select, filters: AccountFilter) -> Select:
    query = query.join(SocialAccount.network)
    if filters.q:
        query = query.where(SocialAccount.search_text.like(like_pattern(filters.q), escape="\\"))
    if filters.network:
        query = query.where(Network.key == filters.network)
    if filters.status:
        query = query.where(SocialAccount.status == filters.status)
    if filters.business_unit:
        query = query.where(SocialAccount.business_unit == filters.business_unit)
    if filters.owner_id is not None:
        query = query.where(SocialAccount.owner_id == filters.owner_id)
    if filters.tag:
        query = query.where(SocialAccount.tag_index.contains(tag_token(filters.tag), autoescape=True))
    if filters.condition is not None:
        query = query.where(filters.condition)
    return query


def get_account(session: Session, account_id: int) -> SocialAccount:
    account = session.get(SocialAccount, account_id)
    if account is None:
        raise NotFound("account %(account_id)s does not exist", account_id=account_id)
    return account


def _network_by_key(session: Session, key: str) -> Network:
    network = session.scalar(select(Network).where(Network.key == key))
    if network is None:
        raise InvalidOperation("unknown network %(key)s", key=f"{key!r}")
    return network


def account_with_handle(session: Session, network_id: int, handle: str) -> SocialAccount | None:
    """The account a network already has under a handle (to point at it when a new one would clash)."""
    return session.scalar(select(SocialAccount).where(SocialAccount.network_id == network_id, SocialAccount.handle == handle))


def _check_owner(session: Session, owner_id: int | None) -> None:
    if owner_id is not None and session.get(Person, owner_id) is None:
        raise InvalidOperation("owner %(owner_id)s is not a known person", owner_id=owner_id)


def _ensure_handle_free(session: Session, account: SocialAccount) -> None:
    clash = session.scalar(
        select(SocialAccount.id).where(
            SocialAccount.network_id == account.network.id,
            SocialAccount.handle == account.handle,
            SocialAccount.id != account.id if account.id else true(),
        )
    )
    if clash is not None:
        raise Conflict("%(key)s already has an account with handle %(handle)s (account %(clash)s)", key=account.network.key, handle=f"{account.handle!r}", clash=clash)


def create_account(session: Session, actor: Actor, network: str, **fields: Any) -> SocialAccount:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidOperation("unknown fields: %(value)s", value=', '.join(sorted(unknown)))
    _check_owner(session, fields.get("owner_id"))
    account = SocialAccount(network=_network_by_key(session, network), **fields)
    if account.status is None:
        account.status = AccountStatus.ACTIVE
    account.tags = list(fields.get("tags") or [])
    account.refresh_search_text()
    with session.no_autoflush:
        _ensure_handle_free(session, account)
    session.add(account)
    session.flush()
    record(session, actor, "accounts:account:create", "account", account.id, after=snapshot(account))
    return account


def update_account(session: Session, actor: Actor, account_id: int, changes: dict[str, Any]) -> SocialAccount:
    account = get_account(session, account_id)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidOperation("unknown fields: %(value)s", value=', '.join(sorted(unknown)))
    if account.status == AccountStatus.RETIRED:
        raise InvalidOperation("a retired account cannot be changed")
    if changes.get("status") == AccountStatus.RETIRED:
        raise InvalidOperation("use retire to retire an account, so its grants are revoked")
    if "owner_id" in changes:
        _check_owner(session, changes["owner_id"])
    before = snapshot(account)
    with session.no_autoflush:
        for name, value in changes.items():
            setattr(account, name, list(value) if name == "tags" else value)
        account.refresh_search_text()
        _ensure_handle_free(session, account)
    session.flush()
    after = snapshot(account)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        record(
            session, actor, "accounts:account:update", "account", account.id,
            before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
        )
    return account


def retire_account(session: Session, actor: Actor, account_id: int, reason: str) -> SocialAccount:
    account = get_account(session, account_id)
    if account.status == AccountStatus.RETIRED:
        raise Conflict("account %(account_id)s is already retired", account_id=account_id)
    before = account.status.value
    account.status = AccountStatus.RETIRED
    account.retired_at = utcnow()
    session.flush()
    record(session, actor, "accounts:account:retire", "account", account.id, before={"status": before}, after={"status": "retired"}, reason=reason)
    signals.account_retired.send(session, actor=actor, account_id=account.id, reason=reason)
    return account


def _hand_owned_accounts_to_manager(session: Session, *, actor: Actor, person_id: int, departure_id: int) -> dict[str, int]:
    """Accounts the leaver owned go to their manager, or are tagged orphaned when there is no active manager."""
    leaver = session.get(Person, person_id)
    manager = leaver.manager if leaver and leaver.manager and leaver.manager.status == PersonStatus.ACTIVE else None
    owned = list(session.scalars(select(SocialAccount).where(SocialAccount.owner_id == person_id)))
    for account in owned:
        before = snapshot(account)
        account.owner_id = manager.id if manager else None
        if manager is None:
            account.tags = sorted({*(account.tags or []), "orphaned"})
        account.refresh_search_text()
        session.flush()
        record(session, actor, "accounts:account:owner_transfer", "account", account.id,
               before={"owner_id": before["owner_id"]}, after={"owner_id": account.owner_id, "tags": account.tags},
               reason=f"owner left (departure {departure_id})")
    return {"accounts_moved_to_manager": len(owned) if manager else 0, "accounts_orphaned": 0 if manager else len(owned)}


def connect_receivers() -> None:
    """Called once per app from create_app's list; connecting again is a no-op."""
    signals.person_departed.connect(_hand_owned_accounts_to_manager, weak=False)
