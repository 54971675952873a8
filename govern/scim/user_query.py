"""A SCIM filter or sortBy on Users, as SQL over people and what each one's identity provider sent (ScimUserAttributes).

Each User attribute a client may filter or sort on is a column expression here, with its SCIM type and
caseExact flag; a path not listed is 400 invalidFilter. What a User shows comes from two places (decision
0076): the kept attributes when the person has a ScimUserAttributes row, else the Person row (a person
provisioned before rows were kept reads as govern always showed them), so each expression follows the same
rule. Every comparison is NULL-safe (an absent attribute is false, and `not` of it is true), so `not`, `and`
and `or` behave as two-valued logic, as RFC 7644 3.4.2.2 reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, ColumnElement, and_, case, exists, false, func, literal, not_, or_, select, true, type_coerce
from sqlalchemy.orm import aliased

from govern.people.models import Person, PersonStatus
from govern.scim.errors import InvalidFilter, InvalidValue
from govern.scim.filters import CORE_USER, ENTERPRISE_USER, And, AttributePath, Compare, Node, Not, Or, Present, ValuePath, parse_path
from govern.scim.models import ScimUserAttributes
from govern.scim.query_terms import Attribute, compare, present, resource_type_is, sort_key, tolerant

Kept = ScimUserAttributes
_no_row = Kept.person_id.is_(None)  # the person has no kept row (read through an outer join)


def _kept_or_person(kept: ColumnElement[Any], person: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((_no_row, person), else_=kept)


def _name_part(key: str) -> Callable[[], ColumnElement[Any]]:
    fallback = Person.display_name if key == "formatted" else literal(None)
    return lambda: _kept_or_person(Kept.name[key].as_string(), fallback)


def _manager_id() -> ColumnElement[Any]:
    manager = aliased(Person)
    known = select(manager.external_id).where(manager.id == Person.manager_id).scalar_subquery()
    return func.coalesce(known, Kept.manager_ref)


def _manager_name() -> ColumnElement[Any]:
    manager = aliased(Person)
    return select(manager.display_name).where(manager.id == Person.manager_id).scalar_subquery()


_SINGLE: dict[tuple[str, str, str | None], Attribute] = {
    (CORE_USER, "id", None): Attribute(lambda: Person.external_id, case_exact=True),
    (CORE_USER, "externalid", None): Attribute(lambda: Kept.external_id, case_exact=True),
    (CORE_USER, "username", None): Attribute(lambda: Person.username),
    (CORE_USER, "displayname", None): Attribute(lambda: _kept_or_person(Kept.display_name, Person.display_name)),
    (CORE_USER, "name", "formatted"): Attribute(_name_part("formatted")),
    (CORE_USER, "name", "givenname"): Attribute(_name_part("givenName")),
    (CORE_USER, "name", "familyname"): Attribute(_name_part("familyName")),
    (CORE_USER, "active", None): Attribute(lambda: Person.status == PersonStatus.ACTIVE, "boolean"),
    (CORE_USER, "meta", "created"): Attribute(lambda: Person.created_at, "dateTime", case_exact=True),
    (CORE_USER, "meta", "lastmodified"): Attribute(lambda: Person.updated_at, "dateTime", case_exact=True),
    (ENTERPRISE_USER, "department", None): Attribute(lambda: Person.department),
    (ENTERPRISE_USER, "manager", "value"): Attribute(_manager_id, case_exact=True),
    (ENTERPRISE_USER, "manager", "displayname"): Attribute(_manager_name),
}
_COMPLEX = {(CORE_USER, "name"): ("formatted", "givenname", "familyname"), (ENTERPRISE_USER, "manager"): ("value",)}
_EMAIL_FIELDS = {"value": ("value", "string"), "type": ("type", "string"), "primary": ("primary", "boolean"),
                 "display": ("display", "string")}
# attributes a client names without the enterprise URN: Okta and Entra sometimes do, and the names do not clash
_ENTERPRISE_NAMES = frozenset({"department", "manager"})


def _resolve(path: AttributePath) -> AttributePath:
    """The path with its schema made explicit: core User unless it is one of the enterprise extension's names."""
    if path.schema:
        return path
    schema = ENTERPRISE_USER if path.attribute in _ENTERPRISE_NAMES else CORE_USER
    return AttributePath(schema, path.attribute, path.sub)


def _unsupported(path: AttributePath) -> InvalidFilter:
    return InvalidFilter(f"cannot filter or sort Users on {path}; see GET /scim/v2/Schemas for the attributes govern keeps")


# ---- e-mails: a JSON list in the kept row, else the Person's one address ----

class _Emails:
    """Conditions on `emails`: some kept e-mail matches, or (no kept row) the person's one address, typed work and primary."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def _elements(self):
        if self.dialect == "postgresql":
            arrays_only = case((func.json_typeof(Kept.emails) == "array", Kept.emails), else_=literal([], JSON))
            return func.json_array_elements(arrays_only).table_valued("value").alias("email")
        return func.json_each(Kept.emails).table_valued("value").alias("email")

    def condition(self, inner: Callable[[Callable[[str], tuple[ColumnElement[Any], Attribute]]], ColumnElement[bool]]) -> ColumnElement[bool]:
        email = self._elements()
        element = type_coerce(email.c.value, JSON)

        def kept_field(sub: str) -> tuple[ColumnElement[Any], Attribute]:
            key, kind = _field(sub)
            column = element[key].as_boolean() if kind == "boolean" else element[key].as_string()
            return column, Attribute(lambda: column, kind)

        def person_field(sub: str) -> tuple[ColumnElement[Any], Attribute]:
            key, kind = _field(sub)
            column = {"value": Person.email, "type": literal("work"), "primary": true(),
                      "display": literal(None)}[key]
            return column, Attribute(lambda: column, kind)

        kept = and_(Kept.emails.is_not(None), exists(select(literal(1)).select_from(email).where(inner(kept_field))))
        fallback = and_(_no_row, Person.email.is_not(None), inner(person_field))
        return or_(and_(not_(_no_row), kept), fallback)


def _field(sub: str) -> tuple[str, str]:
    if sub not in _EMAIL_FIELDS:
        raise _unsupported(AttributePath(CORE_USER, "emails", sub))
    return _EMAIL_FIELDS[sub]


def _email_condition(node: Node, field: Callable[[str], tuple[ColumnElement[Any], Attribute]]) -> ColumnElement[bool]:
    """A filter inside emails[...] (or on emails.sub) over one e-mail whose fields `field` gives."""
    if isinstance(node, Compare):
        column, attribute = field(node.path.sub or "value")
        return compare(column, attribute, node.op, node.value, node.path)
    if isinstance(node, Present):
        column, attribute = field(node.path.sub or "value")
        return present(column, attribute.kind)
    if isinstance(node, And):
        return and_(_email_condition(node.left, field), _email_condition(node.right, field))
    if isinstance(node, Or):
        return or_(_email_condition(node.left, field), _email_condition(node.right, field))
    if isinstance(node, Not):
        return not_(_email_condition(node.inner, field))
    raise InvalidFilter("a [...] filter cannot hold another one")


# ---- the whole filter ----

class UserFilter:
    def __init__(self, dialect: str) -> None:
        self.emails = _Emails(dialect)

    def condition(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(self.condition(node.left), self.condition(node.right))
        if isinstance(node, Or):
            return or_(self.condition(node.left), self.condition(node.right))
        if isinstance(node, Not):
            return not_(self.condition(node.inner))
        path = _resolve(node.path)
        if path.schema == CORE_USER and path.attribute == "emails":
            if isinstance(node, ValuePath):
                return self.emails.condition(lambda field: _email_condition(node.inner, field))
            return self.emails.condition(lambda field: _email_condition(node, field))
        if isinstance(node, ValuePath):
            raise InvalidFilter(f"{node.path}[...]: only emails is a multi-valued attribute govern filters on")
        if isinstance(node, Present) and path.sub is None and (path.schema, path.attribute) in _COMPLEX:
            subs = _COMPLEX[(path.schema, path.attribute)]
            return or_(*(self.condition(Present(AttributePath(path.schema, path.attribute, sub))) for sub in subs))
        attribute = _SINGLE.get((path.schema, path.attribute, path.sub))
        if attribute is None:
            if path.sub is None and (path.schema, path.attribute) == (ENTERPRISE_USER, "manager"):
                attribute = _SINGLE[(ENTERPRISE_USER, "manager", "value")]  # `manager eq "x"` means its value
            elif path.schema == CORE_USER and (path.attribute, path.sub) == ("meta", "resourcetype"):
                return resource_type_is(node, "User")
            else:
                raise _unsupported(node.path)
        if isinstance(node, Present):
            if attribute.kind == "boolean" and path.attribute == "active":
                return not_(func.coalesce(Kept.active_unassigned, false()))  # a removed `active` is absent
            return present(attribute.expression(), attribute.kind)
        return compare(attribute.expression(), attribute, node.op, node.value, node.path)


def user_condition(node: Node, dialect: str, across_types: bool = False) -> ColumnElement[bool]:
    """The SQL condition a parsed filter sets on people (outer-joined to their kept attributes); across_types (the
    root /.search): a comparison on an attribute Users lack reads it as unassigned instead of refusing the filter."""
    reading = UserFilter(dialect)
    return tolerant(node, reading.condition) if across_types else reading.condition(node)


def user_sort_key(sort_by: str) -> ColumnElement[Any]:
    """What `sortBy` orders people by: a single-valued attribute, or emails (the primary address, RFC 7644 3.4.2.3)."""
    try:
        path = _resolve(parse_path(sort_by))
    except InvalidFilter as error:
        raise InvalidValue(f"sortBy: {error}") from None
    if path.schema == CORE_USER and path.attribute == "emails" and path.sub in {None, "value"}:
        return func.lower(Person.email)
    if path.sub is None and (path.schema, path.attribute) == (ENTERPRISE_USER, "manager"):
        path = AttributePath(ENTERPRISE_USER, "manager", "value")
    attribute = _SINGLE.get((path.schema, path.attribute, path.sub))
    if attribute is None:
        raise InvalidValue(f"cannot sort Users by {sort_by!r}; see GET /scim/v2/Schemas for the attributes govern keeps")
    return sort_key(attribute)
