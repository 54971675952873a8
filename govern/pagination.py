"""Keyset pagination: an opaque cursor holding the last row's sort value and id."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, String, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from govern.errors import DomainError

T = TypeVar("T")


class InvalidCursor(DomainError):
    title = "Invalid cursor"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None
    prev_cursor: str | None = field(default=None, kw_only=True)  # the page before this one, when there is one


@dataclass(frozen=True)
class CountedPage(Page[T]):
    """A page and how many rows the whole list has (a page of 50 out of 5,000)."""

    total: int


def _encode(sort_key: str, value: Any, row_id: int | str, before: bool = False) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([sort_key, value, row_id, *(["before"] if before else [])], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _column_type(column: Any) -> type | None:
    """What a column holds when it is one a cursor can carry checked (int, str, datetime); None: not checked."""
    kind = getattr(column, "type", None)
    kind = getattr(kind, "impl", kind)  # a TypeDecorator (UTCDateTime) holds what its implementation holds
    try:
        held = kind.python_type
    except (AttributeError, NotImplementedError):
        return None
    return held if held in (int, str, datetime) else None


def _holds(value: Any, expected: type | None) -> bool:
    return expected is None or value is None or (isinstance(value, expected) and not isinstance(value, bool))


def _decode(cursor: str, sort_key: str, value_type: type | None = None, id_type: type = int) -> tuple[Any, Any, bool]:
    """The row the cursor points at, and whether the page wanted is the one before it (else the one after).
    `value_type` and `id_type`: what the sort and id columns hold, so a forged cursor never reaches the database as a
    comparison it cannot make (a 503), only as a readable refusal."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, value, row_id, *direction = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidCursor("the cursor is malformed; start again without one") from exc
    if direction not in ([], ["before"]):
        raise InvalidCursor("the cursor is malformed; start again without one")
    if key != sort_key or not _holds(row_id, id_type) or row_id is None or not _holds(value, value_type):
        raise InvalidCursor("the cursor belongs to a different sort order; start again without one")
    return value, row_id, direction == ["before"]


def paginate(
    session: Session,
    query: Select[tuple[T]],
    sort_key: str,
    sort_column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[int] | InstrumentedAttribute[str],
    limit: int,
    cursor: str | None,
    descending: bool = False,
    load: Callable[[Sequence[Any]], Sequence[T]] | None = None,
) -> Page[T]:
    """Ascending (or descending) by (sort_column, id); fetches one extra row to know whether a next page exists.

    With `load`, `query` selects columns (at least sort_column and id_column), not objects: the page is chosen from
    those narrow rows and `load` turns the page's rows into the objects shown, in the same order. A query that joins
    many tables then runs on the page's ids only, not on every row the sort has to look at."""
    backwards = False
    if cursor:
        value, row_id, backwards = _decode(cursor, sort_key, _column_type(sort_column),
                                           str if isinstance(id_column.type, String) else int)
        onwards = descending != backwards  # walking toward smaller keys
        key, mark = tuple_(sort_column, id_column), tuple_(value, row_id)
        query = query.where(key < mark if onwards else key > mark)
    ascending = descending == backwards  # a page before is read in reverse, then put back in order
    order = (sort_column, id_column) if ascending else (sort_column.desc(), id_column.desc())
    page = query.order_by(*order).limit(limit + 1)
    rows = list(session.execute(page).all() if load else session.scalars(page).unique())
    shown = load or (lambda found: found)
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()

    def mark_of(row: Any, before: bool = False) -> str:
        return _encode(sort_key, getattr(row, sort_column.key), getattr(row, id_column.key), before)

    if not rows:
        return Page(shown(rows), None)
    next_cursor = mark_of(rows[-1]) if (more or backwards) else None
    prev_cursor = mark_of(rows[0], before=True) if (cursor and not backwards) or (backwards and more) else None
    return Page(shown(rows), next_cursor, prev_cursor=prev_cursor)
