"""The declarative base and column types shared by every domain's models (no Flask here)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TypeVar

from sqlalchemy import DateTime, Enum, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# ICU root collation sorts Arabic, Hebrew and Latin names the way people expect on PostgreSQL.
UNICODE_COLLATION = "und-x-icu"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


_MEMO = "govern.transaction_memo"
T = TypeVar("T")


@contextmanager
def transaction_memo(session: Session) -> Iterator[None]:
    """Inside, `remembered` reads each thing once instead of on every call. Only for a block that runs inside one
    transaction and holds what keeps those things still (the pause lock, its row locks); the caller commits after it."""
    if _MEMO in session.info:
        yield
        return
    session.info[_MEMO] = {}
    try:
        yield
    finally:
        session.info.pop(_MEMO, None)


def in_transaction_memo(session: Session) -> bool:
    return _MEMO in session.info


def forget(session: Session, key: Hashable) -> None:
    """Read `key` again next time (it was changed in this block)."""
    session.info.get(_MEMO, {}).pop(key, None)


def remembered(session: Session, key: Hashable, read: Callable[[], T]) -> T:
    """`read()`, once per `transaction_memo` block (every time outside one)."""
    memo = session.info.get(_MEMO)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; govern stores only timezone-aware UTC times")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def unicode_name(length: int = 255) -> String:
    """A name column that sorts with the Unicode collation where the database offers one."""
    return String(length).with_variant(String(length, collation=UNICODE_COLLATION), "postgresql")


def unicode_text() -> Text:
    return Text().with_variant(Text(collation=UNICODE_COLLATION), "postgresql")


def enum_column(enum_class: type[enum.Enum]) -> Enum:
    """Store enums by value as portable strings with a CHECK constraint."""
    return Enum(
        enum_class,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        validate_strings=True,
        create_constraint=True,
        length=32,
        name=enum_class.__name__.lower(),
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}
