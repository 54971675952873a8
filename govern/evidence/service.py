"""Evidence bundles asked for in the console or the API: queued as a job, written into the instance folder with progress, kept
EXPORT_KEEP_DAYS days, downloaded by those who may read the audit trail."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from govern.audit.chain import canonical_time
from govern.actor import Actor
from govern.audit.service import record
from govern.db import utcnow
from govern.errors import Conflict, InvalidOperation, NotFound
from govern.evidence.models import EvidenceExport, ExportState

EXPORT_FOLDER = "evidence"  # under the instance folder
EXPORT_KEEP_DAYS = 30  # a bundle file is deleted this long after it was made (its row, and the audit events, stay)
RECENT_EXPORTS = 20
PROGRESS_EVERY_SECONDS = 1.0


def folder(instance_path: Path) -> Path:
    path = instance_path / EXPORT_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def request_export(session: Session, actor: Actor, since: datetime, until: datetime) -> EvidenceExport:
    if since >= until:
        raise InvalidOperation("the period must start before it ends")
    export = EvidenceExport(requested_by=actor.id, period_from=since, period_to=until, state=ExportState.QUEUED, stage="",
                            progress_done=0, progress_total=0, created_at=utcnow())
    session.add(export)
    session.flush()
    record(session, actor, "audit:evidence_export:request", "evidence_export", export.id,
           since=canonical_time(since), until=canonical_time(until))
    return export


def recent_exports(session: Session) -> list[EvidenceExport]:
    return list(session.scalars(select(EvidenceExport).order_by(EvidenceExport.id.desc()).limit(RECENT_EXPORTS)))


def get_export(session: Session, export_id: int) -> EvidenceExport:
    export = session.get(EvidenceExport, export_id)
    if export is None:
        raise NotFound("evidence export %(export_id)s does not exist", export_id=export_id)
    return export


def download_path(session: Session, actor: Actor, instance_path: Path, export_id: int) -> tuple[EvidenceExport, Path]:
    """The bundle file of a finished export (its download is audited); refused while it runs or once it expired."""
    export = get_export(session, export_id)
    if export.state is not ExportState.DONE or not export.file_name:
        raise Conflict("this evidence bundle is not ready (or has expired)")
    path = folder(instance_path) / export.file_name
    if not path.is_file():
        raise NotFound("the bundle file is no longer in the instance folder")
    record(session, actor, "audit:evidence_export:download", "evidence_export", export.id, sha256=export.sha256)
    return export, path


def expire_old_files(session: Session, instance_path: Path, now: datetime | None = None) -> int:
    """Delete bundle files older than EXPORT_KEEP_DAYS (the rows stay, without a file), audited."""
    cutoff = (now or utcnow()) - timedelta(days=EXPORT_KEEP_DAYS)
    old = list(session.scalars(select(EvidenceExport).where(EvidenceExport.file_name.is_not(None),
                                                            EvidenceExport.created_at < cutoff)))
    for export in old:
        (folder(instance_path) / export.file_name).unlink(missing_ok=True)
        record(session, Actor.system("evidence-retention"), "audit:evidence_export:expire", "evidence_export", export.id,
               file_name=export.file_name)
        export.file_name = None
    session.flush()
    return len(old)


def progress_writer(open_session: Callable[[], Session], export_id: int) -> Callable:
    """Progress written in short transactions of their own (so the console sees it while the export's read goes on),
    at most once a second."""
    last = [0.0]

    def write(state) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS and state.stage != "done":
            return
        last[0] = now
        with open_session() as session:
            session.execute(update(EvidenceExport).where(EvidenceExport.id == export_id).values(
                progress_done=state.done, progress_total=state.total, stage=state.stage[:200], progress_at=utcnow()))
            session.commit()

    return write


def run_export(session: Session, export_id: int, signer, settings, commit: Callable[[], None],
               open_session: Callable[[], Session]) -> EvidenceExport:
    """The job: write the bundle to the instance folder, then mark the export done (the caller commits that)."""
    from govern.evidence.builder import export_evidence_to

    export = get_export(session, export_id)
    if export.state is not ExportState.QUEUED:
        return export
    expire_old_files(session, settings.instance_path)
    export.state = ExportState.RUNNING
    name = f"govern-evidence-{export.id}-{export.period_from:%Y%m%d}-{export.period_to:%Y%m%d}.zip"
    actor = Actor(export.requested_by, export.requested_by)
    outcome = export_evidence_to(session, actor, signer, settings, export.period_from, export.period_to,
                                 folder(settings.instance_path) / name, commit=commit,
                                 progress=progress_writer(open_session, export.id))
    commit()  # ends the read snapshot: the progress rows written meanwhile are then seen, not overwritten in conflict
    export = get_export(session, export_id)
    export.state, export.file_name, export.size_bytes, export.sha256 = ExportState.DONE, name, outcome.size, outcome.sha256
    export.stage, export.finished_at = "done", utcnow()
    export.progress_done = export.progress_total
    session.flush()
    return export


def mark_failed(session: Session, export_id: int, error: str) -> None:
    session.execute(update(EvidenceExport).where(EvidenceExport.id == export_id,
                                                 EvidenceExport.state.in_((ExportState.QUEUED, ExportState.RUNNING)))
                    .values(state=ExportState.FAILED, error=error[:500], finished_at=utcnow()))
