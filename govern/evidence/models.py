"""Evidence bundles asked for in the console: one row per export job, its progress and the file it wrote."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base, enum_column, utcnow


STALLED_AFTER = timedelta(minutes=15)


class ExportState(str, enum.Enum):
    QUEUED = "queued"  # stored with the request; waits for the job queue
    RUNNING = "running"
    DONE = "done"  # the bundle is in the instance folder, ready to download
    FAILED = "failed"


class EvidenceExport(Base):
    __tablename__ = "evidence_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    requested_by: Mapped[str] = mapped_column(String(255))
    period_from: Mapped[datetime]
    period_to: Mapped[datetime]
    state: Mapped[ExportState] = mapped_column(enum_column(ExportState), default=ExportState.QUEUED)
    stage: Mapped[str] = mapped_column(String(200), default="")
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_at: Mapped[datetime | None]  # last progress written: a running export silent for long has stalled
    file_name: Mapped[str | None] = mapped_column(String(255))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]

    def stalled(self, now: datetime) -> bool:
        """Running, but no progress for STALLED_AFTER: its worker died (the job is not run twice; ask again)."""
        seen = self.progress_at or self.created_at
        return self.state is ExportState.RUNNING and now - seen > STALLED_AFTER

    @property
    def percent(self) -> int:
        if self.state is ExportState.DONE:
            return 100
        return int(100 * self.progress_done / self.progress_total) if self.progress_total else 0
