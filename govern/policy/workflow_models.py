"""What the policy engine leaves for people to handle: violations found on published content and the scoped exceptions
learned from false positives. (Posts awaiting approval are publishing's: govern.publishing.models.)"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.accounts.models import SocialAccount
from govern.db import Base, enum_column, utcnow
from govern.policy.engine.findings import Action
from govern.policy.exceptions import ExceptionScope


class ViolationStatus(str, enum.Enum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    FALSE_POSITIVE = "false_positive"


class ContentKind(str, enum.Enum):
    POST = "post"
    COMMENT = "comment"


class PolicyViolation(Base):
    """A published post or comment that breaks a rule; found by a scan, one row per item however often it is scanned."""

    __tablename__ = "policy_violations"
    __table_args__ = (UniqueConstraint("account_id", "content_kind", "external_id", name="one_violation_per_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    content_kind: Mapped[ContentKind] = mapped_column(enum_column(ContentKind))
    external_id: Mapped[str] = mapped_column(String(255))
    decision: Mapped[Action] = mapped_column(enum_column(Action))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # contract shape + explanation + masked preview
    masked_text: Mapped[str] = mapped_column(Text)  # the text with every finding masked; never a raw secret
    pack_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[ViolationStatus] = mapped_column(enum_column(ViolationStatus), index=True, default=ViolationStatus.OPEN)
    assignee: Mapped[str | None] = mapped_column(String(255))
    response_taken: Mapped[str | None] = mapped_column(String(64))  # "hidden", "owner_notified"
    resolution_note: Mapped[str | None] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[datetime | None]

    account: Mapped[SocialAccount] = relationship(lazy="joined")


class PolicyException(Base):
    """A scoped exception a governance user made from a false positive; evaluations honour it until it is removed.

    The value is kept only as a keyed digest of its canonical form (govern.policy.exceptions) and the masked preview
    the violation already showed: an exception for a secret does not make govern a copy of the secret. A removed
    exception stays, with who removed it and why, so the policy's history reads whole.
    """

    __tablename__ = "policy_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[ExceptionScope] = mapped_column(enum_column(ExceptionScope))
    rule: Mapped[str] = mapped_column(String(128), index=True)
    entity: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    value_digest: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256 hex; none for a whole-rule exception
    preview: Mapped[str] = mapped_column(String(255), default="")  # masked, as the violation showed it
    reason: Mapped[str] = mapped_column(Text)
    # The violation may be purged by retention before the exception is removed: the exception outlives it.
    violation_id: Mapped[int | None] = mapped_column(ForeignKey("policy_violations.id", ondelete="SET NULL"), index=True)
    pack_version: Mapped[str] = mapped_column(String(64))  # the packs in force when it was made
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_by: Mapped[str | None] = mapped_column(String(255))
    removed_at: Mapped[datetime | None] = mapped_column(index=True)
    removal_reason: Mapped[str | None] = mapped_column(Text)

    account: Mapped[SocialAccount | None] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.removed_at is None
