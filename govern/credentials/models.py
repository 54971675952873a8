"""Legacy credential metadata and break-glass checkouts. Never a password or a seed: those live in the secret store."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.accounts.models import SocialAccount
from govern.db import Base, enum_column, utcnow

MIN_WINDOW_MINUTES = 1
MAX_WINDOW_MINUTES = 240
DEFAULT_WINDOW_MINUTES = 30
MIN_REASON_LENGTH = 10


class LegacyCredential(Base):
    """Where an account's password and TOTP seed are stored, and whether the password must be rotated."""

    __tablename__ = "legacy_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), unique=True)
    store_path: Mapped[str] = mapped_column(String(255))
    store_version: Mapped[int]
    username: Mapped[str] = mapped_column(String(320))
    has_password: Mapped[bool] = mapped_column(default=False)
    has_totp: Mapped[bool] = mapped_column(default=False)
    rotate_now: Mapped[bool] = mapped_column(default=False, index=True)
    rotate_reason: Mapped[str | None] = mapped_column(Text)
    last_rotated_at: Mapped[datetime | None]
    updated_by: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[SocialAccount] = relationship(lazy="joined")


class CheckoutEnd(str, enum.Enum):
    EXPIRED = "expired"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"
    DENIED = "denied"


class Checkout(Base):
    """A time-boxed, second-person-approved permission for one person to see an account's password."""

    __tablename__ = "credential_checkouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    credential_id: Mapped[int] = mapped_column(ForeignKey("legacy_credentials.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(255))
    requester_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approver_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approved_at: Mapped[datetime | None]
    window_minutes: Mapped[int] = mapped_column(default=DEFAULT_WINDOW_MINUTES)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(255))
    ended_reason: Mapped[CheckoutEnd | None] = mapped_column(enum_column(CheckoutEnd))
    end_note: Mapped[str | None] = mapped_column(Text)
    revealed_at: Mapped[datetime | None]

    credential: Mapped[LegacyCredential] = relationship(lazy="joined")

    def state_at(self, moment: datetime) -> str:
        """pending, active, or why it ended; a window that has run out reads as expired before it is closed."""
        if self.ended_reason is not None:
            return self.ended_reason.value
        if self.approved_at is None:
            return "pending"
        if self.ends_at is not None and moment >= self.ends_at:
            return CheckoutEnd.EXPIRED.value
        return "active"

    def is_active_at(self, moment: datetime) -> bool:
        return self.state_at(moment) == "active"
