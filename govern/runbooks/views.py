"""The runbooks and incidents console pages: the runbooks (read; statements approved by a second person), activating
one, the incidents with their timeline (names, not ids), ticking a step, closing, and the report in en, ar or he.
Writing a runbook is done through the API (docs/decisions/0075)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from govern import app_services
from govern.auth.roles import Permission
from govern.console import confirm
from govern.console.blueprint import ConsolePages
from govern.console.responses import refusal
from govern.console.templating import isolate
from govern.errors import DomainError
from govern.extensions import db
from govern.runbooks import service
from govern.runbooks.models import IncidentStatus
from govern.runbooks.web import incident_report_pdf
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()


def timeline_text(kind: str) -> str:
    return _(service.timeline_label(kind))


routes.template_globals(timeline_text)


def _person() -> int | None:
    return current_principal().person_id


@routes.get("/runbooks")
@requires(Permission.RUNBOOKS_READ)
def runbooks():
    return render_template("runbooks/runbooks.html", runbooks=service.list_runbooks(db.session),
                           open_incidents={i.runbook_id: i for i in service.list_incidents(db.session, IncidentStatus.OPEN)})


def _runbook_page(runbook_id: int, status: int = 200, page_refusal: str | None = None):
    runbook = service.get_runbook(db.session, runbook_id)  # 404: the console's error page
    return render_template("runbooks/runbook.html", runbook=runbook, page_refusal=page_refusal,
                           open_incident=service.open_incident_of(db.session, runbook.id)), status


@routes.get("/runbooks/<int:runbook_id>")
@requires(Permission.RUNBOOKS_READ)
def runbook_page(runbook_id: int):
    return _runbook_page(runbook_id)


@routes.post("/runbooks/<int:runbook_id>/statements/<int:statement_id>/approve")
@requires(Permission.RUNBOOKS_MANAGE)
def approve_statement(runbook_id: int, statement_id: int):
    try:
        service.approve_statement(db.session, current_actor(), _person(), runbook_id, statement_id)
    except DomainError as error:
        return _runbook_page(runbook_id, error.status, refusal(error))
    flash(_("Statement %(id)s is pre-approved.", id=statement_id), "success")
    return redirect(url_for(".runbook_page", runbook_id=runbook_id))


@routes.post("/runbooks/<int:runbook_id>/activate")
@requires(Permission.INCIDENTS_LEAD)
def activate_runbook(runbook_id: int):
    try:
        runbook = service.get_runbook(db.session, runbook_id)
    except DomainError as error:
        return _runbook_page(runbook_id, error.status, refusal(error))
    severity = request.form.get("severity", "")
    if not confirm.confirmed() or len(request.form.get("reason", "").strip()) < 3:
        consequence = (_("You are about to activate %(runbook)s: publishing is paused for its scope, its first stage's "
                         "contacts are notified and an incident is opened.", runbook=isolate(runbook.name))
                       if runbook.pause_on_activate else
                       _("You are about to activate %(runbook)s: its first stage's contacts are notified and an "
                         "incident is opened.", runbook=isolate(runbook.name)))
        return confirm.ask(title=_("Activate the runbook"), consequence=consequence, button=_("Activate"),
                           cancel=url_for(".runbook_page", runbook_id=runbook_id), irreversible=False,
                           reason=confirm.Reason(_("What happened")),
                           errors={"reason": _("Say what happened (at least 3 characters).")} if confirm.confirmed() else None,
                           carry={"severity": severity})
    try:
        incident = service.activate(db.session, current_actor(), _person(), runbook_id, severity,
                                    request.form.get("reason", ""))
    except DomainError as error:
        return _runbook_page(runbook_id, error.status, refusal(error))
    flash(_("Incident %(id)s is open.", id=incident.id), "success")
    return redirect(url_for(".incident_page", incident_id=incident.id))


@routes.get("/incidents")
@requires(Permission.RUNBOOKS_READ)
def incidents():
    return render_template("runbooks/incidents.html", incidents=service.list_incidents(db.session))


def _incident_page(incident_id: int, status: int = 200, page_refusal: str | None = None):
    incident = service.get_incident(db.session, incident_id)  # 404: the console's error page
    return render_template("runbooks/incident.html", incident=incident, page_refusal=page_refusal,
                           releases=service.releases_of(db.session, incident.id)), status


@routes.get("/incidents/<int:incident_id>")
@requires(Permission.RUNBOOKS_READ)
def incident_page(incident_id: int):
    return _incident_page(incident_id)


@routes.post("/incidents/<int:incident_id>/steps/<step>/done")
@requires(Permission.INCIDENTS_LEAD)
def incident_step(incident_id: int, step: str):
    try:
        service.tick_step(db.session, current_actor(), _person(), incident_id, step)
    except DomainError as error:
        return _incident_page(incident_id, error.status, refusal(error))
    flash(_("Step done."), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id))


@routes.post("/incidents/<int:incident_id>/close")
@requires(Permission.INCIDENTS_LEAD)
def incident_close(incident_id: int):
    if not confirm.confirmed():
        return confirm.ask(title=_("Close the incident"),
                           consequence=_("You are about to close incident %(id)s. Its pause stays until a second "
                                         "person resumes it.", id=incident_id),
                           button=_("Close the incident"), cancel=url_for(".incident_page", incident_id=incident_id),
                           irreversible=True, reason=confirm.Reason(_("Closing note (optional)"), required=False))
    try:
        service.close_incident(db.session, current_actor(), _person(), incident_id, request.form.get("reason", ""))
    except DomainError as error:
        return _incident_page(incident_id, error.status, refusal(error))
    flash(_("Incident %(id)s is closed.", id=incident_id), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id))


@routes.post("/incidents/<int:incident_id>/statements")
@requires(Permission.INCIDENTS_LEAD)
def incident_statement_request(incident_id: int):
    statement_id, account_id = request.form.get("statement_id", ""), request.form.get("account_id", "")
    if not (statement_id.isdigit() and len(statement_id) < 10 and account_id.isdigit() and len(account_id) < 10):
        return _incident_page(incident_id, 422, _("Choose a pre-approved statement and an account."))
    try:
        release = service.request_statement(db.session, current_actor(), _person(), incident_id, int(statement_id),
                                            int(account_id))
    except DomainError as error:
        return _incident_page(incident_id, error.status, refusal(error))
    flash(_("Statement release %(id)s waits for a second person to confirm it.", id=release.id), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id))


@routes.post("/incidents/<int:incident_id>/statements/<int:release_id>/confirm")
@requires(Permission.INCIDENTS_LEAD)
def incident_statement_confirm(incident_id: int, release_id: int):
    if not confirm.confirmed():
        return confirm.ask(title=_("Publish the statement"),
                           consequence=_("You are about to confirm statement release %(id)s: the pre-approved statement "
                                         "is published to the account now, past the pause, once.", id=release_id),
                           button=_("Publish the statement"), cancel=url_for(".incident_page", incident_id=incident_id),
                           irreversible=True)
    try:
        release = service.confirm_statement(db.session, app_services.broker(), current_actor(), _person(), incident_id,
                                            release_id)
    except DomainError as error:
        return _incident_page(incident_id, error.status, refusal(error))
    if release.error:
        flash(_("The statement could not be published: %(reason)s", reason=release.error), "error")
    else:
        flash(_("The statement is published."), "success")
    return redirect(url_for(".incident_page", incident_id=incident_id))


@routes.get("/incidents/<int:incident_id>/report.pdf")
@requires(Permission.RUNBOOKS_READ)
def incident_report(incident_id: int):
    return incident_report_pdf(incident_id, request.args.get("lang", "en"))


def register(console: Blueprint) -> None:
    """Add these pages to the console (create_app calls this once per app)."""
    routes.register(console)
