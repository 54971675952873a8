"""Retention job: a daily beat purge of what is past its retention (held kinds and the audit trail untouched)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from govern import app_services
from govern.actor import Actor
from govern.db import utcnow
from govern.extensions import db
from govern.retention import service

RETENTION_ACTOR = Actor.system("retention")


@shared_task(name="govern.retention.purge")
def purge() -> list[dict[str, Any]]:
    configured = app_services.settings().retention_days
    return [outcome.as_document() for outcome in service.purge(db.session, RETENTION_ACTOR, utcnow(), False, configured)]
