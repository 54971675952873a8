"""Grants: who may act on which account, in which role, until when."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, and_, or_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.accounts.models import SocialAccount
from govern.db import Base, enum_column, utcnow
from govern.people.models import Person


class GrantRole(str, enum.Enum):
    ADMIN = "admin"
    PUBLISHER = "publisher"
    MODERATOR = "moderator"
    ANALYST = "analyst"


class Grant(Base):
    __tablename__ = "grants"
    __table_args__ = (  # an account's and a person's grants, newest first, a page at a time
        Index("ix_grants_account_starts", "account_id", "starts_at", "id"),
        Index("ix_grants_person_starts", "person_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"))
    role: Mapped[GrantRole] = mapped_column(enum_column(GrantRole))
    granted_by: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(255))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(lazy="joined")
    account: Mapped[SocialAccount] = relationship(lazy="joined")

    @hybrid_method
    def is_effective_at(self, moment: datetime) -> bool:
        return (
            self.revoked_at is None
            and self.starts_at <= moment
            and (self.expires_at is None or self.expires_at > moment)
        )

    @is_effective_at.inplace.expression
    @classmethod
    def _is_effective_at_expression(cls, moment: datetime) -> ColumnElement[bool]:
        return and_(
            cls.revoked_at.is_(None),
            cls.starts_at <= moment,
            or_(cls.expires_at.is_(None), cls.expires_at > moment),
        )

    def state_at(self, moment: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= moment:
            return "expired"
        if self.starts_at > moment:
            return "scheduled"
        return "active"
