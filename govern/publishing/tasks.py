"""Publishing jobs: scan what every connected account has published."""

from __future__ import annotations

from celery import shared_task

from govern import app_services
from govern.actor import Actor
from govern.extensions import db
from govern.publishing import scans

SCAN_ACTOR = Actor.system("policy-scan")


@shared_task(name="govern.policy.scan_published")  # the name outbox rows already hold
def scan_published() -> dict[str, int]:
    publisher = app_services.publisher()
    if publisher.policy is None:
        return {}
    return scans.scan_all(db.session, publisher, SCAN_ACTOR).as_dict()
