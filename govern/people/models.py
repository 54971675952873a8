"""People as the company directory knows them; the manager chain lives here too."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern.db import Base, enum_column, unicode_name, utcnow
from govern.text import search_key


class PersonStatus(str, enum.Enum):
    ACTIVE = "active"
    LEAVER = "leaver"


class PersonSource(str, enum.Enum):
    OPENLDAP = "openldap"
    ACTIVE_DIRECTORY = "ad"
    SCIM = "scim"
    MANUAL = "manual"
    DEMO = "demo"


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_people_display_name_id", "display_name", "id"),  # the list (and the picker) sorted by name
        # searches match search_text LIKE '%...%': a trigram index serves them on PostgreSQL
        Index("ix_people_search_trgm", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[PersonSource] = mapped_column(enum_column(PersonSource))
    external_id: Mapped[str] = mapped_column(String(255))
    dn: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str] = mapped_column(String(255), index=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str] = mapped_column(unicode_name(255))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    department: Mapped[str | None] = mapped_column(unicode_name(255))
    status: Mapped[PersonStatus] = mapped_column(enum_column(PersonStatus), default=PersonStatus.ACTIVE, index=True)
    left_at: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(String(8))  # en, ar or he: the language govern writes to them in
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    manager: Mapped[Person | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)

    def refresh_search_text(self) -> None:
        self.search_text = search_key(self.display_name, self.username, self.email, self.department)
