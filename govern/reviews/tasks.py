"""Access review jobs: snapshot a campaign's items, remind reviewers, and act on campaigns whose deadline has passed."""

from __future__ import annotations

from celery import shared_task

from govern import app_services
from govern.actor import Actor
from sqlalchemy.orm import Session

from govern.extensions import db
from govern.jobs import enqueue_after_commit
from govern.outbox.models import OutboxJob
from govern.reviews import service
from govern.reviews.models import ReviewCampaign

REVIEWS_ACTOR = Actor.system("access-reviews")


@shared_task(name="govern.reviews.send_reminders")
def send_reminders() -> int:
    return service.send_reminders(db.session, REVIEWS_ACTOR)


@shared_task(name="govern.reviews.process_deadlines")
def process_deadlines() -> dict[str, int]:
    config = service.ReviewSettings.from_settings(app_services.settings())
    return service.process_due_deadlines(db.session, REVIEWS_ACTOR, config)


@shared_task(name="govern.reviews.open_campaign")
def open_campaign(campaign_id: int, actor_id: str, actor_name: str, request_id: str | None = None) -> dict:
    """Fill a campaign asked for in a request; audited as the person who asked (the request's id kept)."""
    actor = Actor(actor_id, actor_name, request_id)
    return service.fill_campaign(db.session, actor, campaign_id).as_dict()


def enqueue_open(session: Session, campaign: ReviewCampaign, actor: Actor) -> OutboxJob:
    """Queue the snapshot job in the caller's transaction and remember it on the campaign."""
    job = enqueue_after_commit(session, open_campaign, campaign.id, actor.id, actor.name, actor.request_id)
    service.set_opening_job(session, campaign, job.job_id)
    return job
