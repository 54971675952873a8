"""The evidence export job: queued after the request commits, it writes the bundle into the instance folder."""

from __future__ import annotations

from celery import shared_task

from govern import app_services
from govern.audit.signing import current_signer
from govern.extensions import db


def queue_export(export) -> None:
    """The outbox job that writes an evidence bundle. Embedded (no broker) it is left to the schedule's relay, which
    runs it in the `govern jobs run` process: run from this request's after-commit hook (decision 0016), a long
    export would hold the request."""
    from govern.jobs import enqueue_after_commit
    from govern.outbox import service as outbox

    if app_services.settings().jobs_in_process:
        export.job_id = outbox.add(db.session, export_evidence_task.name, [export.id]).job_id
    else:
        export.job_id = enqueue_after_commit(db.session, export_evidence_task, export.id).job_id


@shared_task(name="govern.audit.export_evidence")  # the name stays: queued jobs in the outbox carry it
def export_evidence_task(export_id: int) -> dict:
    """An evidence bundle asked for in the console: written into the instance folder with its progress."""
    from govern.evidence import service
    from govern.outbox.service import describe_error

    try:
        export = service.run_export(db.session, export_id, current_signer(), app_services.settings(),
                                    commit=db.session.commit, open_session=db.sessionmaker)
    except Exception as error:
        db.session.rollback()
        service.mark_failed(db.session, export_id, describe_error(error))
        db.session.commit()
        raise
    return {"export": export.id, "size": export.size_bytes}
