"""Runbook jobs: escalate the open incidents that stayed at a stage longer than the stage allows."""

from __future__ import annotations

from celery import shared_task

from govern.actor import Actor
from govern.extensions import db
from govern.runbooks import service

ESCALATION_ACTOR = Actor.system("runbook-escalation")


@shared_task(name="govern.runbooks.escalate_due")
def escalate_due() -> int:
    return service.escalate_due(db.session, ESCALATION_ACTOR)
