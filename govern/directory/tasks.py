"""Scheduled directory syncs: incremental every minute, full reconciliation nightly."""

from __future__ import annotations

from celery import shared_task

from govern import app_services
from govern.actor import Actor
from govern.directory import service
from govern.extensions import db

SYNC_ACTOR = Actor.system("directory-sync")


def _directory():
    from govern.adapters.directory_factory import build_directory

    return build_directory(app_services.settings())


@shared_task(name="govern.directory.sync_incremental")
def sync_incremental() -> str | None:
    directory = _directory()
    if directory is None:
        return None
    return service.sync_incremental_from(db.session, SYNC_ACTOR, directory).status.value


@shared_task(name="govern.directory.sync_full")
def sync_full() -> str | None:
    directory = _directory()
    if directory is None:
        return None
    return service.sync_full_from(db.session, SYNC_ACTOR, directory).status.value

