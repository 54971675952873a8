"""A SCIM filter or sortBy on Groups, as SQL over scim_groups and their members (scim_group_members).

Group attributes a client may filter on: id and externalId (caseExact), displayName (not), meta.created and
meta.lastModified (dateTime), meta.resourceType, and members with its value (caseExact), type and display, as a
group shows them (govern.scim.group_schemas.member_resource): a member linked to a SCIM user reads as type "User"
with the user's name; a member kept as sent reads as sent; a deleted user's membership is no member at all.
A condition on members holds when one member satisfies it (EXISTS), so `members[value eq "a" and type eq "User"]`
asks for one member that is both. A path not listed is 400 invalidFilter; comparisons are NULL-safe
(govern.scim.query_terms), so `not` of an absent attribute is true.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, literal, not_, or_, select
from sqlalchemy.orm import aliased

from govern.people.models import Person
from govern.scim.errors import InvalidFilter, InvalidValue
from govern.scim.filters import CORE_GROUP, And, AttributePath, Compare, Node, Not, Or, Present, ValuePath, parse_path
from govern.scim.group_models import ScimGroup, ScimGroupMember
from govern.scim.query_terms import Attribute, compare, present, resource_type_is, sort_key, tolerant
from govern.scim.schemas import DELETED_PREFIX

_SINGLE: dict[tuple[str, str | None], Attribute] = {
    ("id", None): Attribute(lambda: ScimGroup.id, case_exact=True),
    ("externalid", None): Attribute(lambda: ScimGroup.external_id, case_exact=True),
    ("displayname", None): Attribute(lambda: ScimGroup.display_name),
    ("meta", "created"): Attribute(lambda: ScimGroup.created_at, "dateTime", case_exact=True),
    ("meta", "lastmodified"): Attribute(lambda: ScimGroup.updated_at, "dateTime", case_exact=True),
}
_MEMBER_FIELDS = ("value", "type", "display")

Field = Callable[[str], tuple[ColumnElement[Any], Attribute]]


def _unsupported(path: AttributePath) -> InvalidFilter:
    return InvalidFilter(f"cannot filter Groups on {path}; govern filters groups on id, externalId, displayName, "
                         "members (value, type, display) and meta (created, lastModified, resourceType)")


def _group_path(path: AttributePath) -> AttributePath:
    """The path without the core Group URN; another schema's attribute (a User's) is no Group attribute."""
    if path.schema not in {"", CORE_GROUP}:
        raise _unsupported(path)
    return AttributePath("", path.attribute, path.sub)


def _members_where(inner: Callable[[Field], ColumnElement[bool]]) -> ColumnElement[bool]:
    """Some member of the group, as the group shows it, satisfies `inner`."""
    member, person = aliased(ScimGroupMember), aliased(Person)
    shown = {
        "value": member.value,
        "type": case((member.person_id.is_not(None), literal("User")), else_=member.type),
        "display": case((member.person_id.is_not(None), person.display_name), else_=literal(None)),
    }

    def field(sub: str) -> tuple[ColumnElement[Any], Attribute]:
        if sub not in shown:
            raise _unsupported(AttributePath("", "members", sub))
        column = shown[sub]
        return column, Attribute(lambda: column, case_exact=sub == "value")

    visible = or_(member.person_id.is_(None), not_(person.external_id.startswith(DELETED_PREFIX, autoescape=True)))
    return exists(select(literal(1)).select_from(member).outerjoin(person, person.id == member.person_id)
                  .where(member.group_id == ScimGroup.id, visible, inner(field)))


def _member_condition(node: Node, field: Field) -> ColumnElement[bool]:
    """A filter inside members[...] (or on members.sub) over one member whose fields `field` gives."""
    if isinstance(node, Compare):
        column, attribute = field(node.path.sub or "value")
        return compare(column, attribute, node.op, node.value, node.path)
    if isinstance(node, Present):
        column, attribute = field(node.path.sub or "value")
        return present(column, attribute.kind)
    if isinstance(node, And):
        return and_(_member_condition(node.left, field), _member_condition(node.right, field))
    if isinstance(node, Or):
        return or_(_member_condition(node.left, field), _member_condition(node.right, field))
    if isinstance(node, Not):
        return not_(_member_condition(node.inner, field))
    raise InvalidFilter("a [...] filter cannot hold another one")


def group_condition(node: Node, across_types: bool = False) -> ColumnElement[bool]:
    """The SQL condition a parsed filter sets on scim_groups; InvalidFilter for what a Group does not have, unless
    across_types (the root /.search), where such a comparison reads the attribute as unassigned."""
    return tolerant(node, _condition) if across_types else _condition(node)


def _condition(node: Node) -> ColumnElement[bool]:
    if isinstance(node, And):
        return and_(_condition(node.left), _condition(node.right))
    if isinstance(node, Or):
        return or_(_condition(node.left), _condition(node.right))
    if isinstance(node, Not):
        return not_(_condition(node.inner))
    path = _group_path(node.path)
    if path.attribute == "members":
        if isinstance(node, ValuePath):
            return _members_where(lambda field: _member_condition(node.inner, field))
        return _members_where(lambda field: _member_condition(node, field))
    if isinstance(node, ValuePath):
        raise InvalidFilter(f"{node.path}[...]: only members is a multi-valued attribute of a Group")
    if (path.attribute, path.sub) == ("meta", "resourcetype"):
        return resource_type_is(node, "Group")
    attribute = _SINGLE.get((path.attribute, path.sub))
    if attribute is None:
        raise _unsupported(node.path)
    if isinstance(node, Present):
        return present(attribute.expression(), attribute.kind)
    return compare(attribute.expression(), attribute, node.op, node.value, node.path)


def group_sort_key(sort_by: str) -> ColumnElement[Any]:
    """What `sortBy` orders groups by: one of their single-valued attributes (members is not one)."""
    try:
        path = _group_path(parse_path(sort_by))
    except InvalidFilter as error:
        raise InvalidValue(f"sortBy: {error}") from None
    attribute = _SINGLE.get((path.attribute, path.sub))
    if attribute is None:
        raise InvalidValue(f"cannot sort Groups by {sort_by!r}; sort them by displayName, externalId, id, "
                           "meta.created or meta.lastModified")
    return sort_key(attribute)
