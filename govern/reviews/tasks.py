"""Access review jobs: remind reviewers, and act on campaigns whose deadline has passed."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from govern.audit.service import Actor
from govern.extensions import db
from govern.reviews import service

REVIEWS_ACTOR = Actor.system("access-reviews")


@shared_task(name="govern.reviews.send_reminders")
def send_reminders() -> int:
    return service.send_reminders(db.session, REVIEWS_ACTOR)


@shared_task(name="govern.reviews.process_deadlines")
def process_deadlines() -> dict[str, int]:
    config = service.ReviewSettings.from_settings(current_app.extensions["govern.settings"])
    return service.process_due_deadlines(db.session, REVIEWS_ACTOR, config)
