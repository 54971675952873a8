"""Token refresh jobs: a beat sweep every minute enqueues one refresh per due account."""

from __future__ import annotations

from celery import shared_task

from govern import app_services
from govern.actor import Actor
from govern.broker import service
from govern.extensions import db
from govern.jobs import enqueue_after_commit

REFRESH_ACTOR = Actor.system("token-refresh")


@shared_task(name="govern.broker.refresh_due")
def refresh_due() -> int:
    due = service.connections_due(db.session)
    for account_id in due:
        enqueue_after_commit(db.session, refresh_account, account_id)
    return len(due)


@shared_task(name="govern.broker.refresh_account")
def refresh_account(account_id: int) -> str:
    connection = service.refresh_connection(db.session, app_services.broker(), REFRESH_ACTOR, account_id)
    return connection.health.value


@shared_task(name="govern.broker.purge_expired_connects")
def purge_expired_connects() -> int:
    return service.purge_expired_connects(db.session, app_services.broker())
