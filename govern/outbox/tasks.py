"""The periodic relay: beat (or, embedded, the in-process schedule) hands over what the fast path could not."""

from __future__ import annotations

from celery import shared_task
from flask import current_app


@shared_task(name="govern.jobs.relay")
def relay_outbox() -> dict[str, int | str | None]:
    from govern.jobs import relay

    outcome = relay(current_app._get_current_object())
    return {"delivered": outcome.delivered, "refused": outcome.refused}
