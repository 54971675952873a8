"""Delivery jobs: send the rows a transaction just wrote (queued after its commit), and the periodic sweep that sends
whatever is due (retries after backoff, rows a lost job or a dead worker left behind)."""

from __future__ import annotations

from collections import Counter

from celery import shared_task

from govern import app_services
from govern.db import utcnow
from govern.extensions import db
from govern.notifications import delivery

BATCH = 200  # rows one run sends at most; the next sweep carries on


def deliver_due(delivery_ids: list[int] | None = None, transports: delivery.Transports | None = None) -> dict[str, int]:
    """One short transaction per row: claim it (SKIP LOCKED), send it, record the outcome, commit."""
    transports = transports or delivery.Transports.from_settings(app_services.settings(), app_services.broker().store)
    outcome: Counter[str] = Counter()
    for _ in range(BATCH):
        with db.sessionmaker() as session:
            row = delivery.claim_next(session, utcnow(), delivery_ids)
            if row is None:
                break
            state = delivery.attempt(session, transports, row)
            session.commit()
        outcome[state.value] += 1
    return dict(outcome)


@shared_task(name=delivery.DELIVER_TASK)
def deliver(delivery_ids: list[int]) -> dict[str, int]:
    return deliver_due([int(i) for i in delivery_ids])


@shared_task(name="govern.notifications.sweep")
def sweep() -> dict[str, int]:
    return deliver_due(None)
