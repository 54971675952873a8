"""What alerts keep: inbound items already counted, the hourly inbound volume per account, cooldowns, and the alerts."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.accounts.models import SocialAccount
from govern.db import Base, enum_column, utcnow


class AlertKind(str, enum.Enum):
    SPIKE = "spike"
    KEYWORD = "keyword"


class AlertStatus(str, enum.Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class InboundItemSeen(Base):
    """An inbound comment or message already counted: scans read the same recent items every time, each counts once.

    Rows older than the spike window are pruned hourly (tasks.prune)."""

    __tablename__ = "alert_inbound_seen"

    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), primary_key=True)
    item_key: Mapped[str] = mapped_column(String(300), primary_key=True)  # "<kind>:<the network's id>"
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboundVolume(Base):
    """How many inbound items an account received in one clock hour (UTC), upserted by the scan's signal."""

    __tablename__ = "alert_inbound_volume"

    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)  # the hour's start, UTC
    items: Mapped[int] = mapped_column(Integer, default=0)


class AlertCooldown(Base):
    """Until when a rule stays quiet for an account: claimed atomically (an upsert), so two scans raise one alert."""

    __tablename__ = "alert_cooldowns"

    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(128), primary_key=True)  # "spike" or "keyword:<lexicon entry id>"
    quiet_until: Mapped[datetime]


class Alert(Base):
    """A spike of inbound volume or a crisis keyword on an account, raised to its owner until someone acknowledges it."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_raised_at_id", "raised_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("social_accounts.id"), index=True)
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind), index=True)
    status: Mapped[AlertStatus] = mapped_column(enum_column(AlertStatus), index=True, default=AlertStatus.OPEN)
    keyword: Mapped[str | None] = mapped_column(String(64))  # the lexicon entry's id, for a keyword alert
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    acknowledged_at: Mapped[datetime | None]
    acknowledge_note: Mapped[str | None] = mapped_column(Text)

    account: Mapped[SocialAccount] = relationship(lazy="joined")
