"""What publishing keeps: posts and replies the policy sent to a governance approver instead of the network."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.accounts.models import SocialAccount
from govern.db import Base, enum_column, utcnow


class ApprovalStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PublishApproval(Base):
    """A post or reply the policy sent to a governance approver instead of the network."""

    __tablename__ = "publish_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    requested_by: Mapped[str] = mapped_column(String(255))
    network_action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # what will be published once approved
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    pack_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[ApprovalStatus] = mapped_column(enum_column(ApprovalStatus), index=True, default=ApprovalStatus.PENDING)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    account: Mapped[SocialAccount] = relationship(lazy="joined")
