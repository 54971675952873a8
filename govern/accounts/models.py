"""Inventory models: the social networks govern knows and the corporate accounts on them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.db import Base, enum_column, unicode_name, utcnow
from govern.text import search_key


class NetworkKind(str, enum.Enum):
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    X = "x"
    LINKEDIN = "linkedin"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    THREADS = "threads"
    MASTODON = "mastodon"
    GENERIC_OAUTH2 = "generic_oauth2"


class AccountStatus(str, enum.Enum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"
    UNMANAGED = "unmanaged"


class Network(Base):
    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[NetworkKind] = mapped_column(enum_column(NetworkKind))
    display_name: Mapped[str] = mapped_column(String(128))
    base_url: Mapped[str | None] = mapped_column(String(512))
    built_in: Mapped[bool] = mapped_column(default=False)


class SocialAccount(Base):
    __tablename__ = "social_accounts"
    __table_args__ = (
        UniqueConstraint("network_id", "handle"),
        # searches match search_text LIKE '%...%': a trigram index serves them on PostgreSQL
        Index("ix_social_accounts_search_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    handle: Mapped[str] = mapped_column(unicode_name(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(unicode_name(255))
    business_unit: Mapped[str | None] = mapped_column(unicode_name(255), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[AccountStatus] = mapped_column(enum_column(AccountStatus), default=AccountStatus.ACTIVE, index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    search_text: Mapped[str] = mapped_column(Text, default="")
    tag_index: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    verified_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]

    network: Mapped[Network] = relationship(lazy="joined")
    owner = relationship("Person", lazy="joined")

    def refresh_search_text(self) -> None:
        self.search_text = search_key(self.handle, self.display_name, self.business_unit, *(self.tags or []))
        self.tag_index = "".join(tag_token(tag) for tag in self.tags or [])


def tag_token(tag: str) -> str:
    """Tags are matched whole: "news" must not match "newsroom"."""
    return f"|{search_key(tag)}|"
