"""The cross-domain cards the console shows: an account's and a person's, and the filtered lists and person picker around them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import Schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import AccountStatus
from govern.accounts.service import get_account
from govern.audit.names import name_events
from govern.audit.service import history_of
from govern.auth.roles import Permission, role_allows
from govern.auth.service import Principal
from govern.broker.models import AccountConnection
from govern.broker.service import health_of
from govern.console import forms
from govern.credentials import service as credentials
from govern.credentials.models import Checkout, LegacyCredential
from govern.db import utcnow
from govern.directory.models import Departure
from govern.grants.capabilities import Capability, current_grant
from govern.grants.models import Grant, GrantRole
from govern.grants.service import GrantFilter, grants_page
from govern.pagination import CountedPage, InvalidCursor, Page
from govern.people.models import Person, PersonStatus
from govern.people.service import PersonFilter, get_person, list_people
from govern.web.request_cycle import current_actor

HISTORY_LIMIT = 20  # the latest events on a page; the whole history is on the audit log page
PICKER_LIMIT = 20  # people a search offers at most
GRANTS_PER_PAGE = 50
CHECKOUT_LIMIT = 20


def listing(
    session: Session, query: Mapping[str, str], schema: Schema, lister: Callable[..., Page], filter_type: Callable[..., Any]
) -> tuple[Page | None, dict[str, str]]:
    """One page of a filtered list from query-string arguments, or the readable problems with those arguments."""
    page, _total, errors = counted_listing(session, query, schema, lister, filter_type)
    return page, errors


def counted_listing(
    session: Session, query: Mapping[str, str], schema: Schema, lister: Callable[..., Page],
    filter_type: Callable[..., Any], counter: Callable[[Session, Any], int] | None = None,
) -> tuple[Page | None, int | None, dict[str, str]]:
    """`listing`, and with `counter` how many rows the whole filtered list has (the page's "42 accounts")."""
    args, errors = forms.load(schema, query)
    if errors:
        return None, None, errors
    filters, paging = forms.split_paging(args)
    chosen = filter_type(**filters)
    try:
        page = lister(session, chosen, **paging)
    except InvalidCursor:
        return None, None, {"cursor": forms.problem_with("cursor")}
    return page, counter(session, chosen) if counter else None, {}


def _grants(session: Session, filters: GrantFilter, cursor: str | None) -> tuple[CountedPage[Grant], str | None]:
    """One page of grants; a stale or forged cursor starts again from the first page, with a word saying so."""
    try:
        return grants_page(session, filters, GRANTS_PER_PAGE, cursor or None), None
    except InvalidCursor:
        return grants_page(session, filters, GRANTS_PER_PAGE), forms.problem_with("cursor")


def _access(session: Session, args: Mapping[str, str], **owner: int) -> dict[str, Any]:
    """A page of the grants in force and a page of every other grant (past, revoked or scheduled), newest first,
    each with its total: each grant is read once, and never all of them."""
    in_force, in_force_problem = _grants(session, GrantFilter(state="active", **owner), args.get("cursor"))
    others, others_problem = _grants(session, GrantFilter(state="not_in_force", **owner), args.get("past_cursor"))
    return {"grants_in_force": in_force, "other_grants": others, "paging_problem": in_force_problem or others_problem}


def _history(session: Session, target_type: str, target_id: int, principal: Principal) -> dict[str, Any] | None:
    if not role_allows(principal.role, Permission.AUDIT_READ):
        return None
    events, more = history_of(session, target_type, target_id, HISTORY_LIMIT)  # its grants', reviews' events too
    return {"events": name_events(session, events), "more": more, "target_type": target_type, "target_id": target_id}


def people_to_pick(session: Session, person_q: str | None) -> list[Person]:
    """Current employees matching a search, at most PICKER_LIMIT; nobody before something is typed."""
    if not person_q:
        return []
    return list(list_people(session, PersonFilter(q=person_q, status=PersonStatus.ACTIVE), limit=PICKER_LIMIT).items)


def _connection(session: Session, account_id: int) -> dict[str, Any] | None:
    connection = session.scalar(select(AccountConnection).where(AccountConnection.account_id == account_id))
    if connection is None:
        return None
    health, stops_working_at = health_of(connection)
    return {"record": connection, "health": health.value, "stops_working_at": stops_working_at}


def _checkout_rows(session: Session, checkouts: list[Checkout], now) -> list[dict[str, Any]]:
    person_ids = {c.requester_person_id for c in checkouts} | {c.approver_person_id for c in checkouts if c.approver_person_id}
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))} if person_ids else {}
    rows = []
    for checkout in checkouts:
        state = checkout.state_at(now)
        if state == "denied" and checkout.approved_at is not None:
            state = "ended_early"  # governance closed a window it had opened
        rows.append({"checkout": checkout, "state": state, "requester": people.get(checkout.requester_person_id),
                     "approver": people.get(checkout.approver_person_id)})
    return rows


def _legacy_login(session: Session, account_id: int, principal: Principal) -> dict[str, Any]:
    """The stored legacy login (metadata only), recent checkouts, and which of its forms this caller may use."""
    credential = session.scalar(select(LegacyCredential).where(LegacyCredential.account_id == account_id))
    if credential is None:
        return {"credential": None, "checkouts": [], "may_get_code": False, "may_request": False, "may_approve": False,
                "my_open_checkout": None}
    credentials.close_expired_on_read(session, current_actor(), account_id)  # so "rotate now" never waits for the job
    now, me = utcnow(), principal.person_id
    rows = _checkout_rows(session, credentials.list_checkouts(session, account_id, CHECKOUT_LIMIT), now)
    uses_broker = me is not None and role_allows(principal.role, Permission.BROKER_USE)
    return {
        "credential": credential,
        "checkouts": rows,
        "may_get_code": uses_broker and current_grant(session, me, account_id, Capability.USE_TOTP) is not None,
        "may_request": uses_broker and current_grant(session, me, account_id, Capability.CHECKOUT_PASSWORD) is not None,
        "may_approve": (me is not None and principal.role in credentials.APPROVER_ROLES
                        and role_allows(principal.role, Permission.GRANTS_WRITE)),
        "my_open_checkout": next((row["checkout"] for row in rows
                                  if row["checkout"].requester_person_id == me and row["checkout"].ended_at is None), None),
    }


def account_page(session: Session, account_id: int, principal: Principal, args: Mapping[str, str]) -> dict[str, Any]:
    account = get_account(session, account_id)
    may_grant = role_allows(principal.role, Permission.GRANTS_WRITE) and account.status != AccountStatus.RETIRED
    person_q = (args.get("person_q") or "").strip()[:200]
    return {
        "account": account,
        "connection": _connection(session, account_id),
        "legacy": _legacy_login(session, account_id, principal),
        **_access(session, args, account_id=account_id),
        "history": _history(session, "account", account_id, principal),
        "people_to_pick": people_to_pick(session, person_q) if may_grant else [],
        "person_q": person_q,
        "grant_roles": list(GrantRole),
        "now": utcnow(),
    }


def person_page(session: Session, person_id: int, principal: Principal, args: Mapping[str, str]) -> dict[str, Any]:
    return {"person": get_person(session, person_id), **_access(session, args, person_id=person_id), "now": utcnow(),
            "departure": latest_departure(session, person_id), "history": _history(session, "person", person_id, principal)}


def latest_departure(session: Session, person_id: int) -> Departure | None:
    query = select(Departure).where(Departure.person_id == person_id).order_by(Departure.first_seen_at.desc()).limit(1)
    return session.scalar(query)
