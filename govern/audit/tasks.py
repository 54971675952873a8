"""Scheduled audit jobs."""

from __future__ import annotations

import structlog
from celery import shared_task

from govern.audit.service import verify_chain
from govern.extensions import db

log = structlog.get_logger(__name__)


@shared_task(name="govern.audit.verify_chain")
def verify_chain_task() -> dict:
    result = verify_chain(db.session)
    if result.ok:
        log.info("audit_chain_verified", events=result.checked, head_seq=result.head_seq)
    else:
        log.error("audit_chain_broken", first_break=str(result.first_break))
    return {"ok": result.ok, "checked": result.checked, "first_break": str(result.first_break) if result.first_break else None}
