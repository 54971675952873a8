"""Publishing jobs: publish what is due (the schedule), and scan what every connected account has published."""

from __future__ import annotations

import time
from dataclasses import replace

import structlog
from celery import shared_task

from govern import app_services
from govern.actor import Actor
from govern.errors import DomainError
from govern.extensions import db
from govern.publishing import scans, schedule

SCAN_ACTOR = Actor.system("policy-scan")
SCHEDULE_ACTOR = Actor.system("schedule")
SCHEDULE_BUDGET_SECONDS = 50.0  # one run stops claiming after this; the next beat (every 5 s) carries on
log = structlog.get_logger(__name__)


@shared_task(name="govern.policy.scan_published")  # the name outbox rows already hold
def scan_published() -> dict[str, int]:
    publisher = app_services.publisher()
    if publisher.policy is None:
        return {}
    return scans.scan_all(db.session, publisher, SCAN_ACTOR).as_dict()


@shared_task(name="govern.publishing.publish_due")
def publish_due(batch: int = schedule.BATCH) -> dict[str, int]:
    """Claim due targets a small batch at a time (the lease commits first), then publish them, committing the outcomes:
    those that may be on the network already one by one (looked for there first), the others together."""
    publisher, counts, started, worker = app_services.publisher(), {}, time.monotonic(), schedule.worker_name()
    with schedule.alive(db.engine, worker):
        while time.monotonic() - started < SCHEDULE_BUDGET_SECONDS:
            claimed = schedule.claim_due(db.session, SCHEDULE_ACTOR, worker, limit=batch)
            db.session.commit()
            if not claimed:
                break
            for outcome in _publish_all(publisher, claimed):
                counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _publish_all(publisher, claimed: list[schedule.Claimed]) -> list[str]:
    outcomes = [_publish_one(publisher, one) for one in claimed if one.check_network_first]
    pending = [one for one in claimed if not one.check_network_first]
    while pending:
        try:
            published, pending_next = schedule.publish_claimed_together(db.session, publisher, SCHEDULE_ACTOR, pending)
            db.session.commit()
        except Exception:  # some may have gone out before the failure: each is looked for on the network first
            db.session.rollback()
            log.exception("schedule_batch_failed", post_target_ids=[one.target_id for one in pending])
            return outcomes + [_publish_one(publisher, replace(one, check_network_first=True)) for one in pending]
        outcomes += [outcome.outcome.value if outcome else "lost_lease" for outcome in published.values()]
        pending = pending_next
    return outcomes


def _publish_one(publisher, claimed: schedule.Claimed) -> str:
    try:
        if claimed.check_network_first:
            found = schedule.find_on_network(db.session, publisher, SCHEDULE_ACTOR, claimed)
            db.session.commit()
            if found is not None:
                recovered = schedule.record_found(db.session, SCHEDULE_ACTOR, claimed, found)
                db.session.commit()
                return "recovered" if recovered else "lost_lease"
        outcome = schedule.publish_claimed(db.session, publisher, SCHEDULE_ACTOR, claimed)
        db.session.commit()
        return outcome.outcome.value if outcome else "lost_lease"
    except Exception as error:  # one target's trouble never stops the batch; its lease runs out and it is tried again
        db.session.rollback()
        log.exception("schedule_target_failed", post_target_id=claimed.target_id)
        try:
            reason = error.detail if isinstance(error, DomainError) else type(error).__name__
            schedule.lookup_failed(db.session, SCHEDULE_ACTOR, claimed, reason)
            db.session.commit()
        except Exception:
            db.session.rollback()
        return "error"
