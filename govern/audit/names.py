"""Names for a page of audit events: who acted and what each event touched, read in one query per kind of record
(console users, API clients, accounts, people, campaigns, violations), never one per event.

Plain data for the console to phrase and link: no Flask, no translated words here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import SocialAccount
from govern.audit.models import AuditEvent
from govern.auth.models import ApiClient, ConsoleUser
from govern.people.models import Person
from govern.policy.workflow_models import PolicyViolation
from govern.reviews.models import ReviewCampaign

# targets whose events name the account (and the person) they concern in their summary
_SUMMARY_NAMES_ACCOUNT = ("grant", "review_item", "policy_violation", "publish_approval", "policy_exception")


@dataclass(frozen=True)
class Ref:
    """A record an event touched, with its name when it still exists."""

    id: int
    name: str | None


@dataclass(frozen=True)
class Acting:
    kind: str  # console_user, api_client, system, cli, anonymous, or the text before the first ':'
    id: str
    name: str | None = None
    email: str | None = None
    person: Ref | None = None


@dataclass(frozen=True)
class Target:
    kind: str  # the event's target_type
    id: str
    name: str | None = None  # the target's own name (a handle, a person's or campaign's name, a user's)
    account: Ref | None = None
    person: Ref | None = None
    campaign: Ref | None = None


@dataclass(frozen=True)
class NamedEvent:
    event: AuditEvent
    actor: Acting
    target: Target
    reason: str | None = None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def _from_summary(summary: Any, key: str) -> int | None:
    """`key` at the top of the summary or in its after/before snapshot (the same places subjects.py reads)."""
    if not isinstance(summary, dict):
        return None
    for place in (summary, summary.get("after"), summary.get("before")):
        if isinstance(place, dict) and (found := _int(place.get(key))) is not None:
            return found
    return None


@dataclass
class _Wanted:
    users: set[int] = field(default_factory=set)
    clients: set[int] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)
    people: set[int] = field(default_factory=set)
    campaigns: set[int] = field(default_factory=set)
    violations: set[int] = field(default_factory=set)


def _actor_parts(actor: str) -> tuple[str, str]:
    kind, sep, ident = actor.partition(":")
    return (kind, ident) if sep else (actor, "")


def _ids_named(events: list[AuditEvent]) -> _Wanted:
    wanted = _Wanted()
    for event in events:
        kind, ident = _actor_parts(event.actor)
        if kind == "console_user" and _int(ident) is not None:
            wanted.users.add(int(ident))
        elif kind == "api_client" and _int(ident) is not None:
            wanted.clients.add(int(ident))
        target_id = _int(event.target_id)
        if target_id is not None:
            {"account": wanted.accounts, "person": wanted.people, "review_campaign": wanted.campaigns,
             "console_user": wanted.users, "api_client": wanted.clients,
             "policy_violation": wanted.violations}.get(event.target_type, set()).add(target_id)
        if event.target_type in _SUMMARY_NAMES_ACCOUNT:
            for key, found in (("account_id", wanted.accounts), ("person_id", wanted.people),
                               ("campaign_id", wanted.campaigns)):
                if (value := _from_summary(event.summary, key)) is not None:
                    found.add(value)
    return wanted


def _rows(session: Session, model, ids: set[int], *columns) -> dict[int, Any]:
    if not ids:
        return {}
    return {row[0]: row for row in session.execute(select(model.id, *columns).where(model.id.in_(ids)))}


def name_events(session: Session, events: Iterable[AuditEvent]) -> list[NamedEvent]:
    """Each event with its actor's and its target's names, for one page: at most seven queries, whatever its size."""
    events = list(events)
    wanted = _ids_named(events)
    violations = _rows(session, PolicyViolation, wanted.violations, PolicyViolation.account_id)
    wanted.accounts.update(row.account_id for row in violations.values())
    users = _rows(session, ConsoleUser, wanted.users, ConsoleUser.display_name, ConsoleUser.email, ConsoleUser.person_id)
    wanted.people.update(row.person_id for row in users.values() if row.person_id is not None)
    clients = _rows(session, ApiClient, wanted.clients, ApiClient.name)
    accounts = _rows(session, SocialAccount, wanted.accounts, SocialAccount.handle)
    people = _rows(session, Person, wanted.people, Person.display_name)
    campaigns = _rows(session, ReviewCampaign, wanted.campaigns, ReviewCampaign.name)

    def ref(rows: dict[int, Any], key: int | None) -> Ref | None:
        if key is None:
            return None
        row = rows.get(key)
        return Ref(key, row[1] if row is not None else None)

    def user(user_id: int | None) -> tuple[str | None, str | None, Ref | None]:
        row = users.get(user_id) if user_id is not None else None
        if row is None:
            return None, None, None
        return row.display_name, row.email, ref(people, row.person_id)

    named = []
    for event in events:
        kind, ident = _actor_parts(event.actor)
        if kind == "console_user":
            display, email, person = user(_int(ident))
            actor = Acting(kind, ident, display, email, person)
        elif kind == "api_client":
            client = clients.get(_int(ident)) if _int(ident) is not None else None
            actor = Acting(kind, ident, client.name if client is not None else None)
        else:
            actor = Acting(kind, ident, ident or None)
        named.append(NamedEvent(event, actor, _target(event, ref, user, accounts, people, campaigns, violations),
                                _reason(event.summary)))
    return named


def _target(event: AuditEvent, ref, user, accounts, people, campaigns, violations) -> Target:
    kind, target_id = event.target_type, _int(event.target_id)
    if kind == "account":
        found = ref(accounts, target_id)
        return Target(kind, event.target_id, found.name if found else None, account=found)
    if kind == "person":
        found = ref(people, target_id)
        return Target(kind, event.target_id, found.name if found else None, person=found)
    if kind == "review_campaign":
        found = ref(campaigns, target_id)
        return Target(kind, event.target_id, found.name if found else None, campaign=found)
    if kind == "console_user":
        display, _email, person = user(target_id)
        return Target(kind, event.target_id, display, person=person)
    if kind == "policy_violation":
        violation = violations.get(target_id) if target_id is not None else None
        account_id = violation.account_id if violation is not None else _from_summary(event.summary, "account_id")
        return Target(kind, event.target_id, account=ref(accounts, account_id))
    if kind in _SUMMARY_NAMES_ACCOUNT:
        return Target(kind, event.target_id, account=ref(accounts, _from_summary(event.summary, "account_id")),
                      person=ref(people, _from_summary(event.summary, "person_id")),
                      campaign=ref(campaigns, _from_summary(event.summary, "campaign_id")))
    return Target(kind, event.target_id)


def _reason(summary: Any) -> str | None:
    if not isinstance(summary, dict):
        return None
    for place, key in ((summary, "reason"), (summary, "comment"), (summary, "note"), (summary.get("after"), "reason")):
        if isinstance(place, dict) and isinstance(place.get(key), str) and place[key].strip():
            return place[key]  # a revocation's reason, a review's comment; else what a new grant was given for
    return None
