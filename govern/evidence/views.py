"""Console pages of evidence bundles: ask for one (a background job), watch its progress, download it when ready."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from govern import app_services
from govern.auth.roles import Permission
from govern.console.blueprint import ConsolePages
from govern.console.responses import refusal
from govern.db import utcnow
from govern.errors import DomainError
from govern.extensions import db
from govern.evidence import service
from govern.evidence.models import ExportState
from govern.evidence.tasks import queue_export
from govern.reports.document import BadReportRequest, parse_moment
from govern.web.authz import requires
from govern.web.request_cycle import current_actor

routes = ConsolePages()


def _page(status: int = 200, errors: dict[str, str] | None = None, refusal: str | None = None):
    rows = service.recent_exports(db.session)
    now = utcnow()
    stalled = {row.id for row in rows if row.stalled(now)}
    busy = any(row.state in (ExportState.QUEUED, ExportState.RUNNING) and row.id not in stalled for row in rows)
    page = render_template("evidence/exports.html", exports=rows, busy=busy, stalled=stalled, errors=errors or {}, refusal=refusal,
                           since=request.form.get("from", ""), until=request.form.get("to", ""))
    return page, status


@routes.get("/evidence")
@requires(Permission.AUDIT_READ)
def evidence_exports():
    return _page()


@routes.post("/evidence")
@requires(Permission.AUDIT_READ)
def evidence_export_start():
    errors = {}
    period = {}
    for field, end_of_day in (("from", False), ("to", True)):
        try:
            period[field] = parse_moment(request.form.get(field, ""), field, end_of_day=end_of_day)
        except BadReportRequest:
            errors[field] = _("Pick a day between 1970-01-01 and 2199-12-31.")
    if not errors and period["from"] >= period["to"]:
        errors["from"] = _("The period must start before it ends.")
    if errors:
        return _page(422, errors)
    try:
        export = service.request_export(db.session, current_actor(), period["from"], period["to"])
    except DomainError as error:
        return _page(error.status, refusal=refusal(error))
    queue_export(export)
    flash(_("The evidence bundle is being prepared in the background; this page shows its progress."), "success")
    return redirect(url_for(".evidence_exports"))


@routes.get("/evidence/<int:export_id>/download")
@requires(Permission.AUDIT_READ)
def evidence_export_download(export_id: int):
    try:
        export, path = service.download_path(db.session, current_actor(), app_services.settings().instance_path,
                                             export_id)
    except DomainError as error:
        return _page(error.status, refusal=_("This evidence bundle cannot be downloaded: it is not ready, or it has expired."))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=export.file_name, max_age=0)


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
