"""Outbox rows: one per job asked for, from the transaction that asked until the job has run (docs/architecture.md, Jobs)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govern.db import Base, enum_column, utcnow


class JobState(str, enum.Enum):
    PENDING = "pending"  # committed with the request; not yet handed to the broker (or, embedded, to the runner)
    DELIVERED = "delivered"  # handed over; waits for a worker
    DONE = "done"  # ran and committed: marked in the job's own transaction, so it never runs twice
    FAILED = "failed"  # ran and raised (its changes rolled back), or was handed over too often without running


UNFINISHED = (JobState.PENDING, JobState.DELIVERED)
FINISHED = (JobState.DONE, JobState.FAILED)


class OutboxJob(Base):
    __tablename__ = "job_outbox"
    __table_args__ = (Index("ix_job_outbox_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(36), unique=True)  # the Celery task id
    task: Mapped[str] = mapped_column(String(200))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ids and plain values only, never a secret
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)  # hand-overs tried, failed ones included
    deliveries: Mapped[int] = mapped_column(default=0)  # hand-overs that succeeded; more than one is a redelivery
    last_error: Mapped[str | None] = mapped_column(Text)  # why the last hand-over or run failed, never a message that could hold a secret
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None] = mapped_column(index=True)

    @property
    def delivered(self) -> bool:
        return self.state is not JobState.PENDING
