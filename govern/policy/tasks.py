"""Policy jobs: scan what every connected account has published."""

from __future__ import annotations

from celery import shared_task

from govern import app_services
from govern.actor import Actor
from govern.extensions import db
from govern.policy import enforcement

SCAN_ACTOR = Actor.system("policy-scan")


@shared_task(name="govern.policy.scan_published")
def scan_published() -> dict[str, int]:
    context = app_services.broker()
    if context.policy is None:
        return {}
    return enforcement.scan_all(db.session, context, SCAN_ACTOR).as_dict()
