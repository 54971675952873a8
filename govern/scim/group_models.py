"""SCIM groups an identity provider pushes, their members, and the console roles their membership gave (decision 0078).

A group is stored as pushed, whatever its name; what it means in govern comes from configuration
(govern.scim.groups.GroupMeanings): the entitlement group puts its members in scope for social media access,
and a role group gives its members a console role. A member is kept as the client referred to it: linked
to the person when the value is a SCIM user's id, kept as a bare reference otherwise (and then it means nothing).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base, unicode_name, utcnow


class ScimGroup(Base):
    __tablename__ = "scim_groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID govern assigns
    display_name: Mapped[str] = mapped_column(unicode_name(255))  # unique case-insensitively (the index below)
    external_id: Mapped[str | None] = mapped_column(String(1024))  # the identity provider's own id for the group
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)  # one more on every change


# two groups whose names differ only in case would be one group to an administrator reading the mapping
Index("ux_scim_groups_display_name_lower", func.lower(ScimGroup.display_name), unique=True)


class ScimGroupMember(Base):
    __tablename__ = "scim_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024), primary_key=True)  # members.value as sent
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    type: Mapped[str | None] = mapped_column(String(64))  # members.type as sent, for a reference govern does not know
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScimConsoleRole(Base):
    """A console user whose role comes from SCIM role groups; `role` None: SCIM switched the user off."""

    __tablename__ = "scim_console_roles"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    console_user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
