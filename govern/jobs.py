"""Celery wiring: the task base that owns the commit, and enqueueing only after a commit."""

from __future__ import annotations

import threading
import time
from typing import Any

import structlog
from celery import Celery, Task
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from govern.config import Settings
from govern.database_timeouts import job_scope

_PENDING = "govern.tasks_after_commit"


def init_celery(celery: Celery, app: Flask, settings: Settings) -> None:
    class AppTask(Task):
        """Runs in its own app context and session; commits if the task returns, rolls back if it raises.

        Its own context even when run in-process: an in-process job is started from the caller's
        after-commit hook, where the caller's session can no longer write.
        """

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            from flask import current_app, has_app_context

            from govern.extensions import db

            owner = current_app._get_current_object() if has_app_context() else app
            with owner.app_context(), job_scope():  # a job's statements get the job timeout, even run in a request
                try:
                    result = self.run(*args, **kwargs)
                    db.session.commit()
                    return result
                except BaseException:
                    db.session.rollback()
                    raise

    broker = settings.celery_broker_url or "memory://"
    celery.conf.update(
        broker_url=broker,
        result_backend=settings.celery_result_backend or None,
        task_always_eager=settings.jobs_in_process,
        task_eager_propagates=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        timezone="UTC",
        beat_schedule={
            "verify-audit-chain": {"task": "govern.audit.verify_chain", "schedule": 24 * 3600.0},
            "sign-audit-checkpoint": {"task": "govern.audit.sign_checkpoint_if_due", "schedule": 60.0},
            "stream-audit-to-siem": {"task": "govern.audit.stream_to_siem", "schedule": 60.0},
            "refresh-due-tokens": {"task": "govern.broker.refresh_due", "schedule": 60.0},
            "directory-incremental": {"task": "govern.directory.sync_incremental", "schedule": 60.0},
            "directory-full": {"task": "govern.directory.sync_full", "schedule": 24 * 3600.0},
            "purge-expired-connects": {"task": "govern.broker.purge_expired_connects", "schedule": 3600.0},
            "close-expired-checkouts": {"task": "govern.credentials.close_expired_checkouts", "schedule": 60.0},
            "policy-scan-published": {"task": "govern.policy.scan_published", "schedule": 900.0},
            "retention-purge": {"task": "govern.retention.purge", "schedule": 24 * 3600.0},
            "review-reminders": {"task": "govern.reviews.send_reminders", "schedule": 3600.0},
            "review-deadlines": {"task": "govern.reviews.process_deadlines", "schedule": 900.0},
        },
    )
    celery.Task = AppTask
    celery.set_default()
    app.extensions["celery"] = celery
    import govern.audit.tasks  # noqa: F401  (registers the tasks)
    import govern.broker.tasks  # noqa: F401
    import govern.credentials.tasks  # noqa: F401
    import govern.policy.tasks  # noqa: F401
    import govern.directory.tasks  # noqa: F401
    import govern.retention.tasks  # noqa: F401
    import govern.reviews.tasks  # noqa: F401


def enqueue_after_commit(session: Session, task: Task, *args: Any) -> None:
    """Send the task only once the surrounding transaction has committed; drop it on rollback."""
    if not session.in_transaction():
        session.begin()  # so a rollback before any SQL still discards the task
    session.info.setdefault(_PENDING, []).append((task, args))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    # The transaction has committed: a job that cannot be sent (or, in-process, fails) must not undo the answer.
    for task, args in session.info.pop(_PENDING, []):
        try:
            task.delay(*args)
        except Exception:
            structlog.get_logger(__name__).exception("job_not_started", task=task.name)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction) -> None:
    # runs after after_commit, so anything still pending here belonged to a rolled-back transaction
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def start_in_process_scheduler(app: Flask, interval_seconds: float = 60.0) -> threading.Event:
    """Embedded mode has no beat: run the beat schedule's tasks from one daemon thread instead."""
    celery: Celery = app.extensions["celery"]
    schedule = celery.conf.beat_schedule
    last_run: dict[str, float] = {}
    log = structlog.get_logger("govern.scheduler")

    def tick() -> None:
        from govern.extensions import db

        now = time.monotonic()
        for name, entry in schedule.items():
            if now - last_run.get(name, float("-inf")) < float(entry["schedule"]):
                continue
            last_run[name] = now
            with app.app_context():
                try:
                    celery.tasks[entry["task"]].apply()
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.exception("scheduled_task_failed", task=entry["task"])

    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            tick()
            stop.wait(interval_seconds)

    threading.Thread(target=loop, name="govern-scheduler", daemon=True).start()
    return stop  # set() it to stop the scheduler


def run_scheduler_process(app: Flask, interval_seconds: float = 60.0) -> None:
    """The in-process schedule in a process of its own (`govern serve` starts one beside gunicorn): a scheduler
    thread inside gunicorn's master would be running a job while the master forks a worker, and the worker would
    inherit SQLite's or libpq's locks held by a thread that does not exist there (its first query hangs)."""
    stop = start_in_process_scheduler(app, interval_seconds)
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        stop.set()

