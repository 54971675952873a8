"""Scheduled audit jobs: verify the trail, sign due checkpoints, ship new events to the SIEM."""

from __future__ import annotations

import structlog
from celery import shared_task

from govern import app_services
from govern.audit import checkpoints, trail
from govern.audit.signing import current_signer
from govern.extensions import db

log = structlog.get_logger(__name__)


def _settings():
    return app_services.settings()


@shared_task(name="govern.audit.verify_chain")
def verify_chain_task(actor_id: str | None = None, actor_name: str | None = None) -> dict:
    """The whole trail walked and kept: daily in the system's name, or when a person asked for it in the console."""
    session = db.session
    from govern.actor import Actor
    from govern.audit.verifications import keep

    actor = Actor(actor_id, actor_name or actor_id) if actor_id else Actor.system("verify-audit-chain")
    report = trail.verify_stored_trail(session, trail.trusted_keys_from_signer(session, current_signer()))
    keep(session, actor, report)
    session.commit()
    if report.ok:
        log.info("audit_trail_verified", events=report.events_checked, checkpoints=report.checkpoints_checked,
                 last_seq=report.last_seq)
    else:
        log.error("audit_trail_broken", first_failure=str(report.failure))
    return {"ok": report.ok, "checked": report.events_checked, "checkpoints": report.checkpoints_checked,
            "first_break": str(report.failure) if report.failure else None}


@shared_task(name="govern.audit.sign_checkpoint_if_due")
def sign_checkpoint_if_due() -> dict:
    settings = _settings()
    policy = checkpoints.CheckpointPolicy(settings.audit_checkpoint_every_events, settings.audit_checkpoint_every_minutes)
    signer = current_signer()
    # publishes a new key within a minute, checkpoint due or not; the signing path makes a key Vault does not have
    checkpoints.sync_keys(db.session, signer, held=checkpoints.signing_keys(db.session, signer))
    if not checkpoints.checkpoint_due(db.session, policy):
        return {"signed": None}
    signed = checkpoints.sign_checkpoint(db.session, current_signer())
    if signed is not None:
        log.info("audit_checkpoint_signed", seq=signed.seq, key_id=signed.key_id)
    return {"signed": signed.seq if signed else None}


@shared_task(name="govern.audit.stream_to_siem")
def stream_to_siem() -> dict:
    from govern.audit.stream import LEGACY_CURSOR_FILE, open_sink, ship

    settings = _settings()
    if not settings.audit_stream:
        return {"shipped_to": None}
    sink = open_sink(settings.audit_stream)
    try:  # the task owns the commits: one per batch, so the cursor row is locked only while its batch ships
        last = ship(db.session, settings.audit_stream, sink, db.session.commit,
                    legacy_file=settings.instance_path / LEGACY_CURSOR_FILE)
    finally:
        sink.close()
    return {"shipped_to": last}


def queue_verification(actor) -> None:
    """The whole-trail walk a person asked for, as a job after this request commits (embedded: left to the relay, so
    a long walk never holds a request; decision 0016)."""
    from govern.jobs import enqueue_after_commit
    from govern.outbox import service as outbox

    if _settings().jobs_in_process:
        outbox.add(db.session, verify_chain_task.name, [actor.id, actor.name])
    else:
        enqueue_after_commit(db.session, verify_chain_task, actor.id, actor.name)
