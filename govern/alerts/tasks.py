"""Alerts jobs: drop the sightings, hourly counts and cooldowns no rule reads any more."""

from __future__ import annotations

from celery import shared_task

from govern.alerts import service
from govern.extensions import db


@shared_task(name="govern.alerts.prune")
def prune() -> dict[str, int]:
    return service.prune(db.session)
