"""Keyset pagination: an opaque cursor holding the last row's sort value and id."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from govern.errors import DomainError

T = TypeVar("T")


class InvalidCursor(DomainError):
    title = "Invalid cursor"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_cursor: str | None


@dataclass(frozen=True)
class CountedPage(Page[T]):
    """A page and how many rows the whole list has (a page of 50 out of 5,000)."""

    total: int


def _encode(sort_key: str, value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([sort_key, value, row_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort_key: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, value, row_id = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidCursor("the cursor is malformed; start again without one") from exc
    if key != sort_key or not isinstance(row_id, int):
        raise InvalidCursor("the cursor belongs to a different sort order; start again without one")
    return value, row_id


def paginate(
    session: Session,
    query: Select[tuple[T]],
    sort_key: str,
    sort_column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[int],
    limit: int,
    cursor: str | None,
    descending: bool = False,
    load: Callable[[Sequence[Any]], Sequence[T]] | None = None,
) -> Page[T]:
    """Ascending (or descending) by (sort_column, id); fetches one extra row to know whether a next page exists.

    With `load`, `query` selects columns (at least sort_column and id_column), not objects: the page is chosen from
    those narrow rows and `load` turns the page's rows into the objects shown, in the same order. A query that joins
    many tables then runs on the page's ids only, not on every row the sort has to look at."""
    if cursor:
        value, row_id = _decode(cursor, sort_key)
        after = tuple_(sort_column, id_column) < tuple_(value, row_id) if descending else tuple_(sort_column, id_column) > tuple_(value, row_id)
        query = query.where(after)
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column, id_column)
    page = query.order_by(*order).limit(limit + 1)
    rows = list(session.execute(page).all() if load else session.scalars(page).unique())
    shown = load or (lambda found: found)
    if len(rows) <= limit:
        return Page(shown(rows), None)
    last = rows[limit - 1]
    return Page(shown(rows[:limit]), _encode(sort_key, getattr(last, sort_column.key), getattr(last, id_column.key)))
