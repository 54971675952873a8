"""SCIM groups as first-class resources, and what membership means in govern (decision 0078). Flushes, never commits.

Every group an identity provider pushes is stored with its members. Configuration gives a group meaning:
- the entitlement group (GOVERN_SCIM_ENTITLEMENT_GROUP): leaving it is a departure, through the one SCIM sync-run
  path (govern.scim.service.depart_from_entitlement_group), so mass removals are held like a directory sync's;
  deleting or renaming the group itself holds every departure it would cause, whatever their number;
- role groups (GOVERN_SCIM_ROLE_GROUPS): membership gives the person's console user that role, through
  govern.auth.users (audited, sessions ended on a change); leaving every role group switches the user off.
Every change is audited in the same transaction as `scim:group:*`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, not_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from govern.actor import Actor
from govern.audit.service import record
from govern.auth.models import ConsoleUser
from govern.auth.roles import Role
from govern.auth.service import ensure_console_user
from govern.auth.users import UserChangeRefused, change_role, disable, enable, link_person
from govern.db import utcnow
from govern.directory.models import SyncRun
from govern.people.models import Person, PersonSource, PersonStatus
from govern.scim import filters, group_query
from govern.scim.errors import InvalidValue, PreconditionFailed, ResourceNotFound, Uniqueness
from govern.scim.group_models import ScimConsoleRole, ScimGroup, ScimGroupMember
from govern.scim.group_schemas import GroupDraft, apply_group_patch, group_version
from govern.scim.query_terms import ordering
from govern.scim.schemas import DELETED_PREFIX, version_matches
from govern.scim.service import depart_from_entitlement_group

LEFT_ROLE_GROUPS = "scim_left_role_groups"  # why SCIM switched a console user off
AUDITED_VALUES = 1000  # member values named in one audit event at most; the counts are always exact


@dataclass(frozen=True)
class GroupMeanings:
    """What groups mean, from configuration: the entitlement group's name and the role groups, in order."""

    entitlement: str
    roles: tuple[tuple[str, Role], ...] = ()

    @classmethod
    def of(cls, entitlement: str, role_groups: Mapping[str, str]) -> GroupMeanings:
        return cls(entitlement, tuple((name, Role(role)) for name, role in role_groups.items()))

    def is_entitlement(self, name: str | None) -> bool:
        return name is not None and name.casefold() == self.entitlement.casefold()

    def role_of(self, name: str | None) -> Role | None:
        return next((role for group, role in self.roles if name and group.casefold() == name.casefold()), None)

    def role_for(self, names: set[str]) -> Role | None:
        """The first configured role group the person is in decides their role."""
        held = {name.casefold() for name in names}
        return next((role for group, role in self.roles if group.casefold() in held), None)

    def meaningful(self, name: str | None) -> bool:
        return self.is_entitlement(name) or self.role_of(name) is not None


@dataclass(frozen=True)
class Member:
    value: str
    type: str | None
    person: Person | None  # a SCIM user govern knows; None: a reference kept as sent


@dataclass(frozen=True)
class GroupView:
    group: ScimGroup
    members: list[Member] | None  # None when the caller did not ask for them


def legacy_id(name: str) -> str:
    """The id govern gave the entitlement group before groups were stored (derived from its name): the group keeps
    it when it is first pushed, so an identity provider that linked the group before still finds it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"govern:scim:group:{name.casefold()}"))


# ---- reads ----

def _members(session: Session, group_ids: list[str]) -> dict[str, list[Member]]:
    """Each group's members in the order they were added; a SCIM user deleted since is gone from every group."""
    rows = session.execute(select(ScimGroupMember, Person).outerjoin(Person, Person.id == ScimGroupMember.person_id)
                           .where(ScimGroupMember.group_id.in_(group_ids))
                           .order_by(ScimGroupMember.added_at, ScimGroupMember.value))
    found: dict[str, list[Member]] = {group_id: [] for group_id in group_ids}
    for row, person in rows:
        if person is not None and person.external_id.startswith(DELETED_PREFIX):
            continue
        found[row.group_id].append(Member(row.value, row.type, person))
    return found


def _view(session: Session, group: ScimGroup, with_members: bool) -> GroupView:
    return GroupView(group, _members(session, [group.id])[group.id] if with_members else None)


def parse_group_filter(text: str | None) -> filters.Node | None:
    """A Group filter read and checked (400 invalidFilter for bad syntax or an attribute a Group does not have)."""
    if text is None or not text.strip():
        return None
    node = filters.parse(text)
    group_query.group_condition(node)  # built once to refuse an unknown attribute before any query runs
    return node


def sorts_groups_by(sort_by: str) -> bool:
    """Whether sortBy names an attribute groups can be sorted by (the root /.search sorts each type it can)."""
    try:
        group_query.group_sort_key(sort_by)
    except InvalidValue:
        return False
    return True


def list_groups(session: Session, node: filters.Node | None, start: int, count: int, with_members: bool,
                sort_by: str | None = None, descending: bool = False, across_types: bool = False) -> tuple[int, list[GroupView]]:
    """Groups matching a parsed filter, paged; in sortBy order when given (else as created), and by id last so that
    paging never repeats or skips a group. across_types: the root /.search's filter (an attribute Groups lack reads
    as unassigned)."""
    query = select(ScimGroup)
    if node is not None:
        query = query.where(group_query.group_condition(node, across_types))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if sort_by:
        order = ordering(group_query.group_sort_key(sort_by), descending, ScimGroup.id)
    else:
        order = ordering(None, False, ScimGroup.created_at, ScimGroup.id)
    groups = list(session.scalars(query.order_by(*order).offset(start - 1).limit(count))) if count else []
    members = _members(session, [group.id for group in groups]) if with_members and groups else {}
    return total, [GroupView(group, members.get(group.id) if with_members else None) for group in groups]


def _group(session: Session, group_id: str, lock: bool = False, if_match: frozenset[str] | None = None) -> ScimGroup:
    """A group by id; with If-Match's tags, locked first and refused (412) when its version has moved on, so the
    version checked is the version changed."""
    query = select(ScimGroup).where(ScimGroup.id == group_id)
    if lock or if_match is not None:  # the row as it is once locked, not as this session last read it
        query = query.with_for_update().execution_options(populate_existing=True)
    group = session.scalar(query)
    if group is None:
        raise ResourceNotFound(f"there is no group {group_id!r}")
    if if_match is not None and not version_matches(group_version(group), if_match):
        raise PreconditionFailed(f"group {group_id!r} is at version {group_version(group)}, not the one If-Match "
                                 "names; read it again and resend the change")
    return group


def get_group(session: Session, group_id: str, with_members: bool = True,
              if_match: frozenset[str] | None = None) -> GroupView:
    return _view(session, _group(session, group_id, if_match=if_match), with_members)


def current_draft(session: Session, group_id: str) -> GroupDraft:
    group = _group(session, group_id)
    members = _members(session, [group.id])[group.id]
    return GroupDraft(group.display_name, group.external_id, {m.value: m.type for m in members})


# ---- writes ----

def _ensure_unique(session: Session, display_name: str, group: ScimGroup | None) -> None:
    query = select(ScimGroup.id).where(func.lower(ScimGroup.display_name) == display_name.lower())
    if group is not None:
        query = query.where(ScimGroup.id != group.id)
    if session.scalar(query) is not None:
        raise Uniqueness(f"a group named {display_name!r} already exists")


def _flush_named(session: Session, display_name: str) -> None:
    """Flush a group's name; a request that took the name since _ensure_unique looked is answered 409 too."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Uniqueness(f"a group named {display_name!r} already exists") from None


def _people(session: Session, values: set[str]) -> dict[str, Person]:
    """The SCIM users (not deleted) that member values name, by govern's id for them."""
    if not values:
        return {}
    query = select(Person).where(Person.source == PersonSource.SCIM, not_(Person.external_id.startswith(DELETED_PREFIX)))
    found: dict[str, Person] = {}
    wanted = sorted(values)
    for start in range(0, len(wanted), 1000):
        found.update({p.external_id: p for p in session.scalars(query.where(Person.external_id.in_(wanted[start:start + 1000])))})
    return found


def _listed(values: set[str]) -> list[str]:
    return sorted(values)[:AUDITED_VALUES]


def _store_members(session: Session, group: ScimGroup, before: dict[str, ScimGroupMember],
                   wanted: Mapping[str, str | None]) -> tuple[set[str], set[str], set[str]]:
    """Membership rows brought in line with `wanted`; returns the values added, removed and given another type."""
    added, removed = set(wanted) - set(before), set(before) - set(wanted)
    people = _people(session, added)
    now = utcnow()
    for value in sorted(removed):
        session.delete(before[value])
    for value in sorted(added):
        person = people.get(value)
        session.add(ScimGroupMember(group_id=group.id, value=value, person_id=person.id if person else None,
                                    type=None if person else wanted[value], added_at=now))
    retyped = set()
    for value in set(wanted) & set(before):
        row = before[value]
        if row.person_id is None and row.type != wanted[value]:
            row.type = wanted[value]
            retyped.add(value)
    return added, removed, retyped


def _rows(session: Session, group: ScimGroup) -> dict[str, ScimGroupMember]:
    return {row.value: row for row in session.scalars(select(ScimGroupMember).where(ScimGroupMember.group_id == group.id))}


def _person_ids(rows: Mapping[str, ScimGroupMember] | list[ScimGroupMember]) -> set[int]:
    values = rows.values() if isinstance(rows, Mapping) else rows
    return {row.person_id for row in values if row.person_id is not None}


def _write(session: Session, actor: Actor, meanings: GroupMeanings, group: ScimGroup, draft: GroupDraft | None,
           action: str) -> SyncRun | None:
    """Store the group as `draft` (None: delete it), audit it, then act on what the change means."""
    before_name, before_rows = group.display_name, _rows(session, group)
    before_people = _person_ids(before_rows)
    summary: dict[str, Any] = {"display_name": group.display_name, "external_id": group.external_id,
                               "members": len(before_rows)}
    if draft is None:
        added, removed, retyped = set(), set(before_rows), set()
        after_name, after_people = None, set()
        session.delete(group)
        session.flush()
        after = None
    else:
        _ensure_unique(session, draft.display_name, group)
        group.display_name, group.external_id = draft.display_name, draft.external_id
        _flush_named(session, group.display_name)
        added, removed, retyped = _store_members(session, group, before_rows, draft.members)
        after = {"display_name": group.display_name, "external_id": group.external_id, "members": len(draft.members)}
        if action != "scim:group:create" and (after != summary or added or removed or retyped):  # meta.version moves
            group.version += 1
            group.updated_at = utcnow()
        session.flush()
        after_name, after_people = group.display_name, _person_ids(_rows(session, group))
    if action == "scim:group:create" or after != summary or added or removed or retyped:
        record(session, actor, action, "scim_group", group.id, before=None if action == "scim:group:create" else summary,
               after=after, members_added=_listed(added), members_removed=_listed(removed),
               members_retyped=_listed(retyped),
               meaning=_meaning(meanings, after_name if draft is not None else before_name))
    run = _entitlement_change(session, actor, meanings, before_name, before_people, after_name, after_people)
    if meanings.role_of(before_name) or meanings.role_of(after_name):
        _settle_roles(session, actor, meanings, before_people ^ after_people if before_name == after_name
                      else before_people | after_people)
    return run


def _meaning(meanings: GroupMeanings, name: str | None) -> list[str]:
    meaning = ["entitlement"] if meanings.is_entitlement(name) else []
    if role := meanings.role_of(name):
        meaning.append(f"role:{role.value}")
    return meaning


def _entitlement_change(session: Session, actor: Actor, meanings: GroupMeanings, before_name: str | None,
                        before: set[int], after_name: str | None, after: set[int]) -> SyncRun | None:
    """People no longer in the entitlement group depart. Removing members is held only when they are many; the
    entitlement group deleted or renamed away holds every departure for a decision (a restructure, not leavers)."""
    if not meanings.is_entitlement(before_name):
        return None  # a group renamed to the entitlement name brings people in scope, and that changes nothing
    leaving = before - (after if meanings.is_entitlement(after_name) else set())
    if not leaving:
        return None
    people = list(session.scalars(select(Person).where(Person.id.in_(sorted(leaving))).order_by(Person.id)))
    return depart_from_entitlement_group(session, actor, people, hold=not meanings.is_entitlement(after_name))


# ---- console roles from role groups ----

def _group_names(session: Session, person_id: int) -> set[str]:
    return set(session.scalars(select(ScimGroup.display_name).join(ScimGroupMember, ScimGroupMember.group_id == ScimGroup.id)
                               .where(ScimGroupMember.person_id == person_id)))


def _settle_roles(session: Session, actor: Actor, meanings: GroupMeanings, person_ids: set[int]) -> None:
    for person_id in sorted(person_ids):
        person = session.get(Person, person_id)
        if person is None:
            continue
        try:
            with session.begin_nested():  # a refusal (the last administrator) undoes only this person's change
                _settle_role(session, actor, meanings, person)
        except UserChangeRefused as refusal:
            record(session, actor, "scim:person:console_role_refused", "person", person.id, code=refusal.code,
                   detail=str(refusal))


def _settle_role(session: Session, actor: Actor, meanings: GroupMeanings, person: Person) -> None:
    """The person's console role as their role groups say: given, changed, or (in none of them) switched off."""
    groups = _group_names(session, person.id)
    wanted = meanings.role_for(groups) if person.status == PersonStatus.ACTIVE else None
    row = session.get(ScimConsoleRole, person.id)
    before = row.role if row else None
    if wanted is None:
        if row is None or row.role is None:
            return
        user = session.get(ConsoleUser, row.console_user_id)
        if user is not None and user.disabled_at is None:
            disable(session, actor, user.id, LEFT_ROLE_GROUPS)
        row.role = None
    else:
        user = _console_user(session, actor, person, wanted, row)
        if user is None:
            return
        if row is None:
            row = ScimConsoleRole(person_id=person.id, console_user_id=user.id)
            session.add(row)
        elif row.role is None and user.disabled_at is not None:
            enable(session, actor, user.id)  # SCIM switched them off; SCIM switches them back on
        change_role(session, actor, user.id, wanted)
        row.role = wanted.value
    session.flush()
    if before != row.role:
        record(session, actor, "scim:person:console_role", "person", person.id, before={"role": before},
               after={"role": row.role}, groups=sorted(groups))


def _console_user(session: Session, actor: Actor, person: Person, role: Role, row: ScimConsoleRole | None) -> ConsoleUser | None:
    """The person's console user: the one SCIM manages, else the one linked to them or with their address, else new."""
    if row is not None:
        return session.get(ConsoleUser, row.console_user_id)
    linked = session.scalars(select(ConsoleUser).where(ConsoleUser.person_id == person.id).order_by(ConsoleUser.id)).first()
    if linked is not None:
        return linked
    # like sign-in (govern.auth.sign_in): a person without e-mail still needs a unique address; .invalid is nobody's
    email = (person.email or f"{person.external_id}@scim.invalid").strip().lower()
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.email == email))
    if user is None:
        return ensure_console_user(session, actor, email, person.display_name, role, person.id)
    if user.person_id is None:
        return link_person(session, actor, user.id, person.id)
    record(session, actor, "scim:person:console_role_refused", "person", person.id, code="account_conflict",
           detail="another person's console user has this e-mail address")
    return None


# ---- the operations ----

def create_group(session: Session, actor: Actor, meanings: GroupMeanings, draft: GroupDraft) -> GroupView:
    _ensure_unique(session, draft.display_name, None)
    group_id = legacy_id(draft.display_name) if meanings.is_entitlement(draft.display_name) else str(uuid.uuid4())
    if session.get(ScimGroup, group_id) is not None:  # the entitlement group renamed away still holds its old id
        group_id = str(uuid.uuid4())
    now = utcnow()
    group = ScimGroup(id=group_id, display_name=draft.display_name, external_id=draft.external_id,
                      created_at=now, updated_at=now, version=1)
    session.add(group)
    _flush_named(session, draft.display_name)
    _write(session, actor, meanings, group, draft, "scim:group:create")
    return _view(session, group, with_members=True)


def replace_group(session: Session, actor: Actor, meanings: GroupMeanings, group_id: str, draft: GroupDraft,
                  names_members: bool, if_match: frozenset[str] | None = None) -> GroupView:
    """PUT: displayName and externalId as given; members as given when the body names them, else kept (Okta renames
    a group with a PUT that carries no members, and that must not empty it)."""
    group = _group(session, group_id, lock=True, if_match=if_match)
    if not names_members:
        draft = GroupDraft(draft.display_name, draft.external_id, {m.value: m.type for m in _members(session, [group.id])[group.id]})
    _write(session, actor, meanings, group, draft, "scim:group:update")
    return _view(session, group, with_members=True)


def patch_group(session: Session, actor: Actor, meanings: GroupMeanings, group_id: str, body: Any,
                if_match: frozenset[str] | None = None) -> GroupView:
    group = _group(session, group_id, lock=True, if_match=if_match)
    draft = apply_group_patch(current_draft(session, group_id), body)
    _write(session, actor, meanings, group, draft, "scim:group:update")
    return _view(session, group, with_members=True)


def delete_group(session: Session, actor: Actor, meanings: GroupMeanings, group_id: str,
                 if_match: frozenset[str] | None = None) -> None:
    _write(session, actor, meanings, _group(session, group_id, lock=True, if_match=if_match), None, "scim:group:delete")
