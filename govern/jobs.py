"""Celery wiring: the task base that owns the commit and runs an outbox job once, and the relay that hands jobs over.

A job is a row in the job outbox (govern/outbox), written in the transaction that asks for it. After that
transaction commits, the relay hands it to the broker at once if the broker answers; otherwise a periodic relay
does when the broker is back. Without a broker the relay runs the job in this process instead.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from celery import Celery, Task
from celery.exceptions import Ignore, Retry
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from govern import app_services
from govern.config import ConfigurationError, Settings
from govern.db import utcnow
from govern.outbox import service as outbox
from govern.outbox.models import OutboxJob
from govern.database_timeouts import job_scope

_PENDING = "govern.jobs_after_commit"
RELAY_BATCH = 500  # jobs one relay pass hands over at most; the next pass carries on
FAST_PATH_PAUSE_SECONDS = 30.0  # after the broker refused, requests leave their jobs to the periodic relay this long
RELAY_EVERY_SECONDS = 15.0
log = structlog.get_logger(__name__)


def init_celery(celery: Celery, app: Flask, settings: Settings) -> None:
    class AppTask(Task):
        """Runs in its own app context and session; commits if the task returns, rolls back if it raises.

        Its own context even when run in-process: an in-process job is started from the caller's
        after-commit hook, where the caller's session can no longer write. An outbox job is marked done in
        the same transaction as its work, so a second delivery of its id is acknowledged and not run; a job
        that raises is recorded as failed once its work is rolled back.
        """

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            from govern.extensions import db

            owner = current_app._get_current_object() if has_app_context() else app
            with owner.app_context(), job_scope():  # a job's statements get the job timeout, even run in a request
                job_id = self.request.id  # the outbox job id when the relay sent it
                claim = outbox.Claim.NOT_A_JOB
                try:
                    if job_id:
                        claim = outbox.claim(db.session, job_id, utcnow())
                    if claim is outbox.Claim.ALREADY_RUN:
                        log.info("job_already_run", job_id=job_id, task=self.name)
                        raise Ignore()  # a redelivery: acknowledged, not run again
                    result = self.run(*args, **kwargs)
                    db.session.commit()  # the job's work and its "done" mark, together
                    return result
                except (Ignore, Retry):
                    db.session.rollback()
                    raise
                except Exception as error:
                    db.session.rollback()
                    if claim is outbox.Claim.RUN:
                        _record_failure(db.session, job_id, error)
                    raise
                except BaseException:  # the worker is going away: the broker hands the message over again
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
            "alerts-prune": {"task": "govern.alerts.prune", "schedule": 3600.0},
            "retention-purge": {"task": "govern.retention.purge", "schedule": 24 * 3600.0},
            "review-reminders": {"task": "govern.reviews.send_reminders", "schedule": 3600.0},
            "review-deadlines": {"task": "govern.reviews.process_deadlines", "schedule": 900.0},
            "publish-due-posts": {"task": "govern.publishing.publish_due", "schedule": 5.0},
            "pauses-auto-resume": {"task": "govern.pauses.auto_resume", "schedule": 30.0},
            "runbooks-escalate-due": {"task": "govern.runbooks.escalate_due", "schedule": 30.0},
            "relay-job-outbox": {"task": "govern.jobs.relay", "schedule": RELAY_EVERY_SECONDS},
            "deliver-notifications": {"task": "govern.notifications.sweep", "schedule": 30.0},
        },
    )
    celery.Task = AppTask
    celery.set_default()
    app.extensions["celery"] = celery
    app.extensions["govern.jobs.fast_path"] = _FastPath()


def _record_failure(session: Session, job_id: str, error: Exception) -> None:
    try:
        outbox.record_failure(session, job_id, outbox.describe_error(error))
        session.commit()
    except Exception:
        session.rollback()
        log.exception("job_failure_not_recorded", job_id=job_id)


def enqueue_after_commit(session: Session, task: Task, *args: Any) -> OutboxJob:
    """Write the job into the outbox in this transaction (so a rollback drops it and a commit keeps it), and hand it
    over once the transaction has committed: at once if the broker answers, else by the periodic relay.

    Arguments are ids and plain JSON values, never a secret: they are stored in the outbox and sent in the message.
    """
    return enqueue_task_after_commit(session, task.name, *args)


def enqueue_task_after_commit(session: Session, task_name: str, *args: Any) -> OutboxJob:
    """enqueue_after_commit by the task's registered name: for a service that must not import its domain's tasks."""
    job = outbox.add(session, task_name, args)
    session.info.setdefault(_PENDING, []).append(job.job_id)
    return job


@dataclass
class RelayOutcome:
    delivered: int = 0  # jobs handed over in this pass
    refused: str | None = None  # why the broker refused, when a pass stopped early


class _FastPath:
    """Per process: after the broker refused, requests stop trying for a while, so a down broker costs one
    connect timeout, not one per request; the periodic relay keeps trying."""

    def __init__(self) -> None:
        self.paused_until = 0.0


@event.listens_for(Session, "after_commit")
def _deliver_pending(session: Session) -> None:
    # Best effort: the jobs are already safe in the outbox; whatever is not handed over here, the periodic relay hands over.
    job_ids = session.info.pop(_PENDING, [])
    if not job_ids:
        return
    if not has_app_context():
        log.warning("jobs_left_to_the_relay", jobs=len(job_ids))
        return
    app = current_app._get_current_object()
    fast_path: _FastPath = app.extensions["govern.jobs.fast_path"]
    if time.monotonic() < fast_path.paused_until:
        log.info("jobs_left_to_the_relay", jobs=len(job_ids), reason="the broker refused a moment ago")
        return
    try:
        outcome = relay(app, job_ids)
    except Exception:
        log.exception("job_relay_failed", jobs=len(job_ids))
        return
    if outcome.refused:
        fast_path.paused_until = time.monotonic() + FAST_PATH_PAUSE_SECONDS
        log.warning("jobs_left_to_the_relay", jobs=len(job_ids), reason=outcome.refused)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction) -> None:
    # runs after after_commit, so anything still pending here belonged to a rolled-back transaction
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def relay(app: Flask, job_ids: Collection[str] | None = None, limit: int = RELAY_BATCH) -> RelayOutcome:
    """Hand due outbox jobs over, oldest first, one row and one short transaction at a time.

    With a broker: publish (task id = job id), then mark the row delivered. A crash between the two sends the job
    again later, and the task base runs it only once. Without a broker: mark the row delivered, then run the job
    in this process. `job_ids` limits the pass to those jobs (the fast path right after a commit).
    """
    settings: Settings = app_services.settings(app)
    celery: Celery = app.extensions["celery"]
    with app.app_context():  # Celery's configuration (init_celery sets it from the settings) says where jobs go
        if celery.conf.task_always_eager:
            return _run_in_process(app, settings, job_ids, limit)
        return _publish(app, settings, celery.conf.broker_url, job_ids, limit)


def _next_deliverable(session: Session, redeliver_after: timedelta, job_ids: Collection[str] | None) -> OutboxJob | None:
    """The next job due for delivery; one already sent MAX_DELIVERIES times is given up on (committed) and skipped."""
    while (job := outbox.next_due(session, utcnow(), redeliver_after, job_ids)) is not None:
        if job.deliveries < outbox.MAX_DELIVERIES:
            return job
        outbox.give_up(session, job, utcnow())
        session.commit()
        log.error("job_given_up", job_id=job.job_id, task=job.task, deliveries=job.deliveries)
    return None


def _publish(app: Flask, settings: Settings, url: str, job_ids: Collection[str] | None, limit: int) -> RelayOutcome:
    from govern.extensions import db

    celery: Celery = app.extensions["celery"]
    timeout = settings.jobs_publish_timeout_seconds
    redeliver_after = timedelta(seconds=settings.jobs_redeliver_after_seconds)
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout} if url.startswith("redis") else {}
    outcome = RelayOutcome()
    with celery.connection_for_write(url, connect_timeout=timeout, transport_options=options) as connection:
        producer = None
        for _ in range(limit):
            with db.sessionmaker() as session:
                job = _next_deliverable(session, redeliver_after, job_ids)
                if job is None:
                    break
                try:
                    if producer is None:
                        connection.ensure_connection(max_retries=0, timeout=timeout)  # one try: never hold a request
                        producer = celery.amqp.Producer(connection)
                    celery.send_task(job.task, args=job.args, task_id=job.job_id, producer=producer, retry=False,
                                     ignore_result=True)
                except Exception as error:
                    outcome.refused = outbox.describe_broker_error(error, [urlsplit(url).password or ""])
                    outbox.mark_attempt_failed(session, job, outcome.refused)
                    session.commit()
                    break
                outbox.mark_delivered(session, job, utcnow())
                session.commit()
                outcome.delivered += 1
    return outcome


def _run_in_process(app: Flask, settings: Settings, job_ids: Collection[str] | None, limit: int) -> RelayOutcome:
    from govern.extensions import db

    celery: Celery = app.extensions["celery"]
    redeliver_after = timedelta(seconds=settings.jobs_redeliver_after_seconds)
    outcome = RelayOutcome()
    for _ in range(limit):
        with db.sessionmaker() as session:
            job = _next_deliverable(session, redeliver_after, job_ids)
            if job is None:
                break
            task_name, args, job_id = job.task, list(job.args), job.job_id
            taken = outbox.mark_delivered(session, job, utcnow())  # first, so another relay does not run it too
            session.commit()
        if not taken:
            continue
        outcome.delivered += 1
        task = celery.tasks.get(task_name)
        if task is None:
            with db.sessionmaker() as session:
                outbox.record_failure(session, job_id, f"unknown task {task_name}")
                session.commit()
            continue
        try:
            task.apply(args=args, task_id=job_id)  # the task base marks it done, or records the failure
        except Exception:
            log.exception("job_failed", job_id=job_id, task=task_name)
    return outcome


SCHEDULE_STATE_FILE = "scheduler-state.json"
# Whole-trail work never runs because a process started: at 10 million events it is half a minute of both cores on
# every `govern serve`. It waits one period from the first start, like a fresh celery beat, and after that its last
# run is remembered across restarts (in the instance folder) so that restarting more often than daily cannot starve it.
NOT_AT_START = frozenset({"govern.audit.verify_chain"})


def _read_schedule_state(path) -> dict[str, float]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in loaded.items() if isinstance(v, (int, float))} if isinstance(loaded, dict) else {}


def _write_schedule_state(path, last_run: dict[str, float]) -> None:
    try:
        partial_file = path.with_suffix(".tmp")
        partial_file.write_text(json.dumps(last_run, sort_keys=True))
        partial_file.replace(path)
    except OSError as exc:  # a read-only instance folder costs the memory of last runs, not the schedule
        log.warning("schedule_state_not_saved", error=str(exc))


def start_in_process_scheduler(
    app: Flask, interval_seconds: float = 60.0, clock: Callable[[], float] = time.time
) -> threading.Event:
    """Embedded mode has no beat: run the beat schedule's tasks from one daemon thread instead.

    A task runs when its period has passed since its last run; one that never ran in this process runs at once,
    except the whole-trail verification (NOT_AT_START), which first waits one period and whose last run is
    remembered in the instance folder. `clock` tells the time of day (tests inject their own).
    """
    celery: Celery = app.extensions["celery"]
    schedule = celery.conf.beat_schedule
    state_path = app_services.settings(app).instance_path / SCHEDULE_STATE_FILE
    remembered = {name for name, entry in schedule.items() if entry["task"] in NOT_AT_START}
    last_run = {name: at for name, at in _read_schedule_state(state_path).items() if name in remembered}
    started = clock()
    for name in remembered:
        last_run.setdefault(name, started)
    _write_schedule_state(state_path, last_run)
    log = structlog.get_logger("govern.scheduler")

    def tick() -> None:
        from govern.extensions import db

        for name, entry in schedule.items():
            now = clock()
            if now - last_run.get(name, float("-inf")) < float(entry["schedule"]):
                continue
            last_run[name] = now
            if name in remembered:
                _write_schedule_state(state_path, {key: at for key, at in last_run.items() if key in remembered})
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


def run_scheduler_process(app: Flask, interval_seconds: float = 5.0) -> None:
    """The in-process schedule in a process of its own (`govern serve` starts one beside gunicorn): a scheduler
    thread inside gunicorn's master would be running a job while the master forks a worker, and the worker would
    inherit SQLite's or libpq's locks held by a thread that does not exist there (its first query hangs).

    It looks every 5 s (the schedule's publish_due is due that often; a look runs only the tasks whose period passed)."""
    stop = start_in_process_scheduler(app, interval_seconds)
    watcher = start_directory_watcher(app)
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        stop.set()
        if watcher is not None:
            watcher.set()


def start_directory_watcher(app: Flask) -> threading.Event | None:
    """Embedded mode's directory watcher (OpenLDAP changes within seconds) on a thread beside the schedule; None when
    no directory is configured, GOVERN_LDAP_WATCH is off, or it is Active Directory (which stays on the schedule)."""
    settings = app_services.settings(app)
    if not settings.ldap_url or not settings.ldap_watch or settings.ldap_flavor != "openldap":
        return None
    from govern.adapters.directory_factory import build_directory
    from govern.directory.watch import committed_sync, start_watch_thread

    try:
        directory = build_directory(settings)
    except ConfigurationError as exc:
        structlog.get_logger("govern.scheduler").warning("directory watch not started", reason=str(exc))
        return None
    return start_watch_thread(directory, committed_sync(app, directory), interval=settings.ldap_watch_interval_seconds)

