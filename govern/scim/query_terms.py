"""What a SCIM filter's comparisons mean in SQL, whatever the resource: NULL-safe, case-folded unless caseExact, and
the order sortBy gives (RFC 7644 3.4.2.2, 3.4.2.3). govern.scim.user_query and govern.scim.group_query read their
attribute paths into these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Boolean, ColumnElement, UnaryExpression, and_, false, func, literal, not_, or_, true

from govern.scim.errors import InvalidFilter
from govern.scim.filters import And, AttributePath, Compare, Node, Not, Or, Present


@dataclass(frozen=True)
class Attribute:
    """An attribute a filter or sortBy may name: its SQL expression, its SCIM type and whether case matters."""

    expression: Callable[[], ColumnElement[Any]]
    kind: str = "string"  # string, boolean or dateTime
    case_exact: bool = False



def timestamp(value: Any, path: AttributePath) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilter(f"{path} compares with a dateTime such as \"2026-01-31T12:00:00Z\", not {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _boolean(value: Any, path: AttributePath) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:  # Entra ID's "True"/"False"
        return value.lower() == "true"
    raise InvalidFilter(f"{path} is a boolean: compare it with true or false")


def present(column: ColumnElement[Any], kind: str) -> ColumnElement[bool]:
    if kind == "string":
        return and_(column.is_not(None), column != "")
    return column.is_not(None)


def compare(column: ColumnElement[Any], attribute: Attribute, op: str, value: Any, path: AttributePath) -> ColumnElement[bool]:
    """One comparison, never NULL: false when the attribute is absent (ne: true)."""
    if value is None:  # `eq null` asks for an absent attribute (RFC 7644 3.4.2.2 reads null as unassigned)
        if op not in {"eq", "ne"}:
            raise InvalidFilter(f"null can only be compared with eq or ne, not {op}")
        assigned = present(column, attribute.kind)
        return not_(assigned) if op == "eq" else assigned
    if attribute.kind == "boolean":
        if op not in {"eq", "ne"}:
            raise InvalidFilter(f"{path} is a boolean: only eq, ne and pr apply to it")
        wanted = _boolean(value, path)
        matched = and_(column.is_not(None), column == literal(wanted, Boolean))
        return matched if op == "eq" else not_(matched)
    if attribute.kind == "dateTime":
        if op in {"co", "sw", "ew"}:
            raise InvalidFilter(f"{path} is a dateTime: use eq, ne, gt, ge, lt or le")
        operand: Any = timestamp(value, path)
    else:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InvalidFilter(f"{path} is a string: compare it with a quoted value")
        operand = str(value)
        if not attribute.case_exact:
            column, operand = func.lower(column), operand.lower()
    matched = and_(column.is_not(None), {
        "eq": lambda: column == operand,
        "ne": lambda: column == operand,
        "co": lambda: column.contains(operand, autoescape=True),
        "sw": lambda: column.startswith(operand, autoescape=True),
        "ew": lambda: column.endswith(operand, autoescape=True),
        "gt": lambda: column > operand,
        "ge": lambda: column >= operand,
        "lt": lambda: column < operand,
        "le": lambda: column <= operand,
    }[op]())
    return not_(matched) if op == "ne" else matched


def resource_type_is(node: Node, name: str) -> ColumnElement[bool]:
    """meta.resourceType, the same for every row of one resource type: a filter on it is true or false throughout."""
    if isinstance(node, Present):
        return true()
    if not isinstance(node, Compare):
        raise InvalidFilter("meta.resourceType is a string, not a multi-valued attribute")
    wanted, name = node.value, name.lower()
    matched = isinstance(wanted, str) and {
        "eq": name == wanted.lower(), "ne": name != wanted.lower(), "co": wanted.lower() in name,
        "sw": name.startswith(wanted.lower()), "ew": name.endswith(wanted.lower()),
    }.get(node.op, False)
    return true() if matched else false()


def absent(node: Node) -> ColumnElement[bool]:
    """What a comparison on an attribute the resource type does not have means: the attribute is unassigned, so
    `eq null` and `ne "x"` hold and everything else (pr, eq "x", [...]) does not (RFC 7644 3.4.2.2)."""
    if isinstance(node, Compare) and ((node.op == "eq" and node.value is None) or (node.op == "ne" and node.value is not None)):
        return true()
    return false()


def tolerant(node: Node, leaf: Callable[[Node], ColumnElement[bool]]) -> ColumnElement[bool]:
    """A filter across resource types (the root /.search): each comparison the type cannot read is `absent`, so
    `userName eq "a" or members pr` finds users by userName and groups with members."""
    if isinstance(node, And):
        return and_(tolerant(node.left, leaf), tolerant(node.right, leaf))
    if isinstance(node, Or):
        return or_(tolerant(node.left, leaf), tolerant(node.right, leaf))
    if isinstance(node, Not):
        return not_(tolerant(node.inner, leaf))
    try:
        return leaf(node)
    except InvalidFilter:
        return absent(node)


def comparisons(node: Node) -> list[Node]:
    """The comparisons (attribute expressions) of a filter, its and/or/not taken apart."""
    if isinstance(node, (And, Or)):
        return comparisons(node.left) + comparisons(node.right)
    if isinstance(node, Not):
        return comparisons(node.inner)
    return [node]


def sort_key(attribute: Attribute) -> ColumnElement[Any]:
    """What sortBy orders by: a string compared without case unless it is caseExact."""
    column = attribute.expression()
    return column if attribute.case_exact or attribute.kind != "string" else func.lower(column)


def ordering(key: ColumnElement[Any] | None, descending: bool, *tie_break: ColumnElement[Any]) -> list[UnaryExpression[Any]]:
    """ORDER BY for sortBy: absent values last ascending and first descending (the same on both databases), then a
    unique tie-break so that paging never shows a resource twice or skips one."""
    if key is None:
        return [column.asc() for column in tie_break]
    absent = key.is_(None)
    if descending:
        return [absent.desc(), key.desc(), *(column.desc() for column in tie_break)]
    return [absent.asc(), key.asc(), *(column.asc() for column in tie_break)]
