"""Checkout expiry job: a beat sweep every minute closes run-out windows and flags their passwords."""

from __future__ import annotations

from celery import shared_task

from govern.actor import Actor
from govern.credentials import service
from govern.extensions import db

EXPIRY_ACTOR = Actor.system("checkout-expiry")


@shared_task(name="govern.credentials.close_expired_checkouts")
def close_expired_checkouts() -> int:
    return service.close_expired(db.session, EXPIRY_ACTOR)
