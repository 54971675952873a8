"""A notification addressed to a person (shown in the console until read), its e-mail and webhook deliveries, and the webhook endpoints."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base, enum_column, unicode_name, utcnow


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]


class Channel(str, enum.Enum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryState(str, enum.Enum):
    PENDING = "pending"  # waits for its next try (next_attempt_at)
    DELIVERED = "delivered"  # the mail server accepted it, or the endpoint answered 2xx
    FAILED = "failed"  # tried notification_max_attempts times, or refused for good (audited)


class WebhookKind(str, enum.Enum):
    GENERIC = "generic"  # govern's JSON document, signed with HMAC-SHA256
    SLACK = "slack"  # Slack incoming webhook: {"text": ..., "blocks": [...]}
    TEAMS = "teams"  # Microsoft Teams incoming webhook / workflow: an Adaptive Card message


class WebhookEndpoint(Base):
    """Where webhook notifications go. The URL and the signing secret live in the secret store (a Slack or Teams
    incoming-webhook URL is itself a credential); the row keeps only the origin, to show which endpoint it is."""

    __tablename__ = "notification_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unicode_name(128), unique=True)
    kind: Mapped[WebhookKind] = mapped_column(enum_column(WebhookKind))
    locale: Mapped[str] = mapped_column(String(8), default="en")  # the language its messages are written in
    url_origin: Mapped[str] = mapped_column(String(300))  # scheme://host[:port]: the rest of the URL may be a credential
    store_path: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class Delivery(Base):
    """One message to one e-mail address or one webhook endpoint, written in the transaction that notifies, and
    tried until it is delivered or has failed for good (docs/decisions/0071)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id", ondelete="SET NULL"), index=True)  # a purged notification leaves its deliveries
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(320))  # e-mail only
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("notification_webhooks.id"), index=True)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)  # an English message id, rendered in `locale` when sent
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[DeliveryState] = mapped_column(enum_column(DeliveryState), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)  # the error's type and the server's status, never a secret
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
