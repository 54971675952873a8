"""Pause jobs: write down the pauses whose automatic resume time has passed."""

from __future__ import annotations

from celery import shared_task

from govern.actor import Actor
from govern.extensions import db
from govern.pauses import service

AUTO_RESUME_ACTOR = Actor.system("pause-auto-resume")


@shared_task(name="govern.pauses.auto_resume")
def auto_resume() -> int:
    return service.auto_resume_due(db.session, AUTO_RESUME_ACTOR)
