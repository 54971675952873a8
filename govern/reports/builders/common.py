"""Helpers the report builders share: rounding, medians, and the optional access-review tables."""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Iterable
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import inspect
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
