"""What the console's pages show, gathered from the services so each view stays a single call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import Schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus
from govern.accounts.service import get_account
from govern.audit.service import EventFilter, events_query
from govern.auth.roles import Permission, role_allows
from govern.auth.service import Principal
from govern.broker.models import AccountConnection
from govern.broker.service import health_of
from govern.console import forms
from govern.db import utcnow
from govern.errors import NotFound
from govern.grants.models import Grant, GrantRole
from govern.grants.service import GrantFilter, get_grant, grants_of
from govern.pagination import InvalidCursor, Page
from govern.people.models import PersonStatus
from govern.people.service import PersonFilter, get_person, list_people

HISTORY_LIMIT = 50
PICKER_LIMIT = 25


def listing(
    session: Session, query: Mapping[str, str], schema: Schema, lister: Callable[..., Page], filter_type: type
) -> tuple[Page | None, dict[str, str]]:
    """One page of a filtered list from query-string arguments, or the readable problems with those arguments."""
    args, errors = forms.load(schema, query)
    if errors:
        return None, errors
    filters, paging = forms.split_paging(args)
    try:
        return lister(session, filter_type(**filters), **paging), {}
    except InvalidCursor:
        return None, {"cursor": forms.problem_with("cursor")}


def _access(session: Session, **owner: int) -> dict[str, list[Grant]]:
    """Grants in force, and every other grant (past, revoked or scheduled), newest first."""
    in_force = grants_of(session, GrantFilter(state="active", **owner))
    in_force_ids = {grant.id for grant in in_force}
    others = [grant for grant in grants_of(session, GrantFilter(state="all", **owner)) if grant.id not in in_force_ids]
    return {"grants_in_force": in_force, "other_grants": others}


def _history(session: Session, account_id: int) -> list:
    query = events_query(EventFilter(target_type="account", target_id=str(account_id))).limit(HISTORY_LIMIT)
    return list(session.scalars(query))


def _people_to_pick(session: Session, person_q: str | None) -> list:
    people = list_people(session, PersonFilter(q=person_q or None, status=PersonStatus.ACTIVE), limit=PICKER_LIMIT)
    return list(people.items)


def _connection(session: Session, account_id: int) -> dict[str, Any] | None:
    connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account_id))
    if connection is None:
        return None
    health, stops_working_at = health_of(connection)
    return {"record": connection, "health": health.value, "stops_working_at": stops_working_at}


def account_page(session: Session, account_id: int, principal: Principal, person_q: str | None = None) -> dict[str, Any]:
    account = get_account(session, account_id)
    may_grant = role_allows(principal.role, Permission.GRANTS_WRITE) and account.status != AccountStatus.RETIRED
    person_q = (person_q or "").strip()[:200]
    return {
        "account": account,
        "connection": _connection(session, account_id),
        **_access(session, account_id=account_id),
        "history": _history(session, account_id) if role_allows(principal.role, Permission.AUDIT_READ) else None,
        "people_to_pick": _people_to_pick(session, person_q) if may_grant else [],
        "person_q": person_q,
        "grant_roles": list(GrantRole),
        "now": utcnow(),
    }


def person_page(session: Session, person_id: int) -> dict[str, Any]:
    return {"person": get_person(session, person_id), **_access(session, person_id=person_id), "now": utcnow()}


def grant_on_account(session: Session, account_id: int, grant_id: int) -> Grant:
    """The grant, provided it is on this account (a form posted for one account cannot revoke another's)."""
    grant = get_grant(session, grant_id)
    if grant.account_id != account_id:
        raise NotFound(f"grant {grant_id} is not on account {account_id}")
    return grant
