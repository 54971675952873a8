"""Policy models: the registry of protected and licensed images (fingerprints only, never the pixels).

Light on purpose: loading the models never loads the imaging library (govern/policy/images does)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base, enum_column, unicode_name, utcnow


class RightsStatus(str, enum.Enum):
    """A registered image is either someone's we must not post, or one we hold a license for."""

    PROTECTED = "protected"
    LICENSED = "licensed"


class RegisteredImage(Base):
    """An image we must not post (protected) or may post under a license (licensed).

    Only the fingerprint is kept: registering a competitor's or an agency's photo must not make govern
    a second copy of it. The pHash is of the image as registered; the checks turn the attachment,
    so one hash per image covers rotations and flips.
    """

    __tablename__ = "registered_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(unicode_name(255))
    status: Mapped[RightsStatus] = mapped_column(enum_column(RightsStatus), index=True)
    licensor: Mapped[str | None] = mapped_column(unicode_name(255))  # licensed: who granted it; protected: the owner
    license_ref: Mapped[str | None] = mapped_column(String(255))
    phash: Mapped[str] = mapped_column(String(16))  # 64-bit pHash as 16 hex digits
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    image_format: Mapped[str] = mapped_column(String(16))
    registered_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
