"""Sync runs (with held mass revocations), the incremental cursor per source, and departures with time to revoke."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Index, JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.db import Base, enum_column, utcnow
from govern.people.models import Person


class SyncMode(str, enum.Enum):
    FULL = "full"
    INCREMENTAL = "incremental"
    SCIM = "scim"


class SyncStatus(str, enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD = "held"
    APPROVED = "approved"
    DISMISSED = "dismissed"
    DRY_RUN = "dry_run"


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    mode: Mapped[SyncMode] = mapped_column(enum_column(SyncMode))
    status: Mapped[SyncStatus] = mapped_column(enum_column(SyncStatus), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    held_departures: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]


class SyncCursor(Base):
    """The incremental high-water mark of a source, written in the same transaction as its changes."""

    __tablename__ = "sync_cursors"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Departure(Base):
    """A person leaving: when the directory changed, when govern saw it, when the last access went."""

    __tablename__ = "departures"
    # newest first, a page at a time: without the index each page joins every person (100,000) to sort 3,000 leavers
    __table_args__ = (UniqueConstraint("person_id", "first_seen_at"), Index("ix_departures_first_seen_id", "first_seen_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    directory_changed_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_removed_at: Mapped[datetime | None]
    time_to_revoke_seconds: Mapped[float | None]
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    person: Mapped[Person] = relationship(lazy="joined")


class OffboardingTask(Base):
    """A removal govern cannot do through a network's API: the exact steps for a person to do by hand."""

    __tablename__ = "offboarding_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    departure_id: Mapped[int] = mapped_column(ForeignKey("departures.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    network: Mapped[str] = mapped_column(String(64))
    steps: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(255))
