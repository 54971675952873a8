"""Granting and revoking access to accounts; expiry is evaluated when read, no job needed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, not_, select
from sqlalchemy.orm import Session

from govern import signals
from govern.accounts.models import AccountStatus, SocialAccount
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.grants.models import Grant, GrantRole
from govern.pagination import CountedPage, Page, paginate
from govern.people.models import Person, PersonStatus

GrantState = Literal["active", "expired", "revoked", "scheduled", "not_in_force", "all"]
PAGE_SORT = "starts_at"  # an account's or a person's grants: newest first, by (starts_at, id)


@dataclass(frozen=True)
class GrantFilter:
    person_id: int | None = None
    account_id: int | None = None
    role: GrantRole | None = None
    state: GrantState = "active"


def snapshot(grant: Grant) -> dict[str, Any]:
    return {
        "person_id": grant.person_id,
        "account_id": grant.account_id,
        "role": grant.role.value,
        "starts_at": grant.starts_at,
        "expires_at": grant.expires_at,
        "reason": grant.reason,
    }


def _conditions(filters: GrantFilter, moment: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.person_id is not None:
        conditions.append(Grant.person_id == filters.person_id)
    if filters.account_id is not None:
        conditions.append(Grant.account_id == filters.account_id)
    if filters.role is not None:
        conditions.append(Grant.role == filters.role)
    if filters.state == "active":
        conditions.append(Grant.is_effective_at(moment))
    elif filters.state == "not_in_force":  # past, revoked or scheduled
        conditions.append(not_(Grant.is_effective_at(moment)))
    elif filters.state == "revoked":
        conditions.append(Grant.revoked_at.is_not(None))
    elif filters.state == "expired":
        conditions.extend((Grant.revoked_at.is_(None), Grant.expires_at <= moment))
    elif filters.state == "scheduled":
        conditions.extend((Grant.revoked_at.is_(None), Grant.starts_at > moment))
    return conditions


def grants_query(filters: GrantFilter, moment: datetime):
    return select(Grant).where(*_conditions(filters, moment))


def list_grants(session: Session, filters: GrantFilter, limit: int = 50, cursor: str | None = None) -> Page[Grant]:
    return paginate(session, grants_query(filters, utcnow()), "id", Grant.id, Grant.id, limit, cursor)


def grants_page(session: Session, filters: GrantFilter, limit: int = 50, cursor: str | None = None) -> CountedPage[Grant]:
    """One page of an account's or a person's grants, newest first, and how many match in all.

    Served by the indexes on (account_id, starts_at, id) and (person_id, starts_at, id): a page costs the same
    whether the account has five grants or five thousand.
    """
    moment = utcnow()
    page = paginate(session, grants_query(filters, moment), PAGE_SORT, Grant.starts_at, Grant.id, limit, cursor,
                    descending=True)
    whole = cursor is None and page.next_cursor is None  # the first page is the whole list: no need to count
    return CountedPage(page.items, page.next_cursor, len(page.items) if whole else count_grants(session, filters, moment))


def count_grants(session: Session, filters: GrantFilter, moment: datetime | None = None) -> int:
    return session.scalar(select(func.count(Grant.id)).where(*_conditions(filters, moment or utcnow()))) or 0


def grants_of(session: Session, filters: GrantFilter) -> list[Grant]:
    """Every matching grant at once: only for lists known to be short (use grants_page for an account or a person)."""
    return list(session.scalars(grants_query(filters, utcnow()).order_by(Grant.starts_at.desc(), Grant.id.desc())).unique())


def get_grant(session: Session, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound("grant %(grant_id)s does not exist", grant_id=grant_id)
    return grant


def create_grant(
    session: Session,
    actor: Actor,
    person_id: int,
    account_id: int,
    role: GrantRole,
    reason: str,
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> Grant:
    now = utcnow()
    starts_at = starts_at or now
    person = session.get(Person, person_id)
    if person is None:
        raise InvalidOperation("person %(person_id)s does not exist", person_id=person_id)
    if person.status != PersonStatus.ACTIVE:
        raise InvalidOperation("%(display_name)s has left; a leaver cannot be granted access", display_name=person.display_name)
    account = session.get(SocialAccount, account_id)
    if account is None:
        raise InvalidOperation("account %(account_id)s does not exist", account_id=account_id)
    if account.status == AccountStatus.RETIRED:
        raise InvalidOperation("account %(handle)s is retired", handle=account.handle)
    if not reason.strip():
        raise InvalidOperation("a reason is required")
    if expires_at is not None and expires_at <= max(starts_at, now):
        raise InvalidOperation("expires_at must be in the future and after starts_at")
    overlapping = session.scalar(
        select(Grant.id).where(
            Grant.person_id == person_id,
            Grant.account_id == account_id,
            Grant.role == role,
            Grant.revoked_at.is_(None),
            (Grant.expires_at.is_(None)) | (Grant.expires_at > starts_at),
        )
    )
    if overlapping is not None:
        raise Conflict("%(display_name)s already has the %(value)s role on %(handle)s (grant %(overlapping)s)", display_name=person.display_name, value=role.value, handle=account.handle, overlapping=overlapping)
    grant = Grant(
        person=person, account=account, role=role, reason=reason.strip(), granted_by=actor.id,
        starts_at=starts_at, expires_at=expires_at,
    )
    session.add(grant)
    session.flush()
    record(session, actor, "grants:grant:create", "grant", grant.id, after=snapshot(grant))
    return grant


def revoke_grant(session: Session, actor: Actor, grant_id: int, reason: str) -> Grant:
    grant = get_grant(session, grant_id)
    if grant.revoked_at is not None:
        raise Conflict("grant %(grant_id)s was already revoked", grant_id=grant_id)
    if not reason.strip():
        raise InvalidOperation("a reason is required")
    grant.revoked_at = utcnow()
    grant.revoked_by = actor.id
    grant.revoke_reason = reason.strip()
    session.flush()
    record(session, actor, "grants:grant:revoke", "grant", grant.id, before=snapshot(grant), reason=grant.revoke_reason)
    return grant


def revoke_all_for_account(session: Session, actor: Actor, account_id: int, reason: str) -> int:
    open_grants = session.scalars(select(Grant).where(Grant.account_id == account_id, Grant.revoked_at.is_(None))).unique()
    count = 0
    for grant in open_grants:
        revoke_grant(session, actor, grant.id, reason)
        count += 1
    return count


def _revoke_on_account_retired(session: Session, *, actor: Actor, account_id: int, reason: str) -> None:
    revoke_all_for_account(session, actor, account_id, reason=f"account retired: {reason}")


def _revoke_on_departure(session: Session, *, actor: Actor, person_id: int, departure_id: int) -> dict[str, int]:
    open_grants = session.scalars(select(Grant).where(Grant.person_id == person_id, Grant.revoked_at.is_(None))).unique()
    count = 0
    for grant in open_grants:
        revoke_grant(session, actor, grant.id, reason=f"left the company (departure {departure_id})")
        count += 1
    return {"grants_revoked": count}


def _revoke_on_review_removal(session: Session, *, actor: Actor, grant_id: int, reason: str) -> None:
    revoke_grant(session, actor, grant_id, reason)


def connect_receivers() -> None:
    """Called once per app from create_app's list; connecting again is a no-op."""
    signals.account_retired.connect(_revoke_on_account_retired, weak=False)
    signals.person_departed.connect(_revoke_on_departure, weak=False)
    signals.review_removed_grant.connect(_revoke_on_review_removal, weak=False)
