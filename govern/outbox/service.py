"""The outbox's operations: add a job in the caller's transaction, pick the next due one, record hand-overs and runs.

Every state change is a guarded UPDATE (it names the state it expects), so two relays, or a relay and the job
itself, never overwrite each other; on PostgreSQL the relay also locks the row it hands over (SKIP LOCKED).
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from govern.db import utcnow
from govern.errors import DomainError, NotFound
from govern.outbox.models import FINISHED, UNFINISHED, JobState, OutboxJob

MAX_DELIVERIES = 5  # a job handed over this often without running is failed, not handed over for ever
ERROR_LENGTH = 500


class Claim(enum.Enum):
    """What a task found when it looked for its own id in the outbox."""

    RUN = "run"  # an outbox job, now marked done in the task's transaction: run it
    ALREADY_RUN = "already_run"  # done or failed before (a redelivery): do not run it again
    NOT_A_JOB = "not_a_job"  # no outbox row (a scheduled task from beat, or a task applied directly): run it


def add(session: Session, task: str, args: Sequence[Any], now: datetime | None = None) -> OutboxJob:
    """Write a job in the caller's transaction: it exists if and only if the caller's change commits."""
    args = list(args)
    json.dumps(args, allow_nan=False)  # TypeError for anything but plain JSON (a SecretValue refuses)
    job = OutboxJob(job_id=str(uuid.uuid4()), task=task, args=args, state=JobState.PENDING, attempts=0, deliveries=0,
                    created_at=now or utcnow())
    session.add(job)
    session.flush()
    return job


def next_due(session: Session, now: datetime, redeliver_after: timedelta,
             job_ids: Collection[str] | None = None) -> OutboxJob | None:
    """The oldest job to hand over, locked; rows another relay holds are skipped. Named `job_ids`: only those, and
    only if still pending (the fast path after a commit). Otherwise pending jobs, and jobs handed over
    `redeliver_after` ago that have not run (the broker may have lost them; a job runs once however often it is sent)."""
    if job_ids is not None:
        due = and_(OutboxJob.state == JobState.PENDING, OutboxJob.job_id.in_(list(job_ids)))
    else:
        stale = and_(OutboxJob.state == JobState.DELIVERED, OutboxJob.delivered_at < now - redeliver_after)
        due = or_(OutboxJob.state == JobState.PENDING, stale)
    query = select(OutboxJob).where(due).order_by(OutboxJob.id).limit(1).with_for_update(skip_locked=True)
    return session.scalars(query).first()


def _guarded(job: OutboxJob):
    return update(OutboxJob).where(OutboxJob.id == job.id, OutboxJob.state == job.state,
                                   OutboxJob.deliveries == job.deliveries).execution_options(synchronize_session=False)


def mark_delivered(session: Session, job: OutboxJob, now: datetime) -> bool:
    """Record a hand-over; False if the row moved meanwhile (another relay, or the job already ran)."""
    result = session.execute(_guarded(job).values(
        state=JobState.DELIVERED, delivered_at=now, attempts=OutboxJob.attempts + 1,
        deliveries=OutboxJob.deliveries + 1, last_error=None))
    return result.rowcount == 1


def mark_attempt_failed(session: Session, job: OutboxJob, error: str) -> None:
    """The broker refused: the job stays as it was for the next pass, with the reason."""
    session.execute(_guarded(job).values(attempts=OutboxJob.attempts + 1, last_error=error[:ERROR_LENGTH]))


def give_up(session: Session, job: OutboxJob, now: datetime) -> None:
    session.execute(_guarded(job).values(state=JobState.FAILED, finished_at=now,
                                         last_error=f"not run after {job.deliveries} deliveries"))


def claim(session: Session, job_id: str, now: datetime) -> Claim:
    """Mark the job done in the running task's own transaction, so its work and the mark commit together.

    A second delivery of the same id finds it done (on PostgreSQL it waits for the first run's transaction to end,
    then finds the row changed) and is not run again. A run that raises rolls the mark back with its work.
    """
    state = session.scalar(select(OutboxJob.state).where(OutboxJob.job_id == job_id))
    if state is None:
        return Claim.NOT_A_JOB  # read only: a scheduled task takes no write lock for the outbox's sake
    if state in FINISHED:
        return Claim.ALREADY_RUN
    result = session.execute(update(OutboxJob).where(OutboxJob.job_id == job_id, OutboxJob.state.in_(UNFINISHED))
                             .values(state=JobState.DONE, finished_at=now).execution_options(synchronize_session=False))
    return Claim.RUN if result.rowcount == 1 else Claim.ALREADY_RUN


def record_failure(session: Session, job_id: str, error: str, now: datetime | None = None) -> None:
    """After the run's rollback: the job ran and failed; it is not run again by a redelivery."""
    session.execute(update(OutboxJob).where(OutboxJob.job_id == job_id, OutboxJob.state.in_(UNFINISHED))
                    .values(state=JobState.FAILED, finished_at=now or utcnow(), last_error=error[:ERROR_LENGTH])
                    .execution_options(synchronize_session=False))


def describe_error(error: BaseException) -> str:
    """What the outbox keeps of an error: a domain error's own words, else only its type (a message could hold a secret)."""
    if isinstance(error, DomainError):
        return f"{type(error).__name__}: {error.detail}"
    return type(error).__name__


def describe_broker_error(error: BaseException, secrets: Sequence[str] = ()) -> str:
    """A refused hand-over: the broker's first line (host and port, never the URL's password)."""
    text = (str(error).strip().splitlines() or [""])[0]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return f"{type(error).__name__}: {text}"[:ERROR_LENGTH]


def get_job(session: Session, job_id: str, tasks: Collection[str]) -> OutboxJob:
    job = session.scalar(select(OutboxJob).where(OutboxJob.job_id == job_id, OutboxJob.task.in_(list(tasks))))
    if job is None:
        raise NotFound("job %(job_id)s does not exist", job_id=job_id)
    return job


def waiting_jobs(session: Session, tasks: Collection[str]) -> list[OutboxJob]:
    """Jobs of these tasks that have not run yet, oldest first."""
    return list(session.scalars(select(OutboxJob).where(OutboxJob.task.in_(list(tasks)), OutboxJob.state.in_(UNFINISHED))
                                .order_by(OutboxJob.id)))


def job_document(job: OutboxJob) -> dict[str, Any]:
    return {"job_id": job.job_id, "task": job.task, "state": job.state.value, "queued": True, "delivered": job.delivered,
            "attempts": job.attempts, "last_error": job.last_error, "created_at": job.created_at,
            "delivered_at": job.delivered_at, "finished_at": job.finished_at}
