"""The post-incident report: the incident, its timeline, its checklist, the statements released and the audit events
about it, as a govern.reports Report, so the reports' renderer writes the PDF (en, ar, he; right to left for ar and
he). Build it inside the reader's locale (flask_babel.force_locale): the words in the cells are translated here."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext
from sqlalchemy.orm import Session

from govern.audit.labels import event_action_label
from govern.audit.names import name_events
from govern.db import utcnow
from govern.errors import N_
from govern.reports.document import Period, Report, Section, Text
from govern.reports.service import chain_head, latest_checkpoint
from govern.runbooks.models import Incident
from govern.runbooks.service import incident_audit_events, releases_of, timeline_detail, timeline_label

STATUS = {"open": N_("Open"), "closed": N_("Closed"), "pending": N_("Waiting for a second person"),
          "published": N_("Published"), "failed": N_("Failed")}


def incident_report(session: Session, incident: Incident) -> Report:
    runbook = incident.runbook
    end = incident.closed_at or utcnow()
    start = min(incident.opened_at, end)
    overview = [
        (gettext("Runbook"), runbook.name),
        (gettext("Severity"), incident.severity),
        (gettext("Status"), gettext(STATUS[incident.status.value])),
        (gettext("Reason"), incident.reason),
        (gettext("Opened by"), incident.opened_by_name),
        (gettext("Opened at"), incident.opened_at),
        (gettext("Closed by"), incident.closed_by_name or ""),
        (gettext("Closed at"), incident.closed_at),
        (gettext("Closing note"), incident.close_note or ""),
        (gettext("Pause"), str(incident.pause_id) if incident.pause_id else ""),
        (gettext("Checklist"), f"{len(incident.steps_done)} / {len(runbook.steps)}"),
    ]
    timeline = [(event.at, gettext(timeline_label(event.kind)), event.actor_name, timeline_detail(event))
                for event in incident.timeline]
    steps = []
    for step in runbook.steps:
        done = incident.steps_done.get(step["key"])
        owner = step.get("owner") or {}
        steps.append((step["title"], owner.get("value", ""), done["by_name"] if done else "",
                      done["at"].replace("T", " ")[:16] if done else ""))
    releases = [(release.requested_at, release.account_id, release.statement.language,
                 gettext(STATUS[release.status.value]), release.requested_by_name, release.confirmed_by_name or "")
                for release in releases_of(session, incident.id)]
    named = name_events(session, incident_audit_events(session, incident))
    trail = [(item.event.seq, item.event.occurred_at, event_action_label(item.event.action),
              item.actor.name or item.event.actor) for item in named]
    sections = (
        Section.of("incident", N_("Incident"), [("item", N_("Item")), ("value", N_("Value"))], overview, rtl=["value"]),
        Section.of("timeline", N_("Timeline"), [("at", N_("When")), ("what", N_("What")), ("who", N_("Who")),
                                                 ("details", N_("Details"))], timeline, rtl=["who", "details"]),
        Section.of("checklist", N_("Checklist"), [("step", N_("Step")), ("owner", N_("Owner")),
                                                   ("done_by_name", N_("Done by")), ("done_at", N_("Done at"))],
                   steps, rtl=["step", "done_by_name"]),
        Section.of("statements", N_("Statements released"),
                   [("requested_at", N_("Requested at")), ("account_id", N_("Account")), ("language_code", N_("Language")),
                    ("state", N_("Status")), ("lead", N_("Crisis lead")), ("confirmer", N_("Confirmed by"))],
                   releases, rtl=["lead", "confirmer"]),
        Section.of("trail", N_("Audit events about the incident"),
                   [("seq", N_("Sequence")), ("occurred_at", N_("When")), ("action", N_("What")), ("who", N_("Who"))],
                   trail, rtl=["who"]),
    )
    return Report(name=f"incident-{incident.id}", title=Text(N_("Post-incident report: incident %(incident_id)s"),
                                                             incident_id=str(incident.id)),
                  period=Period(start, max(end, start + timedelta(seconds=1))), generated_at=utcnow(),
                  basis=(N_("The incident's timeline and the audit events about it and its pause."),),
                  chain_head=chain_head(session), checkpoint=latest_checkpoint(session), summary={},
                  sections=sections)
