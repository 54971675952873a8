"""Read-only queries behind the console's SCIM groups pages: the groups a page at a time with their member counts and
meaning in govern, the configured mapping and whether each configured group was pushed, and a group's members."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from govern.auth.roles import Role
from govern.errors import NotFound
from govern.pagination import CountedPage, paginate
from govern.people.models import Person
from govern.scim.group_models import ScimGroup, ScimGroupMember
from govern.scim.groups import GroupMeanings, Member
from govern.scim.schemas import DELETED_PREFIX
from govern.text import like_pattern


class MeaningKind(str, enum.Enum):
    ENTITLEMENT = "entitlement"  # members are in scope for social media access
    ROLE = "role"  # members get a console role
    NONE = "none"  # stored as pushed; membership changes nothing in govern


@dataclass(frozen=True)
class Meaning:
    kind: MeaningKind
    role: Role | None = None


@dataclass(frozen=True)
class GroupFilter:
    q: str | None = None  # part of the group's name, any case


@dataclass(frozen=True)
class GroupRow:
    group: ScimGroup
    member_count: int
    meaning: Meaning


@dataclass(frozen=True)
class ConfiguredGroup:
    """One group the settings give meaning to, and the stored group of that name (None: not pushed yet)."""

    name: str
    meaning: Meaning
    group: ScimGroup | None


def meaning_of(meanings: GroupMeanings, name: str | None) -> Meaning:
    if meanings.is_entitlement(name):
        return Meaning(MeaningKind.ENTITLEMENT)
    role = meanings.role_of(name)
    return Meaning(MeaningKind.ROLE, role) if role is not None else Meaning(MeaningKind.NONE)


def _shown_member() -> ColumnElement[bool]:
    """A member row the group still has: a bare reference, or a SCIM user not deleted (as the SCIM API shows them)."""
    return or_(ScimGroupMember.person_id.is_(None), ~Person.external_id.startswith(DELETED_PREFIX))


def _groups(filters: GroupFilter):
    query = select(ScimGroup)
    if filters.q:
        query = query.where(ScimGroup.display_name.ilike(like_pattern(filters.q), escape="\\"))
    return query


def count_groups(session: Session, filters: GroupFilter) -> int:
    return session.scalar(select(func.count()).select_from(_groups(filters).subquery())) or 0


def member_counts(session: Session, group_ids: list[str]) -> dict[str, int]:
    if not group_ids:
        return {}
    rows = session.execute(select(ScimGroupMember.group_id, func.count())
                           .outerjoin(Person, Person.id == ScimGroupMember.person_id)
                           .where(ScimGroupMember.group_id.in_(group_ids), _shown_member())
                           .group_by(ScimGroupMember.group_id))
    return {group_id: count for group_id, count in rows}


def groups_page(session: Session, meanings: GroupMeanings, filters: GroupFilter, limit: int = 50,
                cursor: str | None = None) -> CountedPage[GroupRow]:
    """Groups by name (then id), each with how many members it shows and what it means; InvalidCursor on a bad cursor."""
    page = paginate(session, _groups(filters), "display_name", ScimGroup.display_name, ScimGroup.id, limit, cursor)
    counts = member_counts(session, [group.id for group in page.items])
    rows = [GroupRow(group, counts.get(group.id, 0), meaning_of(meanings, group.display_name)) for group in page.items]
    return CountedPage(rows, page.next_cursor, prev_cursor=page.prev_cursor, total=count_groups(session, filters))


def configured_groups(session: Session, meanings: GroupMeanings) -> list[ConfiguredGroup]:
    """The entitlement group, then the role groups in the order that decides a role, each with its stored group."""
    configured = [(meanings.entitlement, Meaning(MeaningKind.ENTITLEMENT))]
    configured += [(name, Meaning(MeaningKind.ROLE, role)) for name, role in meanings.roles]
    wanted = {name.lower() for name, _meaning in configured}
    stored = {group.display_name.lower(): group
              for group in session.scalars(select(ScimGroup).where(func.lower(ScimGroup.display_name).in_(wanted)))}
    return [ConfiguredGroup(name, meaning, stored.get(name.lower())) for name, meaning in configured]


def get_group(session: Session, meanings: GroupMeanings, group_id: str) -> GroupRow:
    group = session.get(ScimGroup, group_id) if len(group_id) <= 36 else None  # ids are UUIDs; longer is nobody's
    if group is None:
        raise NotFound("there is no such SCIM group")
    return GroupRow(group, member_counts(session, [group.id]).get(group.id, 0), meaning_of(meanings, group.display_name))


def members_page(session: Session, group_id: str, limit: int = 50, cursor: str | None = None) -> CountedPage[Member]:
    """A group's members in the order they were added: the person govern knows, or the reference kept as sent."""
    query = (select(ScimGroupMember).outerjoin(Person, Person.id == ScimGroupMember.person_id)
             .where(and_(ScimGroupMember.group_id == group_id, _shown_member())))
    page = paginate(session, query, "added_at", ScimGroupMember.added_at, ScimGroupMember.value, limit, cursor)
    people = {person.id: person for person in session.scalars(
        select(Person).where(Person.id.in_({row.person_id for row in page.items if row.person_id is not None})))}
    members = [Member(row.value, row.type, people.get(row.person_id) if row.person_id else None) for row in page.items]
    return CountedPage(members, page.next_cursor, prev_cursor=page.prev_cursor,
                       total=member_counts(session, [group_id]).get(group_id, 0))
