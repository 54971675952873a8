"""The runbooks and incidents console pages: the runbooks (read; statements approved by a second person), activating
one, the incidents with their timeline (names, not ids), ticking a step, closing, and the report in en, ar or he.
A runbook is written in the console's editor (new and edit) or through the API (docs/decisions/0075)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from govern import app_services
from govern.auth.roles import Permission, Role
from govern.console import confirm
from govern.console.blueprint import ConsolePages
from govern.console.forms import split_entries
from govern.console.labels import label
from govern.console.responses import refusal
from govern.console.templating import isolate
from govern.errors import N_, DomainError
from govern.extensions import db
from govern.pauses import service as pauses
from govern.pauses.models import PauseScope
from govern.people.models import Person
from govern.people.service import find_people
from govern.runbooks import service
from govern.runbooks.models import Incident, IncidentStatus, Runbook
from govern.runbooks.web import incident_report_pdf
from govern.web.authz import requires
from govern.web.request_cycle import current_actor, current_principal

routes = ConsolePages()


def timeline_text(kind: str) -> str:
    return _(service.timeline_label(kind))


def contact_label(contact: dict[str, str]) -> str:
    """A runbook contact as the page shows it: a person's name, a role in the reader's language, or the address."""
    if contact["type"] == "person" and contact["value"].isdigit():
        person = db.session.get(Person, int(contact["value"]))
        return person.display_name if person is not None else contact["value"]
    if contact["type"] == "role" and contact["value"] in {role.value for role in Role}:
        return label(Role(contact["value"]))
    return contact["value"]


def incident_stage(incident: Incident) -> dict[str, Any] | None:
    return service.current_stage(incident)


def incident_next_stage(incident: Incident) -> dict[str, Any] | None:
    """The stage an escalation would tell; the page offers it only while there is one."""
    return service.next_stage(incident)


routes.template_globals(timeline_text, contact_label, incident_stage, incident_next_stage)


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


# --- the editor ----------------------------------------------------------------------------------------------------
EDITOR_STAGES = 2
SCOPE_CHOICES = {
    PauseScope.ALL: N_("Every account"),
    PauseScope.BUSINESS_UNIT: N_("A business unit"),
    PauseScope.NETWORK: N_("A network"),
    PauseScope.ACCOUNT: N_("One account (its id)"),
}
LANGUAGE_DIRECTION = {"en": "ltr", "ar": "rtl", "he": "rtl"}


def _values_of(runbook: Runbook | None) -> dict[str, Any]:
    """The editor's fields for a runbook (or the defaults of a new one), as the form posts them."""
    if runbook is None:
        return {"name": "", "description": "", "scope_type": "all", "scope_value": "", "severities": "low, high, critical",
                "steps": "", "pause_on_activate": True, "auto_activate": False, "auto_severity": "",
                "stage1_name": _("First stage"), "stage2_name": _("Second stage"),
                **{f"stage{n}_{part}": ([] if part == "roles" else "") for n in (1, 2)
                   for part in ("roles", "people", "emails", "escalate_after")},
                **{f"statement_{language}": "" for language in service.LANGUAGES}}
    values: dict[str, Any] = {
        "name": runbook.name, "description": runbook.description, "scope_type": runbook.scope_type.value,
        "scope_value": runbook.scope_value or "", "severities": ", ".join(runbook.severities),
        "steps": "\n".join(step["title"] for step in runbook.steps), "pause_on_activate": runbook.pause_on_activate,
        "auto_activate": runbook.auto_activate, "auto_severity": runbook.auto_severity or ""}
    for n in (1, 2):
        stage = runbook.stages[n - 1] if len(runbook.stages) >= n else {"name": "", "contacts": []}
        contacts = stage["contacts"]
        values[f"stage{n}_name"] = stage["name"] or (_("First stage") if n == 1 else _("Second stage"))
        values[f"stage{n}_roles"] = [c["value"] for c in contacts if c["type"] == "role"]
        values[f"stage{n}_people"] = ", ".join(c["value"] for c in contacts if c["type"] == "person")
        values[f"stage{n}_emails"] = ", ".join(c["value"] for c in contacts if c["type"] == "email")
        values[f"stage{n}_escalate_after"] = str(stage.get("escalate_after_minutes") or "")
    for language in service.LANGUAGES:
        latest = [s for s in runbook.statements if s.language == language and s.network is None]
        values[f"statement_{language}"] = latest[-1].text if latest else ""
    return values


def _posted_values() -> dict[str, Any]:
    form = request.form
    values: dict[str, Any] = {key: form.get(key, "") for key in _values_of(None) if not key.endswith("_roles")}
    values.update({f"stage{n}_roles": form.getlist(f"stage{n}_roles") for n in (1, 2)})
    values["pause_on_activate"], values["auto_activate"] = bool(form.get("pause_on_activate")), bool(form.get("auto_activate"))
    return values


def _person_contacts(text: str) -> tuple[list[dict[str, str]], list[str]]:
    found, unknown = find_people(db.session, split_entries(text)[:service.MAX_CONTACTS])
    return [{"type": "person", "value": str(person.id)} for person in found], unknown


def _steps_from(lines: str, runbook: Runbook | None) -> list[dict[str, Any]]:
    """One step per line; a line whose title the runbook already has keeps that step's key and owner (an open
    incident's ticks are kept by key); a new line gets a fresh key."""
    existing = {step["title"]: step for step in (runbook.steps if runbook is not None else [])}
    steps, keys = [], set()
    for title in [line.strip() for line in lines.splitlines() if line.strip()]:
        step = dict(existing.get(title) or {"title": title[:300], "owner": None})
        if "key" not in step or step["key"] in keys:
            number = len(steps) + 1
            while f"step-{number}" in keys or f"step-{number}" in {s["key"] for s in existing.values()}:
                number += 1
            step["key"] = f"step-{number}"
        keys.add(step["key"])
        steps.append(step)
    return steps


def _editor_data(values: dict[str, Any], runbook: Runbook | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted editor read into the service's fields, or what is wrong with them, by field."""
    errors: dict[str, str] = {}
    name = values["name"].strip()
    if not 1 <= len(name) <= 200:
        errors["name"] = _("Give the runbook a name (at most 200 characters).")
    try:
        scope_type = PauseScope(values["scope_type"])
        scope_value = pauses.resolve_scope(db.session, scope_type, values["scope_value"].strip() or None)
    except ValueError:
        errors["scope_type"] = _("Choose what the runbook covers.")
        scope_type, scope_value = PauseScope.ALL, None
    except DomainError as error:
        errors["scope_value"] = refusal(error)
        scope_value = None
    severities = split_entries(values["severities"])
    if not 1 <= len(severities) <= service.MAX_SEVERITIES or len(set(severities)) != len(severities) \
            or any(len(level) > 40 for level in severities):
        errors["severities"] = _("Give 1 to %(count)s different severity levels, separated by commas.",
                                 count=service.MAX_SEVERITIES)
    roles = {role.value for role in Role}
    stages = []
    for n in (1, 2):
        contacts = [{"type": "role", "value": role} for role in values[f"stage{n}_roles"] if role in roles]
        people, unknown = _person_contacts(values[f"stage{n}_people"])
        if unknown:
            errors[f"stage{n}_people"] = _("Nobody is known as %(who)s.", who=isolate(", ".join(unknown)))
        emails = split_entries(values[f"stage{n}_emails"])[:service.MAX_CONTACTS]
        bad = [e for e in emails if "@" not in e or len(e) > 320 or any(ch in e for ch in "\r\n<>; ")]
        if bad:
            errors[f"stage{n}_emails"] = _("%(value)s is not an e-mail address.", value=isolate(bad[0][:64]))
        contacts += people + [{"type": "email", "value": e} for e in emails]
        stage_name = values[f"stage{n}_name"].strip()[:100] or (_("First stage") if n == 1 else _("Second stage"))
        after = values[f"stage{n}_escalate_after"].strip()
        if after and not (after.isdigit() and 1 <= int(after) <= service.MAX_ESCALATE_AFTER):
            errors[f"stage{n}_escalate_after"] = _("Give a whole number of minutes from 1 to %(count)s, or leave it "
                                                   "empty.", count=service.MAX_ESCALATE_AFTER)
        if contacts:
            stage = {"name": stage_name, "contacts": contacts}
            if after.isdigit() and 1 <= int(after) <= service.MAX_ESCALATE_AFTER:
                stage["escalate_after_minutes"] = int(after)
            stages.append(stage)
        elif n == 1 and not any(key.startswith("stage1") for key in errors):
            errors["stage1"] = _("Name at least one contact for the first stage.")
    if runbook is not None:
        stages += runbook.stages[EDITOR_STAGES:]  # stages written through the API beyond the editor's two are kept
    steps = _steps_from(values["steps"], runbook)
    if len(steps) > service.MAX_STEPS or any(len(step["title"]) > 300 for step in steps):
        errors["steps"] = _("Write at most %(count)s steps, one per line, of at most 300 characters each.",
                            count=service.MAX_STEPS)
    auto_severity = values["auto_severity"].strip() or None
    if auto_severity is not None and auto_severity not in severities:
        errors["auto_severity"] = _("Choose one of the runbook's severity levels.")
    statements = []
    for language in service.LANGUAGES:
        text = values[f"statement_{language}"].strip()
        if len(text) > service.MAX_TEXT:
            errors[f"statement_{language}"] = _("Write at most %(count)s characters.", count=service.MAX_TEXT)
        elif text:
            statements.append({"language": language, "text": text})
    data = {"name": name, "description": values["description"].strip()[:service.MAX_TEXT],
            "scope": {"type": scope_type.value, "value": scope_value}, "severities": severities, "stages": stages,
            "steps": steps, "pause_on_activate": values["pause_on_activate"], "auto_activate": values["auto_activate"],
            "auto_severity": auto_severity, "statements": statements}
    return data, errors


def _editor(runbook: Runbook | None, values: dict[str, Any], status: int = 200, errors: dict[str, str] | None = None,
            page_refusal: str | None = None):
    return render_template("runbooks/edit.html", runbook=runbook, values=values, errors=errors or {},
                           page_refusal=page_refusal, roles=list(Role),
                           scopes=[(scope.value, _(words)) for scope, words in SCOPE_CHOICES.items()],
                           languages=[(code, LANGUAGE_DIRECTION[code]) for code in service.LANGUAGES]), status


@routes.get("/runbooks/new")
@requires(Permission.RUNBOOKS_MANAGE)
def new_runbook():
    return _editor(None, _values_of(None))


@routes.post("/runbooks/new")
@requires(Permission.RUNBOOKS_MANAGE)
def create_runbook():
    values = _posted_values()
    data, errors = _editor_data(values, None)
    if errors:
        return _editor(None, values, 400, errors)
    try:
        runbook = service.create_runbook(db.session, current_actor(), _person(), data)
    except DomainError as error:
        db.session.rollback()
        return _editor(None, values, error.status, page_refusal=refusal(error))
    flash(_("Runbook %(name)s saved.", name=isolate(runbook.name)), "success")
    return redirect(url_for(".runbook_page", runbook_id=runbook.id))


@routes.get("/runbooks/<int:runbook_id>/edit")
@requires(Permission.RUNBOOKS_MANAGE)
def edit_runbook(runbook_id: int):
    runbook = service.get_runbook(db.session, runbook_id)  # 404: the console's error page
    return _editor(runbook, _values_of(runbook))


@routes.post("/runbooks/<int:runbook_id>/edit")
@requires(Permission.RUNBOOKS_MANAGE)
def update_runbook(runbook_id: int):
    runbook = service.get_runbook(db.session, runbook_id)  # 404: the console's error page
    values = _posted_values()
    data, errors = _editor_data(values, runbook)
    if errors:
        return _editor(runbook, values, 400, errors)
    try:
        service.update_runbook(db.session, current_actor(), _person(), runbook_id, data)
    except DomainError as error:
        db.session.rollback()
        return _editor(service.get_runbook(db.session, runbook_id), values, error.status, page_refusal=refusal(error))
    flash(_("Runbook %(name)s saved.", name=isolate(data["name"])), "success")
    return redirect(url_for(".runbook_page", runbook_id=runbook_id))


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


@routes.post("/incidents/<int:incident_id>/escalate")
@requires(Permission.INCIDENTS_LEAD)
def incident_escalate(incident_id: int):
    incident = service.get_incident(db.session, incident_id)  # 404: the console's error page
    stage = service.next_stage(incident)
    if not confirm.confirmed() and stage is not None:
        return confirm.ask(title=_("Escalate the incident"),
                           consequence=_("You are about to escalate incident %(id)s to %(stage)s: that stage's "
                                         "contacts are notified now.", id=incident_id, stage=isolate(stage["name"])),
                           button=_("Escalate"), cancel=url_for(".incident_page", incident_id=incident_id),
                           irreversible=True, reason=confirm.Reason(_("Note (optional)"), required=False))
    try:
        escalated = service.escalate(db.session, current_actor(), _person(), incident_id, request.form.get("reason", ""))
    except DomainError as error:
        return _incident_page(incident_id, error.status, refusal(error))
    flash(_("Incident %(id)s is escalated to %(stage)s.", id=incident_id,
            stage=isolate(service.current_stage(escalated)["name"])), "success")
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
