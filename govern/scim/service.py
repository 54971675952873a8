"""SCIM provisioning: people created, changed and departed by an identity provider, as SCIM sync runs. Flushes, never commits.

A SCIM user is a Person with source "scim" whose external_id is the id govern assigned (a UUID). What the
client sent that Person has no column for (its own externalId, the name's parts, every e-mail with its type, a
manager not provisioned yet, a removed `active`) is kept in ScimUserAttributes and echoed back (decision 0076).
Lists are filtered and sorted in SQL (govern.scim.user_query); a userName is unique case-insensitively by a
database index as well as by the check here, so two concurrent creates cannot both win. Every change goes through the directory sync (`run_sync` in mode SCIM), so
departures take the one `depart` path and mass removals are held for a governance decision.

Groups are stored and given their meaning in govern.scim.groups (decision 0078); removal from the
entitlement group departs through `depart_from_entitlement_group` below, the same sync-run path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, func, not_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govern.adapters.directory import ChangeBatch, DirectoryChange, DirectoryEntry
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.directory.models import SyncMode, SyncRun
from govern.directory.service import SyncPlan, depart, plan_changes, run_sync
from govern.people.models import Person, PersonSource, PersonStatus
from govern.scim.errors import InvalidValue, PreconditionFailed, ResourceNotFound, Uniqueness
from govern.scim import filters, user_query
from govern.scim.group_models import ScimGroup, ScimGroupMember
from govern.scim.models import USERNAME_INDEX, ScimUserAttributes
from govern.scim.query_terms import ordering
from govern.scim.schemas import (DELETED_PREFIX, UserInput, apply_user_patch, scim_id, user_input_of,
                                  user_resource, version_matches)

SOURCE = PersonSource.SCIM.value
DEACTIVATED = "scim_deactivated"
DELETED = "scim_deleted"
REMOVED_FROM_GROUP = "scim_removed_from_entitlement_group"
CREATED_INACTIVE = "scim_created_inactive"


def _scim_people() -> Select[tuple[Person]]:
    return select(Person).where(Person.source == PersonSource.SCIM, not_(Person.external_id.startswith(DELETED_PREFIX)))


def _find(session: Session, reference: str) -> Person | None:
    """A SCIM person by govern's id, else the client's externalId, else userName (how IdPs name managers)."""
    by_external_id = Person.id.in_(select(ScimUserAttributes.person_id).where(ScimUserAttributes.external_id == reference))
    for condition in (Person.external_id == reference, by_external_id, func.lower(Person.username) == reference.lower()):
        person = session.scalars(_scim_people().where(condition).order_by(Person.id)).first()
        if person is not None:
            return person
    return None


# ---- users ----

def parse_user_filter(text: str | None) -> filters.Node | None:
    """A User filter read and checked (400 invalidFilter for bad syntax or an attribute govern cannot filter on)."""
    if text is None or not text.strip():
        return None
    node = filters.parse(text)
    user_query.user_condition(node, "postgresql")  # built once to refuse an unknown attribute before any query runs
    return node


def sorts_users_by(sort_by: str) -> bool:
    """Whether sortBy names an attribute users can be sorted by (the root /.search sorts each type it can)."""
    try:
        user_query.user_sort_key(sort_by)
    except InvalidValue:
        return False
    return True


def list_users(session: Session, node: filters.Node | None, start: int, count: int,
               sort_by: str | None = None, descending: bool = False, across_types: bool = False) -> tuple[int, list[Person]]:
    """People matching a parsed filter, paged; ordered by sortBy when given, and always by id last so pages are stable.
    across_types: the filter is the root /.search's, where an attribute Users lack reads as unassigned."""
    dialect = session.get_bind().dialect.name
    query = _scim_people().outerjoin(ScimUserAttributes, ScimUserAttributes.person_id == Person.id)
    if node is not None:
        query = query.where(user_query.user_condition(node, dialect, across_types))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = ordering(user_query.user_sort_key(sort_by) if sort_by else None, descending, Person.id)
    people = list(session.scalars(query.order_by(*order).offset(start - 1).limit(count))) if count else []
    return total, people


def get_user(session: Session, user_id: str, if_match: frozenset[str] | None = None) -> Person:
    """A SCIM person by id; with If-Match's tags, locked for the change and refused (412) when their version moved on."""
    query = _scim_people().where(Person.external_id == user_id)
    if if_match is not None:
        query = query.with_for_update(of=Person)  # the version checked is the version changed
    person = None if user_id.startswith(DELETED_PREFIX) else session.scalar(query)
    if person is None:
        raise ResourceNotFound(f"there is no user {user_id!r}")
    if if_match is not None:
        version = user_version(session, person)
        if not version_matches(version, if_match):
            raise PreconditionFailed(f"user {user_id!r} is at version {version}, not the one If-Match names; "
                                     "read it again and resend the change")
    return person


def user_version(session: Session, person: Person) -> str:
    """The person's meta.version as a User (a weak ETag of its content)."""
    return user_resource(person, "", kept_attributes(session, [person]).get(person.id))["meta"]["version"]


def _ensure_unique(session: Session, user_name: str, person: Person | None) -> None:
    query = _scim_people().where(func.lower(Person.username) == user_name.lower())
    if person is not None:
        query = query.where(Person.id != person.id)
    if session.scalars(query).first() is not None:
        raise Uniqueness(f"userName {user_name!r} is already taken")


def _entry(key: str, user: UserInput, manager: Person | None, signal: str) -> DirectoryEntry:
    return DirectoryEntry(key=key, dn="", username=user.user_name, display_name=user.display_name,
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
    return {"external_id": row.external_id, "name": row.name, "display_name": row.display_name, "emails": row.emails,
            "manager_ref": row.manager_ref, "active_unassigned": row.active_unassigned}


def _keep(session: Session, actor: Actor, person: Person, user: UserInput) -> None:
    """Store what the client sent beyond the Person row; a change is audited in the same transaction."""
    row = session.get(ScimUserAttributes, person.id)
    before = _kept_view(row)
    if row is None:
        row = ScimUserAttributes(person_id=person.id)
        session.add(row)
    row.external_id = user.external_id
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
    own = session.get(ScimUserAttributes, manager.id)
    references = {reference.lower() for reference in (manager.external_id, own and own.external_id, manager.username)
                  if reference}
    waiting = session.scalars(select(ScimUserAttributes).where(func.lower(ScimUserAttributes.manager_ref).in_(references))
                              .order_by(ScimUserAttributes.person_id))
    for row in list(waiting):
        report = session.get(Person, row.person_id)
        if report is not None and scim_id(report) is not None and report.id != manager.id:
            _update(session, actor, report, user_input_of(report, row), DEACTIVATED)


@contextmanager
def _unique_user_name(session: Session, user_name: str) -> Iterator[None]:
    """A savepoint around a write that may take a userName: when a concurrent request took it first, the database's
    unique index refuses the second (USERNAME_INDEX) and the client gets 409 uniqueness, not a 500."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError as error:
        if USERNAME_INDEX not in str(error.orig):
            raise
        raise Uniqueness(f"userName {user_name!r} is already taken") from None


def create_user(session: Session, actor: Actor, user: UserInput) -> Person:
    _ensure_unique(session, user.user_name, None)
    key = str(uuid.uuid4())
    with _unique_user_name(session, user.user_name):
        _sync(session, actor, [_entry(key, replace(user, active=True), _manager(session, user, None), DEACTIVATED)], force=True)
    person = get_user(session, key)
    if user.active is False:  # provisioned disabled: on record, but never active
        depart(session, actor, person, SOURCE, [CREATED_INACTIVE], None)
    _keep(session, actor, person, user)
    _link_waiting_reports(session, actor, person)
    return person


def _touch_groups_of(session: Session, person: Person) -> None:
    """The groups that show the person as a member move to a new meta.version: the member they show has changed
    (renamed, or deleted and so gone from the group). A group another request holds locked is skipped, not waited
    for: a group write locks the group and then changes people, so waiting here (a person changed, now a group)
    could deadlock; the member's name is read-only in the group, and that writer moves its version if it changes it."""
    in_groups = select(ScimGroupMember.group_id).where(ScimGroupMember.person_id == person.id)
    free = select(ScimGroup.id).where(ScimGroup.id.in_(in_groups)).with_for_update(skip_locked=True)
    session.execute(update(ScimGroup).where(ScimGroup.id.in_(free))
                    .values(version=ScimGroup.version + 1, updated_at=utcnow()).execution_options(synchronize_session="fetch"))


def _update(session: Session, actor: Actor, person: Person, user: UserInput, signal: str) -> Person:
    shown_name = person.display_name
    _ensure_unique(session, user.user_name, person)
    manager = _manager(session, user, person)
    manager_changed = (manager.id if manager else None) != person.manager_id
    with _unique_user_name(session, user.user_name):
        _sync(session, actor, [_entry(person.external_id, user, manager, signal)], force=manager_changed)
    session.refresh(person)  # the sync set manager_id; the loaded relationship is stale
    _keep(session, actor, person, user)
    if person.display_name != shown_name:
        _touch_groups_of(session, person)
    return person


def replace_user(session: Session, actor: Actor, user_id: str, user: UserInput,
                 if_match: frozenset[str] | None = None) -> Person:
    """PUT: every attribute as given; `active` left out keeps the person's status."""
    person = get_user(session, user_id, if_match)
    if user.active is None:
        kept = kept_attributes(session, [person]).get(person.id)
        user = replace(user, active=person.status == PersonStatus.ACTIVE,
                       active_unassigned=bool(kept and kept.active_unassigned))
    return _update(session, actor, person, user, DEACTIVATED)


def patch_user(session: Session, actor: Actor, user_id: str, body: Any, if_match: frozenset[str] | None = None) -> Person:
    """PATCH: the PatchOp request applied to the person's current User."""
    person = get_user(session, user_id, if_match)
    kept = kept_attributes(session, [person]).get(person.id)
    return _update(session, actor, person, apply_user_patch(user_input_of(person, kept), body), DEACTIVATED)


def delete_user(session: Session, actor: Actor, user_id: str, if_match: frozenset[str] | None = None) -> None:
    """DELETE departs the person; the row stays for the audit trail, renamed so SCIM answers 404 from now on."""
    person = get_user(session, user_id, if_match)
    kept = kept_attributes(session, [person]).get(person.id)
    _update(session, actor, person, replace(user_input_of(person, kept), active=False), DELETED)
    person.external_id = DELETED_PREFIX + person.external_id
    _touch_groups_of(session, person)
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
