"""Crisis runbooks: write them, approve their holding statements (a second person), activate them (by hand, or from
a crisis alert) and run the incident they open: its timeline, its checklist, a statement released during the pause
(a second person confirms), its close and its report. Flushes only (docs/decisions/0075)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from govern.accounts.models import Network, SocialAccount
from govern.actor import Actor
from govern.audit.models import AuditEvent
from govern.audit.service import record
from govern.auth.roles import Role
from govern.broker.context import BrokerContext
from govern.broker.service import complete_action, prepare_action
from govern.db import utcnow
from govern.errors import N_, Conflict, DomainError, InvalidOperation, NotFound
from govern.notifications.service import Contact, notify_contacts
from govern.pauses import service as pauses
from govern.pauses.models import PauseScope
from govern.people.models import Person
from govern.runbooks.models import (
    Incident, IncidentEvent, IncidentStatus, ReleaseStatus, Runbook, RunbookStatement, StatementRelease,
)

log = structlog.get_logger(__name__)
SYSTEM = Actor.system("runbooks")
LANGUAGES = ("en", "ar", "he")
CONTACT_TYPES = ("person", "role", "email")
MAX_TEXT = 2000
MAX_STAGES, MAX_CONTACTS, MAX_STEPS, MAX_SEVERITIES, MAX_STATEMENTS = 10, 50, 50, 10, 60
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

# What a line of an incident's timeline says (the console, the API's `label`, the report).
TIMELINE = {
    "activate": N_("Runbook activated"),
    "alert": N_("Crisis alert received"),
    "pause": N_("Publishing paused for the runbook's scope"),
    "pause_failed": N_("The runbook's scope could not be paused"),
    "notify": N_("First stage's contacts notified"),
    "escalate": N_("Escalated: the next stage's contacts notified"),
    "step": N_("Checklist step done"),
    "statement_request": N_("Statement release requested"),
    "statement_publish": N_("Statement published"),
    "statement_fail": N_("Statement could not be published"),
    "close": N_("Incident closed"),
}
ACTIVATED_MESSAGE = N_("Crisis runbook %(runbook)s was activated (severity %(severity)s): %(reason)s")
ESCALATED_MESSAGE = N_("The incident of crisis runbook %(runbook)s was escalated to you (%(stage)s, severity "
                       "%(severity)s): %(reason)s")
MAX_ESCALATE_AFTER = 1440  # minutes a stage may wait before the next is told automatically (a day)


# --- writing runbooks ---------------------------------------------------------------------------------------------
def _text(value: Any, name: str, low: int, high: int) -> str:
    shown = (value or "").strip() if isinstance(value, str) else ""
    if not low <= len(shown) <= high:
        raise InvalidOperation("%(name)s must be %(low)s to %(high)s characters", name=name, low=low, high=high)
    return shown


def _contact(session: Session, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict) or raw.get("type") not in CONTACT_TYPES:
        raise InvalidOperation("a contact is a person, a role or an e-mail address")
    kind, value = raw["type"], str(raw.get("value") or "").strip()
    if kind == "person":
        if not value.isdigit() or len(value) > 12 or session.get(Person, int(value)) is None:
            raise InvalidOperation("there is no person %(value)s", value=value[:64])
        value = str(int(value))
    elif kind == "role":
        if value not in {role.value for role in Role}:
            raise InvalidOperation("%(role)s is not a role", role=value[:64])
    elif "@" not in value or len(value) > 320 or any(ch in value for ch in "\r\n<>,; "):
        raise InvalidOperation("%(address)s is not an e-mail address", address=value[:320])
    return {"type": kind, "value": value}


def _severities(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SEVERITIES:
        raise InvalidOperation("give 1 to %(count)s severity levels", count=MAX_SEVERITIES)
    levels = [_text(level, "a severity level", 1, 40) for level in raw]
    if len(set(levels)) != len(levels):
        raise InvalidOperation("each severity level once")
    return levels


def _stages(session: Session, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STAGES:
        raise InvalidOperation("give 1 to %(count)s stages of contacts", count=MAX_STAGES)
    stages = []
    for stage in raw:
        contacts = stage.get("contacts") if isinstance(stage, dict) else None
        if not isinstance(contacts, list) or len(contacts) > MAX_CONTACTS:
            raise InvalidOperation("a stage has at most %(count)s contacts", count=MAX_CONTACTS)
        shaped = {"name": _text(stage.get("name"), "a stage's name", 1, 100),
                  "contacts": [_contact(session, contact) for contact in contacts]}
        after = stage.get("escalate_after_minutes")
        if after is not None:
            if isinstance(after, bool) or not isinstance(after, int) or not 1 <= after <= MAX_ESCALATE_AFTER:
                raise InvalidOperation("a stage escalates after 1 to %(count)s minutes", count=MAX_ESCALATE_AFTER)
            shaped["escalate_after_minutes"] = after
        stages.append(shaped)
    return stages


def _steps(session: Session, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or len(raw) > MAX_STEPS:
        raise InvalidOperation("a checklist has at most %(count)s steps", count=MAX_STEPS)
    steps = []
    for position, step in enumerate(raw, start=1):
        if not isinstance(step, dict):
            raise InvalidOperation("a step has a title and an owner")
        key = str(step.get("key") or f"step-{position}").strip().lower()
        if not _KEY.match(key):
            raise InvalidOperation("%(value)s is not a step key (lower-case letters, digits, - and _)", value=key[:64])
        owner = step.get("owner")
        steps.append({"key": key, "title": _text(step.get("title"), "a step's title", 1, 300),
                      "owner": _contact(session, owner) if owner else None})
    if len({step["key"] for step in steps}) != len(steps):
        raise InvalidOperation("each step key once")
    return steps


def _statement_fields(session: Session, raw: Any) -> tuple[str, str | None, str]:
    if not isinstance(raw, dict) or raw.get("language") not in LANGUAGES:
        raise InvalidOperation("a statement's language is one of %(value)s", value=", ".join(LANGUAGES))
    network = (raw.get("network") or None) and str(raw["network"]).strip()
    if network and session.scalar(select(Network.id).where(Network.key == network)) is None:
        raise InvalidOperation("there is no network %(value)s", value=network[:64])
    return raw["language"], network or None, _text(raw.get("text"), "a statement's text", 1, MAX_TEXT)


def get_runbook(session: Session, runbook_id: int, *, for_update: bool = False) -> Runbook:
    query = select(Runbook).where(Runbook.id == runbook_id)
    found = session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise NotFound("runbook %(runbook_id)s does not exist", runbook_id=runbook_id)
    return found


def list_runbooks(session: Session) -> list[Runbook]:
    return list(session.scalars(select(Runbook).order_by(Runbook.name)))


def _apply(session: Session, actor: Actor, person_id: int | None, runbook: Runbook, data: dict[str, Any]) -> list[str]:
    """Set the fields given; the statements given are added unless the same text is there already (approved ones
    keep their approval; a changed text is a new statement, to be approved again). Returns the fields changed."""
    changed = []
    if "name" in data:
        name = _text(data["name"], "a runbook's name", 1, 200)
        other = session.scalar(select(Runbook.id).where(Runbook.name == name))
        if other is not None and other != runbook.id:
            raise Conflict("a runbook named %(value)s already exists", value=name)
        runbook.name = name
        changed.append("name")
    if "description" in data:
        runbook.description = (data["description"] or "").strip()[:MAX_TEXT]
        changed.append("description")
    if "scope" in data:
        scope = data["scope"] or {}
        runbook.scope_type = PauseScope(scope.get("type"))
        runbook.scope_value = pauses.resolve_scope(session, runbook.scope_type, scope.get("value"))
        changed.append("scope")
    if "severities" in data:
        runbook.severities = _severities(data["severities"])
        changed.append("severities")
    if "stages" in data:
        runbook.stages = _stages(session, data["stages"])
        changed.append("stages")
    if "steps" in data:
        runbook.steps = _steps(session, data["steps"])
        changed.append("steps")
    for flag in ("pause_on_activate", "auto_activate"):
        if flag in data:
            setattr(runbook, flag, bool(data[flag]))
            changed.append(flag)
    if "auto_severity" in data:
        runbook.auto_severity = data["auto_severity"] or None
        changed.append("auto_severity")
    if runbook.auto_severity is not None and runbook.auto_severity not in (runbook.severities or []):
        raise InvalidOperation("the automatic severity %(value)s is not one of the runbook's levels", value=runbook.auto_severity)
    statements = data.get("statements") or []
    if len(statements) + len(runbook.statements) > MAX_STATEMENTS:
        raise InvalidOperation("a runbook has at most %(count)s statements", count=MAX_STATEMENTS)
    for raw in statements:
        language, network, text = _statement_fields(session, raw)
        if any((s.language, s.network, s.text) == (language, network, text) for s in runbook.statements):
            continue
        runbook.statements.append(RunbookStatement(language=language, network=network, text=text, author=actor.id,
                                                   author_name=actor.name[:255], author_person_id=person_id,
                                                   created_at=utcnow()))
        changed.append("statements")
    return changed


def create_runbook(session: Session, actor: Actor, person_id: int | None, data: dict[str, Any]) -> Runbook:
    for required in ("name", "scope", "severities", "stages"):
        if required not in data:
            raise InvalidOperation("a runbook needs %(name)s", name=required)
    now = utcnow()
    runbook = Runbook(name="", description="", severities=[], stages=[], steps=[], created_by=actor.id,
                      created_by_name=actor.name[:255], created_at=now, updated_at=now, pause_on_activate=True,
                      auto_activate=False)
    _apply(session, actor, person_id, runbook, {"steps": [], **data})
    session.add(runbook)
    session.flush()
    record(session, actor, "runbooks:runbook:create", "runbook", runbook.id, name=runbook.name,
           scope=_scope_text(runbook), auto_activate=runbook.auto_activate, statements=len(runbook.statements))
    return runbook


def update_runbook(session: Session, actor: Actor, person_id: int | None, runbook_id: int, data: dict[str, Any]) -> Runbook:
    runbook = get_runbook(session, runbook_id, for_update=True)
    changed = _apply(session, actor, person_id, runbook, data)
    runbook.updated_at = utcnow()
    session.flush()
    record(session, actor, "runbooks:runbook:update", "runbook", runbook.id, name=runbook.name,
           changed=sorted(set(changed)), scope=_scope_text(runbook), auto_activate=runbook.auto_activate)
    return runbook


def approve_statement(session: Session, actor: Actor, person_id: int | None, runbook_id: int,
                      statement_id: int) -> RunbookStatement:
    """A second person makes a statement pre-approved; its author cannot (409 second-person-required)."""
    statement = session.scalar(select(RunbookStatement).where(RunbookStatement.id == statement_id,
                                                              RunbookStatement.runbook_id == runbook_id).with_for_update())
    if statement is None:
        raise NotFound("runbook %(runbook_id)s has no statement %(statement_id)s", runbook_id=runbook_id,
                       statement_id=statement_id)
    if statement.approved:
        raise Conflict("statement %(statement_id)s is already approved", statement_id=statement_id)
    if actor.id == statement.author or (person_id is not None and person_id == statement.author_person_id):
        raise Conflict("the author of a statement cannot approve it: a second person must approve statement "
                       "%(statement_id)s", code="second-person-required", statement_id=statement_id)
    statement.approved_by, statement.approved_by_name, statement.approved_at = actor.id, actor.name[:255], utcnow()
    session.flush()
    record(session, actor, "runbooks:statement:approve", "runbook", runbook_id, statement_id=statement.id,
           language=statement.language, network=statement.network, author=statement.author, person_id=person_id)
    return statement


# --- scope --------------------------------------------------------------------------------------------------------
def _scope_text(runbook: Runbook) -> str:
    return runbook.scope_type.value if runbook.scope_value is None else f"{runbook.scope_type.value}:{runbook.scope_value}"


def covers(runbook: Runbook, account: SocialAccount) -> bool:
    value = runbook.scope_value
    return {PauseScope.ALL: True, PauseScope.ACCOUNT: value == str(account.id),
            PauseScope.NETWORK: value == account.network.key,
            PauseScope.BUSINESS_UNIT: bool(account.business_unit) and value == account.business_unit}[runbook.scope_type]


# --- incidents ----------------------------------------------------------------------------------------------------
def _event(session: Session, incident: Incident, actor: Actor, kind: str, **details: Any) -> IncidentEvent:
    event = IncidentEvent(incident_id=incident.id, kind=kind, at=utcnow(), actor_id=actor.id, actor_name=actor.name[:255],
                          details=details)
    session.add(event)
    session.flush()
    return event


def open_incident_of(session: Session, runbook_id: int) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.runbook_id == runbook_id, Incident.status == IncidentStatus.OPEN)
                          .order_by(Incident.id).limit(1))


def activate(session: Session, actor: Actor, person_id: int | None, runbook_id: int, severity: str, reason: str,
             pause: bool | None = None, alert_id: int | None = None) -> Incident:
    """Open an incident: pause the runbook's scope (unless told not to), tell the first stage's contacts, and write
    each step on the incident's timeline. One open incident per runbook (409 for a second)."""
    runbook = get_runbook(session, runbook_id, for_update=True)
    reason = _text(reason, "the reason", 3, MAX_TEXT)
    if severity not in runbook.severities:
        raise InvalidOperation("%(value)s is not one of the runbook's severity levels", value=str(severity)[:40])
    existing = open_incident_of(session, runbook.id)
    if existing is not None:
        raise Conflict("runbook %(runbook_id)s already has an open incident (%(incident_id)s)", runbook_id=runbook.id,
                       incident_id=existing.id, code="incident-open")
    opened_at = utcnow()
    incident = Incident(runbook_id=runbook.id, status=IncidentStatus.OPEN, severity=severity, reason=reason,
                        alert_id=alert_id, opened_by=actor.id, opened_by_name=actor.name[:255], opened_at=opened_at,
                        stage_since=opened_at,
                        steps_done={}, stage=0)
    session.add(incident)
    session.flush()
    record(session, actor, "runbooks:incident:open", "incident", incident.id, runbook_id=runbook.id,
           runbook=runbook.name, severity=severity, reason=reason, alert_id=alert_id, person_id=person_id)
    _event(session, incident, actor, "activate", severity=severity, reason=reason, alert_id=alert_id,
           automatic=alert_id is not None and actor.id.startswith("system:"))
    if runbook.pause_on_activate if pause is None else pause:
        paused = pauses.pause(session, actor, person_id, runbook.scope_type, runbook.scope_value,
                              f"{runbook.name}: {reason}"[:pauses.MAX_REASON])
        incident.pause_id = paused.id
        _event(session, incident, actor, "pause", pause_id=paused.id, scope=_scope_text(runbook))
    first = runbook.stages[0] if runbook.stages else {"name": "", "contacts": []}
    contacts = [Contact(contact["type"], contact["value"]) for contact in first["contacts"]]
    if contacts:
        told = notify_contacts(session, contacts, "incident_opened", "incident", incident.id, ACTIVATED_MESSAGE,
                               runbook=runbook.name, severity=severity, reason=reason[:300])
        _event(session, incident, actor, "notify", stage=first["name"], contacts=len(contacts),
               notifications=len(told.notifications), deliveries=len(told.deliveries))
    session.flush()
    return incident


def on_alert(session: Session, alert_id: int, account_id: int, kind: str) -> list[int]:
    """A crisis alert activates every runbook set to activate itself whose scope takes in the alert's account; a
    runbook already in an open incident gets the alert on that incident's timeline instead. A runbook that cannot
    be activated is logged and skipped: it never fails the scan that raised the alert."""
    account = session.get(SocialAccount, account_id)
    if account is None:
        return []
    opened = []
    for runbook in session.scalars(select(Runbook).where(Runbook.auto_activate.is_(True)).order_by(Runbook.id)):
        if not covers(runbook, account):
            continue
        try:
            with session.begin_nested():
                existing = open_incident_of(session, runbook.id)
                if existing is not None:
                    _event(session, existing, SYSTEM, "alert", alert_id=alert_id, account_id=account_id, alert_kind=kind)
                    continue
                severity = runbook.auto_severity or runbook.severities[0]
                incident = activate(session, SYSTEM, None, runbook.id, severity,
                                    f"{kind} alert {alert_id} on @{account.handle}", alert_id=alert_id)
                opened.append(incident.id)
        except DomainError as refused:
            log.warning("runbook_auto_activation_refused", runbook_id=runbook.id, alert_id=alert_id, error=refused.detail)
    return opened


def get_incident(session: Session, incident_id: int, *, for_update: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    found = session.scalar(query.with_for_update(of=Incident) if for_update else query)
    if found is None:
        raise NotFound("incident %(incident_id)s does not exist", incident_id=incident_id)
    return found


def list_incidents(session: Session, status: IncidentStatus | None = None, limit: int = 200) -> list[Incident]:
    query = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc())
    if status is not None:
        query = query.where(Incident.status == status)
    return list(session.scalars(query.limit(limit)))


def _open(session: Session, incident_id: int) -> Incident:
    incident = get_incident(session, incident_id, for_update=True)
    if incident.status is not IncidentStatus.OPEN:
        raise Conflict("incident %(incident_id)s is closed", incident_id=incident_id, code="incident-closed")
    return incident


def tick_step(session: Session, actor: Actor, person_id: int | None, incident_id: int, step_key: str) -> Incident:
    incident = _open(session, incident_id)
    step = next((step for step in incident.runbook.steps if step["key"] == step_key), None)
    if step is None:
        raise NotFound("the runbook has no step %(value)s", value=step_key[:64])
    if step_key in incident.steps_done:
        raise Conflict("step %(value)s is already done", value=step_key)
    incident.steps_done = {**incident.steps_done, step_key: {"by": actor.id, "by_name": actor.name[:255],
                                                             "at": utcnow().isoformat()}}
    session.flush()
    record(session, actor, "runbooks:incident:step", "incident", incident.id, step=step_key, title=step["title"],
           person_id=person_id)
    _event(session, incident, actor, "step", step=step_key, title=step["title"])
    return incident


def next_stage(incident: Incident) -> dict[str, Any] | None:
    """The stage an escalation would tell, or None at the runbook's last stage."""
    stages = incident.runbook.stages or []
    return stages[incident.stage + 1] if incident.stage + 1 < len(stages) else None


def current_stage(incident: Incident) -> dict[str, Any] | None:
    stages = incident.runbook.stages or []
    return stages[incident.stage] if incident.stage < len(stages) else None


def escalate(session: Session, actor: Actor, person_id: int | None, incident_id: int, note: str | None = None,
             *, automatic: bool = False, at: datetime | None = None) -> Incident:
    """Move the open incident to its runbook's next stage and tell that stage's contacts, as activation tells the
    first. 409 `incident-closed` once closed, 409 `last-stage` at the last stage."""
    incident = _open(session, incident_id)
    note = (note or "").strip()
    if len(note) > MAX_TEXT:
        raise InvalidOperation("a note has at most %(count)s characters", count=MAX_TEXT)
    stage = next_stage(incident)
    if stage is None:
        raise Conflict("incident %(incident_id)s is already at its runbook's last stage", incident_id=incident_id,
                       code="last-stage")
    incident.stage, incident.stage_since = incident.stage + 1, at or utcnow()
    contacts = [Contact(contact["type"], contact["value"]) for contact in stage["contacts"]]
    notifications = deliveries = 0
    if contacts:
        told = notify_contacts(session, contacts, "incident_escalated", "incident", incident.id, ESCALATED_MESSAGE,
                               runbook=incident.runbook.name, stage=stage["name"], severity=incident.severity,
                               reason=incident.reason[:300])
        notifications, deliveries = len(told.notifications), len(told.deliveries)
    session.flush()
    record(session, actor, "runbooks:incident:escalate", "incident", incident.id, stage=incident.stage,
           stage_name=stage["name"], contacts=len(contacts), notifications=notifications, note=note or None,
           automatic=automatic, person_id=person_id)
    _event(session, incident, actor, "escalate", stage=stage["name"], stage_index=incident.stage,
           contacts=len(contacts), notifications=notifications, deliveries=deliveries, note=note or None,
           automatic=automatic)
    return incident


def _escalation_due(incident: Incident, now: datetime) -> bool:
    stage = current_stage(incident)
    after = stage.get("escalate_after_minutes") if stage else None
    return (incident.status is IncidentStatus.OPEN and after is not None and next_stage(incident) is not None
            and (incident.stage_since or incident.opened_at) + timedelta(minutes=after) <= now)


def escalate_due(session: Session, actor: Actor, now: datetime | None = None) -> int:
    """Escalate each open incident that has stayed at a stage longer than the stage's `escalate_after_minutes`.
    The due rows are locked with SKIP LOCKED and checked again under the lock, so two runs at once (or a lead
    escalating by hand meanwhile) never escalate the same incident twice. One that fails is logged and skipped."""
    now = now or utcnow()
    open_incidents = session.scalars(select(Incident).where(Incident.status == IncidentStatus.OPEN)
                                     .order_by(Incident.id)).all()
    due_ids = [incident.id for incident in open_incidents if _escalation_due(incident, now)]
    if not due_ids:
        return 0
    locked = session.scalars(select(Incident).where(Incident.id.in_(due_ids)).order_by(Incident.id)
                             .with_for_update(skip_locked=True, of=Incident)
                             .execution_options(populate_existing=True)).all()
    escalated = 0
    for incident in locked:
        if not _escalation_due(incident, now):  # another run or a lead moved it since the first look
            continue
        try:
            with session.begin_nested():
                escalate(session, actor, None, incident.id, automatic=True, at=now)
            escalated += 1
        except DomainError as refused:
            log.warning("incident_auto_escalation_refused", incident_id=incident.id, error=refused.detail)
    return escalated


def close_incident(session: Session, actor: Actor, person_id: int | None, incident_id: int, note: str | None) -> Incident:
    """Close the incident. Its pause stays until a second person resumes it (govern.pauses)."""
    incident = _open(session, incident_id)
    incident.status, incident.closed_at = IncidentStatus.CLOSED, utcnow()
    incident.closed_by, incident.closed_by_name = actor.id, actor.name[:255]
    incident.close_note = (note or "").strip()[:MAX_TEXT] or None
    session.flush()
    record(session, actor, "runbooks:incident:close", "incident", incident.id, note=incident.close_note,
           steps_done=len(incident.steps_done), steps=len(incident.runbook.steps), person_id=person_id)
    _event(session, incident, actor, "close", note=incident.close_note)
    return incident


# --- a statement during the pause -----------------------------------------------------------------------------
def request_statement(session: Session, actor: Actor, person_id: int | None, incident_id: int, statement_id: int,
                      account_id: int) -> StatementRelease:
    """A crisis lead asks to publish a pre-approved statement to one account in the runbook's scope."""
    incident = _open(session, incident_id)
    statement = session.get(RunbookStatement, statement_id)
    if statement is None or statement.runbook_id != incident.runbook_id:
        raise NotFound("the runbook has no statement %(statement_id)s", statement_id=statement_id)
    if not statement.approved:
        raise Conflict("statement %(statement_id)s is not pre-approved: a second person must approve it first",
                       statement_id=statement_id, code="statement-not-approved")
    account = session.get(SocialAccount, account_id)
    if account is None:
        raise NotFound("account %(account_id)s does not exist", account_id=account_id)
    if not covers(incident.runbook, account):
        raise InvalidOperation("account %(account_id)s is outside the runbook's scope", account_id=account_id)
    if statement.network is not None and statement.network != account.network.key:
        raise InvalidOperation("statement %(statement_id)s is for %(value)s, not this account's network",
                               statement_id=statement_id, value=statement.network)
    release = StatementRelease(incident_id=incident.id, statement_id=statement.id, account_id=account.id,
                               status=ReleaseStatus.PENDING, requested_by=actor.id, requested_by_name=actor.name[:255],
                               requested_by_person_id=person_id, requested_at=utcnow())
    session.add(release)
    session.flush()
    record(session, actor, "runbooks:statement_release:request", "incident", incident.id, release_id=release.id,
           statement_id=statement.id, account_id=account.id, person_id=person_id)
    _event(session, incident, actor, "statement_request", release_id=release.id, statement_id=statement.id,
           account_id=account.id, handle=account.handle, language=statement.language)
    return release


def confirm_statement(session: Session, broker: BrokerContext, actor: Actor, person_id: int | None, incident_id: int,
                      release_id: int) -> StatementRelease:
    """A second person confirms: the statement goes out through the broker, as the lead who asked for it, under a
    release that lets exactly this text out on exactly this account once while its pause lasts. A refusal or a
    network failure leaves nothing behind but the failure on the record (the release is rolled back with it)."""
    incident = _open(session, incident_id)
    release = session.scalar(select(StatementRelease).where(StatementRelease.id == release_id,
                                                            StatementRelease.incident_id == incident.id).with_for_update())
    if release is None:
        raise NotFound("incident %(incident_id)s has no statement release %(release_id)s", incident_id=incident_id,
                       release_id=release_id)
    if release.status is not ReleaseStatus.PENDING:
        raise Conflict("statement release %(release_id)s was already %(value)s", release_id=release_id,
                       value=release.status.value)
    if actor.id == release.requested_by or (person_id is not None and person_id == release.requested_by_person_id):
        raise Conflict("the person who asked to publish a statement cannot confirm it: a second person must confirm "
                       "release %(release_id)s", code="second-person-required", release_id=release_id)
    account = session.get(SocialAccount, release.account_id)
    text = release.statement.text
    lead = Actor(release.requested_by, release.requested_by_name, actor.request_id, actor.client_addr)
    notes = {"incident_id": incident.id, "statement_release_id": release.id, "statement_id": release.statement_id,
             "confirmed_by": actor.id}
    try:
        with session.begin_nested():
            if pauses.covering_pause(session, account) is not None:
                pauses.grant_release(session, actor, account, text, f"incident {incident.id}, statement release {release.id}")
            prepared = prepare_action(session, broker, lead, release.requested_by_person_id, account.id, "publish",
                                      {"text": text, "idempotency_key": f"statement-release-{release.id}"})
            result = complete_action(session, broker, lead, prepared, audit_notes=notes)
    except DomainError as failed:
        release.status, release.error = ReleaseStatus.FAILED, failed.detail[:MAX_TEXT]
        _confirmed(release, actor)
        session.flush()
        record(session, actor, "runbooks:statement_release:fail", "incident", incident.id, release_id=release.id,
               account_id=account.id, error=release.error, person_id=person_id)
        _event(session, incident, actor, "statement_fail", release_id=release.id, account_id=account.id,
               handle=account.handle, error=release.error)
        return release
    release.status = ReleaseStatus.PUBLISHED
    release.external_id = str(result.get("id")) if result.get("id") is not None else None
    _confirmed(release, actor)
    session.flush()
    record(session, actor, "runbooks:statement_release:publish", "incident", incident.id, release_id=release.id,
           statement_id=release.statement_id, account_id=account.id, external_id=release.external_id,
           requested_by=release.requested_by, person_id=person_id)
    _event(session, incident, actor, "statement_publish", release_id=release.id, account_id=account.id,
           handle=account.handle, external_id=release.external_id, requested_by_name=release.requested_by_name)
    return release


def _confirmed(release: StatementRelease, actor: Actor) -> None:
    release.confirmed_by, release.confirmed_by_name, release.confirmed_at = actor.id, actor.name[:255], utcnow()


def releases_of(session: Session, incident_id: int) -> list[StatementRelease]:
    return list(session.scalars(select(StatementRelease).where(StatementRelease.incident_id == incident_id)
                                .order_by(StatementRelease.id)))


# --- the post-incident report ---------------------------------------------------------------------------------
def incident_audit_events(session: Session, incident: Incident) -> list[AuditEvent]:
    """The trail about the incident: its own events and those of its pause."""
    query = select(AuditEvent).where(
        ((AuditEvent.target_type == "incident") & (AuditEvent.target_id == str(incident.id)))
        | ((AuditEvent.target_type == "publishing_pause") & (AuditEvent.target_id == str(incident.pause_id or -1)))
    ).order_by(AuditEvent.seq).limit(1000)
    return list(session.scalars(query))


Translate = Callable[..., str]


def timeline_label(kind: str) -> str:
    return TIMELINE.get(kind, kind)


def timeline_detail(event: IncidentEvent) -> str:
    """The event's details as a short line (ids, handles, the reason), in no particular language."""
    shown = {key: value for key, value in (event.details or {}).items() if value not in (None, "", False)}
    return ", ".join(f"{key}: {value}" for key, value in shown.items())[:500]


def report_moment(incident: Incident) -> datetime:
    return incident.closed_at or utcnow()
