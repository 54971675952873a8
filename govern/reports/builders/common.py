"""Helpers the report builders share: rounding, medians, and the optional access-review tables."""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import Select, func, inspect, select, text
from sqlalchemy.orm import Session


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()) / 3600, 2)


def median(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(statistics.median(values), 2) if values else None


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def plain(value: Any) -> Any:
    """An enum member as its stored value (str-valued enums hash by name, not by value)."""
    return getattr(value, "value", value)


def review_models(session: Session) -> ModuleType | None:
    """govern.reviews.models when that domain is installed and migrated; reports that use it say so when not."""
    try:
        models = importlib.import_module("govern.reviews.models")
    except ImportError:
        return None
    if not inspect(session.connection()).has_table("review_items"):
        return None
    return models


STREAM_ROWS = 2_000  # rows a server-side cursor hands over at a time: memory stays bounded whatever the report's size


def streamed(session: Session, query: Select) -> Callable[[], Iterator[tuple]]:
    """A section's rows: `query` run on a server-side cursor each time a format writes them (enums as their values)."""

    def read() -> Iterator[tuple]:
        if session.get_bind().dialect.name == "postgresql":
            # A cursor is planned for its first 10% by default (a nested loop that is quick to start and 7x slower to
            # finish, measured on 70,000 grants): a report reads every row, so plan for all of them.
            session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
        result = session.execute(query.execution_options(yield_per=STREAM_ROWS))
        try:
            for row in result:
                yield tuple(plain(cell) for cell in row)
        finally:
            result.close()  # a writer that stops early (the PDF's first rows) frees the cursor

    return read


def count_of(session: Session, query: Select) -> int:
    """How many rows `query` gives, counted by the database."""
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
