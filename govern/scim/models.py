"""What a SCIM client said about a person that the Person row has no column for (decision 0076), and the SCIM rule on people's userNames.

govern governs by the Person row (userName, display name, e-mail, department, manager, status); an identity
provider also expects back what it sent: the name's parts, each e-mail with its type, a manager it has not
provisioned yet, and an `active` it removed. One row per SCIM person keeps those, as sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base, utcnow
from govern.people.models import Person


class ScimUserAttributes(Base):
    __tablename__ = "scim_user_attributes"

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(1024), index=True)  # the client's own id for the person
    name: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # formatted, givenName, familyName as sent; None: unassigned
    display_name: Mapped[str | None] = mapped_column(Text)  # displayName as sent; None: unassigned
    emails: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # value, type, primary as sent
    manager_ref: Mapped[str | None] = mapped_column(String(1024))  # a manager not provisioned yet
    active_unassigned: Mapped[bool] = mapped_column(default=False)  # `active` removed: treated as false
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# a person created looks up whoever was waiting for them as a manager, by id, externalId or userName
Index("ix_scim_user_attributes_manager_ref_lower", func.lower(ScimUserAttributes.manager_ref))

# One userName per SCIM person, whatever its case (userName is caseExact false, uniqueness server): the database
# refuses the second of two concurrent creates that both passed the service's check. A DELETEd user's row stays
# (renamed "deleted:...") and frees the name.
USERNAME_INDEX = "uq_people_scim_username_lower"
SCIM_PEOPLE_ONLY = text("source = 'scim' AND external_id NOT LIKE 'deleted:%'")
Index(USERNAME_INDEX, func.lower(Person.username), unique=True,
      postgresql_where=SCIM_PEOPLE_ONLY, sqlite_where=SCIM_PEOPLE_ONLY)
