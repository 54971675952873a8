"""What a pause keeps: its scope, why, who paused and when, and how it ended (resumed by a second person, or at its time)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base, enum_column, utcnow


class PauseScope(str, enum.Enum):
    ALL = "all"
    BUSINESS_UNIT = "business_unit"
    NETWORK = "network"
    ACCOUNT = "account"


class PublishingPause(Base):
    """Publishing stopped for a scope. Active while not resumed and its resume time (if any) is still ahead: a pause
    past its resume time covers nothing even before the periodic job writes its auto-resume down."""

    __tablename__ = "publishing_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_type: Mapped[PauseScope] = mapped_column(enum_column(PauseScope))
    scope_value: Mapped[str | None] = mapped_column(String(255))  # business unit, network key or account id; None for all
    reason: Mapped[str] = mapped_column(Text)
    paused_by: Mapped[str] = mapped_column(String(255))  # the actor id
    paused_by_name: Mapped[str] = mapped_column(String(255))
    paused_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    paused_at: Mapped[datetime] = mapped_column(default=utcnow)
    resume_at: Mapped[datetime | None]
    resumed_at: Mapped[datetime | None] = mapped_column(index=True)
    resumed_by: Mapped[str | None] = mapped_column(String(255))
    resumed_by_name: Mapped[str | None] = mapped_column(String(255))
    resume_note: Mapped[str | None] = mapped_column(Text)
    auto_resumed: Mapped[bool] = mapped_column(default=False)

    def is_active(self, now: datetime) -> bool:
        return self.resumed_at is None and (self.resume_at is None or self.resume_at > now)

    def document(self) -> dict[str, object]:
        """How a refusal names the pause (the 423's `pause` member, the audit event)."""
        return {"id": self.id, "scope": {"type": self.scope_type.value, "value": self.scope_value},
                "reason": self.reason, "paused_at": self.paused_at.isoformat() if self.paused_at else None,
                "resume_at": self.resume_at.isoformat() if self.resume_at else None}


class PauseRelease(Base):
    """A narrow, single-use exception to the pauses: one account may publish one exact text (its SHA-256) once.

    Written by a crisis runbook when a second person confirms a pre-approved holding statement, and consumed by
    refuse_if_paused in the same transaction; nothing else gets through (docs/decisions/0075)."""

    __tablename__ = "pause_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    text_sha256: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(255))  # what asked for it, e.g. "incident 3, statement release 5"
    granted_by: Mapped[str] = mapped_column(String(255))
    granted_by_name: Mapped[str] = mapped_column(String(255))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    consumed_at: Mapped[datetime | None]
