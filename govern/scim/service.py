"""SCIM provisioning: people created, changed and departed by an identity provider, as SCIM sync runs. Flushes, never commits.

A SCIM user is a Person with source "scim" whose external_id is the id govern assigned (a UUID); the
client's own externalId is kept in Person.dn, the column that holds "the directory's name for this
person" for LDAP sources. What the client sent that Person has no column for (the name's parts, every e-mail
with its type, a manager not provisioned yet, a removed `active`) is kept in ScimUserAttributes and echoed back
(decision 0076). Every change goes through the directory sync (`run_sync` in mode SCIM), so
departures take the one `depart` path and mass removals are held for a governance decision.

Groups are stored and given their meaning in govern.scim.groups (decision 0077); removal from the
entitlement group departs through `depart_from_entitlement_group` below, the same sync-run path.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, func, not_, select
from sqlalchemy.orm import Session

from govern.adapters.directory import ChangeBatch, DirectoryChange, DirectoryEntry
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.directory.models import SyncMode, SyncRun
from govern.directory.service import SyncPlan, depart, plan_changes, run_sync
from govern.people.models import Person, PersonSource, PersonStatus
from govern.scim.errors import ResourceNotFound, Uniqueness
from govern.scim.models import ScimUserAttributes
from govern.scim.schemas import DELETED_PREFIX, Filter, UserInput, apply_user_patch, scim_id, user_input_of

SOURCE = PersonSource.SCIM.value
DEACTIVATED = "scim_deactivated"
DELETED = "scim_deleted"
REMOVED_FROM_GROUP = "scim_removed_from_entitlement_group"
CREATED_INACTIVE = "scim_created_inactive"


def _scim_people() -> Select[tuple[Person]]:
    return select(Person).where(Person.source == PersonSource.SCIM, not_(Person.external_id.startswith(DELETED_PREFIX)))


def _find(session: Session, reference: str) -> Person | None:
    """A SCIM person by govern's id, else the client's externalId, else userName (how IdPs name managers)."""
    for condition in (Person.external_id == reference, Person.dn == reference,
                      func.lower(Person.username) == reference.lower()):
        person = session.scalars(_scim_people().where(condition).order_by(Person.id)).first()
        if person is not None:
            return person
    return None


# ---- users ----

def list_users(session: Session, found: Filter | None, start: int, count: int) -> tuple[int, list[Person]]:
    query = _scim_people()
    if found is not None:
        query = query.where({
            "username": func.lower(Person.username) == found.value.lower(),
            "externalid": Person.dn == found.value,
            "id": Person.external_id == found.value,
            "emails": func.lower(Person.email) == found.value.lower(),
            "emails.value": func.lower(Person.email) == found.value.lower(),
        }[found.attribute])
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    people = list(session.scalars(query.order_by(Person.id).offset(start - 1).limit(count))) if count else []
    return total, people


def get_user(session: Session, user_id: str) -> Person:
    person = None if user_id.startswith(DELETED_PREFIX) else session.scalar(_scim_people().where(Person.external_id == user_id))
    if person is None:
        raise ResourceNotFound(f"there is no user {user_id!r}")
    return person


def _ensure_unique(session: Session, user_name: str, person: Person | None) -> None:
    query = _scim_people().where(func.lower(Person.username) == user_name.lower())
    if person is not None:
        query = query.where(Person.id != person.id)
    if session.scalars(query).first() is not None:
        raise Uniqueness(f"userName {user_name!r} is already taken")


def _entry(key: str, user: UserInput, manager: Person | None, signal: str) -> DirectoryEntry:
    return DirectoryEntry(key=key, dn=user.external_id or "", username=user.user_name, display_name=user.display_name,
                          email=user.email, department=user.department, manager_key=manager.external_id if manager else None,
                          active=bool(user.active), leaver_signals=() if user.active else (signal,))


def _changes(plan: SyncPlan) -> bool:
    return bool(plan.creates or plan.updates or plan.returners or plan.departures)


def _sync(session: Session, actor: Actor, entries: list[DirectoryEntry], force: bool = False) -> SyncRun | None:
    """One SCIM sync run for these entries, or none when nothing would change."""
    now = utcnow()
    batch = ChangeBatch(changes=[DirectoryChange(entry.key, entry, now) for entry in entries])
    plan = plan_changes(session, SOURCE, batch, own_account=None)
    if not (force or _changes(plan)):
        return None
    return run_sync(session, actor, SOURCE, SyncMode.SCIM, lambda: plan)


def _manager(session: Session, user: UserInput, person: Person | None) -> Person | None:
    manager = _find(session, user.manager) if user.manager else None
    return None if manager is None or (person is not None and manager.id == person.id) else manager


def _unknown_manager(session: Session, user: UserInput) -> str | None:
    """The client's reference to a manager govern does not know yet (kept, and linked when they arrive)."""
    return user.manager if user.manager and _find(session, user.manager) is None else None


def kept_attributes(session: Session, people: list[Person]) -> dict[int, ScimUserAttributes]:
    """What each person's identity provider sent that the Person row has no column for, by person id."""
    if not people:
        return {}
    rows = session.scalars(select(ScimUserAttributes).where(ScimUserAttributes.person_id.in_([p.id for p in people])))
    return {row.person_id: row for row in rows}


def _kept_view(row: ScimUserAttributes | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"name": row.name, "display_name": row.display_name, "emails": row.emails,
            "manager_ref": row.manager_ref, "active_unassigned": row.active_unassigned}


def _keep(session: Session, actor: Actor, person: Person, user: UserInput) -> None:
    """Store what the client sent beyond the Person row; a change is audited in the same transaction."""
    row = session.get(ScimUserAttributes, person.id)
    before = _kept_view(row)
    if row is None:
        row = ScimUserAttributes(person_id=person.id)
        session.add(row)
    row.name = dict(user.name) if user.name else None
    row.display_name = user.given_display_name
    row.emails = [dict(email) for email in user.emails] if user.emails else None
    row.manager_ref = _unknown_manager(session, user) if person.manager_id is None else None
    row.active_unassigned = bool(user.active_unassigned and person.status != PersonStatus.ACTIVE)
    after = _kept_view(row)
    if after != before:
        session.flush()
        record(session, actor, "scim:user:attributes", "person", person.id, before=before, after=after)


def _link_waiting_reports(session: Session, actor: Actor, manager: Person) -> None:
    """People whose manager was referred to before being provisioned now report to them."""
    references = {reference.lower() for reference in (manager.external_id, manager.dn, manager.username) if reference}
    waiting = session.scalars(select(ScimUserAttributes).where(func.lower(ScimUserAttributes.manager_ref).in_(references))
                              .order_by(ScimUserAttributes.person_id))
    for row in list(waiting):
        report = session.get(Person, row.person_id)
        if report is not None and scim_id(report) is not None and report.id != manager.id:
            _update(session, actor, report, user_input_of(report, row), DEACTIVATED)


def create_user(session: Session, actor: Actor, user: UserInput) -> Person:
    _ensure_unique(session, user.user_name, None)
    key = str(uuid.uuid4())
    _sync(session, actor, [_entry(key, replace(user, active=True), _manager(session, user, None), DEACTIVATED)], force=True)
    person = get_user(session, key)
    if user.active is False:  # provisioned disabled: on record, but never active
        depart(session, actor, person, SOURCE, [CREATED_INACTIVE], None)
    _keep(session, actor, person, user)
    _link_waiting_reports(session, actor, person)
    return person


def _update(session: Session, actor: Actor, person: Person, user: UserInput, signal: str) -> Person:
    _ensure_unique(session, user.user_name, person)
    manager = _manager(session, user, person)
    manager_changed = (manager.id if manager else None) != person.manager_id
    _sync(session, actor, [_entry(person.external_id, user, manager, signal)], force=manager_changed)
    session.refresh(person)  # the sync set manager_id; the loaded relationship is stale
    _keep(session, actor, person, user)
    return person


def replace_user(session: Session, actor: Actor, user_id: str, user: UserInput) -> Person:
    """PUT: every attribute as given; `active` left out keeps the person's status."""
    person = get_user(session, user_id)
    if user.active is None:
        kept = kept_attributes(session, [person]).get(person.id)
        user = replace(user, active=person.status == PersonStatus.ACTIVE,
                       active_unassigned=bool(kept and kept.active_unassigned))
    return _update(session, actor, person, user, DEACTIVATED)


def patch_user(session: Session, actor: Actor, user_id: str, body: Any) -> Person:
    """PATCH: the PatchOp request applied to the person's current User."""
    person = get_user(session, user_id)
    kept = kept_attributes(session, [person]).get(person.id)
    return _update(session, actor, person, apply_user_patch(user_input_of(person, kept), body), DEACTIVATED)


def delete_user(session: Session, actor: Actor, user_id: str) -> None:
    """DELETE departs the person; the row stays for the audit trail, renamed so SCIM answers 404 from now on."""
    person = get_user(session, user_id)
    kept = kept_attributes(session, [person]).get(person.id)
    _update(session, actor, person, replace(user_input_of(person, kept), active=False), DELETED)
    person.external_id = DELETED_PREFIX + person.external_id
    session.flush()
    record(session, actor, "scim:user:delete", "person", person.id,
           before={"external_id": user_id}, after={"external_id": person.external_id})


# ---- groups (govern.scim.groups) ----

def depart_from_entitlement_group(session: Session, actor: Actor, people: list[Person], hold: bool) -> SyncRun | None:
    """People removed from the entitlement group depart through one SCIM sync run: held for a governance decision
    when they are many, or always when `hold` (the group itself was deleted or renamed)."""
    entries = [_entry(person.external_id, replace(user_input_of(person), active=False),
                      _manager(session, user_input_of(person), person), REMOVED_FROM_GROUP)
               for person in people if person.status == PersonStatus.ACTIVE]
    if not entries:
        return None
    now = utcnow()
    batch = ChangeBatch(changes=[DirectoryChange(entry.key, entry, now) for entry in entries])
    plan = plan_changes(session, SOURCE, batch, own_account=None)
    return run_sync(session, actor, SOURCE, SyncMode.SCIM, lambda: plan, hold=hold)
